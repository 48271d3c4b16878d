"""Opening WebSocket connections and reading them in batches (private).

This is the only module of the client that touches websockets: every exception websockets or
the OS raises while connecting, sending or receiving is caught here and mapped by
``s2st._foreign`` (the one error map, shared with the credentials code), so the session only
ever sees [`s2st.errors`][s2st.errors] types. The typed error is raised outside the ``except``
block that caught the foreign one, so it has no ``__cause__`` and no ``__context__``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidURI,
)
from websockets.frames import DATA_OPCODES, Frame
from websockets.protocol import CLOSED, OPEN

from s2st._foreign import close_error, open_error
from s2st._logging import redacted_logger
from s2st._version import __version__
from s2st.endpoints import is_loopback_url
from s2st.errors import (
    ConfigurationError,
    ConnectionClosedError,
    S2STError,
    SessionClosedError,
)

__all__ = [
    "FrameSink",
    "LiveConnection",
    "TransportOptions",
    "abort",
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
        max_queue_frames: frames websockets buffers before it stops reading the socket, for
            messages read with ``recv()``; a session reads every data message from the read
            callback instead, so its bound is the session's ``max_pending_events`` (the socket
            is not read while that queue is full).
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


class FrameSink(Protocol):
    """Where a [`LiveConnection`][s2st._io.transport.LiveConnection] hands its data frames."""

    def on_frames(self, ws: LiveConnection, frames: list[bytes]) -> None:
        """The complete messages of one socket read, in order (called from the event loop's
        read callback: it must not block)."""

    def on_lost(self, ws: LiveConnection) -> None:
        """The connection is closed (``ws.close_exc`` says how)."""


class LiveConnection(ClientConnection):
    """websockets' client connection, handing data frames to a sink in batches.

    websockets stays the protocol implementation (framing, masking, pings, the closing
    handshake); what changes is the hand-off. Instead of queueing each message for a reader
    task to ``recv()``, every complete message of one socket read goes to the sink in one call,
    from the read callback itself: one wake-up per socket read, not one per message, and no
    reader task. ``last_data_t`` (``time.perf_counter``) is stamped where the bytes come in, so
    the dead-link watchdog can tell a silent server from a reader that is behind. Messages that
    arrive before a sink is attached wait for it (none is lost)."""

    last_data_t: float = 0.0
    _sink: FrameSink | None = None
    _batch: list[bytes] | None = None
    _fragments: list[bytes] | None = None

    def attach(self, sink: FrameSink) -> None:
        """Hand data frames to ``sink`` from now on (and those that came before, first)."""
        self._sink = sink
        early, self._batch = self._batch, None
        if early:
            sink.on_frames(self, early)
        if self.protocol.state is CLOSED and self.connection_lost_waiter.done():
            sink.on_lost(self)

    def data_received(self, data: bytes) -> None:
        self.last_data_t = time.perf_counter()
        super().data_received(data)  # process_event() below collects the messages
        batch, sink = self._batch, self._sink
        if batch and sink is not None:
            try:
                sink.on_frames(self, batch)
            finally:
                batch.clear()  # the same list for the next read

    def process_event(self, event: Any) -> None:
        if self.response is None or type(event) is not Frame or event.opcode not in DATA_OPCODES:
            super().process_event(event)  # the handshake response, pings, pongs, closes
            return
        data = event.data if type(event.data) is bytes else bytes(event.data)
        if not event.fin or self._fragments is not None:  # a fragmented message
            if self._fragments is None:
                self._fragments = []
            self._fragments.append(data)
            if not event.fin:
                return
            data, self._fragments = b"".join(self._fragments), None
        if self._batch is None:
            self._batch = [data]
        else:
            self._batch.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._sink is not None:
            self._sink.on_lost(self)

    @property
    def writable(self) -> bool:
        """True when `send_now()` would write at once: open, and the transport is not full."""
        return self.protocol.state is OPEN and not getattr(self, "paused", True)

    def send_now(self, frame: bytes, *, force: bool = False) -> bool:
        """Write ``frame`` as a text message at once, without a coroutine; False when that is
        not possible: not open, or (unless ``force``) the transport asked us to stop writing,
        in which case `write()` waits for it."""
        if not (self.writable or (force and self.protocol.state is OPEN)):
            return False
        self.protocol.send_text(frame)
        self.send_data()
        return True

    async def write(self, frame: bytes) -> S2STError | None:
        """Write ``frame`` as a text message, waiting while the transport is full; return the
        typed error if the connection closed instead."""
        if self.send_now(frame):
            return None
        try:
            # Waits while the transport is full; on a closing connection, waits for the close
            # to complete, so that the error says how it closed (a 1007 is not "closed").
            await self.send(frame, text=True)
        except ConnectionClosed:
            pass  # mapped below, outside the except block
        else:
            return None
        return self.closed_error() or SessionClosedError("the connection closed")

    async def probe(self, answered: Callable[[], None]) -> None:
        """Send a ping; call ``answered()`` when its pong arrives (never if it closes first)."""
        try:
            waiter = await self.ping()
        except ConnectionClosed:
            return  # the supervisor sees the same closure

        def done(future: asyncio.Future[float]) -> None:
            if not future.cancelled() and future.exception() is None:
                answered()

        waiter.add_done_callback(done)  # type: ignore[attr-defined]

    @property
    def closed(self) -> bool:
        """True once the connection is closed (`closed_error()` then says how)."""
        return self.protocol.state is CLOSED

    def closed_error(self) -> ConnectionClosedError | None:
        """The typed error for how the connection closed; ``None`` for a normal close or while
        it is not closed."""
        if self.protocol.state is not CLOSED:
            return None
        return close_error(self.protocol.close_exc)

    @property
    def received_code(self) -> int:
        """The close code received (1006 when none, or while open)."""
        if self.protocol.state is not CLOSED:
            return 1006
        rcvd = self.protocol.close_exc.rcvd
        return rcvd.code if rcvd is not None else 1006

    def pause_reading(self) -> None:
        """Stop reading the socket (the consumer is behind): TCP flow control slows the server."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read the socket again."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


async def open_websocket(
    url: str,
    headers: Mapping[str, str],
    options: TransportOptions,
    *,
    secrets: tuple[str, ...] = (),
) -> LiveConnection:
    """Open the WebSocket; raise [`TransportError`][s2st.errors.TransportError] subclasses on failure."""
    extra: dict[str, Any] = {}
    if is_loopback_url(url):
        extra["proxy"] = None  # never send loopback traffic through an environment proxy
    try:
        ws = await websockets.connect(
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
        assert isinstance(ws, LiveConnection)
        return ws
    except (InvalidHandshake, InvalidURI, asyncio.TimeoutError, OSError) as exc:
        error = open_error(exc, url, open_timeout_s=options.open_timeout_s, secrets=secrets)
    # Raised here, outside the except block, so that neither __cause__ nor __context__ holds
    # the foreign exception: an InvalidStatus keeps the response, whose body may echo the
    # request with its credentials.
    raise error


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
