"""Fault injection for the emulator: what to break, on which connection, and when.

A [`Fault`][s2st.emulator.Fault] is one action with one trigger: ``at_message=N`` fires when the client message
with index ``N`` arrives (setup is message 0; the triggering message is recorded but not
processed), ``at_s=T`` fires ``T`` seconds after ``setupComplete`` was sent. A fault with no
trigger fires right after ``setupComplete``. A [`FaultPlan`][s2st.emulator.FaultPlan] maps connection numbers
(0 = the first connection the emulator accepts) to faults. Everything is deterministic: jitter
and [`FaultPlan.random()`][s2st.emulator.FaultPlan.random] draw from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from s2st.errors import ConfigurationError

from .wire import CLOSE_QUOTA

__all__ = ["Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal[
    "close", "drop", "go_away", "delay", "burst", "stall_close", "malformed", "slow_reads"
]
MalformedKind = Literal["not_json", "not_object", "unknown_field", "bad_base64"]
_KINDS: tuple[FaultKind, ...] = (
    "close",
    "drop",
    "go_away",
    "delay",
    "burst",
    "stall_close",
    "malformed",
    "slow_reads",
)


@dataclass(frozen=True)
class Fault:
    """One injected fault. Build it with the class methods (``Fault.close(1011, at_message=3)``).

    Fields not used by a kind keep their defaults. ``hold_s`` is how long ``burst`` holds replies
    and how long ``stall_close`` keeps the TCP connection open before aborting it.
    """

    kind: FaultKind
    at_message: int | None = None
    at_s: float | None = None
    code: int = 1011
    reason: str = ""
    time_left_s: float = 0.0
    ms: float = 0.0
    jitter_ms: float = 0.0
    hold_s: float = 0.0
    malformed: MalformedKind = "not_json"

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigurationError(f"Unknown fault kind {self.kind!r}; use one of {_KINDS}.")
        if self.at_message is not None and self.at_message < 1:
            raise ConfigurationError("at_message must be >= 1 (message 0 is the setup).")
        if self.at_s is not None and self.at_s < 0:
            raise ConfigurationError("at_s must be >= 0 seconds.")
        if self.at_message is not None and self.at_s is not None:
            raise ConfigurationError("Give a fault at most one trigger: at_message or at_s.")
        if self.kind == "close" and self.code not in (1000, 1001, 1007, 1008, 1011, 1013):
            raise ConfigurationError(f"Close code {self.code} is not one the service sends.")
        if min(self.ms, self.jitter_ms, self.hold_s, self.time_left_s) < 0:
            raise ConfigurationError("Durations of a fault must be >= 0.")

    @property
    def trigger_s(self) -> float | None:
        """Seconds after setupComplete when a time-triggered fault fires (``None`` if message-triggered)."""
        if self.at_message is not None:
            return None
        return 0.0 if self.at_s is None else self.at_s

    @classmethod
    def close(
        cls,
        code: int,
        reason: str = "",
        *,
        at_message: int | None = None,
        at_s: float | None = None,
    ) -> Fault:
        """Close the connection with ``code`` (1000/1007/1008/1011) and ``reason``."""
        return cls("close", at_message, at_s, code=code, reason=reason)

    @classmethod
    def quota(cls, *, at_message: int | None = None, at_s: float | None = None) -> Fault:
        """Close 1011 "You exceeded your current quota..." (EVIDENCE.md row 19) mid-stream.
        To refuse every setup instead, use ``EmulatorConfig(quota_exhausted=True)``."""
        return cls("close", at_message, at_s, code=1011, reason=CLOSE_QUOTA)

    @classmethod
    def drop(cls, *, at_message: int | None = None, at_s: float | None = None) -> Fault:
        """Abort the TCP connection without a close frame (the client sees 1006)."""
        return cls("drop", at_message, at_s)

    @classmethod
    def go_away(
        cls, time_left_s: float, *, at_message: int | None = None, at_s: float | None = None
    ) -> Fault:
        """Send ``goAway`` now, then close 1011 "Deadline expired..." after ``time_left_s``."""
        return cls("go_away", at_message, at_s, time_left_s=time_left_s)

    @classmethod
    def delay(
        cls,
        ms: float,
        jitter_ms: float = 0.0,
        *,
        at_message: int | None = None,
        at_s: float | None = None,
    ) -> Fault:
        """From the trigger on, delay every reply by ``ms`` plus uniform ``[0, jitter_ms]``."""
        return cls("delay", at_message, at_s, ms=ms, jitter_ms=jitter_ms)

    @classmethod
    def burst(
        cls, hold_s: float = 1.0, *, at_message: int | None = None, at_s: float | None = None
    ) -> Fault:
        """Hold every reply for ``hold_s`` seconds, then release them all at once."""
        return cls("burst", at_message, at_s, hold_s=hold_s)

    @classmethod
    def stall_close(
        cls, hold_s: float = 10.0, *, at_message: int | None = None, at_s: float | None = None
    ) -> Fault:
        """Stop reading and replying: the close handshake is never answered, TCP stays open
        for ``hold_s`` seconds and is then aborted."""
        return cls("stall_close", at_message, at_s, hold_s=hold_s)

    @classmethod
    def malformed_frame(
        cls,
        malformed: MalformedKind = "not_json",
        *,
        at_message: int | None = None,
        at_s: float | None = None,
    ) -> Fault:
        """Send one malformed server frame: not JSON, a JSON array, an unknown field, or audio
        whose base64 is corrupt."""
        return cls("malformed", at_message, at_s, malformed=malformed)

    @classmethod
    def slow_reads(
        cls, ms: float, *, at_message: int | None = None, at_s: float | None = None
    ) -> Fault:
        """Sleep ``ms`` between reads from the trigger on, so TCP pushes back on the client."""
        return cls("slow_reads", at_message, at_s, ms=ms)


@dataclass
class FaultPlan:
    """Faults per connection number (0 = first accepted connection). Mutable: faults may be added
    while the emulator runs (see ``Emulator.inject``)."""

    faults: dict[int, list[Fault]] = field(default_factory=dict)

    def __init__(self, faults: Mapping[int, Sequence[Fault] | Fault] | None = None) -> None:
        self.faults = {}
        for conn, items in (faults or {}).items():
            for item in [items] if isinstance(items, Fault) else items:
                self.add(item, connection=conn)

    def add(self, fault: Fault, *, connection: int) -> None:
        """Schedule ``fault`` on connection number ``connection``."""
        if not isinstance(fault, Fault):
            raise ConfigurationError(
                "FaultPlan.add expects a Fault (see Fault.close, Fault.drop, ...)."
            )
        if connection < 0:
            raise ConfigurationError("Connection numbers start at 0.")
        self.faults.setdefault(connection, []).append(fault)

    def for_connection(self, connection: int) -> list[Fault]:
        """The faults scheduled for one connection, in insertion order."""
        return list(self.faults.get(connection, []))

    @classmethod
    def random(
        cls,
        seed: int,
        *,
        connections: int = 4,
        kinds: Iterable[FaultKind] = ("close", "drop", "go_away", "delay", "burst", "slow_reads"),
        probability: float = 0.7,
        max_message: int = 40,
        max_s: float = 3.0,
        close_codes: Sequence[int] = (1000, 1011),
    ) -> FaultPlan:
        """A reproducible plan: each of the first ``connections`` connections gets, with
        ``probability``, one fault of a kind drawn from ``kinds`` at a random message index in
        ``[1, max_message]`` or a random time in ``[0, max_s]``. Same seed, same plan."""
        rng = random.Random(seed)
        kind_list = list(kinds)
        if not kind_list:
            raise ConfigurationError("FaultPlan.random needs at least one fault kind.")
        plan = cls()
        for conn in range(connections):
            if rng.random() >= probability:
                continue
            kind = rng.choice(kind_list)
            trig: dict[str, float | int] = (
                {"at_message": rng.randint(1, max_message)}
                if rng.random() < 0.5
                else {"at_s": round(rng.uniform(0.0, max_s), 3)}
            )
            plan.add(_random_fault(rng, kind, close_codes, trig), connection=conn)
        return plan


def _random_fault(
    rng: random.Random, kind: FaultKind, codes: Sequence[int], trig: dict[str, float | int]
) -> Fault:
    at_message = int(trig["at_message"]) if "at_message" in trig else None
    at_s = float(trig["at_s"]) if "at_s" in trig else None
    if kind == "close":
        return Fault.close(rng.choice(list(codes)), "injected", at_message=at_message, at_s=at_s)
    if kind == "go_away":
        return Fault.go_away(round(rng.uniform(0.2, 1.0), 3), at_message=at_message, at_s=at_s)
    if kind == "delay":
        return Fault.delay(rng.randint(5, 50), rng.randint(0, 30), at_message=at_message, at_s=at_s)
    if kind == "burst":
        return Fault.burst(round(rng.uniform(0.1, 0.6), 3), at_message=at_message, at_s=at_s)
    if kind == "slow_reads":
        return Fault.slow_reads(rng.randint(5, 30), at_message=at_message, at_s=at_s)
    if kind == "stall_close":
        return Fault.stall_close(2.0, at_message=at_message, at_s=at_s)
    if kind == "malformed":
        return Fault.malformed_frame(at_message=at_message, at_s=at_s)
    return Fault.drop(at_message=at_message, at_s=at_s)
