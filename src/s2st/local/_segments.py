"""What the cascade's stages pass each other and measure (private to `s2st.local`): a
segment's `SegmentTiming`, the ASR jobs and their LocalAgreement state, the process-wide ASR
load, and the shaping of output text and audio into replies (sentences, word deltas, audio
parts with the words interleaved). `SegmentTiming` and `split_sentences` are re-exported from
`s2st.local.pipeline`.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from s2st.emulator.engines import Reply

from .tts import OUT_RATE

__all__ = ["ASR_LOAD", "SegmentTiming", "interleave", "split_sentences", "word_deltas"]

Int16Array = npt.NDArray[np.int16]


class _Load:
    """ASR calls running in this process (all sessions): partial passes run only when none is,
    so they use idle CPU and never delay another session's final transcript."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0

    def __enter__(self) -> None:
        with self._lock:
            self.active += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.active -= 1


ASR_LOAD = _Load()


@dataclass
class SegmentTiming:
    """Measured per segment (``time.monotonic`` seconds; ``None`` until reached)."""

    index: int
    speech_s: float
    end_of_speech: float
    asr_s: float = 0.0
    mt_s: float = 0.0
    tts_s: float = 0.0
    out_audio_s: float = 0.0
    first_audio: float | None = None
    source_text: str = ""
    language: str = ""
    text: str = ""

    @property
    def latency_s(self) -> float | None:
        """End of speech (the VAD endpoint) to the first translated audio."""
        return None if self.first_audio is None else self.first_audio - self.end_of_speech


def split_sentences(text: str, *, first_max_words: int | None = None) -> list[str]:
    """Sentences at ``.!?…`` (and their CJK forms) followed by a space or the end.

    ``first_max_words`` cuts the first sentence after at most that many words (at its last
    comma within them if it has one), so that a slow voice starts speaking sooner.
    """
    parts = [p for p in re.split(r"(?<=[.!?…。！？])\s+", text.strip()) if p]
    if first_max_words is None or not parts:
        return parts
    words = parts[0].split()
    if len(words) <= first_max_words + 2:  # not worth a seam for a word or two
        return parts
    cut = first_max_words
    for i in range(first_max_words, 1, -1):
        if words[i - 1].endswith((",", ";", ":")):
            cut = i
            break
    return [" ".join(words[:cut]), " ".join(words[cut:]), *parts[1:]]


def word_deltas(text: str) -> list[str]:
    """Deltas as the service streams them: words with their leading space."""
    words = text.split()
    return [words[0], *(" " + w for w in words[1:])] if words else []


@dataclass
class _Job:
    index: int
    audio: Int16Array
    final: bool
    timing: SegmentTiming | None = None


@dataclass
class _SegState:
    committed: list[str] = field(default_factory=list)
    last_hyp: list[str] = field(default_factory=list)


def interleave(words: list[str], pcm: Int16Array, part_ms: int) -> list[Reply]:
    """Text deltas spread over the sentence's audio parts, each word before the part where
    it is (proportionally) spoken."""
    step = OUT_RATE * part_ms // 1000
    parts = [pcm[i : i + step] for i in range(0, pcm.size, step)]
    out: list[Reply] = []
    w = 0
    for k, part in enumerate(parts):
        while w < len(words) and w * len(parts) <= k * len(words):
            out.append(Reply("output_text", text=words[w]))
            w += 1
        out.append(
            Reply(
                "audio",
                audio_b64=base64.b64encode(part.astype("<i2").tobytes()).decode("ascii"),
                audio_s=part.size / OUT_RATE,
            )
        )
    out += [Reply("output_text", text=x) for x in words[w:]]
    return out
