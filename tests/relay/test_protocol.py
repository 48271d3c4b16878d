"""The browser protocol's parsers and event mapping, as tables (no I/O)."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from s2st.events import (
    AudioChunk,
    GoAway,
    InputTranscription,
    Interrupted,
    LatencyMeasurement,
    OutputTranscription,
    Reconnected,
    TurnComplete,
    UsageMetadata,
)
from s2st.relay.browser import SilenceGate, TokenBucket
from s2st.relay.protocol import (
    CloseCode,
    ProtocolViolation,
    event_message,
    parse_control,
    parse_start,
)


def test_start_defaults() -> None:
    start = parse_start('{"type":"start","target_language":"es","token":"s2st1.a.b"}')
    assert (start.target_language, start.sample_rate, start.room) == ("es", 16000, None)
    assert "s2st1.a.b" not in repr(start)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (None, CloseCode.BAD_REQUEST),
        ("not json", CloseCode.BAD_REQUEST),
        ("[]", CloseCode.BAD_REQUEST),
        ('{"type":"stop"}', CloseCode.BAD_REQUEST),
        ('{"type":"start","version":2,"target_language":"es"}', CloseCode.BAD_REQUEST),
        ('{"type":"start"}', CloseCode.BAD_REQUEST),
        ('{"type":"start","target_language":"es","sample_rate":12345}', CloseCode.BAD_REQUEST),
        ('{"type":"start","target_language":"es","sample_rate":true}', CloseCode.BAD_REQUEST),
        ('{"type":"start","target_language":"es","room":"a b"}', CloseCode.BAD_REQUEST),
        ('{"type":"start","target_language":"es","token":5}', CloseCode.UNAUTHORIZED),
        (json.dumps({"type": "start", "pad": "x" * 9000}), CloseCode.FRAME_TOO_LARGE),
    ],
)
def test_bad_starts(text: str | None, code: CloseCode) -> None:
    with pytest.raises(ProtocolViolation) as info:
        parse_start(text)
    assert info.value.code is code


def test_controls() -> None:
    assert parse_control('{"type":"stop"}') == {"type": "stop"}
    assert parse_control('{"type":"ping","t":1.5}') == {"type": "ping", "t": 1.5}
    assert parse_control('{"type":"ping","t":"x"}') == {"type": "ping", "t": None}
    with pytest.raises(ProtocolViolation):
        parse_control('{"type":"start","target_language":"es"}')


def test_close_codes_are_private_use_and_labelled() -> None:
    for code in CloseCode:
        assert code in (1000, 1001) or 4000 <= code <= 4999
        assert code.label == code.name.lower()


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            InputTranscription("Hi", language_code="en"),
            {"type": "source", "text": "Hi", "language": "en"},
        ),
        (OutputTranscription(" hola"), {"type": "translation", "text": " hola", "language": None}),
        (LatencyMeasurement(0, 1.23456, 2.0), {"type": "latency", "segment": 0, "lag_s": 1.235}),
        (
            Reconnected("go_away", resumed=True, downtime_s=0.5),
            {"type": "reconnected", "resumed": True, "downtime_s": 0.5},
        ),
        (Interrupted(), {"type": "interrupted"}),
        (TurnComplete(), None),
        (UsageMetadata(), None),
        (GoAway(timedelta(seconds=5)), None),
    ],
)
def test_event_messages(event: object, expected: dict[str, object] | None) -> None:
    assert event_message(event) == expected  # type: ignore[arg-type]


def _chunk(peak: int, ms: int = 100) -> AudioChunk:
    data = np.zeros(24 * ms, dtype=np.int16)
    data[0] = peak
    return AudioChunk(data)


def test_silence_gate_keeps_pauses_and_drops_endless_silence() -> None:
    gate = SilenceGate(tail_ms=300)
    assert not gate.admit(_chunk(0))  # silence before any speech: not sent
    assert gate.admit(_chunk(5000))
    assert [gate.admit(_chunk(0)) for _ in range(5)] == [True, True, True, False, False]
    assert gate.admit(_chunk(5000))  # speech again re-opens the tail
    assert gate.admit(_chunk(100))  # under SILENCE_PEAK: counts as silence, within the tail


def test_token_bucket() -> None:
    t = [0.0]
    bucket = TokenBucket(1000, 2000, clock=lambda: t[0])
    assert bucket.take(2000)
    assert not bucket.take(1)
    t[0] = 1.5
    assert bucket.take(1400)
    assert not bucket.take(200)
