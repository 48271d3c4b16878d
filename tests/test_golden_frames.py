"""Golden server frames: the verbatim frames of EVIDENCE.md ("Frames seen on the wire").

Each frame goes in as a text frame and as a binary frame (the Gemini API sends binary frames
with JSON inside, EVIDENCE.md row 4), through both :func:`s2st.protocol.parse_server_frame`
and :meth:`s2st.protocol.ClientProtocol.receive` after a setup, and must give exactly the
typed events listed: no more, no fewer, no ``UnknownEvent``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from s2st.config import LIVE_TRANSLATE_MODEL, TranslationConfig
from s2st.events import (
    AudioChunk,
    Event,
    InputTranscription,
    OutputTranscription,
    SessionResumptionUpdate,
    SetupComplete,
    UnknownEvent,
    UsageMetadata,
)
from s2st.protocol import ClientProtocol, ConnectionState, parse_server_frame

# vercel/ai packages/google/src/speech-translation/__fixtures__/
# google-live-speech-translation.chunks.txt, as quoted in EVIDENCE.md (one frame a line).
GEMINI_FRAMES = [
    '{"setupComplete":{}}',
    '{"serverContent":{"inputTranscription":{"text":"The quick brown fox","languageCode":"en"}}}',
    '{"serverContent":{"outputTranscription":{"text":"El zorro marrón","languageCode":"es"}}}',
    '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"AQIDBAUGBwg="}}]}}}',
    '{"serverContent":{},"usageMetadata":{"promptTokenCount":50,"responseTokenCount":50,"totalTokenCount":100,"promptTokensDetails":[{"modality":"TEXT","tokenCount":535},{"modality":"AUDIO","tokenCount":50}],"responseTokensDetails":[{"modality":"AUDIO","tokenCount":50}]}}',
    '{"serverContent":{"inputTranscription":{"text":" jumps over the","languageCode":"en"}}}',
    '{"serverContent":{"outputTranscription":{"text":" rápido salta","languageCode":"es"}}}',
    '{"sessionResumptionUpdate":{"newHandle":"redacted-fixture-handle","resumable":true}}',
    '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"AAAAAAAAAAAAAAAA"}}]}}}',
]

# Vertex AI: setupComplete carries the session id (EVIDENCE.md row 3) and output tokens are
# named candidatesTokenCount (row 8).
VERTEX_SETUP = '{"setupComplete":{"sessionId":"8c1f2f4e-2d7a-4f0e-9d55-0b6a3c1e7f42"}}'
VERTEX_USAGE = (
    '{"serverContent":{},"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":60,'
    '"totalTokenCount":100,"promptTokensDetails":[{"modality":"AUDIO","tokenCount":40}],'
    '"candidatesTokensDetails":[{"modality":"AUDIO","tokenCount":60}]}}'
)

VOICED = np.array([513, 1027, 1541, 2055], dtype=np.int16)  # AQIDBAUGBwg= little-endian
SILENT = np.zeros(6, dtype=np.int16)  # AAAAAAAAAAAAAAAA: 12 zero bytes

# (id, frame, expected events, extra checks on the events)
ROWS: list[tuple[str, str, list[Event], Callable[[list[Event]], None] | None]] = []


def _row(
    name: str,
    frame: str,
    expected: list[Event],
    check: Callable[[list[Event]], None] | None = None,
) -> None:
    ROWS.append((name, frame, expected, check))


def _check_voiced(events: list[Event]) -> None:
    (chunk,) = events
    assert isinstance(chunk, AudioChunk)
    assert chunk.data.dtype == np.dtype("<i2")
    assert chunk.data.tolist() == [513, 1027, 1541, 2055]
    assert (chunk.sample_rate, chunk.mime_type) == (24_000, "audio/pcm;rate=24000")
    assert chunk.voiced is True
    assert chunk.pcm == bytes(range(1, 9))


def _check_silent(events: list[Event]) -> None:
    (chunk,) = events
    assert isinstance(chunk, AudioChunk)
    assert chunk.data.tolist() == [0] * 6
    assert chunk.sample_rate == 24_000
    assert chunk.voiced is False
    assert chunk.duration_s == pytest.approx(6 / 24_000)


def _check_usage(prompt: int, response: int, total: int) -> Callable[[list[Event]], None]:
    def check(events: list[Event]) -> None:
        (usage,) = events
        assert isinstance(usage, UsageMetadata)
        assert (
            usage.prompt_token_count,
            usage.response_token_count,
            usage.total_token_count,
        ) == (prompt, response, total)
        assert usage.cached_content_token_count is None
        assert usage.thoughts_token_count is None

    return check


def _check_gemini_usage_raw(events: list[Event]) -> None:
    _check_usage(50, 50, 100)(events)
    usage = events[0]
    assert isinstance(usage, UsageMetadata)
    assert usage.raw == json.loads(GEMINI_FRAMES[4])["usageMetadata"]  # kept whole, as sent


def _check_resumption(events: list[Event]) -> None:
    (update,) = events
    assert isinstance(update, SessionResumptionUpdate)
    assert update.new_handle == "redacted-fixture-handle"
    assert update.resumable is True
    assert update.last_consumed_client_message_index is None


_row("setupComplete-gemini", GEMINI_FRAMES[0], [SetupComplete(session_id=None)])
_row(
    "inputTranscription-1",
    GEMINI_FRAMES[1],
    [InputTranscription(text="The quick brown fox", finished=False, language_code="en")],
)
_row(
    "outputTranscription-1",
    GEMINI_FRAMES[2],
    [OutputTranscription(text="El zorro marrón", finished=False, language_code="es")],
)
_row(
    "audio-voiced",
    GEMINI_FRAMES[3],
    [AudioChunk(data=VOICED, sample_rate=24_000, mime_type="audio/pcm;rate=24000")],
    _check_voiced,
)
_row(
    "usage-gemini",
    GEMINI_FRAMES[4],
    [UsageMetadata(prompt_token_count=50, response_token_count=50, total_token_count=100)],
    _check_gemini_usage_raw,
)
_row(
    "inputTranscription-2",
    GEMINI_FRAMES[5],
    [InputTranscription(text=" jumps over the", finished=False, language_code="en")],
)
_row(
    "outputTranscription-2",
    GEMINI_FRAMES[6],
    [OutputTranscription(text=" rápido salta", finished=False, language_code="es")],
)
_row(
    "sessionResumptionUpdate",
    GEMINI_FRAMES[7],
    [SessionResumptionUpdate(new_handle="redacted-fixture-handle", resumable=True)],
    _check_resumption,
)
_row(
    "audio-silent",
    GEMINI_FRAMES[8],
    [AudioChunk(data=SILENT, sample_rate=24_000, mime_type="audio/pcm;rate=24000")],
    _check_silent,
)
_row(
    "setupComplete-vertex",
    VERTEX_SETUP,
    [SetupComplete(session_id="8c1f2f4e-2d7a-4f0e-9d55-0b6a3c1e7f42")],
)
_row(
    "usage-vertex",
    VERTEX_USAGE,
    [UsageMetadata(prompt_token_count=40, response_token_count=60, total_token_count=100)],
    _check_usage(40, 60, 100),
)

IDS = [r[0] for r in ROWS]


def test_every_evidence_frame_has_a_row() -> None:
    assert len(GEMINI_FRAMES) == 9
    frames = [r[1] for r in ROWS]
    assert all(frame in frames for frame in GEMINI_FRAMES)
    assert VERTEX_SETUP in frames and VERTEX_USAGE in frames
    for frame in frames:
        json.loads(frame)  # each row is one well-formed JSON frame


def _as(kind: type, frame: str) -> str | bytes:
    return frame if kind is str else frame.encode("utf-8")


def _assert_events(events: list[Event], expected: list[Event], check: Any) -> None:
    assert [type(e) for e in events] == [type(e) for e in expected]
    assert events == expected
    assert not any(isinstance(e, UnknownEvent) for e in events)
    if check is not None:
        check(events)


@pytest.mark.parametrize("kind", [str, bytes], ids=["text", "binary"])
@pytest.mark.parametrize(("name", "frame", "expected", "check"), ROWS, ids=IDS)
def test_parse_server_frame(
    name: str, frame: str, expected: list[Event], check: Any, kind: type
) -> None:
    _assert_events(parse_server_frame(_as(kind, frame)), expected, check)


def _protocol() -> ClientProtocol:
    config = TranslationConfig(target_language="es", model=LIVE_TRANSLATE_MODEL)
    setup = config.build_setup(model_resource=f"models/{LIVE_TRANSLATE_MODEL}", backend="gemini")
    return ClientProtocol(setup, casing="camel", track_consumption=False)


@pytest.mark.parametrize("kind", [str, bytes], ids=["text", "binary"])
@pytest.mark.parametrize(("name", "frame", "expected", "check"), ROWS, ids=IDS)
def test_client_protocol_receive(
    name: str, frame: str, expected: list[Event], check: Any, kind: type
) -> None:
    proto = _protocol()
    proto.start()
    if not name.startswith("setupComplete"):
        proto.receive(_as(kind, GEMINI_FRAMES[0]))
        assert proto.state is ConnectionState.ACTIVE
    events = proto.receive(_as(kind, frame))
    _assert_events(events, expected, check)
    assert proto.state is ConnectionState.ACTIVE
    if name == "setupComplete-vertex":
        assert proto.session_id == "8c1f2f4e-2d7a-4f0e-9d55-0b6a3c1e7f42"
    if name == "sessionResumptionUpdate":
        assert proto.resumption_handle == "redacted-fixture-handle"
        assert proto.checkpoints == 1
        assert proto.last_consumed_index is None
    else:
        assert proto.resumption_handle is None


@pytest.mark.parametrize("kind", [str, bytes], ids=["text", "binary"])
def test_the_whole_capture_in_order(kind: type) -> None:
    """The nine frames as one connection: the transcripts concatenate into the sentences."""
    proto = _protocol()
    proto.start()
    events = [e for frame in GEMINI_FRAMES for e in proto.receive(_as(kind, frame))]
    heard = "".join(e.text for e in events if isinstance(e, InputTranscription))
    said = "".join(e.text for e in events if isinstance(e, OutputTranscription))
    assert heard == "The quick brown fox jumps over the"
    assert said == "El zorro marrón rápido salta"
    chunks = [e for e in events if isinstance(e, AudioChunk)]
    assert [c.voiced for c in chunks] == [True, False]
    assert sum(len(c.data) for c in chunks) == 10
    assert [type(e).__name__ for e in events].count("UsageMetadata") == 1
    assert not any(isinstance(e, UnknownEvent) for e in events)
    assert proto.resumption_handle == "redacted-fixture-handle"
