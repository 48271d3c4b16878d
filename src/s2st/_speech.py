"""Finding speech in the audio a session sends (sans-I/O, private).

`SpeechOnsets` keeps what the latency metrics need of the input: how much speech was sent,
when the last speech went out, and the send time of each speech onset (speech after a pause),
to pair with the output segment that translates it. Audio is analysed in batches of 1 s
(numpy's cost is per call, not per sample); every reader analyses what is pending first.
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["SpeechOnsets"]

_FRAME_S = 0.02  # speech is judged per 20 ms frame
_BATCH_S = 1.0  # sent audio is analysed for speech in batches of this length
_LONG_QUIET = 1 << 40  # frames of non-speech "before the first message"


class SpeechOnsets:
    """Speech in the sent audio: frames at or above ``threshold_dbfs`` (RMS); an onset is
    speech after at least ``min_pause_s`` of non-speech."""

    def __init__(self, *, threshold_dbfs: float, min_pause_s: float) -> None:
        # RMS threshold as a mean square of int16 samples.
        self._threshold_ms = (32768.0 * 10 ** (threshold_dbfs / 20)) ** 2
        self._min_pause_s = min_pause_s
        self._rest = b""  # samples not yet forming a whole frame
        self._rest_t = 0.0  # send time of the first of them
        self._quiet_frames = _LONG_QUIET  # non-speech frames since the last speech frame
        # Sent but not analysed yet: send times, the PCM and its byte counts, side by side
        # (no tuple per message for the garbage collector to track).
        self._times: list[float] = []
        self._pcm: list[bytes | bytearray | memoryview] = []
        self._sizes: list[int] = []
        self._pending_bytes = 0
        self._pending_rate = 0
        self._onsets: deque[float] = deque()  # unpaired onset send times
        self._speech_s = 0.0
        self._last_speech_t: float | None = None
        self._count = 0  # onsets found so far (paired or not)

    def add(self, pcm: bytes | bytearray | memoryview, sample_rate: int, t: float) -> None:
        """Mono int16 LE ``pcm`` at ``sample_rate`` was sent at ``t`` (kept, not copied)."""
        if sample_rate != self._pending_rate:
            self._analyse()
            self._pending_rate = sample_rate
        nbytes = pcm.nbytes if type(pcm) is memoryview else len(pcm)
        self._times.append(t)
        self._pcm.append(pcm)
        self._sizes.append(nbytes)
        self._pending_bytes += nbytes
        if self._pending_bytes >= sample_rate * 2 * _BATCH_S:
            self._analyse()

    @property
    def speech_s(self) -> float:
        """Seconds of speech sent so far."""
        self._analyse()
        return self._speech_s

    @property
    def last_speech_t(self) -> float | None:
        """Send time of the last message that carried speech (``None`` before any)."""
        self._analyse()
        return self._last_speech_t

    @property
    def total(self) -> int:
        """Onsets found so far (paired or not)."""
        self._analyse()
        return self._count

    def pop_onset(self, before: float) -> float | None:
        """The oldest unpaired onset sent at or before ``before`` (removed), else ``None``."""
        self._analyse()
        onsets = self._onsets
        if not onsets or onsets[0] > before:
            return None
        return onsets.popleft()

    def _analyse(self) -> None:
        """Find speech in the audio sent since the last analysis: 20 ms frames at or above
        the onset threshold; an onset is speech after at least ``min_pause_s`` of non-speech,
        stamped with the send time of the message that carried the frame's first sample."""
        times, pcms, sizes, rate = self._times, self._pcm, self._sizes, self._pending_rate
        if not times:
            return
        try:
            self._find_speech(rate, times, pcms, sizes)
        finally:  # the same lists are used again (young lists per batch cost the GC)
            times.clear()
            pcms.clear()
            sizes.clear()
            self._pending_bytes = 0

    def _find_speech(
        self,
        rate: int,
        times: list[float],
        pcms: list[bytes | bytearray | memoryview],
        sizes: list[int],
    ) -> None:
        frame = max(1, round(rate * _FRAME_S))
        rest = self._rest
        # One copy of the batch (a C-level join), then one array over it.
        data = np.frombuffer(b"".join([rest, *pcms]), dtype="<i2")
        whole = data.size - data.size % frame
        when = _Times(len(rest) // 2, self._rest_t, times, sizes)
        if whole < data.size:  # the rest waits for the next message
            self._rest = data[whole:].tobytes()
            self._rest_t = when(whole)
        else:
            self._rest = b""
        if whole == 0:
            return
        count = whole // frame
        frames = data[:whole].reshape(count, frame).astype(np.float32)
        energy = np.einsum("ij,ij->i", frames, frames)  # sum of squares per frame
        loud = np.flatnonzero(energy >= self._threshold_ms * frame)
        if not loud.size:
            self._quiet_frames += count
            return
        frame_s = frame / rate
        self._speech_s += loud.size * frame_s
        # Non-speech frames before each speech frame (the first counts what came before).
        if loud.size == count:  # all speech (the common case while someone talks)
            onsets = [0] if self._quiet_frames * frame_s >= self._min_pause_s else []
        else:
            gaps = np.diff(loud, prepend=-1) - 1
            gaps[0] += self._quiet_frames
            onsets = loud[gaps * frame_s >= self._min_pause_s].tolist()
        for index in onsets:
            self._onsets.append(when(index * frame))
        self._count += len(onsets)
        last = int(loud[-1])
        self._last_speech_t = when(last * frame + frame - 1)
        self._quiet_frames = count - 1 - last


class _Times:
    """The send time of the message that carried sample ``i`` of a batch: the held rest of
    the previous batch (``head`` samples, sent at ``head_t``), then the pending messages."""

    __slots__ = ("_head", "_head_t", "_sizes", "_times")

    def __init__(self, head: int, head_t: float, times: list[float], sizes: list[int]) -> None:
        self._head, self._head_t, self._times, self._sizes = head, head_t, times, sizes

    def __call__(self, i: int) -> float:
        i -= self._head
        if i < 0:
            return self._head_t
        for t, nbytes in zip(self._times, self._sizes, strict=True):
            i -= nbytes // 2
            if i < 0:
                return t
        return self._times[-1]
