"""Whisper base (multilingual), rebuilt from its two PyPI parts: joining, verification,
language detection, Whisper's translate task, and the engine's X -> English path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from s2st.local.asr import WhisperASR
from s2st.local.engine import LocalEngine, load_components
from s2st.local.models import WHISPER_BASE, ModelIntegrityError, assemble, sha256_file

from .conftest import STATION, padded, speech, wer

# Whisper base hears espeak-ng's robotic Spanish poorly; this sentence it gets right.
SPANISH = "La casa es muy grande."


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble(WHISPER_BASE, directory=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def base(base_dir: Path) -> WhisperASR:
    return WhisperASR(base_dir)


def test_parts_join_into_the_pinned_file(base_dir: Path) -> None:
    assert sha256_file(base_dir / "model.bin") == WHISPER_BASE.joined_sha256
    assert {p.name for p in base_dir.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert assemble(WHISPER_BASE, directory=base_dir.parent) == base_dir  # reused, not redone


def test_a_corrupt_join_is_refused_and_redone(tmp_path: Path) -> None:
    out = assemble(WHISPER_BASE, directory=tmp_path)
    with (out / "model.bin").open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    with pytest.raises(ModelIntegrityError):
        assemble(WHISPER_BASE, directory=tmp_path)
    assert not (out / "model.bin").exists()
    assert assemble(WHISPER_BASE, directory=tmp_path) == out  # joined again from the parts


def test_multilingual_detection_and_translate_task(base: WhisperASR) -> None:
    assert base.multilingual
    en = base.transcribe(padded(0.2, speech(STATION), 0.3))
    assert en.language == "en" and wer(STATION, en.text) <= 0.2, en.text
    es_audio = padded(0.2, speech(SPANISH, "es"), 0.3)
    es = base.transcribe(es_audio)
    assert es.language == "es" and wer(SPANISH, es.text) <= 0.2, es.text
    english = base.transcribe(es_audio, language="es", task="translate")
    assert "house" in english.text.lower(), english.text


def test_engine_spanish_to_english_with_whisper_translate(base_dir: Path) -> None:
    comp = load_components("en", asr_model=str(base_dir))
    auto = LocalEngine(target_language="en", source_language="es", components=comp)
    assert not auto.whisper_translate  # an installed Apertium pair (spa-eng) is preferred
    assert "-> apertium spa-eng ->" in auto.label
    assert LocalEngine(target_language="en", components=comp).whisper_translate  # detected source
    engine = LocalEngine(
        target_language="en",
        source_language="es",
        components=comp,
        partial_interval_ms=None,
        mt="whisper",
        manual_activity=True,  # the segment is exactly the audio below, as in the test above
    )
    assert engine.label == (
        "local engine (machine translation): whisper whisper-base-d01c3014881c"
        " -> whisper translate -> espeak-ng en-us"
    )
    try:
        audio = padded(0.2, speech(SPANISH, "es"), 0.3)
        out = engine.activity_start()
        for i in range(0, audio.size, 1600):
            out += engine.feed(audio[i : i + 1600])
        out += engine.activity_end()
        deadline = time.monotonic() + 45
        while not engine.idle and time.monotonic() < deadline:
            time.sleep(0.05)
            out += engine.poll()
        out += engine.poll()
    finally:
        engine.close()
    source = "".join(r.text for r in out if r.kind == "input_text")
    translated = "".join(r.text for r in out if r.kind == "output_text")
    assert wer(SPANISH, source) <= 0.2 and "house" in translated.lower(), (source, translated)
    assert engine.timings[0].language == "es"
