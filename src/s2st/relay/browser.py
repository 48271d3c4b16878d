"""One browser WebSocket = one upstream ``S2STSession`` (the ``/ws`` endpoint).

Three tasks per session: the *uplink* reads the browser (audio, ``stop``, ``ping``) and
enforces the frame size, byte rate and idle limits; the *downlink* iterates the session and
turns events into browser messages; the *sender* writes them to the browser from a queue whose
size in bytes is bounded (a browser that does not read fast enough is closed with 4431 instead
of holding memory or slowing the upstream session). The first task to decide how the session
ends wins; everything else is cancelled and the socket is closed with that code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketState

from s2st.errors import (
    AudioFormatError,
    AuthenticationError,
    ConfigurationError,
    ModelAccessDeniedError,
    S2STError,
    SessionClosedError,
    UnsupportedLanguageError,
)
from s2st.events import AudioChunk, Event

from .protocol import (
    PROTOCOL_VERSION,
    CloseCode,
    ProtocolViolation,
    encode,
    error_message,
    event_message,
    parse_control,
    parse_start,
)

if TYPE_CHECKING:
    from s2st.session import S2STSession

    from .admission import Admission, RelayHost

__all__ = ["SilenceGate", "TokenBucket", "close_socket", "run_browser", "upstream_failure"]

logger = logging.getLogger("s2st.relay")

_END = object()


class TokenBucket:
    """A byte-rate limiter: ``rate`` bytes per second sustained, ``burst`` bytes ahead."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._level, self._t = float(burst), clock()

    def take(self, n: int) -> bool:
        """Spend ``n`` bytes; False if that exceeds the allowance."""
        now = self._clock()
        self._level = min(self.burst, self._level + (now - self._t) * self.rate)
        self._t = now
        self._level -= n
        return self._level >= 0


class SilenceGate:
    """Decides which output chunks to forward: voiced audio, and up to ``tail_ms`` of the
    silence that follows it (pauses between words). The service streams silence forever
    (EVIDENCE.md row 7); forwarding all of it would cost 48 kB/s per idle browser."""

    def __init__(self, tail_ms: int) -> None:
        self.tail_ms = tail_ms
        self._left_ms = 0.0

    def admit(self, chunk: AudioChunk) -> bool:
        if chunk.voiced:
            self._left_ms = self.tail_ms
            return True
        if self._left_ms <= 0:
            return False
        self._left_ms -= chunk.duration_s * 1000
        return True


def upstream_failure(exc: BaseException) -> tuple[CloseCode, str]:
    """The close code and a safe message for an upstream failure. The upstream error's own
    text is never forwarded (it may name projects or endpoints); only its category is."""
    if isinstance(exc, (AuthenticationError, ModelAccessDeniedError)):
        return CloseCode.UPSTREAM_ERROR, "the translation service refused the relay's credentials"
    if isinstance(exc, S2STError):
        return CloseCode.UPSTREAM_ERROR, f"the translation service failed ({type(exc).__name__})"
    return CloseCode.UPSTREAM_ERROR, "the relay failed"


async def close_socket(
    ws: WebSocket, code: CloseCode, message: str, *, timeout_s: float = 2.0, notify: bool = True
) -> None:
    """Send the ``error`` message (for refusals, when ``notify``) and close with ``code``;
    bounded in time (a browser that stopped reading cannot hold the relay)."""

    async def close() -> None:
        connected = ws.client_state is WebSocketState.CONNECTED
        if notify and code is not CloseCode.NORMAL and connected:
            await ws.send_text(encode(error_message(code, message)))
        await ws.close(int(code), code.label)

    if ws.application_state is WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(Exception):  # the browser may already be gone
        await asyncio.wait_for(close(), timeout_s)


@dataclass
class _Outcome:
    code: CloseCode
    message: str


class _Pump:
    """The running part of a session: uplink, downlink and sender (module docstring)."""

    def __init__(self, relay: RelayHost, ws: WebSocket, session: S2STSession, ctx: Admission):
        self.relay, self.ws, self.session, self.ctx = relay, ws, session, ctx
        cfg = relay.config
        self.cfg = cfg
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.backlog = 0
        self.outcome: _Outcome | None = None
        self.decided = asyncio.Event()
        # The limits are stated for 16 kHz int16; other input rates scale them.
        scale = ctx.sample_rate / 16000
        self.bucket = TokenBucket(cfg.max_bytes_per_s * scale, int(cfg.burst_bytes * scale))
        self.gate = SilenceGate(cfg.silence_tail_ms)
        self.stopping = False
        self.finisher: asyncio.Task[None] | None = None
        self.sample_rate = ctx.sample_rate

    def end(self, code: CloseCode, message: str) -> None:
        if self.outcome is None:
            self.outcome = _Outcome(code, message)
            self.decided.set()

    def queue(self, item: str | bytes | object) -> None:
        size = len(item) if isinstance(item, (str, bytes)) else 0
        self.backlog += size
        if self.backlog > self.cfg.max_backlog_bytes:
            self.end(CloseCode.SLOW_CLIENT, "the browser does not read the translation fast enough")
            return
        self.outbox.put_nowait(item)

    async def receive(self, idle_reason: str) -> Message:
        """The next client message within ``idle_timeout_s`` (else 4408 with ``idle_reason``);
        `_ClientGone` when the client disconnected."""
        try:
            message = await asyncio.wait_for(self.ws.receive(), self.cfg.idle_timeout_s)
        except asyncio.TimeoutError:
            if self.stopping:
                await asyncio.sleep(3600)  # the finisher ends the session
            raise ProtocolViolation(CloseCode.TIMEOUT, idle_reason) from None
        if message["type"] == "websocket.disconnect":
            raise _ClientGone
        return message

    async def guarded(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        try:
            await body()
        except ProtocolViolation as v:
            self.end(v.code, v.message)
        except _ClientGone:
            self.end(CloseCode.NORMAL, "the browser left")
        except S2STError as exc:
            logger.info(
                "session %s: upstream %s ended it: %s", self.ctx.label, name, type(exc).__name__
            )
            self.end(*upstream_failure(exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("session %s: relay %s failed", self.ctx.label, name)
            self.end(CloseCode.UPSTREAM_ERROR, "the relay failed")

    # ------------------------------------------------------------------ uplink
    async def uplink(self) -> None:
        cfg = self.cfg
        while True:
            message = await self.receive("nothing received for too long")
            data, text = message.get("bytes"), message.get("text")
            size = len(data) if data is not None else len(text or "")
            if size > cfg.max_frame_bytes:
                raise ProtocolViolation(
                    CloseCode.FRAME_TOO_LARGE,
                    f"messages are limited to {cfg.max_frame_bytes} bytes",
                )
            if data is not None:
                await self.audio(data)
            elif text is not None:
                self.control(text)

    async def audio(self, data: bytes) -> None:
        if self.stopping:
            raise ProtocolViolation(CloseCode.BAD_REQUEST, "audio after stop")
        if not self.bucket.take(len(data)):
            raise ProtocolViolation(CloseCode.RATE_LIMITED, "audio sent faster than allowed")
        try:
            await self.session.send_audio(data, sample_rate=self.sample_rate)
        except AudioFormatError:
            raise ProtocolViolation(
                CloseCode.BAD_REQUEST, "audio must be little-endian int16 mono PCM"
            ) from None
        except SessionClosedError:
            await asyncio.sleep(3600)  # the downlink reports how the session ended

    def control(self, text: str) -> None:
        msg = parse_control(text)
        if msg["type"] == "ping":
            self.queue(encode({"type": "pong", "t": msg["t"]}))
        elif not self.stopping:
            self.stopping = True
            self.finisher = asyncio.create_task(
                self.session.finish(timeout_s=self.cfg.finish_timeout_s), name="s2st-relay-finish"
            )

    # ------------------------------------------------------------------ downlink
    async def downlink(self) -> None:
        async for event in self.session:
            self.forward(event)
        self.queue(_END)

    def forward(self, event: Event) -> None:
        if isinstance(event, AudioChunk):
            if self.gate.admit(event):
                if event.sample_rate != self.ctx.output_rate:
                    self.ctx.output_rate = event.sample_rate
                    self.queue(encode({"type": "format", "sample_rate": event.sample_rate}))
                self.queue(event.pcm)
            return
        message = event_message(event)
        if message is None:
            return
        self.queue(encode(message))
        if self.ctx.room is not None and message["type"] in ("source", "translation"):
            self.relay.hub.publish(self.ctx.room, {**message, "speaker": self.ctx.label})

    # ------------------------------------------------------------------ sender
    async def sender(self) -> None:
        while True:
            item = await self.outbox.get()
            if item is _END:
                await self.ws.send_text(encode({"type": "end"}))
                self.end(CloseCode.NORMAL, "the session ended")
                return
            if isinstance(item, bytes):
                await self.ws.send_bytes(item)
            else:
                await self.ws.send_text(item)
            self.backlog -= len(item)

    def extra_tasks(self) -> list[Callable[[], Awaitable[None]]]:
        """More task bodies to run beside the three (subclasses)."""
        return []

    async def run(self, max_session_s: float) -> _Outcome:
        tasks = [
            asyncio.create_task(self.guarded("uplink", self.uplink), name="s2st-relay-uplink"),
            asyncio.create_task(self.guarded("downlink", self.downlink), name="s2st-relay-down"),
            asyncio.create_task(self.guarded("sender", self.sender), name="s2st-relay-sender"),
            *(asyncio.create_task(self.guarded("ticker", t)) for t in self.extra_tasks()),
        ]
        try:
            await asyncio.wait_for(self.decided.wait(), max_session_s)
        except asyncio.TimeoutError:
            self.end(CloseCode.SESSION_TOO_LONG, "the session reached its maximum length")
        finally:
            if self.finisher is not None:
                tasks.append(self.finisher)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert self.outcome is not None
        return self.outcome


class _ClientGone(Exception):
    """The browser closed its socket."""


async def serve_socket(
    relay: RelayHost,
    ws: WebSocket,
    serve: Callable[[RelayHost, WebSocket], Awaitable[tuple[CloseCode, str]]],
    *,
    what: str,
    notify: bool = True,
) -> None:
    """Accept ``ws``, run ``serve`` until the session ends, count and log how it ended, and
    close with the documented code (``notify``: send the error message first)."""
    await ws.accept()
    code, message = CloseCode.NORMAL, ""
    try:
        code, message = await serve(relay, ws)
    except ProtocolViolation as v:
        code, message = v.code, v.message
    except _ClientGone:
        return
    finally:
        relay.count_close(code)
    if code is not CloseCode.NORMAL:
        logger.info("refused or ended a %s: %d %s (%s)", what, code, code.label, message)
    await close_socket(ws, code, message, notify=notify)


async def run_browser(relay: RelayHost, ws: WebSocket) -> None:
    """Serve one browser WebSocket until the session ends (the ``/ws`` endpoint)."""
    await serve_socket(relay, ws, _serve, what="browser session")


async def _serve(relay: RelayHost, ws: WebSocket) -> tuple[CloseCode, str]:
    relay.admission.check_origin(ws.headers.get("origin"), ws.headers.get("host"))
    relay.admission.check_open()
    try:
        first = await asyncio.wait_for(ws.receive(), relay.config.start_timeout_s)
    except asyncio.TimeoutError:
        raise ProtocolViolation(CloseCode.TIMEOUT, "no start message in time") from None
    if first["type"] == "websocket.disconnect":
        raise _ClientGone
    if first.get("bytes") is not None:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "the first message must be a text start")
    start = parse_start(first.get("text"))
    claims = relay.admission.authenticate(start.token, ws.client.host if ws.client else None)
    language = relay.admission.check_language(start.target_language, claims)
    relay.admission.check_room(start.room, claims, publish=True)
    with relay.admission.admit(claims, room=start.room, sample_rate=start.sample_rate) as ctx:
        try:
            session = relay.client.connect(language, **relay.config.connect_options)
        except UnsupportedLanguageError:
            raise ProtocolViolation(CloseCode.BAD_REQUEST, "unsupported target_language") from None
        except ConfigurationError:
            raise ProtocolViolation(
                CloseCode.UPSTREAM_ERROR, "the relay is misconfigured"
            ) from None
        try:
            await session.open()
        except S2STError as exc:
            logger.warning("session %s: upstream refused: %s", ctx.label, type(exc).__name__)
            return upstream_failure(exc)
        try:
            await ws.send_text(encode(_ready(relay, ctx, language)))
            max_s = relay.config.max_session_s
            if claims is not None and claims.max_session_s is not None:
                max_s = min(max_s, claims.max_session_s)
            outcome = await _Pump(relay, ws, session, ctx).run(max_s)
        finally:
            await session.aclose()
        logger.info("session %s ended: %d %s", ctx.label, outcome.code, outcome.code.label)
        return outcome.code, outcome.message


def _ready(relay: RelayHost, ctx: Admission, language: str) -> dict[str, Any]:
    cfg = relay.config
    return {
        "type": "ready",
        "version": PROTOCOL_VERSION,
        "session": ctx.label,
        "target_language": language,
        "input_sample_rate": ctx.sample_rate,
        "output_sample_rate": ctx.output_rate,
        "max_frame_bytes": cfg.max_frame_bytes,
        "room": ctx.room,
    }
