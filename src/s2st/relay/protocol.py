"""The browser protocol of the relay, version 1 (sans-I/O: no sockets, no asyncio here).

One WebSocket per translation session (``/ws``)::

    browser -> relay   text   {"type": "start", "version": 1, "token": "...", "target_language": "es",
                               "sample_rate": 16000, "room": "main"}       (first message)
    browser -> relay   binary little-endian int16 mono PCM at ``sample_rate``
    browser -> relay   text   {"type": "stop"}                 end of input: finish and close
    browser -> relay   text   {"type": "ping", "t": 123.4}     echoed as "pong"
    relay -> browser   text   {"type": "ready", "version": 1, ...}           session is open
    relay -> browser   text   {"type": "source" | "translation", "text": "...", "language": ...}
    relay -> browser   binary little-endian int16 mono PCM at ``output_sample_rate`` (24 kHz)
    relay -> browser   text   {"type": "latency" | "reconnected" | "interrupted" | "pong" | "end"}
    relay -> browser   text   {"type": "error", "code": 4401, "error": "unauthorized", "message": ...}
                               (then the socket closes with the same code)

Every refusal closes the socket with one of the `CloseCode` values, after an ``error``
message carrying the same code. Transcript texts are deltas (concatenate them).
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from typing import Any

from s2st._validate import is_number
from s2st.events import (
    Event,
    InputTranscription,
    Interrupted,
    LatencyMeasurement,
    OutputTranscription,
    Reconnected,
)

__all__ = [
    "INPUT_SAMPLE_RATES",
    "PROTOCOL_VERSION",
    "CloseCode",
    "ProtocolViolation",
    "StartMessage",
    "encode",
    "error_message",
    "event_message",
    "parse_control",
    "parse_start",
]

#: The version of this protocol; a ``start`` with another ``version`` is refused (4400).
PROTOCOL_VERSION = 1
#: Sample rates the relay accepts for the browser's PCM (it resamples to the service's 16 kHz).
INPUT_SAMPLE_RATES = frozenset({8000, 16000, 24000, 32000, 44100, 48000})
_MAX_CONTROL_CHARS = 8192
_ROOM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class CloseCode(enum.IntEnum):
    """WebSocket close codes the relay uses. 4000-4999 are private-use codes (RFC 6455 §7.4.2);
    the last three digits follow the HTTP status of the same meaning where one exists."""

    NORMAL = 1000  #: the session ended (after ``stop``, or the service ended it cleanly)
    GOING_AWAY = 1001  #: the relay is shutting down
    BAD_REQUEST = 4400  #: malformed, unexpected or unsupported message (or protocol version)
    UNAUTHORIZED = 4401  #: missing, malformed or forged token
    FORBIDDEN = 4403  #: Origin not allowed, or language/room not granted by the token
    TIMEOUT = 4408  #: no ``start`` in time, or the browser went idle
    TOO_MANY_SESSIONS = 4409  #: this token already holds its maximum of concurrent sessions
    TOKEN_EXPIRED = 4410  #: the token has expired (or is not valid yet)
    FRAME_TOO_LARGE = 4413  #: a message larger than ``max_frame_bytes``
    RATE_LIMITED = 4429  #: audio sent faster than ``max_bytes_per_s`` allows
    SESSION_TOO_LONG = 4430  #: ``max_session_s`` reached
    SLOW_CLIENT = 4431  #: the browser does not read fast enough (backlog over the limit)
    UPSTREAM_ERROR = 4500  #: the translation service failed or refused the session
    UNAVAILABLE = 4503  #: the relay is full or draining; retry on another instance

    @property
    def label(self) -> str:
        """The short name sent as ``error`` and as the close reason."""
        return self.name.lower()


class ProtocolViolation(Exception):
    """A browser message that breaks the protocol: close with ``code`` and ``reason``.

    Internal to the relay; never propagates to the user's code.
    """

    def __init__(self, code: CloseCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class StartMessage:
    """A parsed ``start`` message (the token is kept out of ``repr``)."""

    target_language: str
    sample_rate: int = 16000
    room: str | None = None
    token: str | None = None

    def __repr__(self) -> str:
        return (
            f"StartMessage(target_language={self.target_language!r}, "
            f"sample_rate={self.sample_rate}, room={self.room!r}, token=<hidden>)"
        )


def _load(text: str) -> dict[str, Any]:
    if len(text) > _MAX_CONTROL_CHARS:
        raise ProtocolViolation(CloseCode.FRAME_TOO_LARGE, "control message too long")
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "control messages are JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "a control message is an object with a type")
    return data


def valid_room(room: object) -> bool:
    """Room names: 1-64 characters of letters, digits, ``-``, ``_`` and ``.``."""
    return isinstance(room, str) and 0 < len(room) <= 64 and all(c in _ROOM_CHARS for c in room)


def parse_start(text: str | None) -> StartMessage:
    """Parse the first message of a session.

    Raises:
        ProtocolViolation: 4400 for anything but a well-formed ``start`` of this version.
    """
    if text is None:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "the first message must be a text start")
    data = _load(text)
    if data["type"] != "start":
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "the first message must be a start")
    if data.get("version", PROTOCOL_VERSION) != PROTOCOL_VERSION:
        raise ProtocolViolation(
            CloseCode.BAD_REQUEST,
            f"unsupported protocol version; this relay speaks {PROTOCOL_VERSION}",
        )
    target = data.get("target_language")
    if not isinstance(target, str) or not 0 < len(target) <= 35:
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "start needs a target_language")
    rate = data.get("sample_rate", 16000)
    if not is_number(rate) or rate not in INPUT_SAMPLE_RATES:
        raise ProtocolViolation(
            CloseCode.BAD_REQUEST, f"sample_rate must be one of {sorted(INPUT_SAMPLE_RATES)}"
        )
    room = data.get("room")
    if room is not None and not valid_room(room):
        raise ProtocolViolation(CloseCode.BAD_REQUEST, "room names are 1-64 of [A-Za-z0-9._-]")
    token = data.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolViolation(CloseCode.UNAUTHORIZED, "the token must be a string")
    return StartMessage(target_language=target, sample_rate=int(rate), room=room, token=token)


def parse_control(text: str) -> dict[str, Any]:
    """Parse a control message after ``start`` (``stop`` or ``ping``).

    Raises:
        ProtocolViolation: 4400 for unknown types or a second ``start``.
    """
    data = _load(text)
    kind = data["type"]
    if kind == "stop":
        return {"type": "stop"}
    if kind == "ping":
        t = data.get("t")
        ok = is_number(t) and math.isfinite(t)  # type: ignore[arg-type]
        return {"type": "ping", "t": t if ok else None}
    raise ProtocolViolation(CloseCode.BAD_REQUEST, f"unexpected message type {kind[:32]!r}")


def encode(message: dict[str, Any]) -> str:
    """A relay message as compact JSON text."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def error_message(code: CloseCode, message: str) -> dict[str, Any]:
    """The ``error`` message sent just before closing with ``code``."""
    return {"type": "error", "code": int(code), "error": code.label, "message": message}


def event_message(event: Event) -> dict[str, Any] | None:
    """The browser message for a session event (``None`` for events browsers do not see:
    usage, resumption updates, turn markers, unknown fields). Audio is sent as binary frames
    and is not handled here."""
    if isinstance(event, InputTranscription):
        return {"type": "source", "text": event.text, "language": event.language_code}
    if isinstance(event, OutputTranscription):
        return {"type": "translation", "text": event.text, "language": event.language_code}
    if isinstance(event, LatencyMeasurement):
        return {"type": "latency", "segment": event.segment, "lag_s": round(event.lag_s, 3)}
    if isinstance(event, Reconnected):
        # Informational only: the session replayed what the service had not confirmed.
        return {
            "type": "reconnected",
            "resumed": event.resumed,
            "downtime_s": round(event.downtime_s, 3),
        }
    if isinstance(event, Interrupted):
        return {"type": "interrupted"}
    return None
