"""Signal helpers shared by the audio tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt


def sine(
    freq_hz: float, rate: int, seconds: float = 1.0, amp: float = 0.5
) -> npt.NDArray[np.float64]:
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq_hz * t)


def pcm16(data: bytes) -> npt.NDArray[np.int16]:
    return np.frombuffer(data, dtype="<i2")


def peak_hz(samples: npt.ArrayLike, rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window)."""
    x = np.asarray(samples, dtype=np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * rate / x.size)


def tone_amplitude(samples: npt.ArrayLike, rate: int, freq_hz: float) -> float:
    """Amplitude of a tone at freq_hz estimated by correlation (ignores the edges)."""
    x = np.asarray(samples, dtype=np.float64)
    edge = x.size // 10
    x = x[edge:-edge]
    t = (np.arange(x.size) + edge) / rate
    c = np.dot(x, np.cos(2 * np.pi * freq_hz * t)) * 2 / x.size
    s = np.dot(x, np.sin(2 * np.pi * freq_hz * t)) * 2 / x.size
    return float(np.hypot(c, s))


def write_riff(
    path: Path,
    data: bytes,
    *,
    fmt_tag: int,
    channels: int,
    rate: int,
    bits: int,
    extensible: bool = False,
    data_size: int | None = None,
    extra_chunk: bool = False,
) -> Path:
    """Write a RIFF/WAVE file by hand (wave cannot write float, G.711 or extensible files)."""
    block_align = channels * ((bits + 7) // 8)
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack(
            "<HHIIHHHHI", 0xFFFE, channels, rate, rate * block_align, block_align, bits, 22, bits, 0
        )
        fmt += struct.pack("<H", fmt_tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block_align, block_align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size: padded
    size = len(data) if data_size is None else data_size
    body += b"data" + struct.pack("<I", size) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
