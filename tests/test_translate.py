"""translate_file / translate_files against the bundled emulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import s2st
from s2st.audio import DEFAULT_TAIL_MS, MAX_HELD_SILENCE_MS
from s2st.batch import translate_files
from s2st.emulator import Emulator, Fault, sample_path
from s2st.errors import (
    AudioFormatError,
    ConfigurationError,
    InvalidArgumentError,
    UnsupportedLanguageError,
)
from s2st.events import AudioChunk, Event, InputTranscription, OutputTranscription
from s2st.metrics import SessionMetrics
from s2st.segments import from_jsonl
from s2st.translate import (
    CREDENTIAL_ENV_VARS,
    TranslationProgress,
    TranslationResult,
    _Collector,
    default_client_context,
    translate_file,
    translate_file_sync,
)

from .session_helpers import UNIT_S


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


async def test_translate_file_with_the_default_emulator(
    no_credentials: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[TranslationProgress] = []
    with caplog.at_level(logging.INFO, logger="s2st.translate"):
        # Real-time pacing (the default): the pause between the two translated sentences is
        # what separates them, there are no turn markers (EVIDENCE.md row 6).
        result = await translate_file(sample_path("station"), "es", progress=reports.append)
    assert "bundled emulator" in caplog.text
    assert result.used_emulator and result.target_language == "es"
    assert result.source_text == "Good morning. Where is the train station?"
    assert result.translated_text == "Buenos días. ¿Dónde está la estación de tren?"
    assert [s.translated_text for s in result.segments] == [
        "Buenos días.",
        "¿Dónde está la estación de tren?",
    ]
    assert result.sample_rate == 24_000 and result.audio.dtype.name == "int16"
    assert result.duration_s > 1.0
    # The last segment ends with the last voiced chunk; the audio adds at most the tail.
    tail_s = DEFAULT_TAIL_MS / 1000
    assert result.segments[-1].end_s == pytest.approx(reports[-1].translated_audio_s)
    assert result.translated_audio_s == reports[-1].translated_audio_s
    end_s = result.segments[-1].end_s
    assert end_s - 1e-6 <= result.duration_s <= end_s + tail_s + 1e-6
    assert result.events_count > 20
    # Progress: increasing fractions, ending with exactly 1.0 once the translation arrived.
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] < 0.5
    assert reports[-1].segments == 2
    assert result.duration_s - tail_s - 1e-6 <= reports[-1].translated_audio_s
    assert reports[-1].translated_audio_s <= result.duration_s + 1e-6
    assert reports[-1].total_s == pytest.approx(reports[-1].sent_s, abs=0.01)
    # Metrics: two utterances, each paired with its translated audio.
    m = result.metrics
    assert m.time_to_first_audio_s is not None and 0 < m.time_to_first_audio_s < 10 * UNIT_S
    assert m.speech_onsets == 2 and len(m.ear_to_voice_lag_s) == 2
    assert all(0 < lag < 10 * UNIT_S for lag in m.ear_to_voice_lag_s)
    assert m.input_audio_s == pytest.approx(reports[-1].sent_s)
    # The session counts every chunk received, server silence included.
    assert m.output_audio_s == pytest.approx(result.duration_s + result.trimmed_silence_s)
    # Outputs.
    result.write_wav(tmp_path / "out.wav")
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert (w.getframerate(), w.getnframes()) == (24_000, result.audio.size)
    result.write_subtitles(tmp_path / "out.jsonl")
    assert from_jsonl((tmp_path / "out.jsonl").read_text(encoding="utf-8")) == result.segments
    summary = json.loads(json.dumps(result.summary()))
    assert summary["translated_text"] == result.translated_text
    assert summary["metrics"]["speech_onsets"] == 2


async def test_translate_file_with_a_given_client_and_paced() -> None:
    async with Emulator() as emu:
        client = s2st.S2STClient.for_emulator(emu)
        result = await translate_file(sample_path("hello"), "de", client=client, speed=20.0)
    assert not result.used_emulator  # the caller's client: not known to be an emulator
    assert result.translated_text == (
        "Hallo und willkommen zur Demo der Sprachübersetzung. Heute sprechen wir über das Wetter."
    )
    # Two sentences in one turn: paired by sentence.
    assert [s.source_text for s in result.segments] == [
        "Hello, and welcome to the speech translation demo.",
        "Today we will talk about the weather.",
    ]


async def test_translate_file_errors(no_credentials: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(AudioFormatError):
        await translate_file(bad, "es")
    with pytest.raises(AudioFormatError, match="no such audio file"):
        await translate_file(tmp_path / "missing.wav", "es")
    with pytest.raises(UnsupportedLanguageError):
        await translate_file(sample_path("hello"), "klingon", speed=None)
    with pytest.raises(ConfigurationError, match="timeout_s"):
        await translate_file(sample_path("hello"), "es", timeout_s=0)
    with pytest.raises(TimeoutError, match="timeout_s"):
        await translate_file(sample_path("hello"), "es", speed=1.0, timeout_s=0.3)


async def test_translate_file_sync_refuses_a_running_loop() -> None:
    with pytest.raises(ConfigurationError, match="running event loop"):
        translate_file_sync(sample_path("hello"), "es")


def test_translate_file_sync(no_credentials: None) -> None:
    result = translate_file_sync(sample_path("station"), "cmn", speed=None)
    assert result.translated_text == "早上好。火车站在哪里？"


async def test_default_client_context_uses_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-test-key-not-real-0000000000")
    async with default_client_context() as (client, is_emulator):
        assert not is_emulator and client.backend == "gemini"
        assert "AIza" not in repr(client)


async def test_batch_with_failure_resume_and_changed_content(
    no_credentials: None, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    a, b, bad = inputs / "a.wav", inputs / "b.wav", inputs / "bad.wav"
    shutil.copy(sample_path("station"), a)
    shutil.copy(sample_path("hello"), b)
    bad.write_bytes(b"RIFF....not a wave file")
    out = tmp_path / "out"
    seen: dict[str, float] = {}

    def progress(path: str, p: TranslationProgress) -> None:
        seen[path] = p.fraction

    report = await translate_files(
        [a, b, bad], "es", output_dir=out, concurrency=2, progress=progress, speed=None
    )
    assert report.done == [str(a), str(b)] and report.skipped == []
    assert list(report.failed) == [str(bad)]
    assert report.failed[str(bad)].startswith("AudioFormatError: ")
    assert not report.ok and seen == {str(a): 1.0, str(b): 1.0}
    srt = (out / "a.es.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,000 --> ") and "\n\n2\n" in srt and "Buenos días." in srt
    summary = json.loads((out / "b.es.json").read_text(encoding="utf-8"))
    assert summary["translated_text"].startswith("Hola, y bienvenidos")
    assert summary["used_emulator"] is True and len(summary["sha256"]) == 64
    with wave.open(str(out / "a.es.wav")) as w:
        assert w.getframerate() == 24_000 and w.getnframes() > 0
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(e["input"] for e in manifest) == [str(a), str(b)]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]

    again = await translate_files([a, b, bad], "es", output_dir=out, speed=None)
    assert (again.done, again.skipped, list(again.failed)) == ([], [str(a), str(b)], [str(bad)])

    shutil.copy(sample_path("hello"), a)  # new content under the same name
    (out / "b.es.srt").unlink()  # a missing output is redone too
    third = await translate_files([a, b], "es", output_dir=out, speed=None)
    assert (third.done, third.skipped, third.failed) == ([str(a), str(b)], [], {})
    assert "Hola" in (out / "a.es.srt").read_text(encoding="utf-8")
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 4

    fresh = await translate_files([a], "es", output_dir=out, resume=False, speed=None)
    assert fresh.done == [str(a)]


async def test_batch_rejects_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="concurrency"):
        await translate_files([], "es", output_dir=tmp_path, concurrency=0)
    (tmp_path / "x").mkdir()
    with pytest.raises(ConfigurationError, match="same outputs"):
        await translate_files(
            [tmp_path / "a.wav", tmp_path / "x" / "a.mp3"], "es", output_dir=tmp_path
        )


async def test_batch_bounds_concurrency(tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        p = tmp_path / f"s{i}.wav"
        shutil.copy(sample_path("station"), p)
        paths.append(p)
    async with Emulator() as emu:
        client = s2st.S2STClient.for_emulator(emu)
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, sum(1 for c in emu.connections if c.open))
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        try:
            report = await translate_files(
                paths, "es", output_dir=tmp_path / "o", concurrency=1, client=client, speed=None
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    assert report.done == [str(p) for p in paths]
    assert peak == 1


async def test_session_error_surfaces_typed() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.close(1007, at_message=3), connection=0)
        client = s2st.S2STClient.for_emulator(emu)
        with pytest.raises(InvalidArgumentError):
            await translate_file(
                sample_path("station"), "es", client=client, speed=None, reconnect=False
            )


async def test_reconnect_mid_file_loses_and_duplicates_nothing() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.close(1011, at_message=8), connection=0)
        client = s2st.S2STClient.for_emulator(emu)
        result = await translate_file(sample_path("station"), "es", client=client, speed=None)
    assert result.metrics.reconnects == 1
    assert result.source_text == "Good morning. Where is the train station?"
    assert result.translated_text == "Buenos días. ¿Dónde está la estación de tren?"


# ---------------------------------------------------------------------------- server silence
# The live-translate model streams PCM silence after the last word, forever, and sends no turn
# markers (EVIDENCE.md rows 6-7). These tables feed a collector synthetic event streams.
RATE = 24_000


def _voiced(seconds: float) -> list[AudioChunk]:
    n = round(0.1 * RATE)
    tone = (6000 * np.sin(np.arange(n) * (2 * np.pi * 300 / RATE))).astype(np.int16)
    return [AudioChunk(tone) for _ in range(round(seconds * 10))]


def _silent(seconds: float) -> list[AudioChunk]:
    chunk = AudioChunk(np.random.default_rng(1).integers(-100, 101, round(0.1 * RATE), np.int16))
    return [chunk] * round(seconds * 10)


def _text(source: str, translated: str) -> list[Event]:
    return [InputTranscription(source), OutputTranscription(translated)]


def _collect(events: Sequence[Event], **kw: float | None) -> tuple[_Collector, TranslationResult]:
    col = _Collector(**kw)
    for event in events:
        col.on_event(event)
    return col, col.result(
        metrics=SessionMetrics(), target_language="es", used_emulator=True, path=None
    )


TWO_UTTERANCES = [
    *_text("Good morning", "Buenos días"),
    *_voiced(0.5),
    *_silent(2.0),
    *_text("where is it", "dónde está"),
    *_voiced(0.8),
    *_silent(120.0),
]


# (events, tail_ms, audio_s, translated_audio_s, trimmed_s, segment spans)
@pytest.mark.parametrize(
    ("events", "tail_ms", "audio_s", "voiced_s", "trimmed_s", "spans"),
    [
        pytest.param(
            TWO_UTTERANCES, DEFAULT_TAIL_MS, 3.6, 3.3, 119.7, [(0.0, 0.5), (2.5, 3.3)], id="two"
        ),
        pytest.param(
            [*_silent(1.0), *_text("hi", "hola"), *_voiced(0.5), *_silent(5.0)],
            DEFAULT_TAIL_MS,
            1.8,
            1.5,
            4.7,
            [(1.0, 1.5)],
            id="leading-silence-kept",
        ),
        pytest.param(
            TWO_UTTERANCES, None, 123.3, 3.3, 0.0, [(0.0, 0.5), (2.5, 3.3)], id="untrimmed"
        ),
        pytest.param(
            [*_text("hi", "hola"), *_silent(30.0)],
            DEFAULT_TAIL_MS,
            0.0,
            0.0,
            30.0,
            [(0.0, 0.0)],
            id="silence-only",
        ),
    ],
)
def test_results_do_not_carry_trailing_server_silence(
    tmp_path: Path,
    events: list[Event],
    tail_ms: float | None,
    audio_s: float,
    voiced_s: float,
    trimmed_s: float,
    spans: list[tuple[float, float]],
) -> None:
    col, result = _collect(events, tail_ms=tail_ms)
    assert result.duration_s == pytest.approx(audio_s)
    assert col.progress(None, final=True).translated_audio_s == pytest.approx(voiced_s)
    assert result.translated_audio_s == pytest.approx(voiced_s)
    assert result.trimmed_silence_s == pytest.approx(trimmed_s)
    assert [(s.start_s, s.end_s) for s in result.segments] == [pytest.approx(x) for x in spans]
    assert all(s.stable for s in result.segments)
    result.write_wav(tmp_path / "out.wav")
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert (w.getframerate(), w.getnframes()) == (RATE, round(audio_s * RATE))
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(data, result.audio)
    assert json.loads(json.dumps(result.summary()))["trimmed_silence_s"] == pytest.approx(trimmed_s)


def test_inner_silence_is_kept_sample_exact() -> None:
    pause = _silent(0.7)
    _, result = _collect([*_voiced(0.2), *pause, *_voiced(0.2), *_silent(3.0)])
    inner = result.audio[round(0.2 * RATE) : round(0.9 * RATE)]
    np.testing.assert_array_equal(inner, np.concatenate([c.data for c in pause]))


def test_a_silence_only_result_is_empty_and_warned_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="s2st.translate"):
        _, result = _collect([*_text("hola", ""), *_silent(10.0)])
    assert result.audio.size == 0 and result.audio.dtype == np.int16
    assert result.source_text == "hola" and result.trimmed_silence_s == pytest.approx(10.0)
    assert "all silence" in caplog.text


def test_ten_minutes_of_trailing_silence_hold_bounded_state() -> None:
    col = _Collector()
    for event in [*_text("a", "b"), *_voiced(1.0)]:
        col.on_event(event)
    chunk = _silent(0.1)[0]
    for _ in range(10 * 60 * 10):
        col.on_event(chunk)
    assert col._trimmer is not None
    assert col._trimmer.held_samples == 600 * RATE
    assert col._trimmer.held_nbytes <= 2 * MAX_HELD_SILENCE_MS * RATE / 1000
    assert sum(a.size for a in col.audio) == RATE  # only the voiced second is collected
    assert col.progress(None).translated_audio_s == pytest.approx(1.0)


async def test_translate_file_rejects_a_bad_tail(no_credentials: None) -> None:
    with pytest.raises(ConfigurationError, match="tail_ms"):
        await translate_file(sample_path("hello"), "es", tail_ms=-5)
