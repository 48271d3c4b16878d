"""Reconnection policy (pure: no I/O). The session applies it; tests drive it with plain numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import ConfigurationError, S2STError, TransportError

__all__ = ["ReconnectPolicy"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When and how a session moves to a new connection.

    Attributes:
        enabled: reconnect at all. ``False`` makes every lost connection end the session.
        on_go_away: move to a new connection as soon as ``goAway`` arrives (before the deadline).
        max_attempts: connection attempts per incident before giving up (>= 1).
        initial_backoff_s: wait before the second attempt; doubles each attempt.
        max_backoff_s: cap of the wait between attempts.
        jitter: random fraction (0..1) added to or removed from each wait.
        resume: resume server state with the latest resumption handle when there is one.
    """

    enabled: bool = True
    on_go_away: bool = True
    max_attempts: int = 6
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    jitter: float = 0.2
    resume: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("ReconnectPolicy.max_attempts must be >= 1")
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise ConfigurationError("ReconnectPolicy backoffs must be >= 0 seconds")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError("ReconnectPolicy.jitter must be between 0 and 1")

    @classmethod
    def disabled(cls) -> ReconnectPolicy:
        """A policy that never reconnects."""
        return cls(enabled=False, on_go_away=False)

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 = first try: no wait)."""
        if attempt <= 1:
            return 0.0
        base = float(min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (attempt - 2)))
        if self.jitter:
            r = float((rng or random).uniform(-self.jitter, self.jitter))
            base *= 1 + r
        return max(0.0, base)

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
