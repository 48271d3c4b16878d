"""Configuration of the emulator ([`EmulatorConfig`][s2st.emulator.EmulatorConfig]).

The defaults reproduce what the real live-translate service was seen doing (EVIDENCE.md rows
1-22): continuous 24 kHz output at real time (PCM silence when there is nothing to say, even
after ``audioStreamEnd``), no turn markers, resumable handles every ~2 s, a 10-minute cap with a
``goAway`` 50 s before it and a 1008 close for a client that overstays. Today's optimistic
behaviour (turn markers, quiet when idle, handles only between utterances) is one call away:
[`EmulatorConfig.optimistic()`][s2st.emulator.EmulatorConfig.optimistic].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Union

from s2st.errors import ConfigurationError

from .faults import FaultPlan

if TYPE_CHECKING:
    from .engines import Engine
    from .wire import SetupInfo

__all__ = ["DEFAULT_ALLOWED_MODELS", "CapClose", "EmulatorConfig", "EngineFactory"]

#: Both spellings of the 2.5 S2ST model id (PROTOCOL.md §1.2) and the 3.5 Live Translate model.
DEFAULT_ALLOWED_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash-s2st-11-2025-exp",
    "gemini-2.5-flash-s2st-exp-11-2025",
    "gemini-3.5-live-translate-preview",
)

EngineFactory = Callable[["SetupInfo"], "Engine"]

_ENGINES = ("scripted", "loopback", "silent", "local")

#: How a connection still open at ``connection_lifetime_s`` is closed: ``"overstay"`` (1008,
#: EVIDENCE.md row 18) or ``"deadline"`` (1011 "Deadline expired...", row 17).
CapClose = Literal["overstay", "deadline"]


@dataclass(frozen=True)
class EmulatorConfig:
    """Behaviour of an [`Emulator`][s2st.emulator.Emulator]. All fields are keyword arguments.

    Output (EVIDENCE.md rows 4-9):

    - ``speed``: output audio is paced at this many times real time (default 1.0, like the
      service). ``math.inf`` sends output at once and **turns silence streaming off** (an
      infinitely fast clock cannot stream silence).
    - ``part_ms``: length of each output audio part (translated speech and silence alike).
    - ``stream_silence``: once a connection received its first audio message, stream 24 kHz
      PCM digital silence whenever no translated speech is queued, until the connection
      closes, ``audioStreamEnd`` included (row 7). ``False``: quiet when idle.
    - ``turn_markers``: send ``generationComplete`` / ``turnComplete`` after each utterance and
      ``interrupted`` + ``turnComplete`` on barge-in (``False``, the default and the service's
      behaviour, row 6: never; barge-in then sends ``interrupted`` only).
    - ``usage_every_s``: period of ``usageMetadata`` messages (``None``: only beside
      ``turnComplete``); ``usage_server_content``: send them beside an empty
      ``serverContent: {}`` (row 8) rather than alone.
    - ``vertex_session_id``: Vertex ``setupComplete`` carries ``{"sessionId": "<uuid4>"}``
      (row 3); the Gemini API always answers ``{}``.
    - ``binary_frames``: send server frames as binary (opcode 2, row 4) or text.
    - ``combine_probability``: chance that transcripts and audio produced together share one
      ``serverContent`` message.

    Resumption (row 9, PROTOCOL.md §6):

    - ``resumption_update_every_s``: a ``sessionResumptionUpdate`` every this many seconds of
      wall time, also while audio flows (``None``: off).
    - ``resumption_update_every_messages``: also one every this many client messages (``None``:
      off). Besides these, one follows ``setupComplete`` (and each ``turnComplete``).
    - ``handles_only_when_idle``: while an utterance is open send ``{"resumable": false}``
      instead of a handle (the emulator's old behaviour; the service issues handles always).
    - ``handle_ttl_s``: how long a resumption handle stays valid (Gemini API: 2 h).

    Connection cap and refusals (rows 17-20):

    - ``connection_lifetime_s``: the connection cap (``None`` disables it); ``go_away_before_s``
      earlier a ``goAway`` notice is sent; ``cap_close`` how a client still connected at the cap
      is closed (``"overstay"``: 1008, ``"deadline"``: 1011).
    - ``quota_exhausted``: refuse every setup with 1011 "You exceeded your current quota..."
      (mid-stream: ``Fault.quota(at_s=...)``).
    - ``unsupported_models``: model ids that close 1007 "<id> is not supported in the live api.".
    - ``allowed_models``: model ids the "project" may use; others close 1008.
    - ``valid_tokens`` / ``valid_api_keys``: if set, only these Bearer tokens / API keys pass
      (wrong Bearer token: HTTP 401; wrong API key: close 1007 after the upgrade, as Google does).
    - ``strict_setup``: an unknown or misplaced ``setup`` / ``generationConfig`` field closes
      1007 ``Invalid JSON payload received. Unknown name ...`` (rows 1-2).
    - ``require_s2st_flag``: refuse (1007) a setup without an S2ST switch.
    - ``max_message_bytes``: larger client frames close the socket with 1009.

    Engine: ``engine`` is ``"scripted"`` (scenarios, loopback fallback), ``"loopback"``,
    ``"silent"`` (hears speech, answers only silence: EVIDENCE.md row 15), ``"local"`` (a real
    local translation: `s2st.local`, extra ``s2st[local]``), or a
    callable ``(SetupInfo) -> Engine`` (called in a worker thread for each new session, as the
    local engine is built: loading models does not hold up the other sessions); ``scenarios`` limits the scripted engine to these
    names; ``end_silence_ms`` is the silence that ends a segment and ``threshold_db`` the frame
    level (dB re 1 LSB RMS) counted as speech. ``faults``: a [`FaultPlan`][s2st.emulator.FaultPlan]; ``seed`` makes
    jitter, handles and session ids deterministic.
    """

    binary_frames: bool = True
    allowed_models: tuple[str, ...] = DEFAULT_ALLOWED_MODELS
    valid_tokens: frozenset[str] | None = None
    valid_api_keys: frozenset[str] | None = None
    connection_lifetime_s: float | None = 600.0
    go_away_before_s: float = 50.0
    cap_close: CapClose = "overstay"
    speed: float = 1.0
    stream_silence: bool = True
    turn_markers: bool = False
    usage_every_s: float | None = 5.0
    usage_server_content: bool = True
    vertex_session_id: bool = True
    resumption_update_every_s: float | None = 2.0
    resumption_update_every_messages: int | None = None
    handles_only_when_idle: bool = False
    handle_ttl_s: float = 7200.0
    quota_exhausted: bool = False
    unsupported_models: tuple[str, ...] = ()
    strict_setup: bool = True
    seed: int = 0
    engine: Union[Literal["scripted", "loopback", "silent", "local"], EngineFactory] = "scripted"  # noqa: UP007
    scenarios: tuple[str, ...] | None = None
    faults: FaultPlan | None = field(default=None, compare=False)
    require_s2st_flag: bool = True
    combine_probability: float = 0.0
    max_message_bytes: int = 1 << 20
    part_ms: int = 100
    end_silence_ms: int = 500
    threshold_db: float = 50.0
    close_timeout_s: float = 2.0

    @classmethod
    def optimistic(cls, **overrides: Any) -> EmulatorConfig:
        """The emulator's former, optimistic behaviour, for tests that rely on it.

        Turn markers after every utterance, quiet when idle (no silence stream), output at
        4x real time, handles only between utterances (``resumable: false`` while one is open)
        and one every 20 client messages, no time-based handles, usage only beside
        ``turnComplete`` and never beside ``serverContent: {}``, Vertex ``setupComplete`` without
        a ``sessionId``, and the cap closing 1011 "Deadline expired..." 60 s after a ``goAway``.
        The real service does none of this (EVIDENCE.md); keyword ``overrides`` replace fields.
        """
        base = cls(
            turn_markers=True,
            stream_silence=False,
            speed=4.0,
            handles_only_when_idle=True,
            resumption_update_every_s=None,
            resumption_update_every_messages=20,
            usage_every_s=None,
            usage_server_content=False,
            vertex_session_id=False,
            go_away_before_s=60.0,
            cap_close="deadline",
        )
        try:
            return replace(base, **overrides)
        except TypeError as exc:
            raise ConfigurationError(f"Unknown EmulatorConfig option: {exc}") from exc

    @property
    def silence_streaming(self) -> bool:
        """True when silence is actually streamed (``stream_silence`` and a finite ``speed``)."""
        return self.stream_silence and not math.isinf(self.speed)

    def __post_init__(self) -> None:
        for name in ("valid_tokens", "valid_api_keys"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                if isinstance(value, str):
                    raise ConfigurationError(f"{name} must be a set of strings, not a string.")
                object.__setattr__(self, name, frozenset(value))
        for name in ("allowed_models", "unsupported_models"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ConfigurationError(f"{name} must be a sequence of model ids, not a string.")
            object.__setattr__(self, name, tuple(value))
        self._check_times()
        if self.cap_close not in ("overstay", "deadline"):
            raise ConfigurationError("cap_close must be 'overstay' or 'deadline'.")
        if not 0.0 <= self.combine_probability <= 1.0:
            raise ConfigurationError("combine_probability must be within [0, 1].")
        if not 10 <= self.part_ms <= 1000:
            raise ConfigurationError("part_ms must be within 10..1000 ms.")
        if self.engine not in _ENGINES and not callable(self.engine):
            raise ConfigurationError(
                "engine must be 'scripted', 'loopback', 'silent', 'local' or a callable."
            )
        if self.faults is not None and not isinstance(self.faults, FaultPlan):
            raise ConfigurationError("faults must be a FaultPlan.")

    def _check_times(self) -> None:
        if self.connection_lifetime_s is not None and self.connection_lifetime_s <= 0:
            raise ConfigurationError("connection_lifetime_s must be > 0 or None.")
        if self.go_away_before_s < 0:
            raise ConfigurationError("go_away_before_s must be >= 0.")
        if not (self.speed > 0 and not math.isnan(self.speed)):
            raise ConfigurationError("speed must be > 0 (math.inf sends output at once).")
        for name in ("usage_every_s", "resumption_update_every_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigurationError(f"{name} must be > 0 or None.")
        every = self.resumption_update_every_messages
        if every is not None and every < 1:
            raise ConfigurationError("resumption_update_every_messages must be >= 1 or None.")
