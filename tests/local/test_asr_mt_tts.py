"""ASR (faster-whisper, pinned tiny.en), MT (Apertium from Debian) and TTS (espeak-ng) backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from s2st.errors import AudioFormatError, ConfigurationError
from s2st.local.asr import WhisperASR, available_whisper_models
from s2st.local.mt import (
    ApertiumPair,
    ApertiumTranslator,
    TranslationError,
    apertium_pairs,
    base_language,
    plan_route,
)
from s2st.local.tts import EspeakTTS, espeak_voices

from .conftest import STATION, WEATHER, padded, speech, wer

# -- ASR -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [STATION, WEATHER])
def test_whisper_recognises_synthetic_speech(asr: WhisperASR, text: str) -> None:
    tr = asr.transcribe(padded(0.2, speech(text), 0.3))
    assert tr.language == "en" and wer(text, tr.text) <= 0.2, tr.text


def test_whisper_float_input_and_silence(asr: WhisperASR) -> None:
    x = padded(0.2, speech(WEATHER), 0.2).astype(np.float32) / 32768
    assert wer(WEATHER, asr.transcribe(x).text) <= 0.2
    assert len(asr.transcribe(np.zeros(16000, np.int16)).text.split()) <= 2


def test_whisper_english_only_model_refuses(asr: WhisperASR) -> None:
    assert not asr.multilingual and "tiny.en" in available_whisper_models()
    with pytest.raises(ConfigurationError, match="English-only"):
        asr.transcribe(np.zeros(1600, np.int16), task="translate")
    with pytest.raises(ConfigurationError, match="English-only"):
        asr.transcribe(np.zeros(1600, np.int16), language="de")
    with pytest.raises(AudioFormatError):
        asr.transcribe(np.zeros((2, 1600), np.int16))


def test_whisper_loads_a_directory_and_refuses_unknown_names(
    asr: WhisperASR, tmp_path: Path
) -> None:
    same = WhisperASR(asr.model_path)
    assert same.name == "model"
    assert wer(WEATHER, same.transcribe(speech(WEATHER)).text) <= 0.2
    with pytest.raises(ConfigurationError, match=r"no model\.bin"):
        WhisperASR(tmp_path)
    with pytest.raises(ConfigurationError, match="nothing is downloaded"):
        WhisperASR("large-v3")


# -- MT ------------------------------------------------------------------------------------


def test_apertium_pairs_are_discovered() -> None:
    pairs = apertium_pairs()
    assert ApertiumPair("en", "es", "eng-spa") in pairs
    assert ApertiumPair("es", "pt", "es-pt_BR", "BR") in pairs
    assert not any(p.mode.startswith("eco-") for p in pairs)


def test_mode_file_parsing(tmp_path: Path) -> None:
    for name in ("eng-cat_valencia", "fra-eng", "eco-es-fr", "spa-ita"):
        (tmp_path / f"{name}.mode").write_text("cat\n")
    (tmp_path / "README").write_text("")
    assert apertium_pairs(tmp_path) == [
        ApertiumPair("en", "ca", "eng-cat_valencia", "valencia"),
        ApertiumPair("fr", "en", "fra-eng"),
        ApertiumPair("es", "it", "spa-ita"),
    ]
    assert apertium_pairs(tmp_path / "absent") == []


def test_route_planning() -> None:
    pairs = [
        ApertiumPair("en", "es", "eng-spa"),
        ApertiumPair("es", "pt", "es-pt"),
        ApertiumPair("es", "pt", "es-pt_BR", "BR"),
        ApertiumPair("gl", "en", "gl-en"),
        ApertiumPair("fr", "es", "fr-es"),
    ]
    assert plan_route("en", "es", pairs).describe() == "apertium eng-spa"  # type: ignore[union-attr]
    br = plan_route("en", "pt-BR", pairs)
    assert br is not None and br.pivot == "es" and br.hops[1].mode == "es-pt_BR"
    assert br.describe() == "apertium eng-spa + es-pt_BR (pivot through es)"
    pt = plan_route("eng", "pt_PT", pairs)
    assert pt is not None and pt.hops[1].mode == "es-pt"
    gl = plan_route("gl", "es", pairs)
    assert gl is not None and gl.pivot == "en"
    assert plan_route("es", "fr", pairs) is None
    assert base_language("spa") == "es" and base_language("zh-Hans-CN") == "zh"


def test_apertium_translates_and_pivots() -> None:
    route = plan_route("en", "es")
    assert route is not None
    out = ApertiumTranslator(route).translate(STATION)
    assert "tren" in out and "Madrid" in out and "Necesito" in out
    assert "#" not in out and "*" not in out
    assert ApertiumTranslator(route).translate("   ") == ""
    pivot = plan_route("en", "pt")
    assert pivot is not None and pivot.pivot == "es"
    assert "comboio" in ApertiumTranslator(pivot).translate(STATION)  # European Portuguese
    brazil = plan_route("en", "pt-BR")
    assert brazil is not None and brazil.hops[1].mode == "es-pt_BR"
    assert "trem" in ApertiumTranslator(brazil).translate(STATION)


def test_apertium_errors() -> None:
    bad = plan_route("en", "es", [ApertiumPair("en", "es", "no-such-mode")])
    assert bad is not None
    with pytest.raises(TranslationError, match="no-such-mode"):
        ApertiumTranslator(bad).translate("hello")
    with pytest.raises(ConfigurationError, match="apt-get install apertium"):
        ApertiumTranslator(bad, binary="s2st-no-such-apertium")


# -- TTS -----------------------------------------------------------------------------------


def test_espeak_voices_and_choice() -> None:
    langs = {v.language for v in espeak_voices()}
    assert {"es", "en-us", "pt-br", "fr-fr"} <= langs
    assert not any(v.name.startswith("spanish-mbrola") for v in espeak_voices())
    assert EspeakTTS("pt-BR").voice == "pt-br"
    assert EspeakTTS("fr").voice == "fr-fr"
    assert EspeakTTS("es-ES").voice == "es"
    with pytest.raises(ConfigurationError, match="no voice"):
        EspeakTTS("tlh")


def test_espeak_speaks_24k_and_round_trips(asr: WhisperASR) -> None:
    pcm = EspeakTTS("en-us").synthesize(WEATHER)
    assert pcm.dtype == np.int16 and 1.0 < pcm.size / 24000 < 4.0
    assert np.abs(pcm).max() > 3000
    assert EspeakTTS("es").synthesize("  ").size == 0
    # words beginning with "-" are text, not options
    assert EspeakTTS("en-us").synthesize("-v is not an option").size > 0
    assert wer(WEATHER, asr.transcribe(speech(WEATHER)).text) <= 0.2


def test_persistent_pipeline_matches_the_apertium_command() -> None:
    route = plan_route("en", "pt")
    assert route is not None
    fast = ApertiumTranslator(route)
    slow = ApertiumTranslator(route, persistent=False)
    tricky = "It costs $5 <really> [sic] #1 @home *star* ^up a/b \\ ok."
    for text in (STATION, WEATHER, tricky, "Line one.\nLine two."):
        assert fast.translate(text) == slow.translate(text)


def test_persistent_pipeline_is_restarted_after_a_crash() -> None:
    from s2st.local._nullflush import pipeline_for
    from s2st.local.mt import APERTIUM_MODES_DIR

    route = plan_route("en", "es")
    assert route is not None
    mt = ApertiumTranslator(route)
    first = mt.translate(WEATHER)
    pipe = pipeline_for(APERTIUM_MODES_DIR / "eng-spa.mode")
    pipe._procs[3].kill()  # one program of the running pipeline dies
    pipe._procs[3].wait()
    assert mt.translate(WEATHER) == first  # that call falls back, the next one restarts it
    assert mt.translate(WEATHER) == first and pipe._procs


def test_broken_mode_file_falls_back(tmp_path: Path) -> None:
    (tmp_path / "eng-spa.mode").write_text("s2st-no-such-program\n")
    route = plan_route("en", "es", [ApertiumPair("en", "es", "eng-spa")])
    assert route is not None
    mt = ApertiumTranslator(route, modes_dir=tmp_path)
    assert "Muchas gracias" in mt.translate(WEATHER)  # the apertium command still works
