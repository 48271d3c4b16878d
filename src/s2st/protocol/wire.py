"""Private pydantic models of the server's wire messages (PROTOCOL.md §5).

The server writes lowerCamelCase (§3); snake_case is accepted too, to be tolerant on input.
Base64 ``data`` fields are decoded inside pydantic-core (``val_json_bytes="base64"``), which
accepts both the standard and the URL-safe alphabet, with or without padding, and never copies
the text into a Python ``str``. That is what keeps the parser under the seed loop's CPU cost.

Fields we do not model land in ``__pydantic_extra__`` and become ``UnknownEvent``s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, with_config
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

__all__ = [
    "AUDIO_ONLY",
    "TRANSCRIPTS_ONLY",
    "GoAwayWire",
    "InlineData",
    "ModelTurn",
    "Part",
    "ServerContent",
    "ServerMessage",
    "SessionResumptionUpdateWire",
    "SetupCompleteWire",
    "TranscriptionWire",
]


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        extra="allow",
        val_json_bytes="base64",
        frozen=False,
        strict=False,
    )


class InlineData(_Wire):
    mime_type: str = ""
    data: bytes = b""


class Part(_Wire):
    inline_data: InlineData | None = None
    text: str | None = None


class ModelTurn(_Wire):
    parts: list[Part] = []
    role: str | None = None


class TranscriptionWire(_Wire):
    text: str = ""
    finished: bool | None = None
    language_code: str | None = None


class ServerContent(_Wire):
    model_turn: ModelTurn | None = None
    input_transcription: TranscriptionWire | None = None
    output_transcription: TranscriptionWire | None = None
    turn_complete: bool | None = None
    generation_complete: bool | None = None
    interrupted: bool | None = None
    turn_complete_reason: str | None = None


class SetupCompleteWire(_Wire):
    session_id: str | None = None


class GoAwayWire(_Wire):
    # proto3 Duration: "50s" / "1.5s"; tolerate a number of seconds or {"seconds", "nanos"}.
    # Typed Any so that parse_duration sees the raw JSON value: a lax union would turn
    # ``true`` into 1.0 s instead of rejecting it.
    time_left: Any = None


class SessionResumptionUpdateWire(_Wire):
    new_handle: str | None = None
    resumable: bool | None = None
    # int64 arrives as a JSON string (proto3); lax mode also takes a number.
    last_consumed_client_message_index: int | None = None


class ServerMessage(_Wire):
    setup_complete: SetupCompleteWire | None = None
    server_content: ServerContent | None = None
    go_away: GoAwayWire | None = None
    session_resumption_update: SessionResumptionUpdateWire | None = None
    usage_metadata: dict[str, Any] | None = None


# Fast path for the hot frame shape: a serverContent that holds only modelTurn audio parts,
# written exactly as the server writes it (camelCase, nothing else in the frame). ``extra``
# is forbidden at every level, so a frame with any other field fails here and goes through
# ServerMessage instead: nothing is skipped. TypedDicts validate about twice as fast as models.
_STRICT = ConfigDict(extra="forbid", val_json_bytes="base64")


@with_config(_STRICT)
class _FastInline(TypedDict):
    mimeType: str
    data: bytes


@with_config(_STRICT)
class _FastPart(TypedDict):
    inlineData: _FastInline


@with_config(_STRICT)
class _FastTurn(TypedDict):
    parts: list[_FastPart]


@with_config(_STRICT)
class _FastContent(TypedDict):
    modelTurn: _FastTurn


@with_config(_STRICT)
class _FastMessage(TypedDict):
    serverContent: _FastContent


AUDIO_ONLY: TypeAdapter[_FastMessage] = TypeAdapter(_FastMessage)


# Fast path for the second most common shape: a serverContent holding only transcript deltas
# (the live model sends them several times a second). Same rule: any other field fails here.
@with_config(_STRICT)
class _FastTranscription(TypedDict, total=False):
    text: str
    finished: bool | None
    languageCode: str | None


@with_config(_STRICT)
class _FastTextContent(TypedDict, total=False):
    inputTranscription: _FastTranscription
    outputTranscription: _FastTranscription


@with_config(_STRICT)
class _FastTextMessage(TypedDict):
    serverContent: _FastTextContent


TRANSCRIPTS_ONLY: TypeAdapter[_FastTextMessage] = TypeAdapter(_FastTextMessage)
