"""``RelayConfig``: the relay's security limits and options (all keyword-only, units in names)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from s2st._validate import check_int, check_number
from s2st.errors import ConfigurationError
from s2st.languages import SUPPORTED_LANGUAGES, normalize_language

from .tokens import _secret_bytes

__all__ = ["RelayConfig"]


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """Limits and options of a [`Relay`][s2st.relay.Relay]. Secure by default: a ``secret`` is
    required unless ``dev_mode`` is on.

    Attributes:
        secret: the HMAC secret that [`issue_token()`][s2st.relay.issue_token] signs tokens with (at
            least 16 bytes). Required unless ``dev_mode``.
        dev_mode: accept anonymous sessions (no token) from loopback peers only, and any
            loopback Origin. For local development; a warning is logged.
        allowed_origins: browser Origins allowed to open sessions (``"https://app.example"``),
            besides the relay's own origin. ``"*"`` allows any (tokens still apply).
        languages: target languages offered (codes; default every supported language).
        default_language: the language the page preselects.
        max_sessions: concurrent sessions in this process (more: 4503).
        max_sessions_per_token: concurrent sessions one token may hold (more: 4409).
        max_session_s: longest session (4430); a token's ``max_session_s`` can only lower it.
        max_frame_bytes: largest message from a browser (4413).
        max_bytes_per_s: sustained audio byte rate from a browser (4429); 16 kHz int16 is
            32 000 bytes/s, so the default allows twice real time. Stated for 16 kHz input:
            sessions at other ``sample_rate`` values get it scaled by ``sample_rate / 16000``.
        burst_bytes: how far a browser may run ahead of ``max_bytes_per_s`` (scaled the same);
            the default, 10 s of 16 kHz audio, lets through the audio the relay page captures
            while its socket opens (up to 10 s), sent at once when it opens.
        idle_timeout_s: close a browser that sends nothing for this long (4408).
        start_timeout_s: time allowed for the ``start`` message (4408).
        max_backlog_bytes: output waiting for a slow browser before it is closed (4431).
        silence_tail_ms: server silence forwarded after voiced audio (keeps pauses between
            words); longer silence is not sent (the service streams silence forever).
        public_captions: anyone may read caption rooms (else a ``scope="view"`` token).
        finish_timeout_s: after ``stop``, how long the relay waits for the last translation.
        token_url: where the page fetches a token (``POST``, same-origin cookies; it answers
            ``{"token": "..."}``); ``None``: the page reads ``#token=`` from its URL.
        connect_options: extra keyword arguments for [`s2st.S2STClient.connect()`][s2st.client.S2STClient.connect].
    """

    secret: str | bytes | None = field(default=None, repr=False)
    dev_mode: bool = False
    allowed_origins: Sequence[str] = ()
    languages: Sequence[str] | None = None
    default_language: str = "es"
    max_sessions: int = 100
    max_sessions_per_token: int = 2
    max_session_s: float = 3600.0
    max_frame_bytes: int = 64 * 1024
    max_bytes_per_s: float = 64_000.0
    burst_bytes: int = 320 * 1024  # 10 s at 16 kHz: what the page holds while its socket opens
    idle_timeout_s: float = 30.0
    start_timeout_s: float = 10.0
    max_backlog_bytes: int = 2 * 1024 * 1024
    silence_tail_ms: int = 1000
    public_captions: bool = False
    finish_timeout_s: float = 15.0
    token_url: str | None = None
    connect_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.secret is None:
            if not self.dev_mode:
                raise ConfigurationError(
                    "the relay needs a secret to verify tokens (RelayConfig(secret=...)); "
                    "anonymous access is only for dev_mode=True on loopback"
                )
        else:
            _secret_bytes(self.secret)
        if isinstance(self.allowed_origins, str):
            raise ConfigurationError("allowed_origins is a list of origins, not one string")
        for origin in self.allowed_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"an origin looks like https://host[:port], not {origin!r}"
                )
        object.__setattr__(
            self, "allowed_origins", tuple(o.rstrip("/").lower() for o in self.allowed_origins)
        )
        if self.languages is not None:
            object.__setattr__(self, "languages", _languages(self.languages))
        object.__setattr__(self, "default_language", normalize_language(self.default_language))
        for name in ("max_sessions", "max_sessions_per_token", "max_frame_bytes", "burst_bytes"):
            check_int(name, getattr(self, name), low=1)
        for name in (
            "max_session_s",
            "max_bytes_per_s",
            "idle_timeout_s",
            "start_timeout_s",
            "finish_timeout_s",
        ):
            check_number(name, getattr(self, name), positive=True)
        check_int("max_backlog_bytes", self.max_backlog_bytes, low=1)
        check_int("silence_tail_ms", self.silence_tail_ms, low=0)

    @property
    def offered_languages(self) -> tuple[str, ...]:
        """The languages the page lists (``languages``, or all supported ones)."""
        return tuple(self.languages) if self.languages is not None else tuple(SUPPORTED_LANGUAGES)


def _languages(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigurationError("languages is a list of codes, not one string")
    out = tuple(dict.fromkeys(normalize_language(v) for v in values))
    if not out:
        raise ConfigurationError("languages must not be empty (None offers all)")
    return out
