"""Live-translate clients and frame readers for the EVIDENCE tests (test_evidence*.py): setups
as working clients send them, connections to both backends, and views of the server frames."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from s2st.emulator import Emulator

from .helpers import (
    API_KEY,
    BEARER,
)

LT_MODEL = "gemini-3.5-live-translate-preview"
LT_VERTEX = f"projects/p/locations/us-central1/publishers/google/models/{LT_MODEL}"
PART = 2400  # samples in one 100 ms part at 24 kHz
END = json.dumps({"realtimeInput": {"audioStreamEnd": True}})


def lt_setup(model: str = f"models/{LT_MODEL}", target: str = "es", **extra: Any) -> dict[str, Any]:
    """A live-translate setup as working clients send it (EVIDENCE.md rows 1, 10)."""
    setup: dict[str, Any] = {
        "model": model,
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "translationConfig": {"targetLanguageCode": target, "echoTargetLanguage": False},
        },
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    setup.update(extra)
    return {"setup": setup}


async def open_gemini(emu: Emulator, setup: dict[str, Any] | None = None) -> ClientConnection:
    ws = await connect(emu.gemini_url(), additional_headers=API_KEY)
    await ws.send(json.dumps(setup or lt_setup()))
    return ws


async def open_vertex_lt(emu: Emulator, setup: dict[str, Any] | None = None) -> ClientConnection:
    ws = await connect(emu.vertex_url(), additional_headers=BEARER)
    await ws.send(json.dumps(setup or lt_setup(LT_VERTEX)))
    return ws


async def gather(ws: ClientConnection, seconds: float) -> list[tuple[float, dict[str, Any]]]:
    """All messages that arrive within ``seconds``, with their arrival time."""
    out: list[tuple[float, dict[str, Any]]] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            break
        out.append((time.monotonic(), json.loads(raw)))
    return out


def parts(msg: dict[str, Any]) -> list[np.ndarray]:
    """The 24 kHz audio parts of one message."""
    return [
        np.frombuffer(base64.b64decode(p["inlineData"]["data"]), "<i2")
        for p in msg.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]


def voiced(pcm: np.ndarray) -> bool:
    return bool(pcm.size and np.max(np.abs(pcm.astype(np.int32))) > 128)  # SILENCE_PEAK


def content_keys(msgs: list[dict[str, Any]]) -> set[str]:
    return {k for m in msgs for k in m.get("serverContent", {})}
