"""Conversion of any PCM-like input to what the Live API wants: 16 kHz mono int16 little-endian.

Pipeline per chunk: decode (dtype or encoding) -> float32 in [-1, 1] -> downmix (mean of the
channels) -> streaming resample -> int16 (scale 32768, round, clip). int16 mono input at the target
rate is passed through bit-exact.

Arrays are "frames x channels" like soundfile: shape ``(n,)`` or ``(n, channels)``.
The G.711 codecs (`s2st.audio.g711`) and the declared-rate check (`s2st.audio.ratecheck`) are
re-exported here.
"""

from __future__ import annotations

import logging
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from s2st._validate import check_optional_int
from s2st.errors import AudioFormatError

from .g711 import ALAW_TO_PCM, MULAW_TO_PCM, alaw_decode, alaw_encode, mulaw_decode, mulaw_encode
from .ratecheck import check_sample_rate
from .resample import Backend, Resampler

__all__ = [
    "MAX_CHANNELS",
    "OUTPUT_SAMPLE_RATE",
    "TARGET_SAMPLE_RATE",
    "AudioConverter",
    "Encoding",
    "alaw_decode",
    "alaw_encode",
    "check_sample_rate",
    "mulaw_decode",
    "mulaw_encode",
    "to_pcm16",
]

logger = logging.getLogger("s2st.audio.convert")

#: The rate the Live API expects for input audio (PROTOCOL.md §7).
TARGET_SAMPLE_RATE = 16_000
#: The rate of translated speech sent by the server (PROTOCOL.md §7).
OUTPUT_SAMPLE_RATE = 24_000
#: Largest channel count accepted; a wider 2-D array is almost surely (channels, frames).
MAX_CHANNELS = 32

Encoding = Literal[
    "pcm16", "pcm24", "pcm32", "pcm8", "float", "float32", "float64", "mulaw", "alaw"
]
_ENCODINGS: tuple[str, ...] = get_args(Encoding)
_BYTES_PER_SAMPLE = {
    "pcm16": 2,
    "pcm24": 3,
    "pcm32": 4,
    "pcm8": 1,
    "float": 4,
    "float32": 4,
    "float64": 8,
    "mulaw": 1,
    "alaw": 1,
}
_DTYPE_ENCODING = {
    "int16": "pcm16",
    "int32": "pcm32",
    "uint8": "pcm8",
    "float32": "float32",
    "float64": "float64",
}

Float32Array = npt.NDArray[np.float32]
Int16Array = npt.NDArray[np.int16]


# --- decoding to float ---------------------------------------------------------------------------


def _decode_bytes(data: bytes, encoding: str) -> Float32Array:
    if encoding == "pcm16":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if encoding == "pcm24":
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float32) / float(1 << 23)
    if encoding == "pcm32":
        return (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    if encoding == "pcm8":
        return (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if encoding in ("float", "float32"):
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    if encoding == "float64":
        return np.frombuffer(data, dtype="<f8").astype(np.float32)
    if encoding == "mulaw":
        return mulaw_decode(data).astype(np.float32) / 32768.0
    return alaw_decode(data).astype(np.float32) / 32768.0


def _check_encoding(encoding: str | None) -> None:
    if encoding is not None and encoding not in _ENCODINGS:
        raise AudioFormatError(
            f"unknown encoding {encoding!r}; use one of {', '.join(_ENCODINGS)}"
            " (for bytes input the default is 'pcm16')"
        )


def _array_encoding(array: np.ndarray, encoding: str | None) -> str:
    """Pick the decoding for an array from its dtype (and the G.711 hint for uint8)."""
    name = array.dtype.name
    if encoding in ("mulaw", "alaw"):
        if name != "uint8":
            raise AudioFormatError(
                f"encoding={encoding!r} needs a uint8 array of G.711 bytes, got dtype {name}"
            )
        return encoding
    if name not in _DTYPE_ENCODING:
        raise AudioFormatError(
            f"unsupported dtype {array.dtype}; use int16, int32, uint8, float32 or float64"
            " (convert with array.astype(np.float32) and scale to [-1, 1] first)"
        )
    return _DTYPE_ENCODING[name]


def _array_to_float(array: np.ndarray, encoding: str) -> Float32Array:
    if encoding in ("mulaw", "alaw"):
        table = MULAW_TO_PCM if encoding == "mulaw" else ALAW_TO_PCM
        decoded: Int16Array = table[array]
        return decoded.astype(np.float32) / 32768.0
    if encoding == "pcm16":
        return array.astype(np.float32) / 32768.0
    if encoding == "pcm32":
        return (array.astype(np.float64) / 2.0**31).astype(np.float32)
    if encoding == "pcm8":
        return (array.astype(np.float32) - 128.0) / 128.0
    # Values beyond float32 become inf here and are rejected by _check_finite, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        return array.astype(np.float32, copy=False)


def _check_finite(x: Float32Array) -> None:
    # A sum is non-finite whenever an element is (and, rarely, on overflow): one cheap pass.
    with np.errstate(over="ignore", invalid="ignore"):  # inf + -inf is the point of the check
        total = x.sum(dtype=np.float64)
    if not np.isfinite(total) and not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise AudioFormatError(
            f"the audio contains {bad} NaN or infinite samples; clean it first, e.g."
            " np.nan_to_num(audio, nan=0.0, posinf=1.0, neginf=-1.0)"
        )


def _float_to_int16(x: Float32Array) -> Int16Array:
    with np.errstate(over="ignore"):  # huge finite floats clip to full scale below
        scaled = np.rint(x * 32768.0)
    if scaled.size and (scaled.max() > 32767 or scaled.min() < -32768):
        over = np.count_nonzero((scaled > 32767) | (scaled < -32768))
        logger.warning("clipped %d samples outside [-1, 1]", over)
    out: Int16Array = np.clip(scaled, -32768, 32767).astype("<i2")
    return out


# --- the streaming converter ---------------------------------------------------------------------


class AudioConverter:
    """Stateful converter from any supported input to mono int16 LE bytes at ``target_rate``.

    Args:
        sample_rate: rate of the input in Hz (required: a wrong rate garbles the speech).
        channels: interleaved channels in bytes input, or the expected second dimension of 2-D
            arrays. ``None`` (default) means arrays declare it by their shape and bytes are mono;
            the first chunk then fixes it for the stream.
        encoding: how bytes are encoded (default ``"pcm16"``); for arrays the dtype decides,
            except ``"mulaw"``/``"alaw"`` which mark a uint8 array as G.711.
        target_rate: output rate in Hz (default 16000).
        backend: resampler backend, see `s2st.audio.resample.Resampler`.

    `convert()` accepts chunks of any length (bytes may even split a sample: the remainder is
    carried to the next chunk) and returns what is ready; the output is continuous across chunk
    boundaries. `flush()` returns the tail and ends the stream. Empty chunks return ``b""``.

    Raises:
        AudioFormatError: NaN/inf, wrong shapes or channel counts, non-contiguous arrays,
            unsupported dtypes, unknown encodings, or a stream that ends mid-sample.
        ConfigurationError: a sample rate outside 1000..768000 Hz or a bad backend.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int | None = None,
        encoding: Encoding | None = None,
        target_rate: int = TARGET_SAMPLE_RATE,
        backend: Backend = "auto",
    ) -> None:
        _check_encoding(encoding)
        check_optional_int("channels", channels, low=1, high=MAX_CHANNELS, error=AudioFormatError)
        self.sample_rate = sample_rate
        self.target_rate = target_rate
        self.channels = channels
        self.encoding = encoding
        self._resampler = Resampler(sample_rate, target_rate, backend=backend)
        self.backend = self._resampler.backend
        self._pending = b""
        self.samples_in = 0
        self.samples_out = 0

    def _fix_channels(self, channels: int) -> int:
        if self.channels is None:
            self.channels = channels
        elif channels != self.channels:
            raise AudioFormatError(
                f"chunk has {channels} channel(s) but the stream was declared with"
                f" {self.channels}; keep the channel count constant within one stream"
            )
        return channels

    def _decode_array(self, array: np.ndarray) -> Float32Array:
        if array.ndim == 0 or array.ndim > 2:
            raise AudioFormatError(
                f"audio arrays must be 1-D (mono) or 2-D (frames, channels); got shape {array.shape}"
            )
        if array.ndim == 2:
            if array.shape[1] == 0 or array.shape[1] > MAX_CHANNELS:
                raise AudioFormatError(
                    f"2-D audio must be (frames, channels) with 1..{MAX_CHANNELS} channels; got"
                    f" shape {array.shape}. If it is (channels, frames), pass array.T"
                )
            channels = self._fix_channels(array.shape[1])
        else:
            channels = self._fix_channels(1) if self.channels in (None, 1) else 0
            if channels == 0:
                raise AudioFormatError(
                    f"got a 1-D array but the stream has {self.channels} channels; pass a"
                    " (frames, channels) array"
                )
        if not array.flags.c_contiguous:
            raise AudioFormatError(
                "the audio array is not C-contiguous (a strided view such as stereo[:, 0]);"
                " pass np.ascontiguousarray(audio)"
            )
        encoding = _array_encoding(array, self.encoding)
        return _array_to_float(array, encoding).reshape(-1, channels)

    def _decode_bytes(self, data: bytes) -> Float32Array:
        encoding = self.encoding or "pcm16"
        channels = self._fix_channels(self.channels or 1)
        frame = _BYTES_PER_SAMPLE[encoding] * channels
        data = self._pending + data
        usable = len(data) - len(data) % frame
        self._pending = data[usable:]
        return _decode_bytes(data[:usable], encoding).reshape(-1, channels)

    def convert(self, chunk: np.ndarray | bytes | bytearray | memoryview) -> bytes:
        """Convert one chunk; returns the int16 LE bytes ready so far (possibly ``b""``)."""
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            frames = self._decode_bytes(bytes(chunk))
        elif isinstance(chunk, np.ndarray):
            if chunk.size == 0:
                return b""
            frames = self._decode_array(chunk)
        else:
            raise AudioFormatError(
                f"audio chunks must be numpy arrays or bytes, got {type(chunk).__name__}"
            )
        if frames.size == 0:
            return b""
        _check_finite(frames)
        channels = frames.shape[1]
        # A mat-vec product is much faster than mean(axis=1) on (n, 2) arrays.
        mono = (
            frames[:, 0] if channels == 1 else frames @ np.full(channels, 1 / channels, np.float32)
        )
        self.samples_in += mono.size
        out = _float_to_int16(self._resampler.process(mono))
        self.samples_out += out.size
        return out.tobytes()

    def flush(self) -> bytes:
        """End the stream and return the remaining output.

        Raises:
            AudioFormatError: the bytes received do not end on a whole sample frame.
        """
        if self._pending:
            n = len(self._pending)
            self._pending = b""
            raise AudioFormatError(
                f"the byte stream ended with {n} stray byte(s) that do not make a whole sample"
                f" frame ({self.encoding or 'pcm16'}, {self.channels or 1} channel(s));"
                " the input is truncated or mislabelled"
            )
        out = _float_to_int16(self._resampler.flush())
        self.samples_out += out.size
        return out.tobytes()


def to_pcm16(
    audio: np.ndarray | bytes,
    *,
    sample_rate: int,
    channels: int | None = None,
    encoding: Encoding | None = None,
    target_rate: int = TARGET_SAMPLE_RATE,
    backend: Backend = "auto",
) -> bytes:
    """Convert a whole clip to mono int16 little-endian bytes at ``target_rate``.

    Arrays are ``(frames,)`` or ``(frames, channels)`` (soundfile's order); a 2-D array with more
    than 32 columns is rejected with a hint to transpose. Bytes are decoded with ``encoding``
    (default ``"pcm16"``) and ``channels`` (default 1). Same output as [`AudioConverter`][s2st.audio.AudioConverter]
    fed the clip in one chunk.

    Raises:
        AudioFormatError: empty input and every case listed on [`AudioConverter`][s2st.audio.AudioConverter].
    """
    if not isinstance(audio, (np.ndarray, bytes, bytearray, memoryview)):
        raise AudioFormatError(f"audio must be a numpy array or bytes, got {type(audio).__name__}")
    if (audio.size if isinstance(audio, np.ndarray) else len(audio)) == 0:
        raise AudioFormatError("the audio is empty; pass at least one sample")
    if (
        isinstance(audio, np.ndarray)
        and audio.dtype == np.int16
        and audio.ndim == 1
        and sample_rate == target_rate
        and encoding is None
        and channels in (None, 1)
    ):
        if not audio.flags.c_contiguous:
            raise AudioFormatError("the audio array is not C-contiguous; pass np.ascontiguousarray")
        return audio.astype("<i2", copy=False).tobytes()
    converter = AudioConverter(
        sample_rate=sample_rate,
        channels=channels,
        encoding=encoding,
        target_rate=target_rate,
        backend=backend,
    )
    return converter.convert(audio) + converter.flush()
