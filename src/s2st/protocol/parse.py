"""Parsing server frames into events (the receiving half of [`s2st.protocol`][s2st.protocol]).

Every field of every message becomes an event; fields we do not model become
[`UnknownEvent`][s2st.events.UnknownEvent]. Anything that is not a JSON object of the documented shapes
raises [`ProtocolError`][s2st.errors.ProtocolError] and nothing else. The common frame (audio parts
only) takes a fast path validated by a strict TypedDict schema; any other shape goes through
the full wire model.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import numpy as np
from pydantic import ConfigDict, TypeAdapter, ValidationError

from s2st.errors import ProtocolError
from s2st.events import (
    DEFAULT_OUTPUT_SAMPLE_RATE,
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

from .wire import AUDIO_ONLY, TRANSCRIPTS_ONLY, ServerContent, ServerMessage, TranscriptionWire

__all__ = [
    "parse_audio_only",
    "parse_duration",
    "parse_server_frame",
    "parse_transcripts_only",
    "sample_rate_from_mime",
]

logger = logging.getLogger("s2st.protocol")

_INT16 = np.dtype("<i2")

_RATE_RE = re.compile(r"rate\s*=\s*(\d+)")
_DURATION_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)s\s*$")


_RATE_CACHE: dict[str, int] = {}


def sample_rate_from_mime(mime_type: str, default: int = DEFAULT_OUTPUT_SAMPLE_RATE) -> int:
    """Return the ``rate=N`` parameter of an ``audio/pcm`` MIME type, or ``default``."""
    if default == DEFAULT_OUTPUT_SAMPLE_RATE:
        cached = _RATE_CACHE.get(mime_type)
        if cached is None:
            cached = _rate(mime_type, default)
            if len(_RATE_CACHE) < 64:
                _RATE_CACHE[mime_type] = cached
        return cached
    return _rate(mime_type, default)


def _rate(mime_type: str, default: int) -> int:
    match = _RATE_RE.search(mime_type)
    if match is None:
        return default
    rate = int(match.group(1))
    return rate if rate > 0 else default


def parse_duration(value: str | float | dict[str, Any] | None) -> timedelta:
    """Parse a proto3 JSON Duration (``"50s"``, ``"1.5s"``); tolerate seconds as a number and
    the ``{"seconds": ..., "nanos": ...}`` object form. Raises [`ProtocolError`][s2st.errors.ProtocolError]."""
    if value is None:
        return timedelta(0)
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, (int, float)):
            return timedelta(seconds=float(value))
        if isinstance(value, str):
            match = _DURATION_RE.match(value)
            if match is None:
                raise ValueError(value)
            return timedelta(seconds=float(match.group(1)))
        seconds = float(value.get("seconds", 0) or 0)
        nanos = float(value.get("nanos", 0) or 0)
        return timedelta(seconds=seconds + nanos / 1e9)
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise ProtocolError(f"invalid duration {value!r}") from exc


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _usage(raw: dict[str, Any]) -> UsageMetadata:
    response = raw.get("responseTokenCount", raw.get("candidatesTokenCount"))
    return UsageMetadata(
        prompt_token_count=_int_or_none(raw.get("promptTokenCount")),
        response_token_count=_int_or_none(response),
        total_token_count=_int_or_none(raw.get("totalTokenCount")),
        cached_content_token_count=_int_or_none(raw.get("cachedContentTokenCount")),
        thoughts_token_count=_int_or_none(raw.get("thoughtsTokenCount")),
        tool_use_prompt_token_count=_int_or_none(raw.get("toolUsePromptTokenCount")),
        raw=raw,
    )


def _extras(obj: Any, prefix: str, out: list[Event]) -> None:
    extra = obj.__pydantic_extra__
    if extra:
        for key, value in extra.items():
            # Name and kind only: the payload may hold user content (§5.8).
            logger.debug("unknown server field %s%s (%s)", prefix, key, type(value).__name__)
            out.append(UnknownEvent(key=f"{prefix}{key}", payload=value))


def _transcription(
    wire: TranscriptionWire, cls: type[InputTranscription] | type[OutputTranscription]
) -> InputTranscription | OutputTranscription | None:
    if not wire.text and not wire.finished:
        return None
    return cls(text=wire.text, finished=bool(wire.finished), language_code=wire.language_code)


_TRANSCRIPTS: tuple[tuple[str, type[InputTranscription] | type[OutputTranscription], str], ...] = (
    ("input_transcription", InputTranscription, "serverContent.inputTranscription."),
    ("output_transcription", OutputTranscription, "serverContent.outputTranscription."),
)


# One branch per field of serverContent, in the documented event order (see
# parse_server_frame): long because the order is the contract, and reads top to bottom.
def _server_content(content: ServerContent, out: list[Event]) -> None:
    for field, cls, prefix in _TRANSCRIPTS:
        wire: TranscriptionWire | None = getattr(content, field)
        if wire is not None:
            event = _transcription(wire, cls)
            if event is not None:
                out.append(event)
            if wire.__pydantic_extra__:
                _extras(wire, prefix, out)
    if content.model_turn is not None:
        for part in content.model_turn.parts:
            inline = part.inline_data
            if inline is not None:
                if inline.mime_type.startswith("audio/") or not inline.mime_type:
                    if len(inline.data) % 2:
                        raise ProtocolError(
                            f"audio part has an odd number of bytes ({len(inline.data)}); "
                            "expected 16-bit PCM"
                        )
                    out.append(_audio_chunk(inline.data, inline.mime_type or "audio/pcm"))
                else:
                    out.append(
                        UnknownEvent(
                            key="serverContent.modelTurn.parts.inlineData",
                            payload={"mimeType": inline.mime_type, "bytes": len(inline.data)},
                        )
                    )
                if inline.__pydantic_extra__:
                    _extras(inline, "serverContent.modelTurn.parts.inlineData.", out)
            if part.text is not None:
                out.append(
                    UnknownEvent(key="serverContent.modelTurn.parts.text", payload=part.text)
                )
            if part.__pydantic_extra__:
                _extras(part, "serverContent.modelTurn.parts.", out)
        if content.model_turn.__pydantic_extra__:
            _extras(content.model_turn, "serverContent.modelTurn.", out)
    if content.interrupted:
        out.append(Interrupted())
    if content.generation_complete:
        out.append(GenerationComplete())
    if content.turn_complete:
        out.append(TurnComplete(reason=content.turn_complete_reason))
    elif content.turn_complete_reason is not None:
        out.append(
            UnknownEvent(
                key="serverContent.turnCompleteReason", payload=content.turn_complete_reason
            )
        )
    if content.__pydantic_extra__:
        _extras(content, "serverContent.", out)


def parse_server_frame(frame: str | bytes | bytearray | memoryview) -> list[Event]:
    """Parse one server WebSocket frame into events, in a stable order.

    Order within a frame: ``setupComplete``; transcripts (input, then output); audio parts in
    order; ``interrupted``, ``generationComplete``, ``turnComplete``; ``goAway``;
    ``sessionResumptionUpdate``; unknown fields; ``usageMetadata`` last.

    Raises:
        ProtocolError: the frame is not UTF-8 JSON, not an object, or a known field has the
            wrong shape. The error carries the (truncated, redacted) payload.
    """
    if isinstance(frame, memoryview):
        frame = frame.tobytes()
    if isinstance(frame, str):
        hot = frame.find('"inlineData"', 0, 96) >= 0
    else:
        hot = frame.find(b'"inlineData"', 0, 96) >= 0
    if hot:
        fast = parse_audio_only(frame)
        if fast is not None:
            return fast
    try:
        message = ServerMessage.model_validate_json(frame)
    except ValidationError as exc:
        raise ProtocolError(_describe_validation(exc), frame) from None
    except (ValueError, TypeError, RecursionError) as exc:  # pragma: no cover - defensive
        raise ProtocolError(f"unreadable server frame ({type(exc).__name__})", frame) from None
    out: list[Event] = []
    try:
        if message.setup_complete is not None:
            out.append(SetupComplete(session_id=message.setup_complete.session_id))
            if message.setup_complete.__pydantic_extra__:
                _extras(message.setup_complete, "setupComplete.", out)
        if message.server_content is not None:
            _server_content(message.server_content, out)
        if message.go_away is not None:
            out.append(GoAway(time_left=parse_duration(message.go_away.time_left)))
            if message.go_away.__pydantic_extra__:
                _extras(message.go_away, "goAway.", out)
        update = message.session_resumption_update
        if update is not None:
            out.append(
                SessionResumptionUpdate(
                    new_handle=update.new_handle or None,
                    resumable=bool(update.resumable),
                    last_consumed_client_message_index=update.last_consumed_client_message_index,
                )
            )
            if update.__pydantic_extra__:
                _extras(update, "sessionResumptionUpdate.", out)
        if message.__pydantic_extra__:
            _extras(message, "", out)
        if message.usage_metadata is not None:
            out.append(_usage(message.usage_metadata))
    except ProtocolError as exc:
        raise ProtocolError(str(exc.args[0]), frame) from None
    return out


_VALIDATE_AUDIO_ONLY = AUDIO_ONLY.validator.validate_json  # skip TypeAdapter's wrapper
_VALIDATE_TRANSCRIPTS = TRANSCRIPTS_ONLY.validator.validate_json
_TRANSCRIPT_KEYS: tuple[tuple[str, type[InputTranscription] | type[OutputTranscription]], ...] = (
    ("inputTranscription", InputTranscription),
    ("outputTranscription", OutputTranscription),
)
_new_chunk = object.__new__
_set_data = vars(AudioChunk)["data"].__set__
_set_rate = vars(AudioChunk)["sample_rate"].__set__
_set_mime = vars(AudioChunk)["mime_type"].__set__
_set_voiced = vars(AudioChunk)["_voiced"].__set__


def _audio_chunk(data: bytes, mime: str) -> AudioChunk:
    # Same result as AudioChunk(...), without the frozen dataclass __init__ (hot path).
    chunk: AudioChunk = _new_chunk(AudioChunk)
    _set_data(chunk, np.frombuffer(data, dtype=_INT16))
    _set_rate(chunk, _RATE_CACHE.get(mime) or sample_rate_from_mime(mime))
    _set_mime(chunk, mime)
    _set_voiced(chunk, None)
    return chunk


# The audio frame byte for byte as the live service writes it (EVIDENCE.md, golden frames):
# compact JSON, one part, mimeType before data. Checked byte for byte: no object is parsed.
_HEAD = b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"'
_MID = b'","data":"'
_TAIL = b'"}}]}}}'
_DATA_AT = len(_HEAD)
# A MIME type that JSON writes with no escape: printable ASCII except '"' and '\'.
_PLAIN_MIME = re.compile(rb"audio/[ !#-\[\]-~]*")
_MIMES: dict[bytes, str] = {}

# The data string, quotes included, decoded by pydantic-core like the schemas below decode
# it (JSON string rules, then base64): same bytes, same refusals.
_B64_TOKEN = TypeAdapter(bytes, config=ConfigDict(val_json_bytes="base64", strict=True))
_decode_token = _B64_TOKEN.validator.validate_json


def _golden_audio(frame: bytes) -> list[Event] | None:
    """`parse_audio_only()` for the exact golden layout; ``None`` for anything else (an
    escape, whitespace, another key or part, non-canonical base64: the parsers decide)."""
    if not (frame.startswith(_HEAD) and frame.endswith(_TAIL)):
        return None
    mid = frame.find(_MID, _DATA_AT, _DATA_AT + 80)
    if mid < 0:
        return None
    raw_mime = frame[_DATA_AT:mid]
    mime = _MIMES.get(raw_mime)
    if mime is None:
        if _PLAIN_MIME.fullmatch(raw_mime) is None:
            return None
        mime = raw_mime.decode("ascii")
        if len(_MIMES) < 32:
            _MIMES[raw_mime] = mime
    try:
        pcm: bytes = _decode_token(frame[mid + len(_MID) - 1 : len(frame) - len(_TAIL) + 1])
    except ValidationError:
        return None
    if len(pcm) & 1:
        return None  # the general parser reports it
    return [_audio_chunk(pcm, mime)]


def parse_audio_only(frame: str | bytes | bytearray) -> list[Event] | None:
    """The hot path: a frame holding nothing but modelTurn audio parts. ``None`` if the frame
    has any other shape (the general parser then handles it, including its errors).

    A frame in the service's exact layout is checked byte for byte and only its data string
    is decoded (no dicts or lists are built); other layouts of the same content go through a
    strict schema."""
    if type(frame) is bytes:
        golden = _golden_audio(frame)
        if golden is not None:
            return golden
    try:
        parts = _VALIDATE_AUDIO_ONLY(frame)["serverContent"]["modelTurn"]["parts"]
    except ValidationError:
        return None
    out: list[Event] = []
    for part in parts:
        inline = part["inlineData"]
        mime, data = inline["mimeType"], inline["data"]
        if len(data) & 1 or not mime.startswith("audio/"):
            return None
        out.append(_audio_chunk(data, mime))
    return out


def parse_transcripts_only(frame: str | bytes | bytearray) -> list[Event] | None:
    """The second hot path: a frame holding nothing but transcript deltas. ``None`` if the
    frame has any other shape (the general parser then handles it, including its errors).
    Same events, in the same order, as `parse_server_frame()`."""
    try:
        content = _VALIDATE_TRANSCRIPTS(frame)["serverContent"]
    except ValidationError:
        return None
    out: list[Event] = []
    for key, cls in _TRANSCRIPT_KEYS:
        wire = content.get(key)
        if wire is not None:
            text, finished = wire.get("text", ""), wire.get("finished")
            if text or finished:
                out.append(cls(text, bool(finished), wire.get("languageCode")))
    return out


def _describe_validation(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return "invalid server frame"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "frame"
    kind = first.get("type", "")
    if kind in ("json_invalid", "json_type"):
        return "server frame is not valid JSON"
    if kind == "model_type" and where == "frame":
        return "server frame is not a JSON object"
    return f"server frame has an invalid {where!r}: {first.get('msg', kind)}"
