"""Tests of the event classes: frozen, typed, unique ``type`` tags, AudioChunk helpers."""

from __future__ import annotations

import dataclasses
import typing
from datetime import timedelta

import numpy as np
import pytest

from s2st import events
from s2st.events import (
    DEFAULT_OUTPUT_SAMPLE_RATE,
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    Interrupted,
    LatencyMeasurement,
    OutputTranscription,
    Reconnected,
    SessionResumptionUpdate,
    SetupComplete,
    SilentOutputWarning,
    TurnComplete,
    UnknownEvent,
    UsageMetadata,
)

EXAMPLES: list[object] = [
    SetupComplete("s"),
    InputTranscription("hello", finished=True, language_code="en"),
    OutputTranscription("hallo"),
    AudioChunk(np.zeros(4, dtype=np.int16)),
    TurnComplete("NEED_MORE_INPUT"),
    GenerationComplete(),
    Interrupted(),
    GoAway(timedelta(seconds=50)),
    SessionResumptionUpdate("h", True, 3),
    UsageMetadata(prompt_token_count=1, raw={"promptTokenCount": 1}),
    Reconnected("go_away", resumed=True),
    UnknownEvent("x.y", {"a": 1}),
    LatencyMeasurement(segment=0, lag_s=1.25, at_s=3.0),
    SilentOutputWarning(speech_sent_s=6.5, output_audio_s=9.0, message="only silence"),
]
CLASSES = [type(e) for e in EXAMPLES]


def test_event_union_lists_every_event_class() -> None:
    assert set(typing.get_args(Event)) == set(CLASSES)
    exported = {getattr(events, n) for n in events.__all__ if n != "Event"}
    assert exported == set(CLASSES)
    assert events.__all__ == sorted(events.__all__)


def test_type_tags_are_unique_class_attributes() -> None:
    tags = [cls.type for cls in CLASSES]
    assert len(set(tags)) == len(tags)
    assert all(isinstance(t, str) and t and t == t.lower() for t in tags)
    for cls in CLASSES:
        assert "type" not in {f.name for f in dataclasses.fields(cls)}  # ClassVar, not a field


@pytest.mark.parametrize("event", EXAMPLES, ids=[type(e).__name__ for e in EXAMPLES])
def test_events_are_frozen_and_slotted(event: object) -> None:
    fields = dataclasses.fields(event)  # type: ignore[arg-type]
    for field in fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, field.name, None)
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        event.new_attribute = 1  # type: ignore[attr-defined]
    assert not hasattr(event, "__dict__")


@pytest.mark.parametrize(
    "event",
    [e for e in EXAMPLES if not isinstance(e, AudioChunk)],
    ids=[type(e).__name__ for e in EXAMPLES if not isinstance(e, AudioChunk)],
)
def test_value_equality_and_repr(event: object) -> None:
    clone = dataclasses.replace(event)  # type: ignore[type-var]
    assert clone == event and clone is not event
    assert repr(event).startswith(type(event).__name__ + "(")


def test_defaults() -> None:
    assert SetupComplete().session_id is None
    assert InputTranscription("a") == InputTranscription("a", False, None)
    assert TurnComplete().reason is None
    assert SessionResumptionUpdate() == SessionResumptionUpdate(None, False, None)
    assert UsageMetadata().raw == {}
    assert UsageMetadata(raw={"a": 1}) == UsageMetadata(raw={"b": 2})  # raw not compared
    r = Reconnected("closed 1011", resumed=False)
    assert (r.attempt, r.downtime_s, r.replayed_messages, r.replayed_audio_ms) == (1, 0.0, 0, 0.0)
    assert UnknownEvent("k").payload is None
    assert InputTranscription("a") != OutputTranscription("a")
    assert hash(Interrupted()) == hash(Interrupted())


def test_audio_chunk_defaults_duration_and_pcm() -> None:
    samples = np.arange(-12_000, 12_000, dtype=np.int16)  # 24000 samples
    chunk = AudioChunk(samples)
    assert chunk.sample_rate == DEFAULT_OUTPUT_SAMPLE_RATE == 24_000
    assert chunk.mime_type == "audio/pcm;rate=24000"
    assert chunk.duration_s == pytest.approx(1.0)
    assert AudioChunk(samples, 16_000).duration_s == pytest.approx(1.5)
    assert chunk.pcm == samples.astype("<i2").tobytes()
    assert len(chunk.pcm) == 48_000
    big_endian = samples.astype(">i2")
    assert AudioChunk(big_endian).pcm == chunk.pcm  # always little-endian bytes
    assert AudioChunk(np.zeros(0, dtype=np.int16)).duration_s == 0.0


def test_audio_chunk_equality_hash_and_repr() -> None:
    a = AudioChunk(np.array([1, 2, 3], dtype=np.int16), 24_000, "audio/pcm;rate=24000")
    assert a == AudioChunk(np.array([1, 2, 3], dtype=np.int16), 24_000, "audio/pcm;rate=24000")
    assert a != AudioChunk(np.array([1, 2, 4], dtype=np.int16), 24_000, "audio/pcm;rate=24000")
    assert a != AudioChunk(np.array([1, 2, 3], dtype=np.int16), 16_000, "audio/pcm;rate=24000")
    assert a != AudioChunk(np.array([1, 2, 3], dtype=np.int16), 24_000, "audio/pcm")
    assert a != AudioChunk(np.array([1, 2], dtype=np.int16), 24_000, "audio/pcm;rate=24000")
    assert a != "audio"
    assert a.__eq__(object()) is NotImplemented
    with pytest.raises(TypeError):
        hash(a)
    assert repr(a) == "AudioChunk(samples=3, sample_rate=24000, duration_s=0.000)"
    long = AudioChunk(np.zeros(2400, dtype=np.int16))
    assert repr(long) == "AudioChunk(samples=2400, sample_rate=24000, duration_s=0.100)"


def test_pattern_matching_on_events() -> None:
    seen = []
    for event in EXAMPLES:
        match event:
            case InputTranscription(text=text):
                seen.append(("in", text))
            case AudioChunk(sample_rate=rate):
                seen.append(("audio", rate))
            case GoAway(time_left=left):
                seen.append(("go_away", left.total_seconds()))
            case _:
                pass
    assert seen == [("in", "hello"), ("audio", 24_000), ("go_away", 50.0)]


@pytest.mark.parametrize(
    ("samples", "voiced"),
    [
        ([], False),
        ([0] * 2400, False),
        ([128, -128, 0, 17], False),  # at the threshold: still silence (EVIDENCE.md row 7)
        ([0] * 100 + [129], True),
        ([-129] + [0] * 100, True),
        ([5000, -5000] * 1200, True),
        ([-32768], True),
    ],
)
def test_voiced_is_a_peak_above_silence_peak(samples: list[int], voiced: bool) -> None:
    data = np.array(samples, dtype=np.int16)
    assert events.SILENCE_PEAK == 128
    assert AudioChunk(data).voiced is voiced
    # The same answer for a zero-copy view over decoded bytes (the parser's form) and a slice.
    raw = np.frombuffer(data.tobytes(), dtype="<i2")
    assert events.chunk_voiced(raw) is voiced
    assert events.chunk_voiced(np.concatenate([raw, raw])[: raw.size]) is voiced
