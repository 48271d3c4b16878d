"""Speech recognition with faster-whisper (CTranslate2 Whisper models).

`WhisperASR` loads a model from a local directory, or by name from the models that pinned
PyPI packages ship (found and SHA-256-verified by `s2st.local.models`). It never downloads:
a name that is neither installed nor a directory is a `ConfigurationError`
that says what to install. The same model also serves Whisper's ``translate`` task (any language
to English) for multilingual models.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from s2st.errors import AudioFormatError, ConfigurationError

from .models import (
    WHISPER_BASE,
    WHISPER_TINY_EN,
    PinnedModel,
    SplitModel,
    assemble,
    installed,
    locate,
    offline_environment,
)

__all__ = ["PINNED_WHISPER", "Transcript", "WhisperASR", "available_whisper_models"]

logger = logging.getLogger("s2st.local.asr")

#: Whisper models that pinned PyPI packages ship, by name.
PINNED_WHISPER: dict[str, PinnedModel | SplitModel] = {
    WHISPER_TINY_EN.name: WHISPER_TINY_EN,
    WHISPER_BASE.name: WHISPER_BASE,
}


@dataclass(frozen=True)
class Transcript:
    """What one ASR pass heard: ``text`` (stripped), its ``language`` (ISO 639-1), and the
    seconds of audio it covered."""

    text: str
    language: str
    audio_s: float


def available_whisper_models() -> list[str]:
    """Names of the pinned Whisper models whose packages are installed."""
    return [name for name, m in PINNED_WHISPER.items() if installed(m)]


def _import_faster_whisper() -> Any:
    offline_environment()
    try:
        faster_whisper = importlib.import_module("faster_whisper")
    except ImportError as exc:
        raise ConfigurationError(
            "The local engine's ASR needs faster-whisper: pip install 's2st[local]'"
        ) from exc
    return faster_whisper


def _resolve(model: str | os.PathLike[str]) -> tuple[Path, str]:
    path = Path(model)
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ConfigurationError(
                f"{path} is not a CTranslate2 Whisper model (no model.bin); convert one with "
                "ct2-transformers-converter"
            )
        return path, path.name
    name = str(model)
    pinned = PINNED_WHISPER.get(name)
    if pinned is None:
        raise ConfigurationError(
            f"unknown Whisper model {name!r}: pass a model directory, or one of "
            f"{sorted(PINNED_WHISPER)} (shipped by PyPI packages; nothing is downloaded)"
        )
    if isinstance(pinned, SplitModel):
        return assemble(pinned), name
    return locate(pinned), name


class WhisperASR:
    """A faster-whisper model for short segments.

    Args:
        model: a pinned model name (``"tiny.en"``) or a CTranslate2 model directory.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (larger models on a GPU: same loader).
        compute_type: CTranslate2 compute type (``"int8"`` on CPU).
        cpu_threads: threads per transcription (keep it small on a shared machine).
        num_workers: transcriptions that may run at once from different threads (sessions
            sharing one model).
        beam_size: 1 is greedy decoding (fastest).

    Raises:
        ConfigurationError: no such model, not installed, or a hash mismatch.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "tiny.en",
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 1,
        num_workers: int = 2,
        beam_size: int = 1,
    ) -> None:
        fw = _import_faster_whisper()
        path, self.name = _resolve(model)
        self.model_path = path
        self.beam_size = beam_size
        self._model = fw.WhisperModel(
            str(path),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        self.multilingual: bool = bool(self._model.model.is_multilingual)
        logger.info("whisper model %s loaded (multilingual=%s)", self.name, self.multilingual)

    def transcribe(
        self,
        pcm16k: npt.NDArray[np.int16] | npt.NDArray[np.float32],
        *,
        language: str | None = None,
        task: Literal["transcribe", "translate"] = "transcribe",
    ) -> Transcript:
        """Recognise one segment (16 kHz mono).

        Args:
            language: the spoken language (ISO 639-1), or ``None`` to detect it (multilingual
                models; an English-only model always answers ``"en"``).
            task: ``"translate"`` gives English text from any language (multilingual models).

        Raises:
            AudioFormatError: not a 1-D int16/float32 array.
            ConfigurationError: ``translate`` or a non-English language on an English-only model.
        """
        if pcm16k.ndim != 1 or pcm16k.dtype not in (np.int16, np.float32):
            raise AudioFormatError("ASR input must be 1-D int16 or float32 at 16 kHz")
        if not self.multilingual:
            if task == "translate":
                raise ConfigurationError(
                    f"Whisper {self.name} is English-only; the translate task needs a "
                    "multilingual model"
                )
            if language not in (None, "en"):
                raise ConfigurationError(
                    f"Whisper {self.name} is English-only; it cannot recognise {language!r}"
                )
            language = "en"
        audio = pcm16k.astype(np.float32) / 32768.0 if pcm16k.dtype == np.int16 else pcm16k
        # Thread-safe: CTranslate2 queues concurrent calls onto its num_workers replicas.
        segments, info = self._model.transcribe(
            audio,
            language=language,
            task=task,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            # No temperature fallback: sampling would make the output differ run to run.
            temperature=0.0,
        )
        text = "".join(s.text for s in segments).strip()
        return Transcript(text, str(info.language), audio.size / 16000)
