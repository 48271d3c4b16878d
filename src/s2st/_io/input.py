"""Turning what the user passes to ``send_audio`` into the PCM the service takes (private)."""

from __future__ import annotations

from typing import Any

import numpy as np

from s2st.errors import AudioFormatError

__all__ = ["InputAudio"]


class InputAudio:
    """Validates and converts user audio; keeps one streaming converter per input format, so
    resampling state carries across calls."""

    def __init__(self, target_rate: int) -> None:
        self.target_rate = target_rate
        self._converters: dict[tuple[int, int, str], Any] = {}

    def to_pcm(self, audio: Any, sample_rate: int | None, channels: int) -> bytes:
        """Return ``audio`` as mono int16 LE bytes at the target rate (see
        [`S2STSession.send_audio()`][s2st.session.S2STSession.send_audio] for what is accepted).

        Raises:
            AudioFormatError: anything that cannot be interpreted as audio.
        """
        if sample_rate is not None and (
            isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0
        ):
            raise AudioFormatError(f"sample_rate must be a positive int (Hz), got {sample_rate!r}")
        if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 64:
            raise AudioFormatError(f"channels must be an int from 1 to 64, got {channels!r}")
        rate = self.target_rate if sample_rate is None else sample_rate
        if isinstance(audio, (bytes, bytearray, memoryview)):
            data = bytes(audio)
            if not data:
                raise AudioFormatError("empty audio buffer; send at least one sample")
            if len(data) % (2 * channels):
                raise AudioFormatError(
                    f"{len(data)} bytes is not a whole number of 16-bit frames with {channels} "
                    "channel(s); send little-endian int16 PCM"
                )
            if rate == self.target_rate and channels == 1:
                return data
            audio = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
        if not isinstance(audio, np.ndarray):
            raise AudioFormatError(
                f"audio must be bytes or a numpy array, not {type(audio).__name__}"
            )
        if audio.size == 0:
            raise AudioFormatError("empty audio array; send at least one sample")
        if audio.ndim not in (1, 2):
            raise AudioFormatError(
                f"audio arrays must be 1-D (frames,) or 2-D (frames, channels), got shape "
                f"{audio.shape}"
            )
        if audio.dtype == np.int16 and rate == self.target_rate and audio.ndim == 1:
            return audio.astype("<i2", copy=False).tobytes()
        from s2st.audio import AudioConverter

        n_channels = 1 if audio.ndim == 1 else int(audio.shape[1])
        key = (rate, n_channels, audio.dtype.str)
        converter = self._converters.get(key)
        if converter is None:
            converter = AudioConverter(
                sample_rate=rate, channels=n_channels, target_rate=self.target_rate
            )
            self._converters[key] = converter
        return bytes(converter.convert(audio))

    def flush(self) -> bytes:
        """The resampler tails of every converter (the input ends), in creation order; the
        next audio starts fresh converters."""
        tails = b"".join(bytes(c.flush()) for c in self._converters.values())
        self._converters.clear()
        return tails

    @property
    def converting(self) -> bool:
        """True when some input went through a converter (not already 16-bit mono at the
        target rate)."""
        return bool(self._converters)
