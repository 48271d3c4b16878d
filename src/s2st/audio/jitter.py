"""Smooth playout of translated speech: a jitter buffer between bursty network audio and a
device that pulls at a steady rate (used by [`Speaker`][s2st.audio.Speaker])."""

from __future__ import annotations

import collections
import logging
import threading

import numpy as np

from s2st.errors import ConfigurationError
from s2st.events import AudioChunk

from ._samples import Int16Array, as_int16
from .convert import OUTPUT_SAMPLE_RATE

__all__ = ["JitterBuffer"]

logger = logging.getLogger("s2st.audio.jitter")


class JitterBuffer:
    """Playout buffer between bursty network audio and a device that pulls at a steady rate.

    The server generates speech faster than real time and in bursts; a sound card pulls a fixed
    number of samples per callback. Playback starts only once ``target_delay_ms`` is buffered.
    When the buffer runs dry mid-playback (an underrun) the available samples are played with a
    fade-out, the rest is silence, and the buffer re-primes to the target delay; playback resumes
    with a fade-in, so gaps never click. Thread-safe: ``push`` from the event loop, ``pull`` from
    an audio callback.

    Args:
        sample_rate: samples per second of the audio pushed and pulled.
        target_delay_ms: audio buffered before playback (re)starts.
        fade_ms: length of the fade-out on underrun and fade-in on recovery.
        burst_ms: a push that leaves more than this buffered counts as a burst (default
            4 x target).
        max_delay_ms: ``None`` (default) never drops audio; otherwise the oldest audio beyond
            this is dropped and counted in ``overflows`` (for live monitoring where latency
            matters more than completeness).

    Counters: ``underruns``, ``bursts``, ``overflows``, ``dropped_samples``, ``pushed_samples``,
    ``played_samples``.
    """

    def __init__(
        self,
        *,
        sample_rate: int = OUTPUT_SAMPLE_RATE,
        target_delay_ms: float = 150.0,
        fade_ms: float = 5.0,
        burst_ms: float | None = None,
        max_delay_ms: float | None = None,
    ) -> None:
        if not sample_rate > 0 or not target_delay_ms >= 0 or not fade_ms >= 0:
            raise ConfigurationError(
                "sample_rate must be > 0 and target_delay_ms, fade_ms >= 0;"
                f" got {sample_rate}, {target_delay_ms}, {fade_ms}"
            )
        if max_delay_ms is not None and max_delay_ms < target_delay_ms:
            raise ConfigurationError("max_delay_ms must be None or >= target_delay_ms")
        self.sample_rate = sample_rate
        self._target = int(sample_rate * target_delay_ms / 1000)
        self._fade = int(sample_rate * fade_ms / 1000)
        burst = 4 * target_delay_ms if burst_ms is None else burst_ms
        self._burst = int(sample_rate * burst / 1000)
        self._max = None if max_delay_ms is None else int(sample_rate * max_delay_ms / 1000)
        self._chunks: collections.deque[Int16Array] = collections.deque()
        self._size = 0
        self._playing = False
        self._ended = False
        self._fade_in_pending = False
        self._in_burst = False
        self._lock = threading.Lock()
        self.underruns = 0
        self.bursts = 0
        self.overflows = 0
        self.dropped_samples = 0
        self.pushed_samples = 0
        self.played_samples = 0

    @property
    def buffered_ms(self) -> float:
        """Audio waiting to be played, in milliseconds."""
        return 1000.0 * self._size / self.sample_rate

    @property
    def playing(self) -> bool:
        """True once the target delay was reached and until the next underrun."""
        return self._playing

    def push(self, audio: AudioChunk | Int16Array | bytes) -> None:
        """Queue audio for playout (an AudioChunk at this rate, int16 array or pcm16 bytes)."""
        samples, _ = as_int16(audio, self.sample_rate, "JitterBuffer.push")
        if samples.size == 0:
            return
        with self._lock:
            self._ended = False
            self._chunks.append(samples.copy())
            self._size += samples.size
            self.pushed_samples += samples.size
            if self._size > self._burst:
                if not self._in_burst:
                    self.bursts += 1
                    self._in_burst = True
            else:
                self._in_burst = False
            if self._max is not None and self._size > self._max:
                self._drop(self._size - self._max)

    def _drop(self, n: int) -> None:
        self.overflows += 1
        self.dropped_samples += n
        logger.warning("jitter buffer overflow: dropped %d samples", n)
        self._take(n)

    def _take(self, n: int) -> Int16Array:
        parts: list[Int16Array] = []
        while n > 0 and self._chunks:
            head = self._chunks[0]
            if head.size <= n:
                parts.append(self._chunks.popleft())
                n -= head.size
            else:
                parts.append(head[:n])
                self._chunks[0] = head[n:]
                n = 0
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
        self._size -= out.size
        return out

    def end(self) -> None:
        """Mark the end of the stream: the tail below the target delay is played out."""
        with self._lock:
            self._ended = True

    def clear(self) -> int:
        """Drop everything buffered (e.g. on [`Interrupted`][s2st.events.Interrupted]); returns samples dropped."""
        with self._lock:
            n = self._size
            self._chunks.clear()
            self._size = 0
            self._playing = False
            return n

    def pull(self, n: int) -> Int16Array:
        """Return exactly ``n`` samples for the device: audio, or silence while (re)priming."""
        out = np.zeros(n, dtype=np.int16)
        with self._lock:
            if not self._playing:
                if self._size == 0 or (self._size < self._target and not self._ended):
                    return out
                self._playing = True
                self._fade_in_pending = True
            got = self._take(n)
            self.played_samples += got.size
            if self._size <= self._burst:
                self._in_burst = False
            if got.size < n:
                self._playing = False
                if not self._ended:
                    self.underruns += 1
                    logger.debug("jitter buffer underrun: %d of %d samples", got.size, n)
                    got = self._fade_out(got)
            if self._fade_in_pending:
                got = self._fade_in(got)
                self._fade_in_pending = False
            out[: got.size] = got
        return out

    def _fade_in(self, x: Int16Array) -> Int16Array:
        k = min(self._fade, x.size)
        if k == 0:
            return x
        y = x.astype(np.float32)
        y[:k] *= np.linspace(0.0, 1.0, k, endpoint=False, dtype=np.float32)
        return np.rint(y).astype(np.int16)

    def _fade_out(self, x: Int16Array) -> Int16Array:
        k = min(self._fade, x.size)
        if k == 0:
            return x
        y = x.astype(np.float32)
        y[-k:] *= np.linspace(1.0, 0.0, k + 1, dtype=np.float32)[1:]
        return np.rint(y).astype(np.int16)
