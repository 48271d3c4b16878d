"""Phone calls: a simulated Twilio peer sends a recorded call over Media Streams.

The "recording" is the bundled English sample as Twilio would carry it (8 kHz mu-law, 20 ms
media messages); the peer speaks Twilio's documented message shapes (connected, start with
customParameters, media, mark, stop) and echoes marks back as Twilio does once audio played.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from s2st.audio import Resampler, mulaw_decode, mulaw_encode
from s2st.emulator import load_scenario
from s2st.relay import CloseCode, issue_token

from .helpers import SECRET, UNIT_S, RelayServer, running_relay, sample_pcm

SID = "MZ00000000000000000000000000000001"


def recorded_call() -> bytes:
    """The hello sample as 8 kHz mu-law, with 1.5 s of line silence after it."""
    pcm16k = np.frombuffer(sample_pcm(), dtype="<i2").astype(np.float32) / 32768
    down = Resampler(16000, 8000)
    pcm8k = np.concatenate([down.process(pcm16k), down.flush()])
    pcm8k = np.concatenate([pcm8k, np.zeros(12000, dtype=np.float32)])
    return mulaw_encode(np.clip(pcm8k * 32768, -32768, 32767).astype(np.int16))


def twilio_start(params: dict[str, str]) -> dict[str, Any]:
    return {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": "AC00000000000000000000000000000000",
            "streamSid": SID,
            "callSid": "CA00000000000000000000000000000000",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": params,
        },
        "streamSid": SID,
    }


class TwilioPeer:
    """What Twilio does on a <Connect><Stream> call, recorded for the assertions."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seq = 1
        self.received: list[dict[str, Any]] = []
        self.marks_echoed = 0

    async def send(self, event: str, body: dict[str, Any] | None = None) -> None:
        self.seq += 1
        msg: dict[str, Any] = {"event": event, "sequenceNumber": str(self.seq), "streamSid": SID}
        if body is not None:
            msg[event] = body
        await self.ws.send(json.dumps(msg))

    async def play(self, mulaw: bytes, *, speed: float) -> None:
        for chunk, i in enumerate(range(0, len(mulaw), 160), start=1):
            payload = base64.b64encode(mulaw[i : i + 160]).decode()
            media = {"track": "inbound", "chunk": str(chunk), "timestamp": str(i // 8)}
            await self.send("media", {**media, "payload": payload})
            await asyncio.sleep(0.02 / speed)

    async def listen(self) -> None:
        async for frame in self.ws:
            assert isinstance(frame, str), "Twilio Media Streams messages are JSON text"
            msg = json.loads(frame)
            self.received.append(msg)
            if msg["event"] == "mark":  # Twilio echoes a mark once the audio before it played
                self.marks_echoed += 1
                await self.send("mark", {"name": msg["mark"]["name"]})

    def audio(self) -> np.ndarray:
        payloads = [m["media"]["payload"] for m in self.received if m["event"] == "media"]
        return mulaw_decode(b"".join(base64.b64decode(p) for p in payloads))


async def call(rs: RelayServer, params: dict[str, str], *, speed: float = 3.0) -> TwilioPeer:
    async with connect(f"ws://127.0.0.1:{rs.port}/twilio") as ws:
        peer = TwilioPeer(ws)
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps(twilio_start(params)))
        listener = asyncio.create_task(peer.listen())
        await peer.play(recorded_call(), speed=speed)
        for _ in range(int(200 * UNIT_S)):  # until the translated passage has been sent
            if peer.marks_echoed:
                break
            await asyncio.sleep(0.05)
        await peer.send("stop", {"accountSid": "AC0", "callSid": "CA0"})
        await asyncio.wait_for(listener, 10 * UNIT_S)
        peer.close_code = ws.close_code  # type: ignore[attr-defined]
        return peer


async def test_a_recorded_call_is_translated_back_to_the_caller() -> None:
    async with running_relay() as rs:
        token = issue_token(SECRET, subject="+15550100", rooms=["call"])
        peer = await call(rs, {"token": token, "to": "es", "room": "call"})
        assert peer.close_code == 1000  # type: ignore[attr-defined]
        kinds = {m["event"] for m in peer.received}
        assert kinds <= {"media", "mark", "clear"}, kinds
        assert all(m["streamSid"] == SID for m in peer.received)
        assert peer.marks_echoed >= 1
        audio = peer.audio()
        voiced_s = np.count_nonzero(np.abs(audio.astype(np.int32)) > 400) / 8000
        expected = load_scenario("hello").utterances[0].translations["es"].audio
        expected_s = np.count_nonzero(np.abs(expected.astype(np.int32)) > 400) / 24000
        assert 0.7 * expected_s <= voiced_s <= 1.3 * expected_s, (voiced_s, expected_s)
        history = list(rs.relay.hub._rooms["call"].history)
        assert "Hola" in "".join(c.data["text"] for c in history if c.data["type"] == "translation")
        assert rs.relay.active_sessions == 0


async def test_calls_need_a_token_and_the_twilio_media_format() -> None:
    async with running_relay() as rs:
        for params, start_patch, code in [
            ({"to": "es"}, {}, CloseCode.UNAUTHORIZED),
            (
                {"to": "es", "token": issue_token(SECRET, subject="x")},
                {"encoding": "audio/x-l16"},
                CloseCode.BAD_REQUEST,
            ),
            (
                {"to": "de", "token": issue_token(SECRET, subject="x", languages=["es"])},
                {},
                CloseCode.FORBIDDEN,
            ),
        ]:
            async with connect(f"ws://127.0.0.1:{rs.port}/twilio") as ws:
                start = twilio_start(params)
                start["start"]["mediaFormat"].update(start_patch)
                await ws.send(
                    json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
                )
                await ws.send(json.dumps(start))
                with contextlib.suppress(ConnectionClosed):
                    async for msg in ws:
                        raise AssertionError(f"nothing is sent to a refused call: {msg!r}")
                assert ws.close_code == code, (ws.close_code, ws.close_reason)
