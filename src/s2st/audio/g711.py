"""G.711 telephony codecs (ITU-T G.711, the Sun g711.c bit layout): mu-law and A-law bytes to
and from int16 samples, table-driven with numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALAW_TO_PCM",
    "MULAW_TO_PCM",
    "alaw_decode",
    "alaw_encode",
    "mulaw_decode",
    "mulaw_encode",
]

Int16Array = npt.NDArray[np.int16]


def _mulaw_table() -> Int16Array:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + 0x84) << exponent
    return np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_table() -> Int16Array:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = (a & 0x0F) << 4
    magnitude = np.where(exponent == 0, mantissa + 8, (mantissa + 0x108) << (exponent - 1))
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


#: The 256-entry decode tables: code byte -> int16 sample.
MULAW_TO_PCM = _mulaw_table()
ALAW_TO_PCM = _alaw_table()


def mulaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Int16Array:
    """Decode G.711 mu-law bytes to int16 samples (0xFF -> 0, 0x80 -> 32124)."""
    return MULAW_TO_PCM[np.frombuffer(bytes(data), dtype=np.uint8)]


def alaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Int16Array:
    """Decode G.711 A-law bytes to int16 samples (0xD5 -> 8, 0xAA -> 32256)."""
    return ALAW_TO_PCM[np.frombuffer(bytes(data), dtype=np.uint8)]


def mulaw_encode(samples: npt.ArrayLike) -> bytes:
    """Encode int16 samples to G.711 mu-law bytes (0 -> 0xFF)."""
    x = np.asarray(samples, dtype=np.int32)
    sign = np.where(x < 0, 0x80, 0x00)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    mantissa = (mag >> (exponent + 3)) & 0x0F
    coded: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return coded.tobytes()


def alaw_encode(samples: npt.ArrayLike) -> bytes:
    """Encode int16 samples to G.711 A-law bytes (0 -> 0xD5)."""
    x = np.asarray(samples, dtype=np.int32)
    sign = np.where(x >= 0, 0x80, 0x00)
    mag = np.where(x >= 0, x, -x - 1) >> 3  # 13-bit magnitude
    mag = np.minimum(mag, 0x0FFF)
    exponent = np.where(mag < 32, 0, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4)
    mantissa = np.where(exponent == 0, mag >> 1, mag >> exponent) & 0x0F
    coded: npt.NDArray[np.uint8] = ((sign | (exponent << 4) | mantissa) ^ 0x55).astype(np.uint8)
    return coded.tobytes()
