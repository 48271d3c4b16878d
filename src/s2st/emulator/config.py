"""Configuration of the emulator ([`EmulatorConfig`][s2st.emulator.EmulatorConfig])."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

from s2st.errors import ConfigurationError

from .faults import FaultPlan

if TYPE_CHECKING:
    from .engines import Engine
    from .wire import SetupInfo

__all__ = ["DEFAULT_ALLOWED_MODELS", "EmulatorConfig", "EngineFactory"]

#: Both spellings of the 2.5 S2ST model id (PROTOCOL.md §1.2) and the 3.5 Live Translate model.
DEFAULT_ALLOWED_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash-s2st-11-2025-exp",
    "gemini-2.5-flash-s2st-exp-11-2025",
    "gemini-3.5-live-translate-preview",
)

EngineFactory = Callable[["SetupInfo"], "Engine"]


@dataclass(frozen=True)
class EmulatorConfig:
    """Behaviour of an [`Emulator`][s2st.emulator.Emulator]. All fields are keyword arguments.

    - ``binary_frames``: send server frames as binary (opcode 2, like the Gemini API) or text.
    - ``allowed_models``: model ids the "project" may use; others close 1008.
    - ``valid_tokens`` / ``valid_api_keys``: if set, only these Bearer tokens / API keys pass
      (wrong Bearer token: HTTP 401; wrong API key: close 1007 after the upgrade, as Google does).
    - ``connection_lifetime_s``: each connection closes 1011 "Deadline expired..." after this;
      ``go_away_before_s`` earlier a ``goAway`` notice is sent (``None`` disables the lifetime).
    - ``speed``: output audio is sent this many times faster than real time (``math.inf``: at once).
    - ``usage_every_s``: period of ``usageMetadata`` messages (``None``: only on ``turnComplete``).
    - ``resumption_update_every_messages``: while idle, send a ``sessionResumptionUpdate`` every
      this many client messages (besides after ``setupComplete`` and after each turn).
    - ``handle_ttl_s``: how long a resumption handle stays valid (Gemini API: 2 h).
    - ``engine``: ``"scripted"`` (scenarios, loopback fallback), ``"loopback"``, or a callable
      ``(SetupInfo) -> Engine``; ``scenarios`` limits the scripted engine to these names.
    - ``faults``: a [`FaultPlan`][s2st.emulator.FaultPlan]; ``seed`` makes jitter and handles deterministic.
    - ``require_s2st_flag``: refuse (1007) a setup without an S2ST switch.
    - ``combine_probability``: chance that transcripts and audio produced together share one
      ``serverContent`` message (the service sometimes does this).
    - ``max_message_bytes``: larger client frames close the socket with 1009.
    - ``part_ms``: length of each output audio part; ``end_silence_ms``: silence that ends a
      segment; ``threshold_db``: frame level (dB re 1 LSB RMS) counted as speech.
    """

    binary_frames: bool = True
    allowed_models: tuple[str, ...] = DEFAULT_ALLOWED_MODELS
    valid_tokens: frozenset[str] | None = None
    valid_api_keys: frozenset[str] | None = None
    connection_lifetime_s: float | None = 600.0
    go_away_before_s: float = 60.0
    speed: float = 4.0
    usage_every_s: float | None = 5.0
    resumption_update_every_messages: int = 20
    handle_ttl_s: float = 7200.0
    seed: int = 0
    engine: Union[Literal["scripted", "loopback"], EngineFactory] = "scripted"  # noqa: UP007
    scenarios: tuple[str, ...] | None = None
    faults: FaultPlan | None = field(default=None, compare=False)
    require_s2st_flag: bool = True
    combine_probability: float = 0.0
    max_message_bytes: int = 1 << 20
    part_ms: int = 100
    end_silence_ms: int = 500
    threshold_db: float = 50.0
    close_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("valid_tokens", "valid_api_keys"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                if isinstance(value, str):
                    raise ConfigurationError(f"{name} must be a set of strings, not a string.")
                object.__setattr__(self, name, frozenset(value))
        object.__setattr__(self, "allowed_models", tuple(self.allowed_models))
        if self.connection_lifetime_s is not None and self.connection_lifetime_s <= 0:
            raise ConfigurationError("connection_lifetime_s must be > 0 or None.")
        if self.go_away_before_s < 0:
            raise ConfigurationError("go_away_before_s must be >= 0.")
        if not (self.speed > 0 and not math.isnan(self.speed)):
            raise ConfigurationError("speed must be > 0 (math.inf sends output at once).")
        if self.usage_every_s is not None and self.usage_every_s <= 0:
            raise ConfigurationError("usage_every_s must be > 0 or None.")
        if self.resumption_update_every_messages < 1:
            raise ConfigurationError("resumption_update_every_messages must be >= 1.")
        if not 0.0 <= self.combine_probability <= 1.0:
            raise ConfigurationError("combine_probability must be within [0, 1].")
        if not 10 <= self.part_ms <= 1000:
            raise ConfigurationError("part_ms must be within 10..1000 ms.")
        if self.engine not in ("scripted", "loopback") and not callable(self.engine):
            raise ConfigurationError("engine must be 'scripted', 'loopback' or a callable.")
        if self.faults is not None and not isinstance(self.faults, FaultPlan):
            raise ConfigurationError("faults must be a FaultPlan.")
