"""Opening WebSocket connections, and the one place where foreign exceptions become s2st errors.

Every ``websockets``/OS exception raised while connecting, sending or receiving is translated
here, so the session only ever sees [`s2st.errors`][s2st.errors] types. The typed error is raised outside
the ``except`` block that caught the foreign one, so it has no ``__cause__`` and no
``__context__``: a websockets ``InvalidStatus`` keeps the HTTP response, whose body may echo the
request with its credentials.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from s2st._logging import redacted_logger
from s2st._version import __version__
from s2st.endpoints import is_loopback_url
from s2st.errors import (
    AbnormalClosureError,
    ConfigurationError,
    ConnectionClosedError,
    S2STError,
    TransportError,
    error_from_close,
    error_from_handshake,
    redact,
)

__all__ = [
    "LiveConnection",
    "TransportOptions",
    "abort",
    "close_error",
    "close_quietly",
    "open_websocket",
]

logger = logging.getLogger("s2st.transport")

USER_AGENT = f"s2st/{__version__}"


# websockets logs the upgrade headers at DEBUG: route them through a redacting logger.
_WS_LOGGER = redacted_logger("s2st.transport.websockets")


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """Socket-level options (keyword names carry their units).

    Attributes:
        open_timeout_s: bound on TCP + TLS + HTTP upgrade.
        ping_interval_s: keepalive ping period; ``None`` disables pings.
        ping_timeout_s: close if no pong within this time; ``None`` never closes for that.
            The default is generous: Gemini pongs were measured at 8-30 s (PROTOCOL.md §3),
            and websockets' 20 s default causes spurious "keepalive ping timeout" closes.
        close_timeout_s: bound on the closing handshake; past it the TCP connection is dropped.
        max_message_bytes: largest server message accepted.
        max_queue_frames: frames websockets buffers before it stops reading the socket.
        receive_timeout_s: a connection on which audio was sent and from which no frame came
            for this long is dead: the session drops it and resumes on a new one (``None``
            disables this). The live service always sends something, audio (silence included)
            and a resumption update about every 2 s (EVIDENCE.md rows 7-9), so 10 s is five
            missed updates; a keepalive ping alone would take up to ``ping_interval_s +
            ping_timeout_s`` (80 s) to notice a server that stalled after ``setupComplete``.
    """

    open_timeout_s: float = 10.0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 60.0
    close_timeout_s: float = 2.0
    max_message_bytes: int = 16 * 1024 * 1024
    max_queue_frames: int = 32
    receive_timeout_s: float | None = 10.0

    def __post_init__(self) -> None:
        for name in ("open_timeout_s", "close_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
        for name in ("ping_interval_s", "ping_timeout_s", "receive_timeout_s"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise ConfigurationError(f"{name} must be a positive number or None, got {value!r}")
        for name in ("max_message_bytes", "max_queue_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")


class LiveConnection(ClientConnection):
    """websockets' client connection, noting when bytes last arrived from the server.

    ``last_data_t`` (``time.perf_counter``) is stamped where the bytes come in, before any
    frame is parsed or read: the dead-link watchdog judges the link by it, so a reader that is
    behind (an overloaded process) is not mistaken for a silent server."""

    last_data_t: float = 0.0

    def data_received(self, data: bytes) -> None:
        self.last_data_t = time.perf_counter()
        super().data_received(data)


def close_error(exc: ConnectionClosed) -> ConnectionClosedError | None:
    """Typed error for a closed connection; ``None`` for a normal close (1000/1001)."""
    rcvd = exc.rcvd
    if rcvd is None:
        return AbnormalClosureError(1006, "", "connection lost without a close frame (1006)")
    return error_from_close(rcvd.code, rcvd.reason)


async def open_websocket(
    url: str,
    headers: Mapping[str, str],
    options: TransportOptions,
    *,
    secrets: tuple[str, ...] = (),
) -> ClientConnection:
    """Open the WebSocket; raise [`TransportError`][s2st.errors.TransportError] subclasses on failure."""
    extra: dict[str, Any] = {}
    if is_loopback_url(url):
        extra["proxy"] = None  # never send loopback traffic through an environment proxy
    try:
        return await websockets.connect(
            url,
            additional_headers=dict(headers),
            user_agent_header=USER_AGENT,
            open_timeout=options.open_timeout_s,
            ping_interval=options.ping_interval_s,
            ping_timeout=options.ping_timeout_s,
            close_timeout=options.close_timeout_s,
            max_size=options.max_message_bytes,
            max_queue=options.max_queue_frames,
            logger=_WS_LOGGER,
            create_connection=LiveConnection,
            **extra,
        )
    except (InvalidHandshake, InvalidURI, asyncio.TimeoutError, OSError) as exc:
        error = _open_error(exc, url, options, secrets)
    # Raised here, outside the except block, so that neither __cause__ nor __context__ holds
    # the foreign exception: an InvalidStatus keeps the response, whose body may echo the
    # request with its credentials.
    raise error


def _open_error(
    exc: BaseException, url: str, options: TransportOptions, secrets: tuple[str, ...]
) -> S2STError:
    """The s2st error for a failure to open ``url`` (redacted; holds no foreign object)."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = response.body.decode("utf-8", "replace") if response.body else ""
        return error_from_handshake(response.status_code, redact(body, *secrets))
    if isinstance(exc, InvalidURI):
        return ConfigurationError(f"invalid WebSocket URL: {redact(str(exc), *secrets)}")
    if isinstance(exc, InvalidHandshake):
        err = TransportError(f"WebSocket handshake failed: {redact(str(exc), *secrets)}")
    elif isinstance(exc, asyncio.TimeoutError):
        err = TransportError(f"timed out after {options.open_timeout_s} s opening {url}")
    else:
        assert isinstance(exc, OSError)
        err = TransportError(f"could not connect to {url}: {exc.strerror or exc}")
    err.retryable = True
    return err


def abort(ws: ClientConnection) -> None:
    """Drop the TCP connection at once (no closing handshake)."""
    transport = ws.transport
    if transport is not None and not transport.is_closing():
        transport.abort()


async def close_quietly(ws: ClientConnection, *, timeout_s: float, code: int = 1000) -> bool:
    """Close ``ws`` with ``code``, bounded by ``timeout_s`` even if the server never answers
    the closing handshake; errors while closing are irrelevant and not raised.

    Returns True when the closing handshake completed: the server then read everything that
    was sent before it."""
    clean = False
    try:
        await asyncio.wait_for(ws.close(code=code), timeout_s)
        clean = ws.protocol.close_rcvd is not None
    except (asyncio.TimeoutError, ConnectionClosed, OSError):
        pass
    finally:
        abort(ws)
    return clean
