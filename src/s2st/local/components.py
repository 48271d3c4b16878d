"""The models a local session uses (private to `s2st.local`): the shared Whisper recogniser,
the target voice and the translators per source language, loaded once per process and reused
by every session (`load_components`; re-exported from `s2st.local.engine`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from s2st.errors import ConfigurationError

from .asr import WhisperASR
from .mt import ApertiumTranslator, Translator, base_language, plan_route
from .tts import EspeakTTS, Synthesizer

__all__ = ["LocalComponents", "TTSName", "apertium_factory", "load_components"]

_CACHE: dict[tuple[Any, ...], Any] = {}
_CACHE_LOCK = threading.Lock()
_WARMED: set[tuple[str, str]] = set()


def _cached(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = make()
        return _CACHE[key]


@dataclass
class LocalComponents:
    """The loaded models one or more sessions use.

    ``translators`` maps a source language (ISO 639-1) to its translator, built on demand by
    `translator_for`; ``tts`` is the target voice.
    """

    asr: WhisperASR
    target: str
    tts: Synthesizer
    mt_factory: Callable[[str, str], Translator | None]
    translators: dict[str, Translator | None] = field(default_factory=dict)
    warmed: set[str] = field(default_factory=set)

    def warm_up(self, source: str) -> None:
        """Run each stage once on a word, so that the first segment does not pay for cold
        caches (Apertium's first call reads its transducers from disk: about 1 s)."""
        src = base_language(source)
        if src in self.warmed:
            return
        translator = self.translator_for(src)
        key = (translator.name if translator is not None else "", self.tts.name)
        with _CACHE_LOCK:
            done = key in _WARMED
        if not done:  # once per process: Apertium pipelines and voices are shared
            if translator is not None:
                translator.translate("Hello.")
            self.tts.synthesize("Hello.")
            with _CACHE_LOCK:
                _WARMED.add(key)
        self.warmed.add(src)

    def translator_for(self, source: str) -> Translator | None:
        """The translator from ``source`` to the target (``None``: same language).

        Raises:
            ConfigurationError: no installed route between the two.
        """
        src = base_language(source)
        if src not in self.translators:
            self.translators[src] = (
                None if src == base_language(self.target) else self.mt_factory(src, self.target)
            )
        return self.translators[src]


def apertium_factory(source: str, target: str) -> Translator:
    """An `ApertiumTranslator` for the best installed route (direct or pivot).

    Raises:
        ConfigurationError: no installed route; the message names the Debian packages to try.
    """
    route = plan_route(source, target)
    if route is None:
        raise ConfigurationError(
            f"no Apertium route from {source!r} to {target!r} is installed (direct or through "
            f"en/es); see `s2st local check` for the Debian packages (apertium-*)"
        )
    return ApertiumTranslator(route)


def load_components(
    target_language: str,
    *,
    asr_model: str = "tiny.en",
    asr_threads: int = 1,
    tts: Synthesizer | TTSName | None = None,
    mt_factory: Callable[[str, str], Translator | None] | None = None,
) -> LocalComponents:
    """Load (or reuse) the models for one target language.

    The recogniser is shared by every session of the process; the TTS voice per target.

    Args:
        target_language: BCP-47 target.
        asr_model: a pinned Whisper name (``"tiny.en"``, ``"base"``) or a model directory.
        asr_threads: CTranslate2 threads per transcription.
        tts: ``"espeak-ng"`` (default), ``"kokoro"``, ``"piper"`` (English only) or a
            `Synthesizer`.
        mt_factory: ``(source, target) -> Translator``; default: Apertium.

    Raises:
        ConfigurationError: a model, voice or route is missing (the message says what to install).
    """
    asr = _cached(
        ("asr", asr_model, asr_threads), lambda: WhisperASR(asr_model, cpu_threads=asr_threads)
    )
    voice = tts if tts is not None and not isinstance(tts, str) else _voice(tts, target_language)
    return LocalComponents(asr, target_language, voice, mt_factory or apertium_factory)


TTSName = Literal["espeak-ng", "kokoro", "piper"]


def _voice(name: str | None, target: str) -> Synthesizer:
    kind = name or "espeak-ng"
    if kind == "espeak-ng":
        make: Callable[[], Synthesizer] = lambda: EspeakTTS(target)  # noqa: E731
    elif kind == "kokoro":
        from .kokoro import KokoroTTS

        make = lambda: KokoroTTS(target)  # noqa: E731
    elif kind == "piper":
        from .piper import PiperTTS

        if base_language(target) != "en":
            raise ConfigurationError("the shipped Piper voice speaks English only; use kokoro")
        make = PiperTTS
    else:
        raise ConfigurationError(f"unknown TTS {kind!r}: use 'espeak-ng', 'kokoro' or 'piper'")
    return _cached(("tts", kind, target), make)  # type: ignore[no-any-return]
