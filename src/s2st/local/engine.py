"""The emulator engine that really translates: `LocalEngine`, a VAD/ASR/MT/TTS cascade.

It follows the emulator's engine contract (`s2st.emulator.engines.Engine`): ``feed``,
``stream_end`` and ``activity_start``/``activity_end`` hand audio and markers to the cascade's
worker threads and return at once with whatever output is ready; `LocalEngine.poll`
returns output produced in the background since the last call (the emulator's output clock
calls it about every 100 ms); `LocalEngine.close` stops the workers.

Wire behaviour follows the live-translate service (shared EVIDENCE.md rows 5-6): transcripts and
translated text are deltas, audio is 24 kHz PCM, and by default no ``generationComplete`` or
``turnComplete`` is ever sent (``turn_markers=True`` restores them per segment, for the legacy
dialect).

Labelling: the translated text carries no label (it is what a user would subtitle). The engine
says what it is in `LocalEngine.label` (for example ``local engine (machine translation):
whisper tiny.en -> apertium eng-spa -> espeak-ng es``), logs it at INFO on ``s2st.local`` when a
session starts, and a pivot through a third language is part of it.

Models are loaded once per process and shared by sessions (`load_components`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from s2st.emulator.engines import Engine, LoopbackEngine, Reply
from s2st.errors import ConfigurationError

from .components import LocalComponents, TTSName, load_components
from .mt import base_language
from .pipeline import Cascade, SegmentTiming
from .vad import SileroVAD, VadSegmenter

__all__ = ["LocalComponents", "LocalEngine", "load_components", "local_engine_factory"]

logger = logging.getLogger("s2st.local")

Int16Array = npt.NDArray[np.int16]


class LocalEngine(Engine):
    """A cascade engine for the emulator (see the module docstring).

    Args:
        target_language: the session's target (BCP-47). Required: the local engine only translates.
        source_language: the spoken language (``None``: detect per segment, multilingual models
            only; an English-only model implies ``"en"``).
        components: loaded models; by default `load_components` with ``asr_model``.
        asr_model: a pinned Whisper name or a CTranslate2 model directory.
        tts: ``"espeak-ng"``, ``"kokoro"`` or ``"piper"`` (with the default components).
        part_ms: audio reply length.
        manual_activity: segments are opened and closed by ``activityStart``/``activityEnd``.
        end_silence_ms: silence that ends a segment (the short-silence endpoint).
        partial_interval_ms: partial source transcripts while a segment is open (``None``: off).
        turn_markers: send ``generationComplete``/``turnComplete`` after each segment (legacy).
        queue_size: capacity of each inter-stage queue.
        mt: ``"auto"`` (the installed MT route; Whisper's translate task for X -> English when
            there is none, or when the source is detected), ``"apertium"`` (the MT factory
            only) or ``"whisper"`` (the translate task; multilingual model, English target).
        first_chunk_words: speak the first words of each translation on their own, so that a
            slow voice starts sooner (helps only while the voice keeps up; see the guide);
            ``None``: whole sentences.
        idle_stop_s: the worker threads stop after this long without input (they start again
            with the next audio); ``None``: they run until `close`.

    Raises:
        ConfigurationError: no target language, or a model/route/voice is missing.
    """

    # One keyword per documented option, then their checks and defaults: long but flat.
    def __init__(
        self,
        *,
        target_language: str | None,
        source_language: str | None = None,
        components: LocalComponents | None = None,
        asr_model: str = "tiny.en",
        tts: TTSName = "espeak-ng",
        part_ms: int = 100,
        manual_activity: bool = False,
        end_silence_ms: int = 400,
        partial_interval_ms: int | None = 1000,
        turn_markers: bool = False,
        queue_size: int = 4,
        mt: Literal["auto", "apertium", "whisper"] = "auto",
        idle_stop_s: float | None = 60.0,
        first_chunk_words: int | None = None,
    ) -> None:
        if not target_language:
            raise ConfigurationError(
                "the local engine translates: the session needs a target language"
            )
        super().__init__(
            target_language=target_language,
            part_ms=part_ms,
            manual_activity=manual_activity,
            end_silence_ms=end_silence_ms,
        )
        self.components = components or load_components(
            target_language, asr_model=asr_model, tts=tts
        )
        asr = self.components.asr
        if not asr.multilingual:
            if source_language not in (None, "en") and base_language(source_language) != "en":
                raise ConfigurationError(
                    f"Whisper {asr.name} is English-only; it cannot hear {source_language!r}"
                )
            source_language = "en"
        self.source_language = source_language
        self.whisper_translate = self._choose_whisper(mt)
        if source_language is not None and not self.whisper_translate:
            self.components.warm_up(source_language)  # and fail now, not mid-session
        self.options: dict[str, Any] = {
            "manual_activity": manual_activity,
            "end_silence_ms": end_silence_ms,
            "partial_interval_ms": partial_interval_ms,
            "queue_size": queue_size,
            "idle_stop_s": idle_stop_s,
            "first_chunk_words": first_chunk_words,
        }
        self.turn_markers = turn_markers
        self._cascade: Cascade | None = None
        self._timings: list[SegmentTiming] = []
        self.errors: list[BaseException] = []
        self._closed = False
        self._finished_turns = 0

    @property
    def label(self) -> str:
        """What produced the output, e.g. ``local engine (machine translation): whisper tiny.en
        -> apertium eng-spa -> espeak-ng es``."""
        comp = self.components
        if self.whisper_translate:
            mt = "whisper translate"
        elif self.source_language is not None:
            tr = comp.translator_for(self.source_language)
            mt = "no translation (same language)" if tr is None else tr.name
        else:
            mt = "apertium (per detected language)"
        asr = f"whisper {comp.asr.name}"
        return f"local engine (machine translation): {asr} -> {mt} -> {comp.tts.name}"

    def _choose_whisper(self, mt: str) -> bool:
        to_english = base_language(self.target_language or "") == "en"
        possible = to_english and self.components.asr.multilingual and self.source_language != "en"
        if mt == "whisper":
            if not possible:
                raise ConfigurationError(
                    "mt='whisper' needs a multilingual Whisper model, English as the target "
                    "and a source other than English"
                )
            return True
        if mt == "apertium" or not possible:
            return False
        if self.source_language is None:
            return True
        try:
            self.components.translator_for(self.source_language)
        except ConfigurationError:
            return True
        return False

    @property
    def cascade(self) -> Cascade:
        """The running cascade (started on first use, and again after it stopped when idle)."""
        if self._cascade is not None and self._closed:
            return self._cascade
        if self._cascade is None or self._cascade.stopped:
            opts = self.options
            segmenter = VadSegmenter(
                None if opts["manual_activity"] else SileroVAD(),
                end_silence_ms=opts["end_silence_ms"],
                manual=opts["manual_activity"],
            )
            self._cascade = Cascade(
                segmenter=segmenter,
                asr=self.components.asr,
                translator_for=self.components.translator_for,
                tts=self.components.tts,
                source_language=self.source_language,
                whisper_translate=self.whisper_translate,
                part_ms=self.part_ms,
                queue_size=opts["queue_size"],
                partial_interval_ms=opts["partial_interval_ms"],
                idle_stop_s=opts["idle_stop_s"],
                first_chunk_words=opts["first_chunk_words"],
            )
            self._cascade.timings = self._timings  # one list across restarts
            self._cascade.errors = self.errors
            logger.info("session started: %s", self.label)
        return self._cascade

    @property
    def timings(self) -> list[SegmentTiming]:
        """Per-segment measurements of this session."""
        return self._timings

    @property
    def idle(self) -> bool:
        """Nothing open or in flight: a resumption point."""
        return self._cascade is None or self._cascade.stopped or self._cascade.idle

    def snapshot(self) -> LocalEngine:
        """A fresh engine on the same models (resumption happens only when `idle`, so
        there is no in-flight state to copy); its workers start on first use."""
        clone = LocalEngine.__new__(LocalEngine)
        clone.__dict__.update(self.__dict__)
        clone._cascade = None
        clone._timings = []
        clone.errors = []
        clone._closed = False
        return clone

    def feed(self, pcm16k: Int16Array) -> list[Reply]:
        """Queue 16 kHz mono int16 audio; return the output ready so far."""
        self.input_s += pcm16k.size / 16000
        self.cascade.feed(pcm16k)
        return self.poll()

    def stream_end(self) -> list[Reply]:
        """``audioStreamEnd``: close the open segment."""
        self.cascade.end_segment()
        return self.poll()

    def activity_start(self) -> list[Reply]:
        """``activityStart`` (manual activity detection)."""
        self.cascade.start_segment()
        return self.poll()

    def activity_end(self) -> list[Reply]:
        """``activityEnd`` (manual activity detection)."""
        self.cascade.end_segment()
        return self.poll()

    def poll(self) -> list[Reply]:
        """Output produced since the last call (never blocks)."""
        if self._cascade is None:
            return []
        out = self._cascade.poll()  # also after it stopped: what it produced last is kept
        for r in out:
            self.output_s += r.audio_s
        if self.turn_markers:
            done = sum(1 for t in self._cascade.timings if t.first_audio is not None or t.text)
            if done > self._finished_turns and self._cascade.idle:
                self._finished_turns = done
                out += [Reply("generation_complete"), Reply("turn_complete")]
        return out

    def close(self) -> None:
        """Stop the worker threads. Idempotent; the models stay loaded for other sessions."""
        self._closed = True
        if self._cascade is not None:
            self._cascade.close()


def local_engine_factory(**options: Any) -> Callable[[Any], Engine]:
    """An ``EmulatorConfig.engine`` callable: ``Emulator(engine=local_engine_factory())``.

    ``options`` are `LocalEngine` keywords (``source_language``, ``asr_model``, ...). The
    setup's target language and activity mode are taken from the session; a session without a
    target language (not a translation session) gets the loopback engine.
    """

    def make(info: Any) -> Engine:
        if info.target_language is None:  # not a translation session: nothing to translate to
            return LoopbackEngine(target_language=None, manual_activity=info.manual_activity)
        return LocalEngine(
            target_language=info.target_language,
            manual_activity=info.manual_activity,
            **options,
        )

    return make
