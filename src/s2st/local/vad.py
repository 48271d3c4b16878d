"""Streaming voice-activity detection with the Silero VAD v6 ONNX model shipped in faster-whisper.

`SileroVAD` keeps the model's recurrent state and the 64-sample context between calls, so
audio can be fed in pieces of any size; it returns one speech probability per 32 ms chunk
(512 samples at 16 kHz). `VadSegmenter` turns those probabilities into speech segments with
hysteresis (``threshold`` to open, ``neg_threshold`` to count as silence), a pre-roll, a short
silence endpoint (``end_silence_ms``), a minimum speech length and a maximum segment length (a
long monologue is cut so that translation does not wait for a pause that never comes).
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from s2st.errors import AudioFormatError, ConfigurationError

from .models import SILERO_VAD, locate

__all__ = ["CHUNK_SAMPLES", "SAMPLE_RATE", "SileroVAD", "VadEvent", "VadSegmenter"]

logger = logging.getLogger("s2st.local.vad")

SAMPLE_RATE = 16000
CHUNK_SAMPLES = 512  # the v6 model's window at 16 kHz (32 ms)
_CONTEXT = 64

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]


_SESSIONS: dict[tuple[str, int], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _import_onnxruntime() -> Any:
    try:
        onnxruntime = importlib.import_module("onnxruntime")
    except ImportError as exc:
        raise ConfigurationError(
            "The local engine's VAD needs onnxruntime: pip install 's2st[local]'"
        ) from exc
    return onnxruntime


class SileroVAD:
    """Silero VAD v6 over 16 kHz mono audio, streaming.

    Args:
        model_path: an ONNX file; by default the one inside the pinned faster-whisper, verified
            by SHA-256.
        threads: ONNX Runtime intra-op threads (1 is plenty: a chunk takes about 0.1 ms).
    """

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1) -> None:
        ort = _import_onnxruntime()
        path = (
            Path(model_path)
            if model_path is not None
            else locate(SILERO_VAD) / "silero_vad_v6.onnx"
        )
        if not path.is_file():
            raise ConfigurationError(f"no VAD model at {path}")
        key = (str(path), threads)
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                opts = ort.SessionOptions()
                opts.inter_op_num_threads = 1
                opts.intra_op_num_threads = threads
                opts.log_severity_level = 4
                session = _SESSIONS[key] = ort.InferenceSession(
                    str(path), providers=["CPUExecutionProvider"], sess_options=opts
                )
        # One ONNX session serves every detector (run() is thread-safe); the recurrent state
        # is this object's.
        self._session = session
        self.model_path = path
        self.reset()

    def reset(self) -> None:
        """Forget the audio heard so far (recurrent state, context and partial chunk)."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)

    def probabilities(self, pcm16k: Int16Array | Float32Array) -> Float32Array:
        """Speech probability of each complete 32 ms chunk that ``pcm16k`` completes.

        int16 input is scaled by 1/32768; float32 is taken as it is (-1..1). A trailing partial
        chunk is kept for the next call.
        """
        if pcm16k.ndim != 1:
            raise AudioFormatError("VAD input must be mono (a 1-D array).")
        if pcm16k.dtype == np.int16:
            x: Float32Array = pcm16k.astype(np.float32) / np.float32(32768.0)
        elif pcm16k.dtype == np.float32:
            x = pcm16k.astype(np.float32, copy=False)
        else:
            raise AudioFormatError(f"VAD input must be int16 or float32, not {pcm16k.dtype}.")
        data = np.concatenate([self._rest, x]) if self._rest.size else x
        n = data.size // CHUNK_SAMPLES
        self._rest = data[n * CHUNK_SAMPLES :].copy()
        out = np.empty(n, dtype=np.float32)
        for i in range(n):
            chunk = data[i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES]
            inp = np.concatenate([self._context, chunk])[None, :]
            prob, self._h, self._c = self._session.run(
                None, {"input": inp, "h": self._h, "c": self._c}
            )
            self._context = chunk[-_CONTEXT:].copy()
            out[i] = float(np.asarray(prob).reshape(-1)[0])
        return out


@dataclass(frozen=True)
class VadEvent:
    """``start``: speech began at ``t_s`` (seconds of input); ``end``: the segment closed at
    ``t_s`` and ``audio`` holds it (16 kHz int16, pre-roll included, trailing silence trimmed);
    ``discard``: an opened segment was too short to be speech."""

    kind: Literal["start", "end", "discard"]
    t_s: float
    audio: Int16Array = field(default_factory=lambda: np.zeros(0, dtype=np.int16))


class VadSegmenter:
    """Cut 16 kHz int16 audio into speech segments with a `SileroVAD`.

    Args:
        vad: the detector (its state is reset on construction).
        threshold: probability that opens a segment (and counts a chunk as speech).
        neg_threshold: below it a chunk counts as silence; between the two the state holds.
        end_silence_ms: silence that closes a segment (the short-silence endpoint).
        preroll_ms: audio kept before the first speech chunk.
        min_speech_ms: segments with less speech are discarded.
        max_segment_s: a segment is cut at this length even without a pause.
        manual: the caller opens and closes segments (``activityStart``/``activityEnd``); the VAD
            is not consulted.
    """

    def __init__(
        self,
        vad: SileroVAD | None,
        *,
        threshold: float = 0.5,
        neg_threshold: float = 0.35,
        end_silence_ms: int = 400,
        preroll_ms: int = 192,
        min_speech_ms: int = 160,
        max_segment_s: float = 12.0,
        manual: bool = False,
    ) -> None:
        if not 0.0 < neg_threshold <= threshold < 1.0:
            raise ConfigurationError("need 0 < neg_threshold <= threshold < 1")
        if vad is None and not manual:
            raise ConfigurationError("automatic segmentation needs a SileroVAD")
        self.vad = vad
        if vad is not None:
            vad.reset()
        self.threshold = threshold
        self.neg_threshold = neg_threshold
        self.manual = manual
        self._end_chunks = max(1, round(end_silence_ms * SAMPLE_RATE / 1000 / CHUNK_SAMPLES))
        self._pre_chunks = max(0, round(preroll_ms * SAMPLE_RATE / 1000 / CHUNK_SAMPLES))
        self._min_speech = max(1, round(min_speech_ms * SAMPLE_RATE / 1000 / CHUNK_SAMPLES))
        self._max_chunks = max(2, round(max_segment_s * SAMPLE_RATE / CHUNK_SAMPLES))
        self._rest = np.zeros(0, dtype=np.int16)
        self._preroll: list[Int16Array] = []
        self._chunks: list[Int16Array] = []
        self._silent_run = 0
        self._speech_chunks = 0
        self._t_chunks = 0  # chunks consumed since the start
        self.active = False

    @property
    def time_s(self) -> float:
        """Seconds of input consumed (whole chunks)."""
        return self._t_chunks * CHUNK_SAMPLES / SAMPLE_RATE

    def open_audio(self) -> Int16Array:
        """The audio of the open segment so far (empty when none is open)."""
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)

    def feed(self, pcm16k: Int16Array) -> list[VadEvent]:
        """Add audio; return the segment events it caused, in order."""
        if pcm16k.dtype != np.int16 or pcm16k.ndim != 1:
            raise AudioFormatError("segmenter input must be mono int16 at 16 kHz")
        data = np.concatenate([self._rest, pcm16k]) if self._rest.size else pcm16k
        n = data.size // CHUNK_SAMPLES
        self._rest = data[n * CHUNK_SAMPLES :].copy()
        if n == 0:
            return []
        whole = data[: n * CHUNK_SAMPLES]
        if self.manual:
            probs = np.zeros(n, dtype=np.float32)
        else:
            assert self.vad is not None
            probs = self.vad.probabilities(whole)
        events: list[VadEvent] = []
        for i in range(n):
            chunk = whole[i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES]
            self._t_chunks += 1
            ev = self._step(chunk, float(probs[i]))
            if ev is not None:
                events.append(ev)
        return events

    def _step(self, chunk: Int16Array, prob: float) -> VadEvent | None:
        if self.manual:
            if self.active:
                self._chunks.append(chunk)
            return None
        if not self.active:
            if prob >= self.threshold:
                self.active = True
                self._chunks = [*self._preroll, chunk]
                self._preroll = []
                self._speech_chunks, self._silent_run = 1, 0
                return VadEvent(
                    "start", self.time_s - len(self._chunks) * CHUNK_SAMPLES / SAMPLE_RATE
                )
            self._preroll.append(chunk)
            if len(self._preroll) > self._pre_chunks:
                self._preroll.pop(0)
            return None
        self._chunks.append(chunk)
        if prob >= self.threshold:
            self._speech_chunks += 1
            self._silent_run = 0
        elif prob < self.neg_threshold:
            self._silent_run += 1
        if self._silent_run >= self._end_chunks or len(self._chunks) >= self._max_chunks:
            return self._close(trim=self._silent_run)
        return None

    def _close(self, *, trim: int) -> VadEvent:
        chunks = self._chunks[: len(self._chunks) - trim] if trim else self._chunks
        speech = self._speech_chunks
        tail = self._chunks[len(self._chunks) - trim :] if trim else []
        self._chunks, self._silent_run, self._speech_chunks = [], 0, 0
        self.active = False
        self._preroll = tail[-self._pre_chunks :] if self._pre_chunks else []
        if speech < self._min_speech and not self.manual:
            return VadEvent("discard", self.time_s)
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return VadEvent("end", self.time_s, audio)

    def start(self) -> list[VadEvent]:
        """Open a segment now (manual mode; in automatic mode it is ignored)."""
        if not self.manual or self.active:
            return []
        self.active = True
        self._chunks = []
        self._rest = np.zeros(0, dtype=np.int16)  # audio before the marker is not the segment's
        return [VadEvent("start", self.time_s)]

    def end(self) -> list[VadEvent]:
        """Close the open segment now (``audioStreamEnd`` or ``activityEnd``), keeping the
        partial chunk."""
        if not self.active:
            self._rest = np.zeros(0, dtype=np.int16)
            return []
        if self._rest.size:
            self._chunks.append(self._rest)
            self._rest = np.zeros(0, dtype=np.int16)
        if self.manual:
            self._speech_chunks = max(self._speech_chunks, len(self._chunks))
        return [self._close(trim=self._silent_run)]
