"""The session's keyword options, checked once (private).

`SessionOptions` is the frozen, validated form of what ``client.connect(**options)`` passes
to [`S2STSession`][s2st.session.S2STSession] besides the translation config; its field names
are the option names (``s2st.client.ConnectOptions`` documents them for users).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from s2st._validate import check_int, check_number, check_optional_int, check_optional_number
from s2st.errors import ConfigurationError
from s2st.reconnect import ReconnectPolicy

from .transport import TransportOptions

__all__ = ["SESSION_OPTION_NAMES", "SessionOptions"]


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """See `S2STSession` for each option; every bad value raises ``ConfigurationError``."""

    setup_timeout_s: float = 15.0
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    max_pending_events: int = 1024
    max_replay_bytes: int | None = 16 * 1024 * 1024
    transport: TransportOptions = field(default_factory=TransportOptions)
    trailing_silence_ms: int = 1000
    silence_warning_s: float | None = 6.0

    def __post_init__(self) -> None:
        check_number("setup_timeout_s", self.setup_timeout_s, positive=True)
        check_int("max_pending_events", self.max_pending_events, low=1)
        check_optional_int("max_replay_bytes", self.max_replay_bytes, positive=True)
        check_int("trailing_silence_ms", self.trailing_silence_ms, low=0, high=10_000)
        check_optional_number("silence_warning_s", self.silence_warning_s, positive=True)
        if not isinstance(self.transport, TransportOptions):
            raise ConfigurationError("transport must be a s2st.TransportOptions")
        if not isinstance(self.reconnect, ReconnectPolicy):
            raise ConfigurationError("reconnect must be a s2st.ReconnectPolicy or None")


#: The keyword options a session takes (``client.connect()`` passes these through).
SESSION_OPTION_NAMES = frozenset(f.name for f in fields(SessionOptions))
