"""Plain-websockets helpers for the emulator tests (no s2st session involved)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from s2st.emulator import Emulator

MODEL = "gemini-2.5-flash-s2st-11-2025-exp"
VERTEX_MODEL = f"projects/p/locations/us-central1/publishers/google/models/{MODEL}"
BEARER = {"Authorization": "Bearer test-token-123"}
API_KEY = {"x-goog-api-key": "test-key-123"}


def legacy_setup(model: str = VERTEX_MODEL, target: str = "es", **extra: Any) -> dict[str, Any]:
    setup: dict[str, Any] = {
        "model": model,
        "generation_config": {
            "response_modalities": ["AUDIO"],
            "speech_config": {"language_code": target},
        },
        "input_audio_transcription": {},
        "output_audio_transcription": {},
        "enable_speech_to_speech_translation": True,
    }
    setup.update(extra)
    return {"setup": setup}


def audio_msg(
    pcm: np.ndarray | bytes, rate: int = 16000, *, urlsafe: bool = False, camel: bool = True
) -> str:
    raw = pcm if isinstance(pcm, bytes) else pcm.astype("<i2").tobytes()
    data = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    if camel:
        return json.dumps(
            {"realtimeInput": {"audio": {"mimeType": f"audio/pcm;rate={rate}", "data": data}}}
        )
    return json.dumps(
        {"realtime_input": {"audio": {"mime_type": f"audio/pcm;rate={rate}", "data": data}}}
    )


async def open_vertex(
    emu: Emulator, setup: dict[str, Any] | None = None, **kw: Any
) -> ClientConnection:
    ws = await connect(emu.vertex_url(), additional_headers=BEARER, **kw)
    await ws.send(json.dumps(setup or legacy_setup()))
    return ws


async def recv_json(ws: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout_s)
    obj: dict[str, Any] = json.loads(raw)
    return obj


async def expect_close(ws: ClientConnection, timeout_s: float = 5.0) -> tuple[int, str]:
    """Read until the server closes; return (code, reason) of the close frame received."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout_s)
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        return (rcvd.code, rcvd.reason) if rcvd is not None else (1006, "")


async def collect(
    ws: ClientConnection, *, until: str = "turnComplete", count: int = 1, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """Collect server messages until ``count`` messages with serverContent[until] arrived."""
    out: list[dict[str, Any]] = []
    seen = 0
    while seen < count:
        msg = await recv_json(ws, timeout_s)
        out.append(msg)
        if msg.get("serverContent", {}).get(until):
            seen += 1
    return out


async def stream(
    ws: ClientConnection,
    pcm: np.ndarray,
    *,
    chunk_ms: int = 100,
    rate: int = 16000,
    speedup: float = 10.0,
    **kw: Any,
) -> int:
    step = rate * chunk_ms // 1000
    n = 0
    for i in range(0, pcm.size, step):
        await ws.send(audio_msg(pcm[i : i + step], rate, **kw))
        n += 1
        if speedup != float("inf"):
            await asyncio.sleep(chunk_ms / 1000 / speedup)
    return n


def texts(msgs: list[dict[str, Any]], field: str) -> str:
    return "".join(m.get("serverContent", {}).get(field, {}).get("text", "") for m in msgs)


def transcripts(msgs: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """The ``serverContent.<field>`` objects (``inputTranscription``, ...) of ``msgs``."""
    return [m["serverContent"][field] for m in msgs if field in m.get("serverContent", {})]


def audio_bytes(msgs: list[dict[str, Any]]) -> bytes:
    out = b""
    for m in msgs:
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
            out += base64.b64decode(p["inlineData"]["data"])
    return out


def tone(
    seconds: float, *, rate: int = 16000, pre_s: float = 0.3, post_s: float = 0.8
) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    burst = (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return np.concatenate(
        [np.zeros(int(pre_s * rate), np.int16), burst, np.zeros(int(post_s * rate), np.int16)]
    )
