"""Finding speech in the audio a session sends (sans-I/O, private).

`SpeechOnsets` keeps what the latency metrics need of the input: how much speech was sent,
when the last speech went out, and the send time of each speech onset (speech after a pause),
to pair with the output segment that translates it. Audio is analysed in batches of 0.5 s
(numpy's cost is per call, not per sample); every reader analyses what is pending first.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque

import numpy as np

__all__ = ["SpeechOnsets"]

_FRAME_S = 0.02  # speech is judged per 20 ms frame
_BATCH_S = 0.5  # sent audio is analysed for speech in batches of this length
_LONG_QUIET = 1 << 40  # frames of non-speech "before the first message"
_NO_SAMPLES = np.zeros(0, dtype=np.int16)


class SpeechOnsets:
    """Speech in the sent audio: frames at or above ``threshold_dbfs`` (RMS); an onset is
    speech after at least ``min_pause_s`` of non-speech."""

    def __init__(self, *, threshold_dbfs: float, min_pause_s: float) -> None:
        # RMS threshold as a mean square of int16 samples.
        self._threshold_ms = (32768.0 * 10 ** (threshold_dbfs / 20)) ** 2
        self._min_pause_s = min_pause_s
        self._rest = _NO_SAMPLES  # samples not yet forming a whole frame
        self._rest_t = 0.0  # send time of the first of them
        self._quiet_frames = _LONG_QUIET  # non-speech frames since the last speech frame
        self._pending: list[tuple[float, bytes | bytearray | memoryview]] = []  # not analysed
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
        self._pending.append((t, pcm))
        self._pending_bytes += len(pcm)
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
        pending, rate = self._pending, self._pending_rate
        if not pending:
            return
        self._pending, self._pending_bytes = [], 0
        frame = max(1, round(rate * _FRAME_S))
        rest = self._rest
        parts = [np.frombuffer(pcm, dtype="<i2") for _, pcm in pending]
        times = [t for t, _ in pending]
        if rest.size:
            parts.insert(0, rest)
            times.insert(0, self._rest_t)
        data = np.concatenate(parts) if len(parts) > 1 else parts[0]
        whole = data.size - data.size % frame
        ends = list(itertools.accumulate(part.size for part in parts))  # each message's end
        if whole < data.size:  # the rest waits for the next message
            self._rest = data[whole:].copy()
            self._rest_t = times[bisect.bisect_right(ends, whole)]
        else:
            self._rest = _NO_SAMPLES
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
            self._onsets.append(times[bisect.bisect_right(ends, index * frame)])
        self._count += len(onsets)
        last = int(loud[-1])
        self._last_speech_t = times[bisect.bisect_right(ends, last * frame + frame - 1)]
        self._quiet_frames = count - 1 - last
