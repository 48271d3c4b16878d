"""A real relay (uvicorn on 127.0.0.1 port 0) in front of a real emulator, for the relay tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from s2st import S2STClient
from s2st.emulator import Emulator, sample_path
from s2st.relay import Relay, RelayConfig

#: Time unit for waits in tests; scale with S2ST_TEST_TIME_SCALE on slow machines.
UNIT_S = float(os.environ.get("S2ST_TEST_TIME_SCALE", "1"))
SECRET = "test-secret-0123456789abcdef"


@dataclass
class RelayServer:
    relay: Relay
    emulator: Emulator
    port: int
    server: uvicorn.Server
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@contextlib.asynccontextmanager
async def running_relay(
    *,
    send_buffer_bytes: int | None = None,
    emulator: dict[str, Any] | None = None,
    **config: Any,
) -> AsyncIterator[RelayServer]:
    """Start an emulator and a relay (``RelayConfig(**config)``, secret ``SECRET`` by default).

    ``send_buffer_bytes`` sets SO_SNDBUF on the listening socket (accepted sockets inherit it),
    like a constrained network path: otherwise loopback TCP absorbs megabytes for a client
    that does not read."""
    config.setdefault("secret", SECRET)
    async with Emulator(**(emulator or {})) as emu:
        relay = Relay(S2STClient.for_emulator(emu), RelayConfig(**config))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if send_buffer_bytes is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(
            uvicorn.Config(
                relay, log_config=None, lifespan="on", ws="websockets-sansio", ws_max_size=1 << 20
            )
        )
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve(sockets=[sock]))
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.025)
        assert server.started, "uvicorn did not start"
        rs = RelayServer(relay, emu, sock.getsockname()[1], server)
        try:
            yield rs
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10 * UNIT_S)


def sample_pcm(name: str = "hello") -> bytes:
    """The bundled sample's 16 kHz int16 PCM bytes."""
    with wave.open(str(sample_path(name))) as w:
        return w.readframes(w.getnframes())


def silence(ms: int, rate: int = 16000) -> bytes:
    return bytes(rate * 2 * ms // 1000)


@dataclass
class Received:
    """What a browser client saw."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    close_code: int | None = None
    close_reason: str = ""

    def texts(self, kind: str) -> str:
        return "".join(m["text"] for m in self.messages if m["type"] == kind)

    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]

    @property
    def voiced_samples(self) -> int:
        data = np.frombuffer(bytes(self.audio), dtype="<i2")
        return int(np.count_nonzero(np.abs(data.astype(np.int32)) > 128))


async def read_all(ws: ClientConnection, out: Received, *, timeout_s: float) -> Received:
    """Read until the relay closes the socket (or ``timeout_s``)."""
    from websockets.exceptions import ConnectionClosed

    async def loop() -> None:
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    out.audio += frame
                else:
                    out.messages.append(json.loads(frame))
        except ConnectionClosed:
            pass

    await asyncio.wait_for(loop(), timeout_s)
    if ws.close_code is not None:
        out.close_code = ws.close_code
        out.close_reason = ws.close_reason or ""
    return out


async def stream_pcm(ws: ClientConnection, pcm: bytes, *, speed: float = 3.0, chunk_ms: int = 100):
    """Send ``pcm`` (16 kHz) in ``chunk_ms`` frames at ``speed`` times real time."""
    step = 16000 * 2 * chunk_ms // 1000
    for i in range(0, len(pcm), step):
        await ws.send(pcm[i : i + step])
        await asyncio.sleep(chunk_ms / 1000 / speed)


async def stop_and_read_translation(ws: ClientConnection) -> str:
    """Send ``stop`` and read to the close; the text of the ``translation`` messages."""
    await ws.send(json.dumps({"type": "stop"}))
    translation = ""
    async for frame in ws:
        if isinstance(frame, str) and (msg := json.loads(frame))["type"] == "translation":
            translation += msg["text"]
    return translation


async def translate_once(
    rs: RelayServer,
    *,
    token: str | None,
    to: str = "es",
    origin: str | None = None,
    room: str | None = None,
    speed: float = 3.0,
    timeout_s: float = 40.0,
) -> Received:
    """One whole browser session: start, the hello sample, stop, read to the close."""
    headers = {"Origin": origin} if origin else None
    async with connect(rs.ws, additional_headers=headers, max_size=None) as ws:
        start: dict[str, Any] = {"type": "start", "version": 1, "target_language": to}
        if token is not None:
            start["token"] = token
        if room is not None:
            start["room"] = room
        await ws.send(json.dumps(start))
        out = Received()
        reader = asyncio.create_task(read_all(ws, out, timeout_s=timeout_s * UNIT_S))
        await stream_pcm(ws, sample_pcm() + silence(1500), speed=speed)
        await ws.send(json.dumps({"type": "stop"}))
        return await reader


def artifacts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "artifacts"
    path.mkdir(exist_ok=True)
    return path
