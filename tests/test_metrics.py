"""LatencyTracker with explicit times and a fake clock: exact figures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from s2st.errors import AudioFormatError, ConfigurationError
from s2st.events import (
    AudioChunk,
    GoAway,
    InputTranscription,
    OutputTranscription,
    Reconnected,
    TurnComplete,
)
from s2st.metrics import LatencyMeasurement, LatencyTracker, SessionMetrics, export_opentelemetry

from .session_helpers import silence, tone


def chunk(seconds: float = 0.1) -> AudioChunk:
    """Translated speech (voiced: a 440 Hz tone at about -16 dBFS)."""
    t = np.arange(round(seconds * 24_000)) / 24_000
    return AudioChunk((5000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))


def quiet_chunk(seconds: float = 0.1) -> AudioChunk:
    """Server silence, as the live-translate model streams it (EVIDENCE.md row 7)."""
    return AudioChunk(np.zeros(round(seconds * 24_000), dtype=np.int16))


def scripted_session() -> tuple[LatencyTracker, list[LatencyMeasurement | None]]:
    """Two utterances sent at 0.1 s and 0.9 s; translated audio at 0.5 s, 1.6 s and 4.0 s."""
    tr = LatencyTracker(clock=lambda: pytest.fail("the clock must not be read"))
    sends = [silence(0.1), tone(0.1), tone(0.1)] + [silence(0.1)] * 6 + [tone(0.1), silence(0.1)]
    for i, pcm in enumerate(sends):
        tr.on_audio_sent(pcm, sample_rate=16_000, t=round(i * 0.1, 3))
    results = [
        tr.on_event(InputTranscription("Good"), t=0.35),
        tr.on_event(OutputTranscription("Buenos"), t=0.45),
        tr.on_event(chunk(), t=0.5),
        tr.on_event(chunk(), t=0.6),
        tr.on_event(TurnComplete(), t=0.7),
        tr.on_event(chunk(), t=1.6),
        tr.on_event(Reconnected(reason="go_away", resumed=True, downtime_s=0.25), t=1.7),
        tr.on_event(GoAway(time_left=timedelta(seconds=5)), t=1.8),
        tr.on_event(chunk(), t=4.0),  # 2.3 s after the reconnect: a new output segment
    ]
    return tr, results


def test_exact_figures() -> None:
    tr, results = scripted_session()
    assert [r for r in results if r is not None] == [
        LatencyMeasurement(segment=0, lag_s=pytest.approx(0.4), at_s=0.5),  # type: ignore[arg-type]
        LatencyMeasurement(segment=1, lag_s=pytest.approx(0.7), at_s=1.6),  # type: ignore[arg-type]
    ]
    m = tr.snapshot()
    assert m.time_to_first_audio_s == 0.5
    assert m.time_to_first_transcript_s == 0.35
    assert m.time_to_first_translation_s == 0.45
    assert m.ear_to_voice_lag_s == pytest.approx((0.4, 0.7))
    assert (m.speech_onsets, m.output_segments, m.unpaired_output_segments) == (2, 3, 1)
    assert m.lag_mean_s == pytest.approx(0.55)
    assert m.lag_p50_s == pytest.approx(0.55)
    assert m.lag_p95_s == pytest.approx(0.685)
    assert m.lag_percentile_s(0) == pytest.approx(0.4)
    assert m.drift_s == pytest.approx(0.3)
    assert m.drift_per_min_s == pytest.approx(0.3 / 1.1 * 60)
    assert (m.reconnects, m.reconnect_downtime_s) == (1, 0.25)
    assert m.input_audio_s == pytest.approx(1.1)
    assert m.output_audio_s == pytest.approx(0.4)
    assert m.elapsed_s == 4.0
    assert m.realtime_factor == pytest.approx(4.0 / 1.1)
    d = m.as_dict()
    assert d["ear_to_voice_lag_s"] == pytest.approx([0.4, 0.7])
    assert d["measurements"][1] == {"segment": 1, "lag_s": pytest.approx(0.7), "at_s": 1.6}
    assert d["realtime_factor"] == pytest.approx(4.0 / 1.1) and d["reconnects"] == 1


def test_empty_snapshot() -> None:
    m = LatencyTracker().snapshot()
    assert m == SessionMetrics()
    assert (m.lag_mean_s, m.lag_p50_s, m.lag_p95_s, m.drift_s) == (None, None, None, None)
    assert (m.drift_per_min_s, m.realtime_factor, m.time_to_first_audio_s) == (None, None, None)
    with pytest.raises(ConfigurationError, match=r"0\.\.100"):
        m.lag_percentile_s(101)


def test_default_clock_and_split_frames() -> None:
    ticks = iter([10.0 + i * 0.01 for i in range(100)])
    tr = LatencyTracker(clock=lambda: next(ticks))
    pcm = tone(0.2)
    for i in range(0, len(pcm), 320):  # 10 ms pieces: frames straddle calls
        tr.on_audio_sent(pcm[i : i + 320], sample_rate=16_000)
    tr.on_audio_sent(silence(0.01), sample_rate=16_000)
    assert tr.on_event(chunk()) == LatencyMeasurement(
        segment=0,
        lag_s=pytest.approx(0.21),  # type: ignore[arg-type]
        at_s=pytest.approx(0.21),  # type: ignore[arg-type]
    )
    assert tr.snapshot().speech_onsets == 1


def test_quiet_audio_and_short_pauses_are_not_onsets() -> None:
    tr = LatencyTracker(min_pause_s=0.5)
    tr.on_audio_sent(tone(0.5, amp=0.003), sample_rate=16_000, t=0.0)  # about -53 dBFS
    assert tr.snapshot().speech_onsets == 0
    for i, pcm in enumerate([tone(0.2), silence(0.3), tone(0.2), silence(0.6), tone(0.1)]):
        tr.on_audio_sent(pcm, sample_rate=16_000, t=1.0 + i)
    assert tr.snapshot().speech_onsets == 2
    # Another rate: 8 kHz frames are 160 samples.
    tr8 = LatencyTracker()
    tr8.on_audio_sent(tone(0.1, rate=8_000), sample_rate=8_000, t=0.0)
    assert tr8.snapshot().speech_onsets == 1
    assert tr8.snapshot().input_audio_s == pytest.approx(0.1)


def test_output_segments_by_gap_or_turn_only() -> None:
    tr = LatencyTracker(output_gap_s=None)
    tr.on_audio_sent(tone(0.1), sample_rate=16_000, t=0.0)
    tr.on_audio_sent(silence(0.6), sample_rate=16_000, t=0.1)
    tr.on_audio_sent(tone(0.1), sample_rate=16_000, t=0.7)
    assert tr.on_event(chunk(), t=1.0) is not None
    assert tr.on_event(chunk(), t=9.0) is None  # a long gap but no turn boundary
    assert tr.on_event(TurnComplete(), t=9.1) is None
    m = tr.on_event(chunk(), t=9.2)
    assert m is not None and m.lag_s == pytest.approx(8.5)


def test_audio_before_any_onset_is_unpaired() -> None:
    tr = LatencyTracker()
    tr.on_event(chunk(), t=0.0)  # nothing sent yet
    tr.on_event(TurnComplete(), t=0.1)
    tr.on_audio_sent(tone(0.1), sample_rate=16_000, t=0.5)
    snap = tr.snapshot()
    assert (snap.output_segments, snap.unpaired_output_segments) == (1, 1)
    assert snap.time_to_first_audio_s is None  # no audio had been sent when it arrived


@pytest.mark.parametrize(
    ("pcm", "rate", "match"),
    [(b"\x00", 16_000, "whole int16"), (b"\x00\x00", 0, "sample_rate"), (b"", True, "sample_rate")],
)
def test_bad_audio(pcm: bytes, rate: Any, match: str) -> None:
    with pytest.raises(AudioFormatError, match=match):
        LatencyTracker().on_audio_sent(pcm, sample_rate=rate)


def test_bad_options() -> None:
    with pytest.raises(ConfigurationError, match="min_pause_s"):
        LatencyTracker(min_pause_s=0)
    with pytest.raises(ConfigurationError, match="output_gap_s"):
        LatencyTracker(output_gap_s=-1)


class FakeInstrument:
    def __init__(self, log: list[tuple[str, float, dict[str, str]]], name: str) -> None:
        self.log, self.name = log, name

    def record(self, value: float, attributes: dict[str, str]) -> None:
        self.log.append((self.name, value, attributes))

    add = record


class FakeMeter:
    """The two methods of the opentelemetry-api ``Meter`` that the exporter uses."""

    def __init__(self) -> None:
        self.log: list[tuple[str, float, dict[str, str]]] = []
        self.units: dict[str, str] = {}

    def create_histogram(self, name: str, unit: str, description: str) -> FakeInstrument:
        self.units[name] = unit
        return FakeInstrument(self.log, name)

    create_counter = create_histogram


def test_export_opentelemetry() -> None:
    tr, _ = scripted_session()
    meter = FakeMeter()
    export_opentelemetry(tr.snapshot(), meter, attributes={"target": "es"})
    by_name: dict[str, list[float]] = {}
    for name, value, attrs in meter.log:
        assert attrs == {"target": "es"}
        by_name.setdefault(name, []).append(value)
    assert by_name["s2st.ear_to_voice_lag"] == pytest.approx([0.4, 0.7])
    assert by_name["s2st.time_to_first_audio"] == [0.5]
    assert by_name["s2st.reconnect_downtime"] == [0.25]
    assert by_name["s2st.reconnects"] == [1]
    assert by_name["s2st.input_audio"] == pytest.approx([1.1])
    assert by_name["s2st.output_audio"] == pytest.approx([0.4])
    assert meter.units["s2st.reconnects"] == "1" and meter.units["s2st.input_audio"] == "s"


def test_server_silence_is_not_translated_audio() -> None:
    """Silent chunks count as output audio, but give no time to first audio, never start or
    extend an output segment, and leave the gap that splits segments open."""
    tr = LatencyTracker(clock=lambda: pytest.fail("the clock must not be read"))
    tr.on_audio_sent(tone(0.1), sample_rate=16_000, t=0.0)
    tr.on_audio_sent(silence(1.0), sample_rate=16_000, t=0.1)
    tr.on_audio_sent(tone(0.1), sample_rate=16_000, t=3.0)
    results = [tr.on_event(quiet_chunk(), t=0.1 * i) for i in range(1, 8)]
    results.append(tr.on_event(chunk(), t=0.8))  # first voiced output: segment 0
    results += [tr.on_event(quiet_chunk(), t=0.9 + 0.1 * i) for i in range(25)]  # 2.5 s silence
    results.append(tr.on_event(chunk(), t=3.5))  # after a 2.7 s voiced gap: segment 1
    measured = [r for r in results if r is not None]
    assert [m.segment for m in measured] == [0, 1]
    assert [m.lag_s for m in measured] == pytest.approx([0.8, 0.5])
    m = tr.snapshot()
    assert m.time_to_first_audio_s == pytest.approx(0.8)
    assert m.output_segments == 2
    assert m.output_audio_s == pytest.approx(3.4)
    assert tr.speech_sent_s == pytest.approx(0.2)
    assert tr.last_speech_sent_t == 3.0


def _reference_onsets(
    chunks: list[tuple[float, bytes]], rate: int, min_pause_s: float = 0.5
) -> tuple[list[float], float, float | None]:
    """The per-message analysis the tracker used before it batched (the oracle): 20 ms frames,
    loud at -40 dBFS RMS, onset after ``min_pause_s`` of quiet, stamped with the message that
    carried the frame's first sample."""
    threshold = (32768.0 * 10 ** (-40 / 20)) ** 2
    frame = round(rate * 0.02)
    rest, rest_t, quiet = np.zeros(0, np.int16), 0.0, 1 << 40
    onsets: list[float] = []
    speech, last = 0.0, None
    for now, pcm in chunks:
        samples = np.frombuffer(pcm, "<i2")
        first_t = rest_t if rest.size else now
        data = np.concatenate([rest, samples])
        whole = data.size - data.size % frame
        if whole == 0:
            rest, rest_t = data.copy(), first_t
            continue
        rest, rest_t = data[whole:].copy(), now
        frames = data[:whole].astype(np.float64).reshape(-1, frame)
        for i, is_loud in enumerate((frames * frames).mean(axis=1) >= threshold):
            if is_loud:
                speech += frame / rate
                last = now
                if quiet * frame / rate >= min_pause_s:
                    onsets.append(first_t if i == 0 else now)
                quiet = 0
            else:
                quiet += 1
    return onsets, speech, last


@pytest.mark.parametrize("seed", range(12))
def test_batched_speech_analysis_matches_the_per_message_analysis(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rate = int(rng.choice([8000, 16000, 24000]))
    chunks: list[tuple[float, bytes]] = []
    t = 0.0
    for _ in range(int(rng.integers(5, 60))):
        n = int(rng.integers(1, rate // 4))  # any size: frames straddle messages
        loud = rng.random() < 0.4
        amplitude = 8000 if loud else 30
        samples = (rng.standard_normal(n) * amplitude).clip(-32768, 32767).astype("<i2")
        chunks.append((t, samples.tobytes()))
        t += n / rate + float(rng.random()) * 0.01
    onsets, speech, last = _reference_onsets(chunks, rate)
    tracker = LatencyTracker(clock=lambda: 0.0)
    for at, pcm in chunks:
        tracker.on_audio_sent(pcm, sample_rate=rate, t=at)
    assert tracker.speech_sent_s == pytest.approx(speech)
    assert tracker.last_speech_sent_t == last
    assert tracker.snapshot().speech_onsets == len(onsets)
    # Each onset pairs with the next output segment: their lags give the onset times back.
    for onset in onsets:
        measured = tracker.on_audio(2400, 24000, t + 100.0)
        assert measured is not None and measured.lag_s == pytest.approx(t + 100.0 - onset)
        tracker.on_event(TurnComplete(), t=t + 100.0)
