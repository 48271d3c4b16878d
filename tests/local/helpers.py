"""Helpers shared by the local-engine tests: feeding an engine and collecting its replies,
writing test speech to WAV, and an engine factory that keeps the engines it made."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from s2st.emulator.engines import Reply
from s2st.local.engine import LocalEngine, local_engine_factory


def drain(engine: LocalEngine, *, timeout_s: float = 30.0) -> list[Reply]:
    """Poll ``engine`` until it is idle; its replies (AssertionError if it never gets there)."""
    out: list[Reply] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out += engine.poll()
        if engine.idle:
            return out + engine.poll()
        time.sleep(0.05)
    raise AssertionError("the cascade did not finish in time")


def feed(engine: LocalEngine, audio: np.ndarray, *, step: int = 1600) -> list[Reply]:
    """Feed ``audio`` in messages of ``step`` samples (100 ms at 16 kHz); the replies."""
    out: list[Reply] = []
    for i in range(0, audio.size, step):
        out += engine.feed(audio[i : i + step])
    return out


def text(replies: list[Reply], kind: str) -> str:
    """The text of the replies of ``kind`` (``"input_text"``, ``"output_text"``), joined."""
    return "".join(r.text for r in replies if r.kind == kind)


def write_wav(path: Path, pcm: np.ndarray, *, sample_rate: int = 16000) -> None:
    """Write mono int16 ``pcm`` to a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.astype("<i2").tobytes())


class EngineRecorder:
    """An ``Emulator(engine=...)`` callable: `local_engine_factory` with ``options``, keeping
    each engine it makes in ``engines`` (to inspect, and to `close` at the end)."""

    def __init__(self, **options: Any) -> None:
        self._factory = local_engine_factory(**options)
        self.engines: list[LocalEngine] = []

    def __call__(self, info: object) -> LocalEngine:
        engine = self._factory(info)
        assert isinstance(engine, LocalEngine)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        """Close every engine made (off the event loop: closing joins worker threads)."""
        await asyncio.to_thread(lambda: [e.close() for e in self.engines])
