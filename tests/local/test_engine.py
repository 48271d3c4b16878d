"""The cascade engine: called directly, and served through the emulator to the real client."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import numpy as np
import pytest

import s2st
from s2st.emulator import Emulator
from s2st.emulator.engines import Reply
from s2st.errors import ConfigurationError
from s2st.local.engine import LocalEngine, load_components
from s2st.local.pipeline import split_sentences
from s2st.translate import local_engine_available

from .conftest import STATION, WEATHER, padded, speech, wer
from .helpers import EngineRecorder, drain, feed, text, write_wav


def test_engine_translates_two_utterances() -> None:
    engine = LocalEngine(target_language="es", partial_interval_ms=None)
    try:
        assert engine.idle and engine.source_language == "en"
        assert engine.label == (
            "local engine (machine translation): whisper tiny.en -> apertium eng-spa"
            " -> espeak-ng es"
        )
        out = feed(engine, padded(0.4, speech(STATION), 1.0, speech(WEATHER), 1.0))
        out += drain(engine)
    finally:
        engine.close()
    source = text(out, "input_text")
    assert wer(STATION + " " + WEATHER, source) <= 0.2, source
    translated = text(out, "output_text")
    assert translated.startswith("Dónde es la canal de tren?"), translated
    for word in ("Necesito", "Madrid. Muchas gracias", "ayuda"):
        assert word in translated, translated
    assert source.startswith("Where is") and "Madrid. Thank you" in source
    audio = [r for r in out if r.kind == "audio"]
    pcm = np.frombuffer(b"".join(base64.b64decode(r.audio_b64) for r in audio), "<i2")
    assert pcm.size / 24000 == pytest.approx(sum(r.audio_s for r in audio))
    assert pcm.size / 24000 > 3.0 and np.abs(pcm).max() > 3000
    assert all(r.audio_s <= 0.1 + 1e-9 for r in audio)
    assert not any(r.kind in ("turn_complete", "generation_complete") for r in out)
    assert [t.index for t in engine.timings] == [0, 1]
    for t in engine.timings:
        assert t.latency_s is not None and 0 < t.latency_s < 20
        assert t.asr_s > 0 and t.tts_s > 0 and t.out_audio_s > 0
    assert engine.output_s == pytest.approx(pcm.size / 24000)


def test_partial_transcripts_arrive_before_the_segment_ends() -> None:
    engine = LocalEngine(target_language="es", partial_interval_ms=500)
    try:
        long = speech(STATION + " " + WEATHER)
        early: list[Reply] = []
        for i in range(0, long.size, 1600):
            early += engine.feed(long[i : i + 1600])
            time.sleep(0.1)  # real time: the ASR worker gets idle moments for partial passes
        early += engine.poll()
        out = early + feed(engine, np.zeros(16000, np.int16)) + drain(engine)
    finally:
        engine.close()
    assert text(early, "input_text").strip(), "no partial transcript while speech went on"
    assert wer(STATION + " " + WEATHER, text(out, "input_text")) <= 0.3


def test_stream_end_flushes_and_turn_markers_option() -> None:
    engine = LocalEngine(target_language="es", turn_markers=True, partial_interval_ms=None)
    try:
        out = feed(engine, padded(0.3, speech(WEATHER)))  # no trailing silence
        out += engine.stream_end()
        out += drain(engine)
        assert "gracias" in text(out, "output_text")
        assert [r.kind for r in out[-2:]] == ["generation_complete", "turn_complete"]
        clone = engine.snapshot()
        assert clone.idle and clone.components is engine.components
    finally:
        engine.close()


def test_manual_activity() -> None:
    engine = LocalEngine(target_language="es", manual_activity=True, partial_interval_ms=None)
    try:
        audio = padded(0.2, speech(WEATHER), 0.2)
        assert feed(engine, audio) + drain(engine) == []  # no activity: nothing is heard
        engine.activity_start()
        feed(engine, audio)
        engine.activity_end()
        assert "gracias" in text(drain(engine), "output_text")
    finally:
        engine.close()


def test_same_language_speaks_the_transcript() -> None:
    engine = LocalEngine(target_language="en-US", partial_interval_ms=None)
    try:
        assert "no translation (same language)" in engine.label
        out = feed(engine, padded(0.2, speech(WEATHER), 1.0)) + drain(engine)
    finally:
        engine.close()
    assert wer(WEATHER, text(out, "output_text")) <= 0.2


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="target language"):
        LocalEngine(target_language=None)
    with pytest.raises(ConfigurationError, match="English-only"):
        LocalEngine(target_language="es", source_language="de")
    with pytest.raises(ConfigurationError, match="no Apertium route"):
        LocalEngine(target_language="ja")


def test_a_failing_stage_costs_one_segment_not_the_session() -> None:
    class Flaky:
        name = "flaky"

        def __init__(self) -> None:
            self.calls = 0

        def translate(self, text: str) -> str:
            self.calls += 1
            if self.calls == 2:  # the first call is the warm-up
                raise RuntimeError("boom")
            return text.upper()

    flaky = Flaky()
    comp = load_components("es", mt_factory=lambda src, tgt: flaky)
    engine = LocalEngine(target_language="es", components=comp, partial_interval_ms=None)
    try:
        out = feed(engine, padded(0.3, speech(WEATHER), 1.0, speech(WEATHER), 1.0))
        out += drain(engine)
    finally:
        engine.close()
    assert text(out, "output_text").strip() == "THANK YOU VERY MUCH FOR YOUR HELP."
    assert len(engine.errors) == 1 and engine.idle


def test_split_sentences() -> None:
    assert split_sentences("¿Dónde? Aquí.  Sí! ") == ["¿Dónde?", "Aquí.", "Sí!"]
    assert split_sentences("   ") == []
    long = "Necesito comprar una entrada a Madrid para mañana por la tarde. Gracias."
    assert split_sentences(long, first_max_words=4) == [
        "Necesito comprar una entrada",
        "a Madrid para mañana por la tarde.",
        "Gracias.",
    ]
    comma = "Sí, claro, necesito comprar una entrada a Madrid hoy."
    assert split_sentences(comma, first_max_words=4)[0] == "Sí, claro,"
    assert split_sentences("Muchas gracias por su ayuda.", first_max_words=4) == [
        "Muchas gracias por su ayuda."  # 5 words: no seam for one word
    ]


async def test_end_to_end_through_the_emulator(tmp_path: Path) -> None:
    """The real client, over a real socket, against the emulator serving the local engine.

    Streamed in real time with trailing silence, as Google's own sample does: output produced in
    the background reaches the client with the replies to later audio messages (and through
    ``poll()`` where the emulator's output clock calls it)."""
    wav = tmp_path / "station.wav"
    write_wav(wav, padded(0.3, speech(STATION), 5.0))
    make = EngineRecorder(partial_interval_ms=None)
    engines = make.engines
    try:
        async with Emulator(engine=make) as emu:
            result = await s2st.translate_file(
                wav,
                "es",
                client=s2st.S2STClient.for_emulator(emu),
                speed=1.0,
                finish_timeout_s=20.0,
                timeout_s=50.0,
            )
    finally:
        await make.close()
    assert engines and engines[0].label.startswith("local engine (machine translation)")
    assert wer(STATION, result.source_text) <= 0.2, result.source_text
    for word in ("tren", "Necesito", "Madrid"):
        assert word in result.translated_text, result.translated_text
    assert result.audio.size / result.sample_rate > 2.0


def test_quiet_session_releases_its_threads_and_restarts() -> None:
    engine = LocalEngine(target_language="es", partial_interval_ms=None, idle_stop_s=0.5)
    try:
        out = feed(engine, padded(0.3, speech(WEATHER), 1.0)) + drain(engine)
        first = engine.cascade
        deadline = time.monotonic() + 10
        while not first.stopped and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.stopped and engine.idle and engine.poll() == []
        for t in first._threads:
            t.join(5)  # each notices the stop within its 0.2 s queue wait
        assert not any(t.is_alive() for t in first._threads)
        out += feed(engine, padded(0.3, speech(WEATHER), 1.0)) + drain(engine)
        assert engine.cascade is not first
    finally:
        engine.close()
    assert text(out, "output_text").count("gracias") == 2
    assert [t.index for t in engine.timings] == [0, 0]  # each cascade counts its own segments


async def test_output_after_the_input_ends_arrives_through_poll(tmp_path: Path) -> None:
    """Streamed as fast as possible with no trailing silence: the translation is produced after
    the last audio message, so only the emulator's output clock (``poll()``) can deliver it; the
    emulator closes the engine at the end, and transcripts carry their language."""
    wav = tmp_path / "weather.wav"
    write_wav(wav, padded(0.2, speech(WEATHER), 0.2))
    make = EngineRecorder(partial_interval_ms=None)
    engines = make.engines
    events: list[s2st.Event] = []
    async with Emulator(engine=make) as emu:
        result = await s2st.translate_file(
            wav,
            "es",
            client=s2st.S2STClient.for_emulator(emu),
            speed=None,
            on_event=events.append,
            finish_timeout_s=20.0,
            timeout_s=50.0,
        )
    assert "gracias" in result.translated_text, result.translated_text
    heard = [e for e in events if isinstance(e, s2st.InputTranscription)]
    assert heard and {e.language_code for e in heard} == {"en"}
    assert engines and all(e._closed for e in engines)  # Engine.close() from the emulator


async def test_emulator_engine_local_by_name(tmp_path: Path) -> None:
    """``Emulator(engine="local")``: the emulator builds the local engine itself (issue 15)."""
    wav = tmp_path / "station.wav"
    write_wav(wav, padded(0.3, speech(STATION), 5.0))
    async with Emulator(engine="local") as emu:
        result = await s2st.translate_file(
            wav,
            "es",
            client=s2st.S2STClient.for_emulator(emu),
            finish_timeout_s=20.0,
            timeout_s=50.0,
        )
    for word in ("tren", "Madrid"):
        assert word in result.translated_text, result.translated_text


async def test_translate_file_engine_local_without_a_client(tmp_path: Path) -> None:
    """``translate_file(..., engine="local")`` starts the bundled emulator with the local engine
    (whatever credentials the environment has) and really translates."""
    wav = tmp_path / "station.wav"
    write_wav(wav, padded(0.3, speech(STATION), 5.0))
    result = await s2st.translate_file(
        wav, "es", engine="local", finish_timeout_s=20.0, timeout_s=50.0
    )
    assert result.used_emulator
    assert "tren" in result.translated_text, result.translated_text
    assert local_engine_available("es")
