"""Real human speech nobody on the team made: LibriVox recordings (public domain) shipped by
the Debian package pocketsphinx-testdata, translated through the emulator to the real client."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

import s2st
from s2st.emulator import Emulator
from s2st.local.asr import WhisperASR

from .conftest import wer
from .helpers import EngineRecorder, write_wav

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
INSTALL = "apt-get install pocketsphinx-testdata"


def _reference() -> dict[str, str]:
    assert LIBRIVOX.is_dir(), f"the recordings come from a Debian package: {INSTALL}"
    out = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, name = line.rpartition(" (")
        out[name.rstrip(")")] = text.replace("<s>", "").replace("</s>", "").strip()
    return out


def _read(name: str) -> np.ndarray:
    with wave.open(str(LIBRIVOX / f"{name}.wav")) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)


def test_tiny_en_on_librivox(asr: WhisperASR) -> None:
    ref = _reference()
    errors = words = 0
    for name, text in ref.items():
        e = wer(text, asr.transcribe(_read(name)).text)
        errors, words = errors + e * len(text.split()), words + len(text.split())
    assert errors / words <= 0.15  # "ill disposed" is heard as "old-sposed": 4 of 56 words


async def test_librivox_to_spanish_through_the_emulator(tmp_path: Path) -> None:
    name = "sense_and_sensibility_01_austen_64kb-0920"
    reference = _reference()[name]
    pcm = np.concatenate([_read(name), np.zeros(5 * 16000, np.int16)])  # trailing silence
    wav = tmp_path / "recording.wav"
    write_wav(wav, pcm)
    make = EngineRecorder(partial_interval_ms=None)
    try:
        async with Emulator(engine=make) as emu:
            result = await s2st.translate_file(
                wav, "es", client=s2st.S2STClient.for_emulator(emu), finish_timeout_s=20.0
            )
    finally:
        await make.close()
    assert wer(reference, result.source_text) <= 0.15, result.source_text
    for word in ("casó", "mujer más amable", "más respetable"):
        assert word in result.translated_text, result.translated_text
    assert result.audio.size / result.sample_rate > 3.0
