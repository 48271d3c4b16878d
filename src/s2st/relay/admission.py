"""Who may open a relay session (policy, no I/O): the Origin, token, language and room
checks, and the session slots per relay and per token. `AdmissionPolicy` owns that state; the
`s2st.relay.Relay` holds one. `RelayHost` is what the endpoint runners (browser, Twilio) need
of the relay. `Admission` is re-exported from `s2st.relay.app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from s2st.errors import UnsupportedLanguageError
from s2st.languages import normalize_language

from .config import RelayConfig
from .protocol import CloseCode, ProtocolViolation
from .rooms import RoomHub
from .tokens import TokenClaims, TokenError, verify_token

if TYPE_CHECKING:
    from s2st.client import S2STClient

__all__ = ["Admission", "AdmissionPolicy", "RelayHost"]

logger = logging.getLogger("s2st.relay")

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Admission:
    """One admitted session: its log label, caption room and audio rates."""

    label: str
    subject: str
    room: str | None
    sample_rate: int
    output_rate: int = 24000
    key: str = ""


class AdmissionPolicy:
    """The admission checks and session slots of a relay (it owns their state)."""

    def __init__(self, config: RelayConfig, hub: RoomHub) -> None:
        self.config = config
        self.hub = hub  # rooms joined while a session is admitted (the relay's)
        self.draining = False  # refuse new sessions (the relay is shutting down)
        self._active: dict[str, Admission] = {}
        self._per_token: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active(self) -> int:
        """Sessions admitted and not yet ended."""
        return len(self._active)

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no session is open; False if ``timeout_s`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    def check_origin(self, origin: str | None, host: str | None) -> None:
        """Raise 4403 unless ``origin`` is the relay's own, allow-listed, or (dev mode)
        loopback. Clients without an Origin (servers, Twilio) still need a token."""
        if origin is None:
            return
        value = origin.rstrip("/").lower()
        allowed = self.config.allowed_origins
        netloc = urlsplit(value).netloc
        if "*" in allowed or value in allowed or (host is not None and netloc == host.lower()):
            return
        if self.config.dev_mode and _is_loopback(urlsplit(value).hostname):
            return
        raise ProtocolViolation(CloseCode.FORBIDDEN, "this Origin is not allowed")

    def check_open(self) -> None:
        """Raise 4503 while draining or full."""
        if self.draining:
            raise ProtocolViolation(CloseCode.UNAVAILABLE, "the relay is draining; reconnect")
        if len(self._active) >= self.config.max_sessions:
            raise ProtocolViolation(CloseCode.UNAVAILABLE, "the relay is full; retry later")

    def authenticate(
        self, token: str | None, peer: str | None, *, scope: str = "speak"
    ) -> TokenClaims | None:
        """Verify ``token``; ``None`` means anonymous (dev mode, loopback peer only).

        Raises:
            ProtocolViolation: 4401 missing/forged/malformed, 4410 expired, 4403 wrong scope.
        """
        secret = self.config.secret
        if token and secret is not None:
            try:
                claims = verify_token(token, secret)
            except TokenError as exc:
                code = (
                    CloseCode.TOKEN_EXPIRED
                    if exc.problem in ("expired", "not_yet_valid")
                    else CloseCode.UNAUTHORIZED
                )
                raise ProtocolViolation(code, str(exc)) from None
            if claims.scope != scope:
                raise ProtocolViolation(CloseCode.FORBIDDEN, f"this token cannot {scope}")
            return claims
        if self.config.dev_mode and _is_loopback(peer):
            return None
        raise ProtocolViolation(CloseCode.UNAUTHORIZED, "a token is required")

    def check_language(self, language: str, claims: TokenClaims | None) -> str:
        """The normalized target language, if the relay offers it and the token grants it."""
        try:
            code = normalize_language(language)
        except UnsupportedLanguageError:
            raise ProtocolViolation(CloseCode.BAD_REQUEST, "unsupported target_language") from None
        if code not in self.config.offered_languages:
            raise ProtocolViolation(CloseCode.FORBIDDEN, "this relay does not offer that language")
        if claims is not None and claims.languages is not None:
            granted = set()
            for lang in claims.languages:
                with contextlib.suppress(UnsupportedLanguageError):
                    granted.add(normalize_language(lang))
            if code not in granted:
                raise ProtocolViolation(
                    CloseCode.FORBIDDEN, "the token does not grant that language"
                )
        return code

    def check_room(self, room: str | None, claims: TokenClaims | None, *, publish: bool) -> None:
        """Raise 4403 unless the token may publish to (or read) ``room``."""
        if room is None or claims is None:
            return  # anonymous: dev mode on loopback
        if claims.rooms is None and not publish:
            return  # a view token without a room list reads every room
        if claims.rooms is None or room not in claims.rooms:
            raise ProtocolViolation(CloseCode.FORBIDDEN, "the token does not grant that room")

    @contextlib.contextmanager
    def admit(
        self, claims: TokenClaims | None, *, room: str | None, sample_rate: int
    ) -> Iterator[Admission]:
        """Hold a session slot (4409 over the per-token limit, 4503 when full)."""
        self.check_open()
        key = f"token:{claims.token_id}" if claims is not None else "anonymous"
        if claims is not None and self._per_token[key] >= self.config.max_sessions_per_token:
            raise ProtocolViolation(
                CloseCode.TOO_MANY_SESSIONS, "this token already holds its maximum of sessions"
            )
        label = f"s{next(self._ids)}-{secrets.token_hex(3)}"
        ctx = Admission(
            label=label,
            subject=claims.subject if claims is not None else "anonymous",
            room=room,
            sample_rate=sample_rate,
            key=key,
        )
        self._active[label] = ctx
        self._per_token[key] += 1
        self._idle.clear()
        if room is not None:
            self.hub.join(room)
        logger.info("session %s opened for %s", label, ctx.subject)
        try:
            yield ctx
        finally:
            del self._active[label]
            self._per_token[key] -= 1
            if self._per_token[key] <= 0:
                del self._per_token[key]
            if room is not None:
                self.hub.leave(room)
            if not self._active:
                self._idle.set()


class RelayHost(Protocol):
    """What an endpoint runner (`s2st.relay.browser`, `s2st.relay.twilio`) uses of the relay."""

    config: RelayConfig
    hub: RoomHub
    admission: AdmissionPolicy
    client: S2STClient

    def count_close(self, code: CloseCode) -> None:
        """Record how a session ended."""
