"""The sample types the audio output side takes (private): an AudioChunk, a 1-D int16 array
or pcm16 bytes, turned into one int16 array with the rate checked."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from s2st.errors import AudioFormatError
from s2st.events import AudioChunk

__all__ = ["Int16Array", "as_int16"]

Int16Array = npt.NDArray[np.int16]


def as_int16(item: object, sample_rate: int | None, what: str) -> tuple[Int16Array, int | None]:
    """Samples of an AudioChunk / int16 array / pcm16 bytes, checking the rate of chunks."""
    if isinstance(item, AudioChunk):
        if sample_rate is not None and item.sample_rate != sample_rate:
            raise AudioFormatError(
                f"{what}: got an AudioChunk at {item.sample_rate} Hz but expected {sample_rate} Hz;"
                " resample it or use a separate writer per rate"
            )
        return np.asarray(item.data, dtype=np.int16), item.sample_rate
    if isinstance(item, (bytes, bytearray, memoryview)):
        if len(item) % 2:
            raise AudioFormatError(f"{what}: pcm16 bytes must have an even length, got {len(item)}")
        return np.frombuffer(bytes(item), dtype="<i2").astype(np.int16), sample_rate
    if isinstance(item, np.ndarray):
        if item.dtype != np.int16 or item.ndim != 1:
            raise AudioFormatError(
                f"{what}: expected a 1-D int16 array, got dtype {item.dtype} shape {item.shape};"
                " convert with s2st.audio.to_pcm16 first"
            )
        return item, sample_rate
    raise AudioFormatError(f"{what}: expected AudioChunk, int16 array or bytes, got {type(item)}")
