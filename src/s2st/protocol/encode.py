"""Encoders of client messages: UTF-8 JSON payloads, meant to be sent as *text* frames, as
every SDK does (PROTOCOL.md §3). Pure functions and one small class; no I/O."""

from __future__ import annotations

import binascii
import json
from typing import Any, Literal

from s2st.errors import ConfigurationError

__all__ = [
    "AudioEncoder",
    "Casing",
    "encode_activity_end",
    "encode_activity_start",
    "encode_audio",
    "encode_audio_stream_end",
    "encode_setup",
]

Casing = Literal["snake", "camel"]
"""Key casing of client messages: ``"snake"`` as Google's S2ST sample, ``"camel"`` as the docs."""

# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_setup(message: dict[str, Any]) -> bytes:
    """Encode a complete ``{"setup": {...}}`` message (see ``TranslationConfig.build_setup``).

    Raises:
        ConfigurationError: not a dict with exactly the key ``"setup"`` holding a dict, or a
            value that JSON cannot represent.
    """
    if (
        not isinstance(message, dict)
        or set(message) != {"setup"}
        or not isinstance(message["setup"], dict)
    ):
        raise ConfigurationError("a setup message must be a dict with exactly one key, 'setup'")
    try:
        # allow_nan=False: NaN/Infinity are not JSON and the server would reject the setup.
        return json.dumps(
            message, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the setup message is not JSON-serialisable: {exc}") from None


_REALTIME_KEY: dict[Casing, str] = {"snake": "realtime_input", "camel": "realtimeInput"}
_MIME_KEY: dict[Casing, str] = {"snake": "mime_type", "camel": "mimeType"}


class AudioEncoder:
    """Build ``realtimeInput.audio`` messages from 16-bit PCM bytes with a prebuilt template.

    The JSON around the base64 text never changes for a given rate and casing, so each message
    is ``prefix + base64 + suffix``: several times cheaper than ``json.dumps`` of a dict.
    """

    __slots__ = ("_prefix", "_suffix", "casing", "mime_type", "sample_rate")

    def __init__(self, *, sample_rate: int = 16_000, casing: Casing = "snake") -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ConfigurationError(f"sample_rate must be a positive int, got {sample_rate!r}")
        if casing not in _REALTIME_KEY:
            raise ConfigurationError(f"casing must be 'snake' or 'camel', got {casing!r}")
        self.sample_rate = sample_rate
        self.casing: Casing = casing
        self.mime_type = f"audio/pcm;rate={sample_rate}"
        self._prefix = (
            f'{{"{_REALTIME_KEY[casing]}":{{"audio":{{"{_MIME_KEY[casing]}":"{self.mime_type}",'
            '"data":"'
        ).encode("ascii")
        self._suffix = b'"}}}'

    def encode(self, pcm: bytes | bytearray | memoryview) -> bytes:
        """Return the UTF-8 JSON payload for one chunk of little-endian int16 mono PCM."""
        return b"".join((self._prefix, binascii.b2a_base64(pcm, newline=False), self._suffix))

    def decode(self, frame: bytes) -> bytes:
        """The PCM inside a payload made by [`encode()`][s2st.protocol.AudioEncoder.encode] (the inverse)."""
        return binascii.a2b_base64(frame[len(self._prefix) : len(frame) - len(self._suffix)])


def encode_audio(
    pcm: bytes | bytearray | memoryview, *, sample_rate: int = 16_000, casing: Casing = "snake"
) -> bytes:
    """One-off form of [`AudioEncoder.encode()`][s2st.protocol.AudioEncoder.encode]."""
    return AudioEncoder(sample_rate=sample_rate, casing=casing).encode(pcm)


def encode_audio_stream_end(*, casing: Casing = "snake") -> bytes:
    """``realtimeInput.audioStreamEnd``: the microphone paused; flush cached audio (§4.2)."""
    key = "audio_stream_end" if casing == "snake" else "audioStreamEnd"
    return _dumps({_REALTIME_KEY[casing]: {key: True}})


def encode_activity_start(*, casing: Casing = "snake") -> bytes:
    """``realtimeInput.activityStart`` (only with automatic activity detection disabled)."""
    key = "activity_start" if casing == "snake" else "activityStart"
    return _dumps({_REALTIME_KEY[casing]: {key: {}}})


def encode_activity_end(*, casing: Casing = "snake") -> bytes:
    """``realtimeInput.activityEnd`` (only with automatic activity detection disabled)."""
    key = "activity_end" if casing == "snake" else "activityEnd"
    return _dumps({_REALTIME_KEY[casing]: {key: {}}})
