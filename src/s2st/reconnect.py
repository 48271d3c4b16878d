"""Reconnection policy (pure: no I/O). The session applies it; tests drive it with plain numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._validate import check_optional_int, check_optional_number, is_number
from .errors import ConfigurationError, S2STError, TransportError

__all__ = ["ReconnectPolicy"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When and how a session moves to a new connection.

    The retry budget is time-based: after a connection is lost, the session keeps trying, with
    exponential backoff, for ``give_up_after_s``. A server that still holds a half-dead old
    socket refuses a resume with 1011 until it notices the dead peer (PROTOCOL.md §6.2), which
    takes far longer than a few quick attempts; two minutes outlast a typical keepalive timeout.

    Attributes:
        enabled: reconnect at all. ``False`` makes every lost connection end the session.
        on_go_away: move to a new connection as soon as ``goAway`` arrives (before the deadline).
        give_up_after_s: per incident, stop trying after this long (``None``: no time bound).
        max_attempts: also stop after this many attempts per incident (``None``: no count
            bound). At least one of the two bounds must be set.
        initial_backoff_s: wait before the second attempt; doubles each attempt.
        max_backoff_s: cap of the wait between attempts. An error with a ``min_backoff_s``
            ([`QuotaExceededError`][s2st.errors.QuotaExceededError], when the server says the quota is
            exhausted) waits at least that long.
        jitter: random fraction (0..1) added to or removed from each wait.
        resume: resume server state with the latest resumption handle when there is one.
        replay_window_s: on servers that send no ``lastConsumedClientMessageIndex`` (the Gemini
            API), a resumable handle confirms only messages sent at least this long before it
            arrived (the floor; the session widens it to the lag it measures, see
            [`s2st.protocol.ClientProtocol.replay_window_s`][s2st.protocol.ClientProtocol.replay_window_s]).
        max_replay_window_s: the cap of that window: the most input a resume can replay that the
            server had already consumed (`s2st.protocol.MAX_UNINDEXED_OVERLAP_MS`).
    """

    enabled: bool = True
    on_go_away: bool = True
    give_up_after_s: float | None = 120.0
    max_attempts: int | None = None
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    jitter: float = 0.2
    resume: bool = True
    replay_window_s: float = 2.0
    max_replay_window_s: float = 30.0

    def __post_init__(self) -> None:
        check_optional_int("ReconnectPolicy.max_attempts", self.max_attempts, low=1)
        check_optional_number(
            "ReconnectPolicy.give_up_after_s", self.give_up_after_s, positive=True
        )
        if self.enabled and self.max_attempts is None and self.give_up_after_s is None:
            raise ConfigurationError(
                "ReconnectPolicy needs a bound: set give_up_after_s or max_attempts"
            )
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise ConfigurationError("ReconnectPolicy backoffs must be >= 0 seconds")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError("ReconnectPolicy.jitter must be between 0 and 1")
        if not (_positive(self.replay_window_s) and _positive(self.max_replay_window_s)) or (
            self.replay_window_s > self.max_replay_window_s
        ):
            raise ConfigurationError(
                "ReconnectPolicy.replay_window_s must be > 0 and <= max_replay_window_s"
            )

    @classmethod
    def disabled(cls) -> ReconnectPolicy:
        """A policy that never reconnects."""
        return cls(enabled=False, on_go_away=False)

    def backoff_s(
        self, attempt: int, rng: random.Random | None = None, error: BaseException | None = None
    ) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 = first try: no wait, unless
        ``error`` asks for a minimum backoff)."""
        floor = float(getattr(error, "min_backoff_s", 0.0) or 0.0)
        if attempt <= 1:
            return floor
        base = float(min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (attempt - 2)))
        if self.jitter:
            r = float((rng or random).uniform(-self.jitter, self.jitter))
            base *= 1 + r
        return max(0.0, floor, base)

    def exhausted(self, attempts: int, elapsed_s: float) -> bool:
        """Whether an incident that has made ``attempts`` attempts over ``elapsed_s`` seconds
        has used up the budget."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return True
        return self.give_up_after_s is not None and elapsed_s >= self.give_up_after_s

    def should_retry(self, error: BaseException | None) -> bool:
        """Whether a connection lost with ``error`` (``None`` = closed normally by the
        server) is worth another attempt under this policy."""
        if not self.enabled:
            return False
        if error is None:
            # 1000 from the server while we still stream: a Vertex time cap (§6.2).
            return True
        if isinstance(error, TransportError):
            return error.retryable
        # ProtocolError: the server sent garbage on this connection; a new one may be fine.
        return isinstance(error, S2STError)


def _positive(value: object) -> bool:
    return is_number(value) and value > 0  # type: ignore[operator]
