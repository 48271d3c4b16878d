"""Frames and fields of the emulator's wire (sans-I/O): one client frame parsed to a JSON
object, proto3 JSON field spellings (camelCase or snake_case), base64 blobs and audio MIME
types, server frames encoded, and `WireRejection`, the close a refused message earns
(PROTOCOL.md §1-§3). Re-exported from `s2st.emulator.wire`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CLOSE_INVALID",
    "WireRejection",
    "decode_b64",
    "encode_frame",
    "get_key",
    "get_obj",
    "parse_audio_mime",
    "parse_client_frame",
    "truncate_reason",
]

CLOSE_INVALID = "Request contains an invalid argument."

_MIME = re.compile(r"^audio/pcm(?:\s*;\s*rate\s*=\s*(\d+))?$", re.IGNORECASE)


def truncate_reason(reason: str, limit_bytes: int = 123) -> str:
    """Cut a close reason to ``limit_bytes`` of UTF-8 (RFC 6455) on a character boundary."""
    raw = reason.encode("utf-8")
    if len(raw) <= limit_bytes:
        return reason
    return raw[:limit_bytes].decode("utf-8", errors="ignore")


class WireRejection(Exception):
    """A client message the real service would refuse: close with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def get_key(obj: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Read field ``name`` (given in camelCase) accepting its snake_case spelling too (proto3 JSON).

    Sending both spellings of one field is refused with 1007, as proto3 parsers do.
    """
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
    camel = _camel(name)
    has_camel = camel in obj
    has_snake = snake != camel and snake in obj
    if has_camel and has_snake:
        raise WireRejection(1007, f"{CLOSE_INVALID} Duplicate field {camel!r}.")
    if has_camel:
        return obj[camel]
    if has_snake:
        return obj[snake]
    return default


def get_obj(obj: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """Like `get_key()` for a message-typed field; a non-object value is a 1007."""
    value = get_key(obj, name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WireRejection(1007, f"{CLOSE_INVALID} Field {name!r} must be an object.")
    return value


def decode_b64(data: Any) -> bytes:
    """Decode proto3 ``bytes``: standard or URL-safe alphabet, with or without padding."""
    if not isinstance(data, str):
        raise WireRejection(1007, f"{CLOSE_INVALID} Blob data must be a base64 string.")
    text = data.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireRejection(1007, f"{CLOSE_INVALID} Invalid base64 in blob data.") from exc


def parse_audio_mime(mime: Any) -> int:
    """Return the sample rate of an ``audio/pcm[;rate=N]`` MIME type (16000 when missing)."""
    if not isinstance(mime, str):
        raise WireRejection(1007, f"{CLOSE_INVALID} Blob mimeType is required.")
    m = _MIME.match(mime.strip())
    if not m:
        raise WireRejection(
            1007, f"{CLOSE_INVALID} Unsupported audio mimeType; use audio/pcm;rate=16000."
        )
    rate = int(m.group(1)) if m.group(1) else 16000
    if not 8000 <= rate <= 48000:
        raise WireRejection(1007, f"{CLOSE_INVALID} Audio rate {rate} out of range 8000-48000.")
    return rate


def parse_client_frame(frame: str | bytes) -> dict[str, Any]:
    """Parse one client frame: exactly one JSON object (text or binary frame), else 1007."""
    try:
        obj = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireRejection(1007, f"{CLOSE_INVALID} Message is not valid JSON.") from exc
    if not isinstance(obj, dict):
        raise WireRejection(1007, f"{CLOSE_INVALID} Message must be one JSON object.")
    return obj


def encode_frame(message: Mapping[str, Any], *, binary: bool) -> str | bytes:
    """Serialise a server message compactly; bytes give a binary frame (opcode 2)."""
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8") if binary else text
