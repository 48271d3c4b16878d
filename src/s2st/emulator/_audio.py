"""Audio helpers of the emulator: resampling, WAV reading, energy envelope, segmentation.

Self-contained on purpose (the emulator must not depend on ``s2st.audio``). All audio is
mono int16; the segmenter works on 16 kHz in 20 ms frames.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from s2st.errors import AudioFormatError

__all__ = [
    "FRAME_SAMPLES",
    "IN_RATE",
    "OUT_RATE",
    "Segmenter",
    "envelope_db",
    "read_wav",
    "resample",
]

IN_RATE = 16000
OUT_RATE = 24000
FRAME_MS = 20
FRAME_SAMPLES = IN_RATE * FRAME_MS // 1000

Int16Array = npt.NDArray[np.int16]


def resample(pcm: Int16Array, from_rate: int, to_rate: int) -> Int16Array:
    """Linear-interpolation resampler (good enough for an emulator; not for listening tests)."""
    if from_rate == to_rate or pcm.size == 0:
        return pcm
    n_out = round(pcm.size * to_rate / from_rate)
    if n_out == 0:
        return np.zeros(0, dtype=np.int16)
    x_out = np.arange(n_out, dtype=np.float64) * (from_rate / to_rate)
    y = np.interp(x_out, np.arange(pcm.size, dtype=np.float64), pcm.astype(np.float64))
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def read_wav(source: Path | bytes, *, expect_rate: int | None = None) -> tuple[Int16Array, int]:
    """Read a mono 16-bit PCM WAV; raise [`AudioFormatError`][s2st.errors.AudioFormatError] for anything else."""
    with wave.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise AudioFormatError("Scenario WAVs must be mono 16-bit PCM; re-encode with sox.")
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    if expect_rate is not None and rate != expect_rate:
        raise AudioFormatError(f"Expected a {expect_rate} Hz WAV, got {rate} Hz; resample it.")
    return data, rate


def envelope_db(pcm: Int16Array) -> npt.NDArray[np.float64]:
    """RMS level in dB per 20 ms frame of 16 kHz audio (trailing partial frame ignored)."""
    n = pcm.size // FRAME_SAMPLES
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    frames = pcm[: n * FRAME_SAMPLES].astype(np.float64).reshape(n, FRAME_SAMPLES)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return np.asarray(20.0 * np.log10(rms + 1.0), dtype=np.float64)


_EMPTY = np.zeros(0, dtype=np.int16)


@dataclass
class SegmentEvent:
    """``start``: a segment began (``audio`` holds its pre-roll); ``audio``: segment audio grew
    (pre-roll included); ``end``: it ended (``audio``: the whole segment)."""

    kind: str
    audio: Int16Array = field(default_factory=lambda: np.zeros(0, dtype=np.int16))


@dataclass
class Segmenter:
    """Energy voice-activity detector over 16 kHz int16 audio in 20 ms frames.

    A segment starts at the first frame louder than ``threshold_db`` (with ``preroll_ms`` of the
    audio before it) and ends after ``end_silence_ms`` of quiet frames; the trailing quiet frames
    are not part of it. Segments with less than ``min_speech_ms`` of loud frames are dropped.
    In manual mode (``activityStart``/``activityEnd``) the caller opens and closes segments.
    """

    threshold_db: float = 50.0
    end_silence_ms: int = 500
    preroll_ms: int = 100
    min_speech_ms: int = 60
    manual: bool = False
    _rest: Int16Array = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    _preroll: list[Int16Array] = field(default_factory=list)
    _frames: list[Int16Array] = field(default_factory=list)
    _quiet: list[Int16Array] = field(default_factory=list)
    _speech_frames: int = 0
    active: bool = False

    def feed(self, pcm: Int16Array) -> list[SegmentEvent]:
        """Add audio; return the segment events it caused, in order."""
        data = np.concatenate([self._rest, pcm]) if self._rest.size else pcm
        n = data.size // FRAME_SAMPLES
        self._rest = data[n * FRAME_SAMPLES :].copy()
        if n == 0:
            return []
        frames = data[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)
        levels = envelope_db(data[: n * FRAME_SAMPLES])
        events: list[SegmentEvent] = []
        grown: list[Int16Array] = []
        for frame, level in zip(frames, levels, strict=True):
            if self.manual:
                if self.active:
                    self._frames.append(frame)
                    grown.append(frame)
                continue
            loud = bool(level >= self.threshold_db)
            if not self.active:
                if loud:
                    self.active = True
                    self._speech_frames = 1
                    self._frames = [*self._preroll, frame]
                    self._preroll = []
                    lead = np.concatenate(self._frames[:-1]) if len(self._frames) > 1 else None
                    events.append(SegmentEvent("start", lead if lead is not None else _EMPTY))
                    grown = list(self._frames)
                else:
                    self._preroll.append(frame)
                    del self._preroll[: max(0, len(self._preroll) - self.preroll_ms // FRAME_MS)]
                continue
            if loud:
                self._speech_frames += 1
                grown.extend(self._quiet)
                grown.append(frame)
                self._frames.extend(self._quiet)
                self._frames.append(frame)
                self._quiet = []
            else:
                self._quiet.append(frame)
                if len(self._quiet) * FRAME_MS >= self.end_silence_ms:
                    if grown:
                        events.append(SegmentEvent("audio", np.concatenate(grown)))
                        grown = []
                    events.extend(self._close())
        if grown:
            events.append(SegmentEvent("audio", np.concatenate(grown)))
        return events

    def start(self) -> list[SegmentEvent]:
        """Open a segment now (manual activity mode)."""
        if self.active:
            return []
        self.active = True
        self._frames = []
        self._speech_frames = 10**9  # manual segments are never dropped as too short
        return [SegmentEvent("start")]

    def end(self) -> list[SegmentEvent]:
        """Close the current segment now (``activityEnd`` / ``audioStreamEnd``), keeping the
        partial frame that is still buffered."""
        if not self.active:
            self._rest = np.zeros(0, dtype=np.int16)
            return []
        events: list[SegmentEvent] = []
        if self._rest.size:
            events.append(SegmentEvent("audio", self._rest.copy()))
            self._frames.append(self._rest.copy())
            self._rest = np.zeros(0, dtype=np.int16)
        self._quiet = []
        return events + self._close()

    def _close(self) -> list[SegmentEvent]:
        audio = np.concatenate(self._frames) if self._frames else np.zeros(0, dtype=np.int16)
        long_enough = self._speech_frames * FRAME_MS >= self.min_speech_ms
        self.active = False
        self._frames, self._quiet, self._preroll = [], [], []
        self._speech_frames = 0
        return [SegmentEvent("end" if long_enough else "discard", audio)]
