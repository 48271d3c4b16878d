"""Speech synthesis backends; every one returns 24 kHz mono int16 (the Live API output format).

- `EspeakTTS`: the ``espeak-ng`` command (Debian ``espeak-ng``, about 100 languages,
  robotic but fast: a sentence in well under 0.1 s). Voices are discovered with
  ``espeak-ng --voices``; MBROLA voices are skipped (their data are separate packages).
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from s2st.audio.resample import Resampler
from s2st.errors import ConfigurationError, S2STError

from .mt import base_language

__all__ = [
    "OUT_RATE",
    "EspeakTTS",
    "SynthesisError",
    "Synthesizer",
    "Voice",
    "espeak_ipa",
    "espeak_voices",
    "to_24k",
]

logger = logging.getLogger("s2st.local.tts")

OUT_RATE = 24000

Int16Array = npt.NDArray[np.int16]


class SynthesisError(S2STError, RuntimeError):
    """A TTS backend failed on a sentence (``.backend``, ``.detail``)."""

    def __init__(self, backend: str, detail: str) -> None:
        super().__init__(f"{backend}: {detail}")
        self.backend = backend
        self.detail = detail


@dataclass(frozen=True)
class Voice:
    """A voice: ``language`` as the backend names it (``"es-419"``), ``name``, ``backend``."""

    language: str
    name: str
    backend: str


class Synthesizer(Protocol):
    """Anything that speaks a sentence as 24 kHz int16 (blocking; run in a worker thread)."""

    @property
    def name(self) -> str: ...

    def synthesize(self, text: str) -> Int16Array: ...


def to_24k(samples: npt.NDArray[np.float32], rate: int) -> Int16Array:
    """Resample float32 audio (-1..1) to 24 kHz int16 (windowed-sinc or soxr)."""
    if rate != OUT_RATE:
        rs = Resampler(rate, OUT_RATE)
        samples = np.concatenate([rs.process(samples), rs.flush()])
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def espeak_ipa(exe: str, voice: str, text: str) -> str:
    """IPA phonemes of ``text`` from espeak-ng (``exe``) in ``voice``, its clauses joined by
    commas and the final ``.!?`` kept (``.`` otherwise): the input of the neural voices.

    Raises:
        SynthesisError: espeak-ng failed.
    """
    clean = re.sub(r"\s+", " ", text).strip()
    proc = subprocess.run(
        [exe, "-q", "--ipa", "-v", voice],
        input=clean.encode("utf-8"),
        capture_output=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        raise SynthesisError("espeak-ng", proc.stderr.decode("utf-8", "replace")[:200])
    clauses = [c.strip() for c in proc.stdout.decode("utf-8").splitlines() if c.strip()]
    end = clean[-1] if clean and clean[-1] in ".!?" else "."
    return ", ".join(clauses) + end


def _espeak() -> str | None:
    return shutil.which("espeak-ng")


def espeak_voices() -> list[Voice]:
    """The espeak-ng voices installed (empty without espeak-ng)."""
    exe = _espeak()
    if exe is None:
        return []
    proc = subprocess.run(
        [exe, "--voices"], capture_output=True, text=True, timeout=20, check=False
    )
    voices = []
    for line in proc.stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 5 or cols[4].startswith("mb/"):
            continue
        voices.append(Voice(cols[1], cols[3], "espeak-ng"))
    return voices


def pick_espeak_voice(language: str, voices: list[Voice]) -> str | None:
    """The espeak-ng voice language closest to a BCP-47 tag (``None``: no voice)."""
    want = language.strip().lower().replace("_", "-")
    langs = {v.language.lower() for v in voices}
    if want in langs:
        return want
    base = base_language(want)
    for cand in (base, f"{base}-{base}", f"{base}-us", f"{base}-fr"):
        if cand in langs:
            return cand
    starts = sorted(lang for lang in langs if lang.split("-")[0] == base)
    return starts[0] if starts else None


class EspeakTTS:
    """espeak-ng speech for one language.

    Args:
        language: a BCP-47 tag (``"es"``, ``"pt-BR"``); the closest installed voice is used.
        rate_wpm: speaking rate (espeak-ng ``-s``).

    Raises:
        ConfigurationError: espeak-ng is missing or has no voice for ``language``.
    """

    def __init__(self, language: str, *, rate_wpm: int = 165) -> None:
        exe = _espeak()
        if exe is None:
            raise ConfigurationError("espeak-ng is not installed: apt-get install espeak-ng")
        voice = pick_espeak_voice(language, espeak_voices())
        if voice is None:
            raise ConfigurationError(f"espeak-ng has no voice for {language!r}")
        self._exe = exe
        self.voice = voice
        self.rate_wpm = rate_wpm

    @property
    def name(self) -> str:
        return f"espeak-ng {self.voice}"

    def synthesize(self, text: str) -> Int16Array:
        """Speak ``text``; blank text gives an empty array."""
        # espeak-ng reads "-x" style text as options: pass it on stdin instead.
        clean = re.sub(r"\s+", " ", text).strip()
        if not clean:
            return np.zeros(0, dtype=np.int16)
        proc = subprocess.run(
            [self._exe, "-v", self.voice, "-s", str(self.rate_wpm), "--stdout"],
            input=clean.encode("utf-8"),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if proc.returncode != 0 or not proc.stdout:
            raise SynthesisError("espeak-ng", proc.stderr.decode("utf-8", "replace").strip()[:200])
        # espeak-ng writes a streaming WAV header (unknown lengths); read the frames that follow.
        with wave.open(io.BytesIO(_fix_stream_header(proc.stdout)), "rb") as w:
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return to_24k(pcm.astype(np.float32) / 32768.0, rate)


def _fix_stream_header(data: bytes) -> bytes:
    """Set the RIFF and data chunk sizes of a WAV written to a pipe (espeak-ng leaves them at
    0x7fffffff) so `wave` reads exactly the bytes present."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng", "output is not a WAV stream")
    pos = data.find(b"data", 12)
    if pos < 0:
        raise SynthesisError("espeak-ng", "WAV stream has no data chunk")
    body = len(data) - (pos + 8)
    body -= body % 2
    fixed = bytearray(data[: pos + 8 + body])
    fixed[4:8] = (len(fixed) - 8).to_bytes(4, "little")
    fixed[pos + 4 : pos + 8] = body.to_bytes(4, "little")
    return bytes(fixed)
