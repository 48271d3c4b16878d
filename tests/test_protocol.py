"""Tests of the sans-I/O frame parser and the client message encoders (``s2st.protocol``).

Frames are written as the real server writes them (PROTOCOL.md §3, §5): camelCase keys, int64 as
strings, durations as strings, base64 ``data``, sometimes binary (UTF-8 bytes) frames, several
fields in one frame. Rows are ``(id, frame, expected events)`` in the h11 style.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from s2st import protocol
from s2st.errors import MAX_PAYLOAD_EXCERPT, ConfigurationError, ProtocolError
from s2st.events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    Interrupted,
    OutputTranscription,
    SessionResumptionUpdate,
    SetupComplete,
    TurnComplete,
    UnknownEvent,
    UsageMetadata,
)
from s2st.protocol import (
    AudioEncoder,
    ClientProtocol,
    encode_activity_end,
    encode_activity_start,
    encode_audio,
    encode_audio_stream_end,
    encode_setup,
    parse_duration,
    parse_server_frame,
    sample_rate_from_mime,
)
from s2st.protocol import parse as _parse

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PCM = np.array([0, 1, -1, 32767, -32768, 1234], dtype="<i2")
PCM_BYTES = PCM.tobytes()
STD = base64.b64encode(PCM_BYTES).decode()  # 12 bytes: no padding needed
ODD = np.array([1, -2, 3, -4, 5], dtype="<i2")  # 10 bytes: "==" padding in standard base64
# A payload whose standard encoding holds "+" and "/" (so the URL-safe one holds "-" and "_").
SIGNED = np.frombuffer(b"\xfb\xff\xbf\xfb\xff\xbf", dtype="<i2")


def b64(data: bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return text if pad else text.rstrip("=")


def audio_msg(data: str, mime: str | None = "audio/pcm;rate=24000") -> dict[str, Any]:
    inline: dict[str, Any] = {"data": data}
    if mime is not None:
        inline = {"mimeType": mime, "data": data}
    return {"serverContent": {"modelTurn": {"parts": [{"inlineData": inline}]}}}


def dumps(obj: Any) -> str:
    """Compact JSON, as the server writes it."""
    return json.dumps(obj, separators=(",", ":"))


def chunk(samples: Any, rate: int = 24_000, mime: str = "audio/pcm;rate=24000") -> AudioChunk:
    return AudioChunk(np.asarray(samples, dtype=np.int16), rate, mime)


# --------------------------------------------------------------------------------------------
# The table: every server message and field -> events
# --------------------------------------------------------------------------------------------

ROWS: list[tuple[str, Any, list[Event]]] = [
    # §5.1 setupComplete
    ("setup-empty", {"setupComplete": {}}, [SetupComplete()]),
    ("setup-session-id", {"setupComplete": {"sessionId": "s-1"}}, [SetupComplete("s-1")]),
    (
        "setup-unknown-field",
        {"setupComplete": {"sessionId": "s", "voiceConsentSignature": {"sig": "x"}}},
        [
            SetupComplete("s"),
            UnknownEvent("setupComplete.voiceConsentSignature", {"sig": "x"}),
        ],
    ),
    # §5.2 transcripts
    (
        "input-transcription",
        {"serverContent": {"inputTranscription": {"text": "Ca"}}},
        [InputTranscription("Ca")],
    ),
    (
        "input-finished-language",
        {
            "serverContent": {
                "inputTranscription": {"text": "n I", "finished": True, "languageCode": "en-US"}
            }
        },
        [InputTranscription("n I", finished=True, language_code="en-US")],
    ),
    (
        "input-finished-without-text",
        {"serverContent": {"inputTranscription": {"finished": True}}},
        [InputTranscription("", finished=True)],
    ),
    ("input-empty-object", {"serverContent": {"inputTranscription": {}}}, []),
    ("output-empty-text", {"serverContent": {"outputTranscription": {"text": ""}}}, []),
    (
        "output-transcription-unicode",
        {"serverContent": {"outputTranscription": {"text": "你好，世界 👋"}}},
        [OutputTranscription("你好，世界 👋")],
    ),
    (
        "input-unknown-fields",
        {
            "serverContent": {
                "inputTranscription": {
                    "text": "hi",
                    "speakerLabel": "A",
                    "words": [{"word": "hi"}],
                }
            }
        },
        [
            InputTranscription("hi"),
            UnknownEvent("serverContent.inputTranscription.speakerLabel", "A"),
            UnknownEvent("serverContent.inputTranscription.words", [{"word": "hi"}]),
        ],
    ),
    (
        "output-unknown-field",
        {"serverContent": {"outputTranscription": {"text": "x", "startOffset": "1.5s"}}},
        [
            OutputTranscription("x"),
            UnknownEvent("serverContent.outputTranscription.startOffset", "1.5s"),
        ],
    ),
    # §5.2 modelTurn audio: MIME rates, base64 alphabets and padding
    ("audio-24k", audio_msg(STD), [chunk(PCM)]),
    (
        "audio-default-rate",
        audio_msg(STD, "audio/pcm"),
        [chunk(PCM, 24_000, "audio/pcm")],
    ),
    (
        "audio-16k",
        audio_msg(STD, "audio/pcm;rate=16000"),
        [chunk(PCM, 16_000, "audio/pcm;rate=16000")],
    ),
    (
        "audio-L16-8k",
        audio_msg(STD, "audio/L16;rate=8000"),
        [chunk(PCM, 8_000, "audio/L16;rate=8000")],
    ),
    (
        "audio-rate-with-spaces",
        audio_msg(STD, "audio/pcm; rate = 44100"),
        [chunk(PCM, 44_100, "audio/pcm; rate = 44100")],
    ),
    (
        "audio-rate-zero",
        audio_msg(STD, "audio/pcm;rate=0"),
        [chunk(PCM, 24_000, "audio/pcm;rate=0")],
    ),
    ("audio-no-mime", audio_msg(STD, None), [chunk(PCM, 24_000, "audio/pcm")]),
    ("audio-empty-mime", audio_msg(STD, ""), [chunk(PCM, 24_000, "audio/pcm")]),
    ("audio-std-padded", audio_msg(b64(ODD.tobytes())), [chunk(ODD)]),
    ("audio-std-unpadded", audio_msg(b64(ODD.tobytes(), pad=False)), [chunk(ODD)]),
    ("audio-url-padded", audio_msg(b64(ODD.tobytes(), urlsafe=True)), [chunk(ODD)]),
    ("audio-url-unpadded", audio_msg(b64(ODD.tobytes(), urlsafe=True, pad=False)), [chunk(ODD)]),
    ("audio-std-plus-slash", audio_msg(b64(SIGNED.tobytes())), [chunk(SIGNED)]),
    ("audio-url-dash-underscore", audio_msg(b64(SIGNED.tobytes(), urlsafe=True)), [chunk(SIGNED)]),
    ("audio-empty-data", audio_msg(""), [chunk([])]),
    (
        "audio-several-parts-in-order",
        {
            "serverContent": {
                "modelTurn": {
                    "role": "model",
                    "parts": [
                        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": STD}},
                        {
                            "inlineData": {
                                "mimeType": "audio/pcm;rate=16000",
                                "data": b64(b"\x05\x00"),
                            }
                        },
                    ],
                }
            }
        },
        [chunk(PCM), chunk([5], 16_000, "audio/pcm;rate=16000")],
    ),
    ("model-turn-no-parts", {"serverContent": {"modelTurn": {"parts": []}}}, []),
    (
        "non-audio-inline-data",
        {
            "serverContent": {
                "modelTurn": {"parts": [{"inlineData": {"mimeType": "image/png", "data": STD}}]}
            }
        },
        [
            UnknownEvent(
                "serverContent.modelTurn.parts.inlineData",
                {"mimeType": "image/png", "bytes": len(PCM_BYTES)},
            )
        ],
    ),
    (
        "text-part",
        {"serverContent": {"modelTurn": {"parts": [{"text": "hello"}]}}},
        [UnknownEvent("serverContent.modelTurn.parts.text", "hello")],
    ),
    (
        "thought-part",
        {"serverContent": {"modelTurn": {"parts": [{"text": "hmm", "thought": True}]}}},
        [
            UnknownEvent("serverContent.modelTurn.parts.text", "hmm"),
            UnknownEvent("serverContent.modelTurn.parts.thought", True),
        ],
    ),
    (
        "inline-data-unknown-field",
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": "audio/pcm;rate=24000",
                                "data": STD,
                                "displayName": "a",
                            }
                        }
                    ]
                }
            }
        },
        [chunk(PCM), UnknownEvent("serverContent.modelTurn.parts.inlineData.displayName", "a")],
    ),
    (
        "model-turn-unknown-field",
        {"serverContent": {"modelTurn": {"parts": [], "future": 1}}},
        [UnknownEvent("serverContent.modelTurn.future", 1)],
    ),
    # §5.2 flags
    ("interrupted", {"serverContent": {"interrupted": True}}, [Interrupted()]),
    ("interrupted-false", {"serverContent": {"interrupted": False}}, []),
    (
        "generation-complete",
        {"serverContent": {"generationComplete": True}},
        [GenerationComplete()],
    ),
    ("turn-complete", {"serverContent": {"turnComplete": True}}, [TurnComplete()]),
    (
        "turn-complete-reason",
        {"serverContent": {"turnComplete": True, "turnCompleteReason": "NEED_MORE_INPUT"}},
        [TurnComplete("NEED_MORE_INPUT")],
    ),
    (
        "reason-without-turn-complete",
        {"serverContent": {"turnCompleteReason": "RESPONSE_REJECTED"}},
        [UnknownEvent("serverContent.turnCompleteReason", "RESPONSE_REJECTED")],
    ),
    (
        "interrupted-then-turn-complete",
        {"serverContent": {"turnComplete": True, "interrupted": True}},
        [Interrupted(), TurnComplete()],
    ),
    (
        "server-content-unknown-fields",
        {
            "serverContent": {
                "waitingForInput": True,
                "interactionStatus": "IDLE",
                "interimInputTranscription": {"text": "x"},
                "groundingMetadata": {},
            }
        },
        [
            UnknownEvent("serverContent.waitingForInput", True),
            UnknownEvent("serverContent.interactionStatus", "IDLE"),
            UnknownEvent("serverContent.interimInputTranscription", {"text": "x"}),
            UnknownEvent("serverContent.groundingMetadata", {}),
        ],
    ),
    ("server-content-empty", {"serverContent": {}}, []),
    # §5.4 goAway
    ("go-away-50s", {"goAway": {"timeLeft": "50s"}}, [GoAway(timedelta(seconds=50))]),
    (
        "go-away-half-second",
        {"goAway": {"timeLeft": "0.5s"}},
        [GoAway(timedelta(milliseconds=500))],
    ),
    ("go-away-int", {"goAway": {"timeLeft": 10}}, [GoAway(timedelta(seconds=10))]),
    ("go-away-float", {"goAway": {"timeLeft": 1.25}}, [GoAway(timedelta(seconds=1.25))]),
    (
        "go-away-object",
        {"goAway": {"timeLeft": {"seconds": "12", "nanos": 500_000_000}}},
        [GoAway(timedelta(seconds=12.5))],
    ),
    (
        "go-away-object-seconds",
        {"goAway": {"timeLeft": {"seconds": 3}}},
        [GoAway(timedelta(seconds=3))],
    ),
    ("go-away-missing", {"goAway": {}}, [GoAway(timedelta(0))]),
    (
        "go-away-unknown-field",
        {"goAway": {"timeLeft": "1s", "reason": "maintenance"}},
        [GoAway(timedelta(seconds=1)), UnknownEvent("goAway.reason", "maintenance")],
    ),
    # §5.5 sessionResumptionUpdate
    (
        "resumption-int64-string",
        {
            "sessionResumptionUpdate": {
                "newHandle": "h-1",
                "resumable": True,
                "lastConsumedClientMessageIndex": "123456789012345",
            }
        },
        [SessionResumptionUpdate("h-1", True, 123456789012345)],
    ),
    (
        "resumption-index-number",
        {
            "sessionResumptionUpdate": {
                "newHandle": "h",
                "resumable": True,
                "lastConsumedClientMessageIndex": 7,
            }
        },
        [SessionResumptionUpdate("h", True, 7)],
    ),
    (
        "resumption-empty",
        {"sessionResumptionUpdate": {}},
        [SessionResumptionUpdate(None, False, None)],
    ),
    (
        "resumption-empty-handle",
        {"sessionResumptionUpdate": {"newHandle": "", "resumable": False}},
        [SessionResumptionUpdate(None, False, None)],
    ),
    (
        "resumption-gemini-no-index",
        {"sessionResumptionUpdate": {"newHandle": "g", "resumable": True}},
        [SessionResumptionUpdate("g", True, None)],
    ),
    (
        "resumption-unknown-field",
        {"sessionResumptionUpdate": {"resumable": False, "why": "generating"}},
        [
            SessionResumptionUpdate(None, False, None),
            UnknownEvent("sessionResumptionUpdate.why", "generating"),
        ],
    ),
    # §5.6 usageMetadata, both backends' names
    (
        "usage-vertex",
        {
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": "20",
                "totalTokenCount": "30",
                "trafficType": "ON_DEMAND",
                "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 20}],
            }
        },
        [UsageMetadata(prompt_token_count=10, response_token_count=20, total_token_count=30)],
    ),
    (
        "usage-gemini",
        {
            "usageMetadata": {
                "promptTokenCount": "1",
                "responseTokenCount": 2,
                "cachedContentTokenCount": 3,
                "thoughtsTokenCount": "4",
                "toolUsePromptTokenCount": 5,
                "totalTokenCount": 15,
            }
        },
        [UsageMetadata(1, 2, 15, 3, 4, 5)],
    ),
    (
        "usage-gemini-name-wins",
        {"usageMetadata": {"responseTokenCount": 2, "candidatesTokenCount": 9}},
        [UsageMetadata(response_token_count=2)],
    ),
    (
        "usage-unparseable-counts",
        {
            "usageMetadata": {
                "promptTokenCount": "many",
                "totalTokenCount": True,
                "thoughtsTokenCount": [1],
            }
        },
        [UsageMetadata()],
    ),
    ("usage-empty", {"usageMetadata": {}}, [UsageMetadata()]),
    # §5.3, §5.7, §5.8 fields we do not model
    (
        "tool-call",
        {"toolCall": {"functionCalls": [{"id": "1", "name": "f", "args": {}}]}},
        [UnknownEvent("toolCall", {"functionCalls": [{"id": "1", "name": "f", "args": {}}]})],
    ),
    (
        "tool-call-cancellation",
        {"toolCallCancellation": {"ids": ["1"]}},
        [UnknownEvent("toolCallCancellation", {"ids": ["1"]})],
    ),
    (
        "vad-signal",
        {"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}},
        [UnknownEvent("voiceActivityDetectionSignal", {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"})],
    ),
    ("unknown-scalar", {"somethingNew": None}, [UnknownEvent("somethingNew", None)]),
    ("empty-object", {}, []),
    # snake_case server keys are tolerated (§3)
    (
        "snake-case-keys",
        {
            "setup_complete": {"session_id": "x"},
            "server_content": {"turn_complete": True, "turn_complete_reason": "R"},
            "session_resumption_update": {
                "new_handle": "h",
                "resumable": True,
                "last_consumed_client_message_index": "4",
            },
        },
        [SetupComplete("x"), TurnComplete("R"), SessionResumptionUpdate("h", True, 4)],
    ),
    (
        "both-casings-second-kept-as-unknown",
        {"serverContent": {"interrupted": True}, "server_content": {"turnComplete": True}},
        [Interrupted(), UnknownEvent("server_content", {"turnComplete": True})],
    ),
]


@pytest.mark.parametrize(("frame", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_frame_table(frame: dict[str, Any], expected: list[Event]) -> None:
    text = dumps(frame)
    events = parse_server_frame(text)
    assert events == expected
    assert [type(e) for e in events] == [type(e) for e in expected]
    # The same frame as a binary WebSocket message (opcode 2) gives the same events.
    raw = text.encode("utf-8")
    for variant in (raw, bytearray(raw), memoryview(raw), memoryview(bytearray(raw))):
        assert parse_server_frame(variant) == expected


def test_table_ids_unique() -> None:
    ids = [r[0] for r in ROWS]
    assert len(ids) == len(set(ids))


def test_usage_keeps_raw_and_ignores_it_in_equality() -> None:
    raw = {"promptTokenCount": 1, "candidatesTokenCount": "2", "trafficType": "ON_DEMAND"}
    [usage] = parse_server_frame(dumps({"usageMetadata": raw}))
    assert isinstance(usage, UsageMetadata)
    assert usage.raw == raw
    assert usage == UsageMetadata(prompt_token_count=1, response_token_count=2, raw={})


def test_several_fields_in_one_frame_follow_documented_order() -> None:
    # JSON key order is the reverse of the documented event order, to show the parser imposes it.
    frame = {
        "usageMetadata": {"totalTokenCount": 3},
        "toolCall": {"functionCalls": []},
        "sessionResumptionUpdate": {"newHandle": "h", "resumable": True},
        "goAway": {"timeLeft": "50s"},
        "serverContent": {
            "turnComplete": True,
            "generationComplete": True,
            "interrupted": True,
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": STD}}]
            },
            "outputTranscription": {"text": "Hallo"},
            "inputTranscription": {"text": "Hello"},
        },
        "setupComplete": {},
    }
    events = parse_server_frame(json.dumps(frame))
    assert events == [
        SetupComplete(),
        InputTranscription("Hello"),
        OutputTranscription("Hallo"),
        chunk(PCM),
        Interrupted(),
        GenerationComplete(),
        TurnComplete(),
        GoAway(timedelta(seconds=50)),
        SessionResumptionUpdate("h", True, None),
        UnknownEvent("toolCall", {"functionCalls": []}),
        UsageMetadata(total_token_count=3),
    ]
    assert "setupComplete" in (protocol.parse_server_frame.__doc__ or "")


def test_nested_unknowns_follow_their_parent() -> None:
    frame = {
        "serverContent": {
            "inputTranscription": {"text": "a", "x": 1},
            "turnComplete": True,
            "y": 2,
        },
        "goAway": {"timeLeft": "1s", "z": 3},
        "top": 4,
    }
    assert parse_server_frame(dumps(frame)) == [
        InputTranscription("a"),
        UnknownEvent("serverContent.inputTranscription.x", 1),
        TurnComplete(),
        UnknownEvent("serverContent.y", 2),
        GoAway(timedelta(seconds=1)),
        UnknownEvent("goAway.z", 3),
        UnknownEvent("top", 4),
    ]


def test_unknown_fields_are_logged_by_name_never_by_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="s2st.protocol")
    events = parse_server_frame('{"brandNew": {"a": ["secret-payload"]}}')
    assert events == [UnknownEvent("brandNew", {"a": ["secret-payload"]})]
    messages = [r.getMessage() for r in caplog.records if r.name == "s2st.protocol"]
    assert any("brandNew" in m for m in messages)
    assert not any("secret-payload" in m for m in messages)


# --------------------------------------------------------------------------------------------
# Audio: zero-copy view, fast path == general path
# --------------------------------------------------------------------------------------------


def test_audio_chunk_is_read_only_zero_copy_int16_view() -> None:
    for frame in (dumps(audio_msg(STD)), json.dumps(audio_msg(STD), indent=2)):
        [event] = parse_server_frame(frame)
        assert isinstance(event, AudioChunk)
        assert event.data.dtype == np.int16
        assert event.data.ndim == 1
        assert event.data.flags.writeable is False
        assert event.data.flags.owndata is False  # a view over the decoded bytes
        assert isinstance(event.data.base, bytes)
        with pytest.raises(ValueError):
            event.data[0] = 1
        assert event.pcm == PCM_BYTES
        assert event.duration_s == pytest.approx(len(PCM) / 24_000)


FAST_FRAMES = [
    audio_msg(STD),
    audio_msg(b64(SIGNED.tobytes(), urlsafe=True, pad=False), "audio/pcm;rate=16000"),
    audio_msg("", "audio/pcm"),
    {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": STD}},
                    {"inlineData": {"mimeType": "audio/L16;rate=8000", "data": b64(ODD.tobytes())}},
                ]
            }
        }
    },
]


@pytest.mark.parametrize("message", FAST_FRAMES)
def test_fast_path_and_general_path_agree(message: dict[str, Any]) -> None:
    compact = dumps(message)
    assert _parse.parse_audio_only(compact) is not None  # really the fast path
    fast = parse_server_frame(compact)
    # The same content with whitespace and a moved key: the general parser handles it.
    padded = " " * 100 + json.dumps(message, indent=3)
    reordered = json.dumps(
        {
            "serverContent": {
                "modelTurn": message["serverContent"]["modelTurn"],
                "interrupted": False,
            }
        }
    )
    general = parse_server_frame(padded)
    mixed = parse_server_frame(reordered)
    assert fast == general == mixed
    assert [e.sample_rate for e in fast] == [e.sample_rate for e in general]  # type: ignore[union-attr]
    assert fast and all(isinstance(e, AudioChunk) for e in fast)


# The service's exact audio layout (EVIDENCE.md golden frames) is read byte for byte; every
# near-miss must give what the parsers give (the byte check declines, the schemas decide).
_GOLDEN = b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"AQIDBAUGBwg="}}]}}}'
_GOLDEN_SILENCE = b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"AAAAAAAAAAAAAAAA"}}]}}}'


def _golden_variant(old: bytes, new: bytes) -> bytes:
    assert old in _GOLDEN
    return _GOLDEN.replace(old, new)


@pytest.mark.parametrize(
    ("frame", "byte_path"),
    [
        (_GOLDEN, True),
        (_GOLDEN_SILENCE, True),
        (_golden_variant(b"AQIDBAUGBwg=", b""), True),  # no samples
        (_golden_variant(b"audio/pcm;rate=24000", b"audio/pcm; rate=16000"), True),
        (_golden_variant(b"audio/pcm;rate=24000", b"audio\\/pcm;rate=24000"), False),  # escape
        # The data string is decoded as the schemas decode it: JSON escapes, padding and
        # the URL-safe alphabet are what pydantic-core makes of them, on both paths.
        (_golden_variant(b"AQIDBAUGBwg=", b"AQIDBAUGBwg"), True),
        (_golden_variant(b"AQIDBAUGBwg=", b"AQID\\u0042AUGBwg="), True),
        (_golden_variant(b"AQIDBAUGBwg=", b"AQIDBAUG-_g="), True),
        (_golden_variant(b"AQIDBAUGBwg=", b"AQIDBAUGBw=="), False),  # 7 bytes: odd
        (_golden_variant(b"AQIDBAUGBwg=", b'AQID"BAUGBwg='), False),  # not JSON
        (_golden_variant(b"AQIDBAUGBwg=", b'AQIDBAUGBwg=","x":"1'), False),  # another key
        (_golden_variant(b"audio/pcm;rate=24000", b"text/plain"), False),
        (_golden_variant(b"audio/pcm;rate=24000", b"audio/pcm\x01"), False),  # control char
        (_golden_variant(b'"data":', b'"data": '), False),  # whitespace
        (_golden_variant(b"}}]}}}", b"}},{}]}}}"), False),  # another part
        (_GOLDEN + b" ", False),
        (_GOLDEN[:-1], False),  # truncated
    ],
)
def test_golden_audio_layout_reads_like_the_parsers(frame: bytes, byte_path: bool) -> None:
    assert (_parse._golden_audio(frame) is not None) is byte_path
    try:
        expected: list[Event] | str = parse_server_frame(frame.decode("utf-8", "replace"))
    except ProtocolError as exc:
        expected = f"error: {exc}"
    try:
        fast = _parse.parse_audio_only(frame)
        got: list[Event] | str | None = fast if fast is not None else parse_server_frame(frame)
    except ProtocolError as exc:
        got = f"error: {exc}"
    assert got == expected


def _turn(part: dict[str, Any], **content: Any) -> dict[str, Any]:
    return {"serverContent": {"modelTurn": {"parts": [part]}, **content}}


_PCM_PART = {"inlineData": {"mimeType": "audio/pcm", "data": STD}}
_PCM_CHUNK = chunk(PCM, 24_000, "audio/pcm")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # Shapes the fast path must hand over to the general parser (nothing skipped).
        (
            audio_msg(STD, "image/png"),
            [
                UnknownEvent(
                    "serverContent.modelTurn.parts.inlineData",
                    {"mimeType": "image/png", "bytes": 12},
                )
            ],
        ),
        (audio_msg(STD, ""), [_PCM_CHUNK]),
        (
            _turn({"inlineData": {"mimeType": "audio/pcm", "data": STD, "x": 1}}),
            [_PCM_CHUNK, UnknownEvent("serverContent.modelTurn.parts.inlineData.x", 1)],
        ),
        (_turn(_PCM_PART, turnComplete=True), [_PCM_CHUNK, TurnComplete()]),
        (
            _turn({**_PCM_PART, "text": "t"}),
            [_PCM_CHUNK, UnknownEvent("serverContent.modelTurn.parts.text", "t")],
        ),
        ({**_turn(_PCM_PART), "usageMetadata": {}}, [_PCM_CHUNK, UsageMetadata()]),
    ],
)
def test_fast_path_declines_other_shapes(message: dict[str, Any], expected: list[Event]) -> None:
    frame = dumps(message)
    assert _parse.parse_audio_only(frame) is None
    assert parse_server_frame(frame) == expected


@pytest.mark.parametrize(
    "data",
    [
        b64(b"\x01\x02\x03"),  # 3 bytes
        b64(b"\x01\x02\x03", urlsafe=True, pad=False),
        b64(b"\x01"),
    ],
)
@pytest.mark.parametrize("pretty", [False, True])
def test_odd_length_audio_is_a_protocol_error(data: str, pretty: bool) -> None:
    message = audio_msg(data)
    frame = json.dumps(message, indent=2) if pretty else dumps(message)
    with pytest.raises(ProtocolError, match="odd number of bytes") as info:
        parse_server_frame(frame)
    assert info.value.payload is not None
    assert info.value.payload.startswith("{")


# --------------------------------------------------------------------------------------------
# Frames that are not JSON objects of the documented shapes -> ProtocolError with the payload
# --------------------------------------------------------------------------------------------

BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("not-json", "nope", "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("empty-bytes", b"", "not valid JSON"),
    ("truncated", '{"serverContent": {', "not valid JSON"),
    ("not-utf8", b"\xff\xfe{}", "not valid JSON"),
    ("array", "[1, 2]", "not a JSON object"),
    ("null", "null", "not a JSON object"),
    ("number", "42", "not a JSON object"),
    ("string", '"setupComplete"', "not a JSON object"),
    ("server-content-number", '{"serverContent": 5}', "serverContent"),
    ("parts-object", '{"serverContent": {"modelTurn": {"parts": {}}}}', "parts"),
    ("turn-complete-word", '{"serverContent": {"turnComplete": "maybe"}}', "turnComplete"),
    ("setup-complete-list", '{"setupComplete": []}', "setupComplete"),
    ("text-null", '{"serverContent": {"inputTranscription": {"text": null}}}', "text"),
    ("usage-list", '{"usageMetadata": [1]}', "usageMetadata"),
    ("bad-base64", dumps(audio_msg("AAAA AAAA")), "base64"),
    ("bad-base64-length", dumps(audio_msg("A")), "base64"),
    ("bad-padding", dumps(audio_msg("AA=A")), "base64"),
    (
        "index-fraction",
        '{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": 1.5}}',
        "lastConsumed",
    ),
    (
        "index-word",
        '{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "ten"}}',
        "lastConsumed",
    ),
    ("handle-number", '{"sessionResumptionUpdate": {"newHandle": 5}}', "newHandle"),
    ("go-away-no-unit", '{"goAway": {"timeLeft": "50"}}', "invalid duration"),
    ("go-away-ms", '{"goAway": {"timeLeft": "50ms"}}', "invalid duration"),
    ("go-away-word", '{"goAway": {"timeLeft": "fifty"}}', "invalid duration"),
    ("go-away-colon", '{"goAway": {"timeLeft": "1:30s"}}', "invalid duration '1:30s'"),
    ("go-away-bool", '{"goAway": {"timeLeft": true}}', "invalid duration"),
    ("go-away-list", '{"goAway": {"timeLeft": [50]}}', "invalid duration"),
    ("go-away-object-word", '{"goAway": {"timeLeft": {"seconds": "x"}}}', "invalid duration"),
    ("go-away-huge", '{"goAway": {"timeLeft": 1e300}}', "invalid duration"),
    ("go-away-nan", '{"goAway": {"timeLeft": NaN}}', "invalid duration"),
    ("deep-nesting", "[" * 3000 + "]" * 3000, "server frame"),
]


@pytest.mark.parametrize(
    ("frame", "match"), [r[1:] for r in BAD_FRAMES], ids=[r[0] for r in BAD_FRAMES]
)
def test_bad_frames_raise_protocol_error_with_payload(frame: str | bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match) as info:
        parse_server_frame(frame)
    err = info.value
    assert err.payload is not None
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    assert err.payload == text[:MAX_PAYLOAD_EXCERPT] + (
        "…" if len(text) > MAX_PAYLOAD_EXCERPT else ""
    )
    assert err.__cause__ is None  # pydantic's error does not leak through


def test_protocol_error_payload_is_truncated_and_redacted() -> None:
    key = "AIzaSyA1234567890abcdefghijklmnopqrstu"
    # The key straddles the truncation boundary: no prefix of it may survive.
    frame = '{"unknownBig": "' + "x" * (MAX_PAYLOAD_EXCERPT - 30) + key + '", "serverContent": 1}'
    with pytest.raises(ProtocolError) as info:
        parse_server_frame(frame)
    payload = info.value.payload
    assert payload is not None
    assert len(payload) <= MAX_PAYLOAD_EXCERPT + 1
    assert payload.endswith("…")
    assert (
        "AIza" not in payload and "AIza" not in str(info.value) and "AIza" not in repr(info.value)
    )


def test_protocol_error_message_from_server_value_is_redacted() -> None:
    frame = '{"goAway": {"timeLeft": "ya29.a0AfH6SMBsecret-token_value"}}'
    with pytest.raises(ProtocolError, match="invalid duration") as info:
        parse_server_frame(frame)
    assert "ya29" not in str(info.value)
    assert "secret" not in repr(info.value)


def test_big_binary_frame_error_is_bounded() -> None:
    frame = b'{"serverContent": ' + b"[" * 10 + b"1" * 100_000
    with pytest.raises(ProtocolError) as info:
        parse_server_frame(memoryview(frame))
    assert info.value.payload is not None
    assert len(info.value.payload) == MAX_PAYLOAD_EXCERPT + 1


# --------------------------------------------------------------------------------------------
# Helpers: durations and MIME rates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50s", timedelta(seconds=50)),
        ("0.5s", timedelta(milliseconds=500)),
        (" 10s ", timedelta(seconds=10)),
        ("0s", timedelta(0)),
        ("-1.5s", timedelta(seconds=-1.5)),
        (3, timedelta(seconds=3)),
        (2.5, timedelta(seconds=2.5)),
        ({"seconds": 1, "nanos": 250_000_000}, timedelta(seconds=1.25)),
        ({"nanos": 1000}, timedelta(microseconds=1)),
        ({"seconds": None}, timedelta(0)),
        ({}, timedelta(0)),
        (None, timedelta(0)),
    ],
)
def test_parse_duration(value: Any, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "50",
        "s",
        "1e3s",
        "5 s",
        "PT5S",
        True,
        False,
        [1],
        {"seconds": "x"},
        {"nanos": [1]},
        1e300,
        float("nan"),
    ],
)
def test_parse_duration_rejects(value: Any) -> None:
    with pytest.raises(ProtocolError, match="invalid duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("mime", "default", "expected"),
    [
        ("audio/pcm;rate=24000", 24_000, 24_000),
        ("audio/pcm;rate=16000", 24_000, 16_000),
        ("audio/L16;rate=8000", 24_000, 8_000),
        ("audio/pcm", 24_000, 24_000),
        ("audio/pcm", 16_000, 16_000),
        ("audio/pcm;rate=48000", 16_000, 48_000),
        ("", 24_000, 24_000),
        ("audio/pcm;rate=0", 24_000, 24_000),
        ("audio/pcm;rate=0", 22_050, 22_050),
        ("audio/pcm; rate = 11025", 24_000, 11_025),
    ],
)
def test_sample_rate_from_mime(mime: str, default: int, expected: int) -> None:
    assert sample_rate_from_mime(mime, default) == expected
    assert sample_rate_from_mime(mime, default) == expected  # cached answer is the same


def test_sample_rate_cache_is_bounded() -> None:
    for rate in range(1, 200):
        assert sample_rate_from_mime(f"audio/pcm;rate={rate}") == rate
    assert len(_parse._RATE_CACHE) <= 64


# --------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------


def test_encode_setup() -> None:
    message = {
        "setup": {"model": "m", "generationConfig": {"speechConfig": {"languageCode": "cmn"}}}
    }
    frame = encode_setup(message)
    assert isinstance(frame, bytes)
    assert json.loads(frame) == message
    assert encode_setup({"setup": {"note": "ü"}}) == '{"setup":{"note":"ü"}}'.encode()


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"setup": 1},
        {"setup": {}, "extra": 1},
        {"config": {}},
        ["setup"],
        None,
        {"setup": {"x": {1, 2}}},
        {"setup": {"x": float("nan")}},
    ],
)
def test_encode_setup_rejects(message: Any) -> None:
    with pytest.raises(ConfigurationError):
        encode_setup(message)


AUDIO_KEYS = {"snake": ("realtime_input", "mime_type"), "camel": ("realtimeInput", "mimeType")}


@pytest.mark.parametrize("casing", ["snake", "camel"])
@pytest.mark.parametrize("rate", [16_000, 8_000, 48_000])
def test_audio_encoder_structure(casing: Any, rate: int) -> None:
    encoder = AudioEncoder(sample_rate=rate, casing=casing)
    assert encoder.mime_type == f"audio/pcm;rate={rate}"
    assert encoder.sample_rate == rate and encoder.casing == casing
    top, mime_key = AUDIO_KEYS[casing]
    expected = {top: {"audio": {mime_key: f"audio/pcm;rate={rate}", "data": b64(PCM_BYTES)}}}
    for pcm in (PCM_BYTES, bytearray(PCM_BYTES), memoryview(PCM_BYTES), memoryview(PCM)):
        frame = encoder.encode(pcm)
        assert json.loads(frame) == expected
        assert frame == json.dumps(expected, separators=(",", ":")).encode()
    assert encode_audio(PCM_BYTES, sample_rate=rate, casing=casing) == encoder.encode(PCM_BYTES)


@pytest.mark.parametrize("rate", [0, -16_000, True, 16_000.0, "16000", None])
def test_audio_encoder_rejects_rate(rate: Any) -> None:
    with pytest.raises(ConfigurationError, match="sample_rate"):
        AudioEncoder(sample_rate=rate)


@pytest.mark.parametrize("casing", ["kebab", "", "CAMEL", None])
def test_audio_encoder_rejects_casing(casing: Any) -> None:
    with pytest.raises(ConfigurationError, match="casing"):
        AudioEncoder(casing=casing)


@pytest.mark.parametrize(
    ("encode", "snake", "camel"),
    [
        (
            encode_audio_stream_end,
            {"realtime_input": {"audio_stream_end": True}},
            {"realtimeInput": {"audioStreamEnd": True}},
        ),
        (
            encode_activity_start,
            {"realtime_input": {"activity_start": {}}},
            {"realtimeInput": {"activityStart": {}}},
        ),
        (
            encode_activity_end,
            {"realtime_input": {"activity_end": {}}},
            {"realtimeInput": {"activityEnd": {}}},
        ),
    ],
)
def test_control_messages(encode: Any, snake: dict[str, Any], camel: dict[str, Any]) -> None:
    assert json.loads(encode(casing="snake")) == snake
    assert json.loads(encode(casing="camel")) == camel
    assert encode() == encode(casing="snake")
    assert isinstance(encode(), bytes)


# --------------------------------------------------------------------------------------------
# Property-based tests (hypothesis)
# --------------------------------------------------------------------------------------------


def _parse_or_protocol_error(frame: str | bytes) -> None:
    try:
        events = parse_server_frame(frame)
    except ProtocolError as exc:
        assert exc.payload is not None
        assert len(exc.payload) <= MAX_PAYLOAD_EXCERPT + 1
        return
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event.type, str)


@BOUNDED
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_arbitrary_frames_only_raise_protocol_error(frame: str | bytes) -> None:
    _parse_or_protocol_error(frame)


@BOUNDED
@given(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b'{"serverContent":',
            b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":',
            b'{"goAway":',
        ]
    ),
)
def test_arbitrary_tails_only_raise_protocol_error(tail: bytes, head: bytes) -> None:
    _parse_or_protocol_error(head + tail)


KNOWN_KEYS = [
    "modelTurn", "parts", "inlineData", "mimeType", "data", "text", "thought", "finished",
    "languageCode", "inputTranscription", "outputTranscription", "turnComplete", "interrupted",
    "generationComplete", "turnCompleteReason", "timeLeft", "seconds", "nanos", "newHandle",
    "resumable", "lastConsumedClientMessageIndex", "sessionId", "promptTokenCount",
    "candidatesTokenCount", "responseTokenCount", "totalTokenCount", "role",
]  # fmt: skip
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "AAAA",
            "AA",
            "AAE",
            "-_-_",
            "+/+/",
            "A",
            "==",
            "50s",
            "0.5s",
            "audio/pcm",
            "audio/pcm;rate=16000",
            "image/png",
            "123456789012345",
        ]
    ),
)
JSONISH = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=25,
)
TOP_KEYS = [
    "serverContent",
    "goAway",
    "sessionResumptionUpdate",
    "usageMetadata",
    "setupComplete",
    "toolCall",
]


@BOUNDED
@given(st.dictionaries(st.sampled_from(TOP_KEYS), JSONISH, min_size=1, max_size=3), st.booleans())
def test_jsonish_values_under_known_keys_only_raise_protocol_error(
    message: dict[str, Any], binary: bool
) -> None:
    text = json.dumps(message)
    _parse_or_protocol_error(text.encode() if binary else text)


@BOUNDED
@given(
    hnp.arrays(np.dtype("<i2"), st.integers(0, 600)),
    st.integers(1, 192_000),
    st.sampled_from(["snake", "camel"]),
)
def test_encoded_audio_round_trips_through_a_server_frame(
    samples: Any, rate: int, casing: Any
) -> None:
    frame = AudioEncoder(sample_rate=rate, casing=casing).encode(samples.tobytes())
    message = json.loads(frame)
    top, mime_key = AUDIO_KEYS[casing]
    assert list(message) == [top]
    assert list(message[top]) == ["audio"]
    audio = message[top]["audio"]
    assert audio == {mime_key: f"audio/pcm;rate={rate}", "data": b64(samples.tobytes())}
    server = dumps(audio_msg(audio["data"], audio[mime_key]))
    [event] = parse_server_frame(server)
    assert isinstance(event, AudioChunk)
    assert event.sample_rate == rate
    assert np.array_equal(event.data, samples)
    # The URL-safe, unpadded spelling of the same bytes decodes to the same samples.
    urlsafe = dumps(audio_msg(b64(samples.tobytes(), urlsafe=True, pad=False), audio[mime_key]))
    assert parse_server_frame(urlsafe.encode()) == [event]


def serialize_transcripts(
    events: list[InputTranscription | OutputTranscription], ensure_ascii: bool
) -> str:
    content: dict[str, Any] = {}
    for event in events:
        key = (
            "inputTranscription" if isinstance(event, InputTranscription) else "outputTranscription"
        )
        body: dict[str, Any] = {"text": event.text}
        if event.finished:
            body["finished"] = True
        if event.language_code is not None:
            body["languageCode"] = event.language_code
        content[key] = body
    return json.dumps({"serverContent": content}, ensure_ascii=ensure_ascii)


@BOUNDED
@given(
    st.text(min_size=1, max_size=50),
    st.text(min_size=1, max_size=50),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(["en-US", "cmn", "de"])),
    st.booleans(),
    st.booleans(),
)
def test_transcripts_round_trip(
    source: str, target: str, finished: bool, language: str | None, ensure_ascii: bool, binary: bool
) -> None:
    events: list[InputTranscription | OutputTranscription] = [
        InputTranscription(source, finished, language),
        OutputTranscription(target),
    ]
    frame = serialize_transcripts(events, ensure_ascii)
    parsed = parse_server_frame(frame.encode("utf-8") if binary else frame)
    assert parsed == events


_TRANSCRIPT_FRAMES = [
    b'{"serverContent":{"outputTranscription":{"text":"Hola"}}}',
    b'{"serverContent":{"inputTranscription":{"text":"Hello","languageCode":"en"}}}',
    b'{"serverContent":{"inputTranscription":{"text":"a"},"outputTranscription":{"text":"b"}}}',
    b'{"serverContent":{"outputTranscription":{"text":"","finished":true}}}',
    b'{"serverContent":{"outputTranscription":{"text":""}}}',
    b'{"serverContent":{"outputTranscription":{"finished":null,"languageCode":null}}}',
    b'{"serverContent":{"outputTranscription":{"text":"x","other":1}}}',  # extra: full path
    b'{"serverContent":{"outputTranscription":{"text":"x"},"turnComplete":true}}',
    b'{"serverContent":{"outputTranscription":{"text":"x"}},"usageMetadata":{}}',
    b'{"serverContent":{"outputTranscription":{"text":5}}}',  # wrong type: full path errors
    b'{"serverContent":{"outputTranscription":null}}',
    b'{"serverContent":{}}',
    '{"serverContent":{"outputTranscription":{"text":"\u4f60\u597d"}}}'.encode(),
]


@pytest.mark.parametrize("frame", _TRANSCRIPT_FRAMES)
def test_transcript_fast_path_gives_what_the_full_parser_gives(frame: bytes) -> None:
    fast = _parse.parse_transcripts_only(frame)
    try:
        full = protocol.parse_server_frame(frame)
    except ProtocolError:
        assert fast is None  # only the full parser reports errors
        return
    assert fast is None or fast == full
    # And what ClientProtocol.receive() returns is the full parser's result either way.
    proto = ClientProtocol({"setup": {"model": "models/m"}})
    proto.start()
    proto.receive(b'{"setupComplete":{}}')
    assert proto.receive(frame) == full
