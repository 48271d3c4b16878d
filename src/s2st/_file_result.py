"""What translating a file produces (private; public through
[`s2st.translate`][s2st.translate]): [`TranslationResult`][s2st.translate.TranslationResult],
[`TranslationProgress`][s2st.translate.TranslationProgress] and the collector that builds
both from a session's events (segments, the recorded audio with held silence trimmed,
counters). No asyncio: the collector is fed one event at a time.
"""

from __future__ import annotations

import io
import logging
import os
import time
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_write
from .audio.output import DEFAULT_TAIL_MS, SilenceTrimmer
from .events import DEFAULT_OUTPUT_SAMPLE_RATE, AudioChunk, Event
from .metrics import SessionMetrics
from .segments import Segment, SegmentAggregator, join_texts
from .subtitles import DEFAULT_MIN_DURATION_S, SubtitleFormat, SubtitleText, write_subtitles

__all__ = ["ResultCollector", "TranslationProgress", "TranslationResult"]

logger = logging.getLogger("s2st.translate")


@dataclass(frozen=True)
class TranslationProgress:
    """Where a [`translate_file()`][s2st.translate.translate_file] call stands.

    Attributes:
        sent_s: seconds of source audio sent.
        total_s: length of the file in seconds, ``None`` when its header does not say.
        fraction: ``sent_s / total_s`` in 0..1 (0 while the total is unknown); exactly 1.0 in
            the last report, made once the translation has arrived.
        translated_audio_s: seconds of translated audio received, up to the end of the last
            voiced chunk (silence before and between voiced chunks included, the silence the
            server streams after the last word not: EVIDENCE.md row 7).
        segments: segments closed so far.
    """

    sent_s: float
    total_s: float | None
    fraction: float
    translated_audio_s: float
    segments: int


@dataclass(frozen=True, eq=False)
class TranslationResult:
    """The translation of one file.

    The live-translate model streams PCM silence after the last translated word, forever
    (EVIDENCE.md row 7). That silence is not translation: ``audio`` (and so [`write_wav()`][s2st.translate.TranslationResult.write_wav])
    keeps the silence before the first voiced chunk (the translation's lag) and between voiced
    chunks (its pauses), sample-exact, but of the silence after the last voiced chunk only
    ``tail_ms`` (default `s2st.audio.DEFAULT_TAIL_MS`, 300 ms), counted in
    ``trimmed_silence_s``. The segments end with the last voiced chunk. A *silence-only
    result* (audio came, none of it voiced: e.g. a proxy that dropped the translation config,
    EVIDENCE.md row 15) has an empty ``audio``; it is logged as a warning, not raised.

    Attributes:
        source_text: the source transcript (segment texts joined).
        translated_text: the translated text.
        audio: the translated speech, 1-D ``int16`` at ``sample_rate`` (24 kHz), without the
            trailing server silence (see above).
        sample_rate: rate of ``audio``.
        segments: the aligned segments, all stable.
        metrics: latency and volume figures of the session.
        events_count: events received.
        target_language: the target language as requested.
        used_emulator: ``True`` when the bundled emulator answered, not Google's service.
        path: the input file.
        trimmed_silence_s: seconds of trailing server silence received but left out of
            ``audio``.
        translated_audio_s: seconds of ``audio`` up to the end of the last voiced chunk (the
            lag and the pauses included, the tail not): where the last segment ends, and the
            ``translated_audio_s`` of the last progress report.
    """

    source_text: str
    translated_text: str
    audio: npt.NDArray[np.int16]
    sample_rate: int
    segments: list[Segment]
    metrics: SessionMetrics
    events_count: int
    target_language: str
    used_emulator: bool
    path: str | None = None
    trimmed_silence_s: float = 0.0
    translated_audio_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """Length of the translated audio in seconds."""
        return self.audio.size / self.sample_rate

    def write_wav(self, path: str | os.PathLike[str]) -> None:
        """Write ``audio`` as a mono 16-bit WAV file (atomically): the translated speech with
        at most the short tail of trailing silence (see the class docstring)."""
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(self.audio.astype("<i2", copy=False).tobytes())
        atomic_write(path, buf.getvalue())

    def write_subtitles(
        self,
        path: str | os.PathLike[str],
        *,
        format: SubtitleFormat | None = None,
        text: SubtitleText = "translated",
        min_duration_s: float = DEFAULT_MIN_DURATION_S,
    ) -> None:
        """Write the segments as subtitles; see [`s2st.subtitles.write_subtitles()`][s2st.subtitles.write_subtitles]."""
        write_subtitles(
            path, self.segments, format=format, text=text, min_duration_s=min_duration_s
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: texts, segments, metrics, counts (no audio samples)."""
        return {
            "path": self.path,
            "target_language": self.target_language,
            "used_emulator": self.used_emulator,
            "source_text": self.source_text,
            "translated_text": self.translated_text,
            "audio_s": self.duration_s,
            "translated_audio_s": self.translated_audio_s,
            "trimmed_silence_s": self.trimmed_silence_s,
            "sample_rate": self.sample_rate,
            "events_count": self.events_count,
            "segments": [
                {k: getattr(s, k) for k in Segment.__dataclass_fields__} for s in self.segments
            ],
            "metrics": self.metrics.as_dict(),
        }


class ResultCollector:
    """Everything a file translation accumulates from the session.

    Audio goes through a [`SilenceTrimmer`][s2st.audio.SilenceTrimmer], so held server silence stays
    bounded in memory however long the server streams it.
    """

    def __init__(self, *, tail_ms: float | None = DEFAULT_TAIL_MS) -> None:
        self.segments = SegmentAggregator()
        self.audio: list[npt.NDArray[np.int16]] = []
        self.sample_rate: int | None = None
        self.events = 0
        self.sent_s = 0.0
        self.tail_ms = tail_ms
        self._trimmer: SilenceTrimmer | None = None
        self.audio_chunks = 0
        self.voiced_chunks = 0
        self.received_samples = 0

    def on_event(self, event: Event) -> None:
        now = time.monotonic()
        self.events += 1
        self.segments.feed(event, t=now)
        if isinstance(event, AudioChunk) and event.data.size:
            self._on_audio(event)

    def _on_audio(self, event: AudioChunk) -> None:
        if self.sample_rate is None:
            self.sample_rate = event.sample_rate
            self._trimmer = SilenceTrimmer(sample_rate=event.sample_rate, tail_ms=self.tail_ms)
        assert self._trimmer is not None
        voiced = event.voiced  # decided on the samples as sent, before any resampling
        data = event.data
        if event.sample_rate != self.sample_rate:
            from .audio import to_pcm16

            logger.warning(
                "translated audio changed rate %d -> %d Hz; resampling",
                self.sample_rate,
                event.sample_rate,
            )
            pcm = to_pcm16(data, sample_rate=event.sample_rate, target_rate=self.sample_rate)
            data = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        self.audio_chunks += 1
        self.voiced_chunks += voiced
        self.received_samples += data.size
        self.audio += self._trimmer.push(data, voiced=voiced)

    def result(
        self,
        *,
        metrics: SessionMetrics,
        target_language: str,
        used_emulator: bool,
        path: str | None,
    ) -> TranslationResult:
        """The result, once the session ended (call once: it flushes the trimmer)."""
        self.segments.close()
        segments = self.segments.segments
        rate = self.sample_rate or DEFAULT_OUTPUT_SAMPLE_RATE
        audio = self._finish_audio()
        return TranslationResult(
            source_text=join_texts(s.source_text for s in segments),
            translated_text=join_texts(s.translated_text for s in segments),
            audio=audio,
            sample_rate=rate,
            segments=segments,
            metrics=metrics,
            events_count=self.events,
            target_language=target_language,
            used_emulator=used_emulator,
            path=path,
            trimmed_silence_s=max(0, self.received_samples - audio.size) / rate,
            translated_audio_s=self.segments.output_audio_s,
        )

    def _finish_audio(self) -> npt.NDArray[np.int16]:
        """The recorded audio: everything up to the last voiced chunk plus the tail."""
        if self._trimmer is not None:
            self.audio += self._trimmer.flush()
        if self.audio_chunks and not self.voiced_chunks:
            logger.warning(
                "the translated audio was all silence (%d chunks, %.1f s): the result has no "
                "audio; check the target language and any proxy in between",
                self.audio_chunks,
                self.received_samples / (self.sample_rate or DEFAULT_OUTPUT_SAMPLE_RATE),
            )
        return np.concatenate(self.audio) if self.audio else np.zeros(0, dtype=np.int16)

    def progress(self, total_s: float | None, *, final: bool = False) -> TranslationProgress:
        if final:
            fraction = 1.0
        elif total_s:
            fraction = min(1.0, self.sent_s / total_s)
        else:
            fraction = 0.0
        return TranslationProgress(
            sent_s=self.sent_s,
            total_s=total_s,
            fraction=fraction,
            translated_audio_s=self.segments.output_audio_s,
            segments=len(self.segments.stable_segments),
        )
