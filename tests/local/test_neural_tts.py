"""Kokoro-82M (four pinned PyPI parts, joined and verified) and Piper (the pinned joe voice):
loading, phonemes, and round trips through Whisper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from s2st.emulator._audio import resample
from s2st.errors import ConfigurationError
from s2st.local.asr import WhisperASR
from s2st.local.engine import LocalEngine, load_components
from s2st.local.kokoro import KokoroTTS
from s2st.local.models import KOKORO_MODEL, assemble, sha256_file
from s2st.local.piper import PiperTTS

from .conftest import STATION, WEATHER, wer
from .helpers import drain, feed


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kokoro")


def test_kokoro_model_joins_from_four_parts(cache: Path) -> None:
    out = assemble(KOKORO_MODEL, directory=cache)
    assert sha256_file(out / KOKORO_MODEL.joined) == KOKORO_MODEL.joined_sha256
    assert len(KOKORO_MODEL.parts) == 4


def test_kokoro_speaks_english_and_spanish(cache: Path, asr: WhisperASR) -> None:
    en = KokoroTTS("en-US", model_dir=cache)
    assert en.name == "kokoro jf_alpha (en-us phonemes)"
    assert en.phonemize("Where is it?").endswith("?")
    pcm = en.synthesize(WEATHER)
    assert pcm.dtype == np.int16 and 1.0 < pcm.size / 24000 < 5.0
    assert wer(WEATHER, asr.transcribe(resample(pcm, 24000, 16000)).text) <= 0.2
    es = KokoroTTS("es", model_dir=cache)
    assert "ɾ" in es.phonemize("Necesito comprar un billete.")  # Spanish phonemes, not English
    assert es.synthesize("Hola.").size > 0 and es.synthesize(" ").size == 0


def test_kokoro_refuses_unknown_voices(cache: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown Kokoro voice"):
        KokoroTTS("es", voice="af_heart", model_dir=cache)
    with pytest.raises(ConfigurationError, match="no phonemes"):
        KokoroTTS("tlh", model_dir=cache)


def test_piper_round_trip(asr: WhisperASR) -> None:
    piper = PiperTTS()
    ids = piper.phoneme_ids("Hi.")
    assert ids[:2] == [1, 0] and ids[-1] == 2 and ids[-2] == 0  # ^ _ ... _ $
    pcm = piper.synthesize(STATION)
    assert pcm.dtype == np.int16 and 2.0 < pcm.size / 24000 < 6.0
    assert wer(STATION, asr.transcribe(resample(pcm, 24000, 16000)).text) <= 0.2
    assert piper.synthesize("").size == 0


def test_engine_voices() -> None:
    with pytest.raises(ConfigurationError, match="English only"):
        load_components("es", tts="piper")
    with pytest.raises(ConfigurationError, match="unknown TTS"):
        load_components("es", tts="festival")  # type: ignore[arg-type]
    engine = LocalEngine(target_language="es", tts="kokoro", partial_interval_ms=None)
    assert engine.label.endswith("-> apertium eng-spa -> kokoro jf_alpha (es phonemes)")
    try:
        from .conftest import padded, speech

        out = feed(engine, padded(0.3, speech(WEATHER), 1.0))
        out += drain(engine, timeout_s=40)
    finally:
        engine.close()
    assert "gracias" in "".join(r.text for r in out if r.kind == "output_text")
    assert sum(r.audio_s for r in out) > 1.0
