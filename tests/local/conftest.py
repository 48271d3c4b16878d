"""Fixtures for the local-engine tests: speech made with espeak-ng, models loaded once.

These tests need the ``local`` extra and the Debian packages (espeak-ng, apertium,
apertium-eng-spa, ...); see docs/guides/local-engine.md. Nothing is downloaded: Hugging Face
libraries are kept offline.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from s2st.emulator._audio import resample
from s2st.local.asr import WhisperASR
from s2st.local.tts import EspeakTTS

Int16Array = npt.NDArray[np.int16]

STATION = "Where is the train station? I need to buy a ticket to Madrid."
WEATHER = "Thank you very much for your help."


@functools.lru_cache(maxsize=16)
def speech(text: str, voice: str = "en-us") -> Int16Array:
    """``text`` spoken by espeak-ng, as 16 kHz int16 (no padding)."""
    pcm24 = EspeakTTS(voice).synthesize(text)
    return resample(pcm24, 24000, 16000)


def padded(*parts: Int16Array | float) -> Int16Array:
    """Concatenate audio arrays and silences (a float is seconds of silence)."""
    out = [np.zeros(round(p * 16000), dtype=np.int16) if isinstance(p, float) else p for p in parts]
    return np.concatenate(out)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (case and punctuation ignored)."""
    norm = lambda s: "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in s).split()  # noqa: E731
    ref, hyp = norm(reference), norm(hypothesis)
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(1, len(ref))


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Joined models (Whisper base, Kokoro) go to a temporary cache, not the user's."""
    old = os.environ.get("S2ST_LOCAL_CACHE")
    os.environ["S2ST_LOCAL_CACHE"] = str(tmp_path_factory.mktemp("s2st-local-cache"))
    yield
    if old is None:
        del os.environ["S2ST_LOCAL_CACHE"]
    else:
        os.environ["S2ST_LOCAL_CACHE"] = old


@pytest.fixture(scope="session")
def asr() -> WhisperASR:
    return WhisperASR("tiny.en")
