"""A minimal Live API server shaped like ../shared/EVIDENCE.md, independent of s2st.emulator.

It answers the live-translate model the way public captures show the real service doing it:
binary frames, ``setupComplete: {}``, transcripts as deltas with ``languageCode``, 24 kHz output
streamed at real time forever (translated "speech" while there is some, PCM digital silence
otherwise, also after ``audioStreamEnd``), ``usageMetadata`` beside an empty ``serverContent``,
resumable handles at a fixed period, and never a turn marker. The "translation" of voiced input
is a tone of the same length, ``lag_s`` later, with one output word per voiced input message.

``silent=True`` models the silent failure of EVIDENCE.md row 15: only silence, no transcript.
Nothing here imports s2st, so it checks the client against the evidence, not against our
emulator.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

PART_S = 0.1
OUT_RATE = 24_000
_SILENT_PART = base64.b64encode(bytes(int(OUT_RATE * PART_S) * 2)).decode("ascii")
_TONE = (4000 * np.sin(2 * np.pi * 330 * np.arange(int(OUT_RATE * PART_S)) / OUT_RATE)).astype(
    "<i2"
)
_VOICED_PART = base64.b64encode(_TONE.tobytes()).decode("ascii")


def _audio(data: str) -> bytes:
    message = {
        "serverContent": {
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}]
            }
        }
    }
    return json.dumps(message).encode()


@dataclass
class EvidenceServer:
    """Serve on 127.0.0.1 (port 0) while used as an async context manager."""

    lag_s: float = 0.5
    handle_every_s: float = 2.0
    usage_every_s: float = 1.0
    silent: bool = False
    port: int = 0
    setups: list[dict[str, Any]] = field(default_factory=list)
    voiced_parts_sent: int = 0
    _server: Server | None = None

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> EvidenceServer:
        self._server = await serve(self._handler, "127.0.0.1", 0, compression=None)
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handler(self, ws: ServerConnection) -> None:
        setup = json.loads(await ws.recv())
        self.setups.append(setup)
        await ws.send(b'{"setupComplete":{}}')
        due: deque[float] = deque()  # times at which one voiced output part becomes due
        started = asyncio.Event()
        sender = asyncio.create_task(self._sender(ws, due, started))
        try:
            async for raw in ws:
                realtime = json.loads(raw).get("realtimeInput", {})
                blob = realtime.get("audio")
                if blob is None:
                    continue  # audioStreamEnd: nothing changes, silence goes on
                started.set()
                pcm = np.frombuffer(base64.b64decode(blob["data"]), dtype="<i2")
                if pcm.size and int(np.abs(pcm.astype(np.int32)).max()) > 1000 and not self.silent:
                    await ws.send(
                        json.dumps(
                            {
                                "serverContent": {
                                    "inputTranscription": {"text": " word", "languageCode": "en"}
                                }
                            }
                        ).encode()
                    )
                    due.append(time.monotonic() + self.lag_s)
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()

    async def _sender(
        self, ws: ServerConnection, due: deque[float], started: asyncio.Event
    ) -> None:
        await started.wait()
        t0 = time.monotonic()
        tick = 0
        next_handle = self.handle_every_s
        next_usage = self.usage_every_s
        while True:
            now = time.monotonic()
            if due and due[0] <= now:
                due.popleft()
                await ws.send(
                    json.dumps(
                        {
                            "serverContent": {
                                "outputTranscription": {"text": " palabra", "languageCode": "es"}
                            }
                        }
                    ).encode()
                )
                await ws.send(_audio(_VOICED_PART))
                self.voiced_parts_sent += 1
            else:
                await ws.send(_audio(_SILENT_PART))
            elapsed = now - t0
            if elapsed >= next_handle:
                next_handle += self.handle_every_s
                update = {"newHandle": f"h-{tick}", "resumable": True}
                await ws.send(json.dumps({"sessionResumptionUpdate": update}).encode())
            if elapsed >= next_usage:
                next_usage += self.usage_every_s
                usage = {
                    "promptTokenCount": tick,
                    "responseTokenCount": tick,
                    "totalTokenCount": 2 * tick,
                }
                await ws.send(json.dumps({"serverContent": {}, "usageMetadata": usage}).encode())
            tick += 1
            await asyncio.sleep(max(0.0, t0 + tick * PART_S - time.monotonic()))
