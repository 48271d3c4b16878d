"""The streaming cascade: VAD -> ASR -> MT -> TTS, one worker thread per stage, bounded queues.

`Cascade` is fed 16 kHz int16 audio from any thread (the emulator's event loop) and never
blocks it: `Cascade.feed` only enqueues. The stages run in daemon threads joined by
bounded `queue.Queue` objects, so a slow stage makes the ones before it wait (blocking
``put``) instead of growing memory. The one unbounded-looking edge is the input: when the VAD
thread falls ``max_input_backlog_s`` behind (it runs at about 250x real time, so only a stalled
machine gets there), the oldest input is dropped and counted in ``dropped_input_s``.

Output is collected with `Cascade.poll` as `Reply` items in
the emulator's vocabulary: ``input_text`` deltas (the source transcript), then per translated
sentence ``output_text`` deltas interleaved with ``audio`` parts (24 kHz int16, ``part_ms`` each).

Partial transcripts: while a segment is open and no ASR call is running in the process (any
session), the open audio is recognised every ``partial_interval_ms``; words that two
consecutive hypotheses agree on are sent at once (the LocalAgreement policy), the rest at the
segment's end. Each pass costs one ASR run over the audio so far (about 0.1-0.2x its length with
tiny.en on one core), so it adds roughly 50-150 % ASR CPU for 3-6 s utterances, and a pass still
running when the segment ends delays its final transcript (benchmarks/bench_local.py measured
+0.5 s p50 end-of-speech to first audio). ``partial_interval_ms=None`` turns it off.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from s2st.emulator.engines import Reply

from ._segments import (
    ASR_LOAD,
    SegmentTiming,
    _Job,
    _SegState,
    interleave,
    split_sentences,
    word_deltas,
)
from .asr import WhisperASR
from .mt import Translator
from .tts import OUT_RATE, Synthesizer
from .vad import SAMPLE_RATE, VadSegmenter

__all__ = ["Cascade", "SegmentTiming", "split_sentences"]

logger = logging.getLogger("s2st.local.pipeline")

Int16Array = npt.NDArray[np.int16]

_REPLY_HAS_LANGUAGE = "language" in {f.name for f in dataclasses.fields(Reply)}
_STOP = object()
_POLL_S = 0.2


TranslatorFor = Callable[[str], "Translator | None"]


class Cascade:
    """A running VAD/ASR/MT/TTS cascade for one session.

    Args:
        segmenter: the VAD segmenter (owned by the VAD thread from now on).
        asr: the recogniser (may be shared by sessions).
        translator_for: gives the translator for a detected source language (``None`` when no
            translation is needed: the source already is the target); raise
            `ConfigurationError` when no route exists.
        tts: the target voice.
        source_language: passed to the recogniser (``None``: detect).
        whisper_translate: use Whisper's ``translate`` task for the output text (X -> English).
        part_ms: length of each audio reply.
        queue_size: capacity of each inter-stage queue (segments or sentences).
        max_input_backlog_s: input waiting for the VAD beyond this is dropped (oldest first).
        partial_interval_ms: partial-transcript interval (see the module docstring).
        first_chunk_words: speak the first words of a translation on their own (see
            `split_sentences`): earlier audio from a slow voice, at the cost of a seam.
        idle_stop_s: with no input for this long and nothing in flight, the workers stop
            (`stopped`); a session that went quiet holds no threads (``None``: never).
    """

    def __init__(
        self,
        *,
        segmenter: VadSegmenter,
        asr: WhisperASR,
        translator_for: TranslatorFor,
        tts: Synthesizer,
        source_language: str | None,
        whisper_translate: bool = False,
        part_ms: int = 100,
        queue_size: int = 4,
        max_input_backlog_s: float = 30.0,
        partial_interval_ms: int | None = 1000,
        idle_stop_s: float | None = 60.0,
        first_chunk_words: int | None = None,
    ) -> None:
        self.segmenter = segmenter
        self.first_chunk_words = first_chunk_words
        self.idle_stop_s = idle_stop_s
        self.asr = asr
        self.translator_for = translator_for
        self.tts = tts
        self.source_language = source_language
        self.whisper_translate = whisper_translate
        self.part_ms = part_ms
        self.partial_interval_ms = partial_interval_ms
        self._max_backlog = max(1, round(max_input_backlog_s * 10))  # 100 ms chunks
        self._in: queue.Queue[Any] = queue.Queue()
        self._backlog = 0  # audio chunks queued for the VAD
        self._pending_in = 0  # all input items queued or being segmented
        self._backlog_lock = threading.Lock()
        self._asr_q: queue.Queue[Any] = queue.Queue(queue_size)
        self._mt_q: queue.Queue[Any] = queue.Queue(queue_size)
        self._tts_q: queue.Queue[Any] = queue.Queue(queue_size)
        self._out: queue.Queue[Reply] = queue.Queue(maxsize=max(64, 4000 // part_ms * 10))
        self._stop = threading.Event()
        self._busy = 0  # segments between the VAD endpoint and their last audio
        self._busy_lock = threading.Lock()
        self._asr_idle = threading.Event()
        self._asr_idle.set()
        self.timings: list[SegmentTiming] = []
        self.errors: list[BaseException] = []
        self.dropped_input_s = 0.0
        self._segments = 0
        self._threads = self._start_workers()

    def _start_workers(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._guard(f), name=f"s2st-local-{n}", daemon=True)
            for n, f in (
                ("vad", self._vad_loop),
                ("asr", self._asr_loop),
                ("mt", self._serve(self._mt_q, self._translate)),
                ("tts", self._serve(self._tts_q, self._speak)),
            )
        ]
        for t in threads:
            t.start()
        return threads

    # -- the caller's side ---------------------------------------------------------------
    def feed(self, pcm16k: Int16Array) -> None:
        """Queue 16 kHz int16 audio; never blocks."""
        with self._backlog_lock:
            if self._backlog >= self._max_backlog:
                try:
                    old = self._in.get_nowait()
                    if isinstance(old, np.ndarray):
                        self.dropped_input_s += old.size / SAMPLE_RATE
                        self._backlog -= 1
                        self._pending_in -= 1
                        logger.warning("local engine: input backlog full, dropped audio")
                    else:
                        self._in.put_nowait(old)  # keep control markers
                except queue.Empty:
                    pass
            self._backlog += 1
            self._pending_in += 1
        self._in.put_nowait(pcm16k.copy())

    def _control(self, marker: str) -> None:
        with self._backlog_lock:
            self._pending_in += 1
        self._in.put_nowait(marker)

    def end_segment(self) -> None:
        """Close the open segment now (``audioStreamEnd`` / ``activityEnd``)."""
        self._control("end")

    def start_segment(self) -> None:
        """Open a segment now (``activityStart`` with manual activity detection)."""
        self._control("start")

    def poll(self) -> list[Reply]:
        """The replies produced since the last call (never blocks)."""
        out: list[Reply] = []
        while True:
            try:
                out.append(self._out.get_nowait())
            except queue.Empty:
                return out

    @property
    def idle(self) -> bool:
        """No segment open, no input or segment in flight, no output waiting."""
        with self._busy_lock:
            busy = self._busy
        with self._backlog_lock:
            pending = self._pending_in
        return busy == 0 and pending == 0 and not self.segmenter.active and self._out.empty()

    @property
    def stopped(self) -> bool:
        """The workers stopped (`close`, ``idle_stop_s``, or a failed stage)."""
        return self._stop.is_set()

    def close(self, *, timeout_s: float = 5.0) -> None:
        """Stop the workers (queued work is abandoned) and wait for them. Idempotent."""
        self._stop.set()
        self._in.put_nowait(_STOP)
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # -- workers -------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # a stage died: record it, stop the others
                if not self._stop.is_set():
                    logger.exception("local engine stage failed")
                    self.errors.append(exc)
                    self._stop.set()

        return run

    def _put(self, q: queue.Queue[Any], item: Any) -> bool:
        """Blocking put that gives up when the cascade stops (backpressure without deadlock)."""
        while not self._stop.is_set():
            try:
                q.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue[Any]) -> Any:
        while not self._stop.is_set():
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        return _STOP

    def _next_input(self) -> Any:
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            try:
                return self._in.get(timeout=_POLL_S)
            except queue.Empty:
                quiet = time.monotonic() - quiet_since
                if self.idle_stop_s is not None and quiet >= self.idle_stop_s and self.idle:
                    logger.debug("local engine: no input for %.0f s, workers stop", quiet)
                    self._stop.set()
        return _STOP

    def _vad_loop(self) -> None:
        seg = self.segmenter
        last_partial = 0.0
        while True:
            item = self._next_input()
            if item is _STOP:
                return
            if isinstance(item, np.ndarray):
                with self._backlog_lock:
                    self._backlog -= 1
                events = seg.feed(item)
            elif item == "end":
                events = seg.end()
            else:
                events = seg.start()
            for ev in events:
                if ev.kind == "start":
                    last_partial = seg.time_s
                elif ev.kind == "end" and ev.audio.size:
                    self._segment_done(ev.audio)
            with self._backlog_lock:
                self._pending_in -= 1
            if (
                self.partial_interval_ms is not None
                and seg.active
                and seg.time_s - last_partial >= self.partial_interval_ms / 1000
                and self._asr_idle.is_set()
                and self._asr_q.empty()
                and ASR_LOAD.active == 0
            ):
                last_partial = seg.time_s
                self._asr_q.put_nowait(_Job(self._segments, seg.open_audio(), final=False))

    def _segment_done(self, audio: Int16Array) -> None:
        timing = SegmentTiming(self._segments, audio.size / SAMPLE_RATE, time.monotonic())
        self.timings.append(timing)
        with self._busy_lock:
            self._busy += 1
        self._put(self._asr_q, _Job(self._segments, audio, final=True, timing=timing))
        self._segments += 1

    def _asr_loop(self) -> None:
        states: dict[int, _SegState] = {}
        while True:
            job = self._get(self._asr_q)
            if job is _STOP:
                return
            self._asr_idle.clear()
            try:
                with ASR_LOAD:
                    self._recognise(job, states.setdefault(job.index, _SegState()))
            except Exception as exc:
                self._failed("asr", job.timing, exc)
            finally:
                self._asr_idle.set()
            if job.final:
                states.pop(job.index, None)

    def _recognise(self, job: _Job, st: _SegState) -> None:
        t0 = time.monotonic()
        tr = self.asr.transcribe(job.audio, language=self.source_language)
        hyp = tr.text.split()
        if not job.final:
            agreed = 0
            while agreed < min(len(hyp), len(st.last_hyp)) and hyp[agreed] == st.last_hyp[agreed]:
                agreed += 1
            st.last_hyp = hyp
            new = hyp[len(st.committed) : agreed]
            if new:
                self._emit_input(new, space=bool(st.committed) or job.index > 0, lang=tr.language)
                st.committed += new
            return
        new = hyp[len(st.committed) :]
        if new:
            self._emit_input(new, space=bool(st.committed) or job.index > 0, lang=tr.language)
        timing = job.timing
        assert timing is not None
        timing.source_text, timing.language = tr.text, tr.language
        english: str | None = None
        if self.whisper_translate and tr.text and tr.language != "en":
            english = self.asr.transcribe(job.audio, language=tr.language, task="translate").text
        timing.asr_s = time.monotonic() - t0
        if not tr.text:
            self._finish(timing)
            return
        self._put(self._mt_q, (timing, tr.text, tr.language, english))

    def _emit_input(self, words: list[str], *, space: bool, lang: str) -> None:
        """Source-transcript deltas; ``space``: they continue earlier text (of this segment or
        an earlier one), so the first starts with a space as the service's deltas do. They
        carry the recognised language where the emulator's `Reply` has the field."""
        deltas = word_deltas(" ".join(words))
        if space:
            deltas[0] = " " + deltas[0]
        extra: dict[str, Any] = {"language": lang} if _REPLY_HAS_LANGUAGE and lang else {}
        for d in deltas:
            self._put(self._out, Reply("input_text", text=d, **extra))

    def _serve(self, q: queue.Queue[Any], handle: Callable[[Any], None]) -> Callable[[], None]:
        """A worker loop: ``handle`` each item of ``q`` until the cascade stops."""

        def loop() -> None:
            while (item := self._get(q)) is not _STOP:
                handle(item)

        return loop

    def _translate(self, item: tuple[SegmentTiming, str, str, str | None]) -> None:
        timing, text, language, english = item
        t0 = time.monotonic()
        try:
            if english is not None:
                out = english
            else:
                translator = self.translator_for(language)
                out = text if translator is None else translator.translate(text)
        except Exception as exc:
            self._failed("mt", timing, exc)
            return
        timing.mt_s = time.monotonic() - t0
        timing.text = out
        sentences = split_sentences(out, first_max_words=self.first_chunk_words)
        if not sentences:
            self._finish(timing)
            return
        for i, sentence in enumerate(sentences):
            self._put(self._tts_q, (timing, sentence, i == len(sentences) - 1, i == 0))

    def _speak(self, item: tuple[SegmentTiming, str, bool, bool]) -> None:
        timing, sentence, last, first = item
        t0 = time.monotonic()
        try:
            pcm = self.tts.synthesize(sentence)
        except Exception as exc:
            pcm = np.zeros(0, dtype=np.int16)  # the text still goes out
            self._failed("tts", None, exc)
        timing.tts_s += time.monotonic() - t0
        words = word_deltas(sentence)
        if words and (not first or timing.index > 0):
            words[0] = " " + words[0]
        for r in interleave(words, pcm, self.part_ms):
            if r.kind == "audio" and timing.first_audio is None:
                timing.first_audio = time.monotonic()
            self._put(self._out, r)
        timing.out_audio_s += pcm.size / OUT_RATE
        if last:
            self._finish(timing)

    def _failed(self, stage: str, timing: SegmentTiming | None, exc: Exception) -> None:
        """One segment failed in ``stage``: log it, keep it in ``errors``, go on with the next."""
        logger.warning("local engine: %s failed: %s", stage, exc)
        self.errors.append(exc)
        if timing is not None:
            self._finish(timing)

    def _finish(self, timing: SegmentTiming) -> None:
        with self._busy_lock:
            self._busy -= 1
        logger.debug(
            "segment %d: %.2f s speech, asr %.2f s, mt %.2f s, tts %.2f s",
            timing.index,
            timing.speech_s,
            timing.asr_s,
            timing.mt_s,
            timing.tts_s,
        )
