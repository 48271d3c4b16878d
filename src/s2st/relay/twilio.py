"""Phone calls: the ``/twilio`` WebSocket speaks Twilio Media Streams.

Twilio connects (TwiML ``<Connect><Stream url="wss://relay.example/twilio">``) and sends
JSON text messages: ``connected``, then ``start`` (with ``streamSid``, ``mediaFormat``
``audio/x-mulaw`` at 8000 Hz and the ``customParameters`` of the ``<Parameter>`` elements),
``media`` (base64 mu-law, 20 ms each), ``mark`` (audio we sent has played), ``dtmf`` and
``stop``. The relay decodes the caller's audio into an upstream session and returns the
translated speech as mu-law ``media`` messages for the same ``streamSid``, followed by a
``mark`` after each spoken passage; an ``Interrupted`` event sends ``clear``.

``<Stream>`` URLs cannot carry query strings, so the token and the target language travel as
custom parameters: ``<Parameter name="token" value="..."/>``, ``<Parameter name="to"
value="es"/>`` and optionally ``<Parameter name="room" value="..."/>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.websockets import WebSocket

from s2st.audio import Resampler, mulaw_decode, mulaw_encode
from s2st.errors import S2STError
from s2st.events import AudioChunk, Event, Interrupted

from .browser import _ClientGone, _Pump, serve_socket, upstream_failure
from .protocol import CloseCode, ProtocolViolation, encode, event_message, valid_room

if TYPE_CHECKING:
    from .admission import RelayHost

__all__ = ["PHONE_RATE", "parse_start_event", "run_twilio"]

logger = logging.getLogger("s2st.relay.twilio")

#: Twilio Media Streams carry 8 kHz mono G.711 mu-law.
PHONE_RATE = 8000
_PASSAGE_GAP_S = 0.6


def _load(text: str | None) -> dict[str, Any]:
    if text is None:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "Twilio sends JSON text messages")
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "a Twilio message has an event")
    return data


def parse_start_event(data: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The ``streamSid`` and custom parameters of a Twilio ``start`` message.

    Raises:
        ProtocolViolation: 4400 for a missing ``streamSid`` or a media format other than
            8 kHz mono ``audio/x-mulaw``.
    """
    start = data.get("start")
    if not isinstance(start, dict):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "start message without start")
    sid = start.get("streamSid") or data.get("streamSid")
    if not isinstance(sid, str) or not sid:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "start message without streamSid")
    fmt = start.get("mediaFormat") or {}
    if (
        not isinstance(fmt, dict)
        or fmt.get("encoding", "audio/x-mulaw") != "audio/x-mulaw"
        or int(fmt.get("sampleRate", PHONE_RATE)) != PHONE_RATE
        or int(fmt.get("channels", 1)) != 1
    ):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "only 8 kHz mono audio/x-mulaw is supported")
    params = start.get("customParameters") or {}
    if not isinstance(params, dict):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "customParameters must be an object")
    return sid, {str(k): str(v) for k, v in params.items()}


class _Call(_Pump):
    """The running part of a phone call (see the module docstring)."""

    stream_sid = ""
    marks_sent = 0
    marks_played = 0

    def setup_audio(self) -> None:
        self.down: Resampler | None = None
        self.voiced_run = False
        self.last_voiced = 0.0

    def extra_tasks(self) -> list[Callable[[], Awaitable[None]]]:
        return [self.marker]

    async def marker(self) -> None:
        """After each spoken passage (no voiced audio for ``_PASSAGE_GAP_S``) send a ``mark``:
        Twilio echoes it once the caller has heard everything before it. The service may keep
        streaming silence or go quiet, so this does not wait for the next chunk."""
        while True:
            await asyncio.sleep(_PASSAGE_GAP_S / 4)
            if self.voiced_run and time.monotonic() - self.last_voiced >= _PASSAGE_GAP_S:
                self.voiced_run = False
                self.marks_sent += 1
                self.queue(self._message("mark", {"name": f"s2st-{self.marks_sent}"}))

    async def uplink(self) -> None:
        cfg = self.cfg
        while True:
            message = await self.receive("no media for too long")
            text = message.get("text")
            if len(text or message.get("bytes") or b"") > cfg.max_frame_bytes:
                raise ProtocolViolation(CloseCode.FRAME_TOO_LARGE, "message too large")
            data = _load(text)
            event = data["event"]
            if event == "media":
                await self.media(data)
            elif event == "mark":
                self.marks_played += 1
            elif event == "stop":
                # The call is over: nobody is left to hear the translation.
                self.end(CloseCode.NORMAL, "the call ended")
                return

    async def media(self, data: dict[str, Any]) -> None:
        media = data.get("media")
        if not isinstance(media, dict):
            raise ProtocolViolation(CloseCode.BAD_REQUEST, "media message without media")
        if media.get("track", "inbound") != "inbound":
            return  # only the caller's voice is translated
        try:
            raw = base64.b64decode(str(media.get("payload", "")), validate=True)
        except (ValueError, binascii.Error):
            raise ProtocolViolation(CloseCode.BAD_REQUEST, "media payload is not base64") from None
        if not self.bucket.take(len(raw) * 2):  # counted as the 16-bit audio it becomes
            raise ProtocolViolation(CloseCode.RATE_LIMITED, "media sent faster than allowed")
        if raw:
            try:
                await self.session.send_audio(mulaw_decode(raw), sample_rate=PHONE_RATE)
            except S2STError:
                await asyncio.sleep(3600)  # the downlink reports how the session ended

    def forward(self, event: Event) -> None:
        if isinstance(event, AudioChunk):
            if not self.gate.admit(event):
                return
            if event.voiced:
                self.voiced_run = True
                self.last_voiced = time.monotonic()
            self.queue(self._message("media", {"payload": self._encode(event)}))
            return
        if isinstance(event, Interrupted):
            self.queue(encode({"event": "clear", "streamSid": self.stream_sid}))
            return
        message = event_message(event)
        if (
            message is not None
            and self.ctx.room is not None
            and message["type"]
            in (
                "source",
                "translation",
            )
        ):
            self.relay.hub.publish(self.ctx.room, {**message, "speaker": self.ctx.label})

    def _encode(self, chunk: AudioChunk) -> str:
        if self.down is None or self.down.in_rate != chunk.sample_rate:
            self.down = Resampler(chunk.sample_rate, PHONE_RATE)
        samples = self.down.process(chunk.data.astype(np.float32) / 32768.0)
        pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)
        return base64.b64encode(mulaw_encode(pcm)).decode("ascii")

    def _message(self, kind: str, body: dict[str, str]) -> str:
        return encode({"event": kind, "streamSid": self.stream_sid, kind: body})

    async def sender(self) -> None:
        while True:
            item = await self.outbox.get()
            if not isinstance(item, str):  # the session ended
                self.end(CloseCode.NORMAL, "the session ended")
                return
            await self.ws.send_text(item)
            self.backlog -= len(item)


async def run_twilio(relay: RelayHost, ws: WebSocket) -> None:
    """Serve one Twilio Media Streams WebSocket (the ``/twilio`` endpoint)."""
    # notify=False: Twilio knows only its own events.
    await serve_socket(relay, ws, _serve, what="phone call", notify=False)


async def _first_start(relay: RelayHost, ws: WebSocket) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                raise _ClientGone
            data = _load(msg.get("text"))
            if data["event"] == "start":
                return data
            if data["event"] != "connected":
                raise ProtocolViolation(CloseCode.BAD_REQUEST, "expected connected, then start")

    try:
        return await asyncio.wait_for(wait(), relay.config.start_timeout_s)
    except asyncio.TimeoutError:
        raise ProtocolViolation(CloseCode.TIMEOUT, "no start message in time") from None


async def _serve(relay: RelayHost, ws: WebSocket) -> tuple[CloseCode, str]:
    relay.admission.check_origin(ws.headers.get("origin"), ws.headers.get("host"))
    relay.admission.check_open()
    sid, params = parse_start_event(await _first_start(relay, ws))
    claims = relay.admission.authenticate(
        params.get("token"), ws.client.host if ws.client else None
    )
    language = relay.admission.check_language(
        params.get("to") or params.get("target_language") or "", claims
    )
    room = params.get("room") or None
    if room is not None and not valid_room(room):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "room names are 1-64 of [A-Za-z0-9._-]")
    relay.admission.check_room(room, claims, publish=True)
    with relay.admission.admit(claims, room=room, sample_rate=PHONE_RATE) as ctx:
        session = relay.client.connect(language, **relay.config.connect_options)
        try:
            await session.open()
        except S2STError as exc:
            logger.warning("call %s: upstream refused: %s", ctx.label, type(exc).__name__)
            return upstream_failure(exc)
        try:
            call = _Call(relay, ws, session, ctx)
            call.stream_sid = sid
            call.setup_audio()
            max_s = relay.config.max_session_s
            if claims is not None and claims.max_session_s is not None:
                max_s = min(max_s, claims.max_session_s)
            outcome = await call.run(max_s)
        finally:
            await session.aclose()
        logger.info(
            "call %s ended: %d %s (%d marks played)",
            ctx.label,
            outcome.code,
            outcome.code.label,
            call.marks_played,
        )
        return outcome.code, outcome.message
