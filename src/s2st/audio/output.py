"""Handling translated speech: collect it, write it to WAV, or smooth it for playout.

Recorded outputs ([`collect_audio()`][s2st.audio.collect_audio], [`WavWriter`][s2st.audio.WavWriter]) do not carry the PCM silence the
live-translate model streams after its last word (EVIDENCE.md row 7): a
[`SilenceTrimmer`][s2st.audio.SilenceTrimmer] holds silent chunks back, writes them when voiced audio follows and
keeps at most [`DEFAULT_TAIL_MS`][s2st.audio.output.DEFAULT_TAIL_MS] of them at the end. Playback ([`JitterBuffer`][s2st.audio.JitterBuffer])
plays everything it is given (it lives in `s2st.audio.jitter`; re-exported here).
"""

from __future__ import annotations

import os
import wave
from collections.abc import AsyncIterable, Awaitable, Iterable
from types import TracebackType
from typing import Any, overload

import numpy as np

from s2st._validate import check_int, check_optional_number
from s2st.events import AudioChunk, chunk_voiced

from ._samples import Int16Array, as_int16
from .convert import OUTPUT_SAMPLE_RATE
from .jitter import JitterBuffer

__all__ = [
    "DEFAULT_TAIL_MS",
    "MAX_HELD_SILENCE_MS",
    "JitterBuffer",
    "SilenceTrimmer",
    "WavWriter",
    "collect_audio",
]


#: Silence kept after the last voiced chunk in recorded outputs ([`SilenceTrimmer`][s2st.audio.SilenceTrimmer],
#: [`WavWriter`][s2st.audio.WavWriter], [`collect_audio()`][s2st.audio.collect_audio], ``TranslationResult.audio``): a natural end to
#: the last word, not the PCM silence the live-translate model streams forever after it
#: (EVIDENCE.md row 7).
DEFAULT_TAIL_MS = 300.0

#: How much held-back silence is kept as the real samples. Beyond it, held silence is kept as
#: a number of samples and written as digital zeros (its samples are at most
#: `SILENCE_PEAK` anyway), so memory stays bounded while the server streams
#: silence for minutes.
MAX_HELD_SILENCE_MS = 10_000.0

_ZEROS = np.zeros(1 << 16, dtype=np.int16)
_ZEROS.flags.writeable = False


def _zero_blocks(n: int) -> list[Int16Array]:
    """``n`` zero samples as read-only views of one shared block (no allocation per block)."""
    full, rest = divmod(n, _ZEROS.size)
    blocks = [_ZEROS] * full
    if rest:
        blocks.append(_ZEROS[:rest])
    return blocks


class SilenceTrimmer:
    """Keep server silence out of recorded audio, chunk by chunk (sans-I/O; no clock).

    The live-translate model never goes quiet: after the last translated word it streams PCM
    silence in real time, forever (EVIDENCE.md row 7). A chunk is *silent* when no sample's
    magnitude exceeds `SILENCE_PEAK` ([`AudioChunk.voiced`][s2st.events.AudioChunk.voiced]). A writer cannot know whether a silent chunk is a pause
    or the endless filler, so the trimmer holds silent chunks back:

    - when a voiced chunk follows, `push()` returns all the held silence, in order and
      sample-exact in length, then the voiced chunk: silence *between* voiced chunks is the
      timing of the translation and is kept, and so is silence *before* the first voiced
      chunk (the translation's lag);
    - at the end, `flush()` returns at most ``tail_ms`` of the held silence (a natural end
      to the last word) and drops the rest;
    - a stream with no voiced chunk at all gives nothing (zero samples, not even the tail):
      a *silence-only result* is empty, and not an error.

    Memory stays bounded: the first `MAX_HELD_SILENCE_MS` (or ``tail_ms`` if longer) of
    held silence is kept as the real samples; beyond that only a count is kept, and that part
    is returned as digital zeros (read-only views of one shared block).

    Args:
        sample_rate: samples per second of the audio pushed (sizes the tail and the cap).
        tail_ms: silence kept after the last voiced chunk, in milliseconds (default
            [`DEFAULT_TAIL_MS`][s2st.audio.output.DEFAULT_TAIL_MS], 300 ms; ``0``: none). ``None`` disables trimming:
            everything pushed is returned at once.

    Raises:
        ConfigurationError: ``sample_rate`` not a positive int, or ``tail_ms`` negative.
    """

    def __init__(
        self, *, sample_rate: int = OUTPUT_SAMPLE_RATE, tail_ms: float | None = DEFAULT_TAIL_MS
    ) -> None:
        _check_rate(sample_rate)
        _check_tail(tail_ms)
        self.sample_rate = sample_rate
        self.tail_ms = tail_ms
        self._tail = 0 if tail_ms is None else round(tail_ms * sample_rate / 1000)
        self._cap = max(self._tail, round(MAX_HELD_SILENCE_MS * sample_rate / 1000))
        self._real: list[Int16Array] = []
        self._real_n = 0
        self._zeros_n = 0
        self._voiced_seen = False

    @property
    def held_samples(self) -> int:
        """Silent samples held back, not yet returned (the real ones plus the counted ones)."""
        return self._real_n + self._zeros_n

    @property
    def held_nbytes(self) -> int:
        """Bytes of sample data the trimmer holds (at most the cap, whatever the silence)."""
        return sum(a.nbytes for a in self._real)

    def push(self, samples: Int16Array, *, voiced: bool | None = None) -> list[Int16Array]:
        """Take one chunk of int16 samples; return what may be recorded now, in order.

        Args:
            samples: a 1-D int16 array (kept by reference when returned, copied when held).
            voiced: whether the chunk is voiced; ``None``: computed with
                [`chunk_voiced()`][s2st.events.chunk_voiced].
        """
        if self.tail_ms is None:
            return [samples] if samples.size else []
        if voiced is None:
            voiced = chunk_voiced(samples)
        if not voiced:
            self._hold(samples)
            return []
        self._voiced_seen = True
        out = self._release(self.held_samples)
        out.append(samples)
        return out

    def flush(self) -> list[Int16Array]:
        """End of the stream: return at most ``tail_ms`` of the held silence (nothing when no
        voiced chunk came), drop the rest and start over (a later push is a new stream)."""
        out = self._release(self._tail) if self._voiced_seen else []
        self._real, self._real_n, self._zeros_n = [], 0, 0
        self._voiced_seen = False
        return out

    def _hold(self, samples: Int16Array) -> None:
        room = self._cap - self._real_n if self._zeros_n == 0 else 0
        if room > 0 and samples.size:
            kept = samples[:room].copy()  # a copy: the caller may reuse its buffer
            self._real.append(kept)
            self._real_n += kept.size
        self._zeros_n += max(0, samples.size - max(room, 0))

    def _release(self, n: int) -> list[Int16Array]:
        """The first ``n`` held samples (real ones first, then zeros); clears the hold."""
        out: list[Int16Array] = []
        left = n
        for part in self._real:
            if left <= 0:
                break
            out.append(part[:left])
            left -= min(left, part.size)
        if left > 0:
            out += _zero_blocks(min(left, self._zeros_n))
        self._real, self._real_n, self._zeros_n = [], 0, 0
        return out


def _check_rate(sample_rate: int) -> None:
    check_int("sample_rate", sample_rate, positive=True)


def _check_tail(tail_ms: float | None) -> None:
    check_optional_number("tail_ms", tail_ms, low=0, high=1e9, unit="milliseconds")


class _Collect:
    """collect_audio's state: the rate check, the trimmer (made at the first audio item), parts."""

    def __init__(self, sample_rate: int | None, tail_ms: float | None) -> None:
        self.sample_rate = sample_rate
        self.tail_ms = tail_ms
        self.trimmer: SilenceTrimmer | None = None
        self.parts: list[Int16Array] = []

    def add(self, item: object) -> None:
        if not isinstance(item, (AudioChunk, np.ndarray, bytes, bytearray, memoryview)):
            return  # other session events (transcriptions, turn markers) are not audio
        samples, self.sample_rate = as_int16(item, self.sample_rate, "collect_audio")
        if self.trimmer is None:
            rate = self.sample_rate or OUTPUT_SAMPLE_RATE
            self.trimmer = SilenceTrimmer(sample_rate=rate, tail_ms=self.tail_ms)
        self.parts += self.trimmer.push(samples)

    def result(self) -> Int16Array:
        if self.trimmer is not None:
            self.parts += self.trimmer.flush()
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int16)


async def _collect_async(chunks: AsyncIterable[Any], col: _Collect) -> Int16Array:
    async for item in chunks:  # one at a time: held silence stays bounded
        col.add(item)
    return col.result()


@overload
def collect_audio(
    chunks: Iterable[Any], *, sample_rate: int | None = None, tail_ms: float | None = ...
) -> Int16Array: ...
@overload
def collect_audio(
    chunks: AsyncIterable[Any], *, sample_rate: int | None = None, tail_ms: float | None = ...
) -> Awaitable[Int16Array]: ...
def collect_audio(
    chunks: Iterable[Any] | AsyncIterable[Any],
    *,
    sample_rate: int | None = None,
    tail_ms: float | None = DEFAULT_TAIL_MS,
) -> Int16Array | Awaitable[Int16Array]:
    """Concatenate the audio of ``chunks`` into one int16 array, without trailing server silence.

    ``chunks`` may hold [`AudioChunk`][s2st.events.AudioChunk], 1-D int16 arrays or pcm16 bytes; other
    objects (e.g. transcription events from a session) are skipped. For an async iterable the
    result is awaitable: ``samples = await collect_audio(events)``. All chunks must share one
    rate (``sample_rate``, or the first chunk's).

    Silence is trimmed as [`SilenceTrimmer`][s2st.audio.SilenceTrimmer] does: silent items (no sample above
    `SILENCE_PEAK`) before the first voiced item and between voiced items
    are kept, in order and sample-exact in length; after the last voiced item at most
    ``tail_ms`` of them is kept. Without any voiced item the result is empty (zero samples).

    Args:
        chunks: the items, a sync or async iterable.
        sample_rate: the rate every AudioChunk must have (default: the first chunk's). It also
            sizes the tail; arrays and bytes without it are taken as 24 kHz for that.
        tail_ms: silence kept after the last voiced item (default [`DEFAULT_TAIL_MS`][s2st.audio.output.DEFAULT_TAIL_MS],
            300 ms); ``None`` keeps all the audio, silence included.

    Raises:
        AudioFormatError: chunks at different rates or of the wrong dtype.
        ConfigurationError: a negative ``tail_ms``.
    """
    _check_tail(tail_ms)
    col = _Collect(sample_rate, tail_ms)
    if isinstance(chunks, AsyncIterable):
        return _collect_async(chunks, col)
    for item in chunks:
        col.add(item)
    return col.result()


class WavWriter:
    """Write mono int16 audio to a WAV file incrementally, without trailing server silence.

    The header is rewritten after every `write()`, so the file is valid even if the process
    stops mid-stream; `close()` (or leaving the ``with`` block) finishes it.

    Silent chunks (no sample above `SILENCE_PEAK`) are held back by a
    [`SilenceTrimmer`][s2st.audio.SilenceTrimmer] and written only when voiced audio follows (then all of them, in
    order, sample-exact in length); `close()` writes at most ``tail_ms`` of the silence
    that followed the last voiced chunk. So the minutes of PCM silence the live-translate
    model streams after its last word (EVIDENCE.md row 7) never reach the file, while pauses
    and the lag before the first word do. A stream with no voiced chunk gives a valid WAV
    file with zero frames. Held silence is bounded in memory (`MAX_HELD_SILENCE_MS`).

    Args:
        path: destination, created or truncated.
        sample_rate: rate of the file (default 24000, the rate of translated speech).
        tail_ms: silence kept after the last voiced chunk (default [`DEFAULT_TAIL_MS`][s2st.audio.output.DEFAULT_TAIL_MS],
            300 ms); ``None`` writes everything as it comes.

    Raises:
        ConfigurationError: a bad ``sample_rate`` or ``tail_ms``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int = OUTPUT_SAMPLE_RATE,
        tail_ms: float | None = DEFAULT_TAIL_MS,
    ) -> None:
        self._trimmer = SilenceTrimmer(sample_rate=sample_rate, tail_ms=tail_ms)
        self.path = os.fspath(path)
        self.sample_rate = sample_rate
        self.frames_written = 0
        self._fh = open(self.path, "wb")  # closed by close()
        self._wav: Any = wave.open(self._fh, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)

    @property
    def duration_s(self) -> float:
        """Seconds of audio written to the file so far (held silence not included)."""
        return self.frames_written / self.sample_rate

    @property
    def held_frames(self) -> int:
        """Silent frames held back: written if voiced audio follows, else at most the tail."""
        return self._trimmer.held_samples

    def write(self, audio: AudioChunk | Int16Array | bytes) -> None:
        """Append an AudioChunk (its rate must match), a 1-D int16 array or pcm16 bytes.

        A silent item is held back (see the class docstring), so it may reach the file later
        or, if it is part of the trailing silence, not at all.

        Raises:
            AudioFormatError: another rate, dtype or shape.
            ValueError: the writer is closed.
        """
        if self._wav is None:
            raise ValueError("the WavWriter is closed")
        samples, _ = as_int16(audio, self.sample_rate, "WavWriter.write")
        self._write_parts(self._trimmer.push(samples))

    def _write_parts(self, parts: list[Int16Array]) -> None:
        if not parts:
            return
        for part in parts[:-1]:
            self._wav.writeframesraw(part.astype("<i2", copy=False).tobytes())
        self._wav.writeframes(parts[-1].astype("<i2", copy=False).tobytes())  # patches the header
        self._fh.flush()  # so a reader (or a crash) sees a complete file after every write
        self.frames_written += sum(p.size for p in parts)

    def close(self) -> None:
        """Write the tail (at most ``tail_ms`` of held silence), finish the header and close
        the file. Idempotent."""
        if self._wav is not None:
            try:
                self._write_parts(self._trimmer.flush())
            finally:
                try:
                    self._wav.close()
                finally:
                    self._wav = None
                    self._fh.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
