"""The engine interface: what the emulator asks of the engine that decides what it "says"
(the built-in engines are in `s2st.emulator.engines`, which re-exports `Engine` and `Reply`).

An engine is the sans-I/O brain of one logical session (it survives resumption through
[`Engine.snapshot()`][s2st.emulator.Engine.snapshot]). The emulator calls, from its event loop and never concurrently:

- ``feed(pcm16k)`` with each audio message, resampled to 16 kHz mono int16;
- ``stream_end()`` on ``audioStreamEnd``; ``activity_start()`` / ``activity_end()`` on manual
  activity signals;
- ``poll()`` on every tick of the output clock (every ``part_ms / speed``, or ``part_ms`` of
  wall time when ``speed`` is infinite): output produced in the background since the last
  call, e.g. by worker threads of a cascade (ASR -> MT -> TTS) engine. Default ``[]``;
- ``snapshot()`` when a resumption handle is issued (mid-utterance too): an independent copy
  that can carry on from this point on another connection;
- ``close()`` once when the logical session ends (its connection closed without resumption,
  or the emulator stops; also for the snapshots held by handles): release threads and
  models. Default: nothing. It must be idempotent.

Each of ``feed``/``stream_end``/``activity_*``/``poll`` returns a list of [`Reply`][s2st.emulator.Reply]
(transcript deltas, 24 kHz audio parts, and turn markers, which are sent only with
``turn_markers=True``). The attribute ``idle`` is True when no utterance is open, and
``source_language`` (BCP-47 or ``None``) labels input transcripts (``languageCode``) unless a
[`Reply`][s2st.emulator.Reply] carries its own ``language``. Output transcripts are labelled with the target
language code as the client sent it (``target_language``).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ._audio import IN_RATE, OUT_RATE, Int16Array, Segmenter, SegmentEvent, resample

__all__ = ["LOOPBACK_OUTPUT_TEXT", "Engine", "Reply", "ReplyKind"]

LOOPBACK_OUTPUT_TEXT = "[emulator: no translation — loopback audio]"

ReplyKind = Literal["input_text", "output_text", "audio", "generation_complete", "turn_complete"]


@dataclass(frozen=True)
class Reply:
    """One thing to tell the client. ``audio_b64`` is 24 kHz int16 in standard base64 and
    ``audio_s`` its duration; ``language`` (BCP-47) overrides the engine's
    ``source_language`` for an ``input_text`` reply."""

    kind: ReplyKind
    text: str = ""
    audio_b64: str = ""
    audio_s: float = 0.0
    language: str | None = None


def audio_replies(pcm24: Int16Array, part_ms: int) -> list[Reply]:
    step = OUT_RATE * part_ms // 1000
    out = []
    for i in range(0, pcm24.size, step):
        part = pcm24[i : i + step]
        out.append(
            Reply(
                "audio",
                audio_b64=base64.b64encode(part.astype("<i2").tobytes()).decode("ascii"),
                audio_s=part.size / OUT_RATE,
            )
        )
    return out


def split_text(text: str) -> list[str]:
    """Fragments as the service streams them: words with their leading space, or for text
    without spaces (Mandarin) groups of two characters."""
    if " " in text.strip():
        words = text.split(" ")
        return [words[0]] + [" " + w for w in words[1:]]
    return [text[i : i + 2] for i in range(0, len(text), 2)]


@dataclass
class _Turn:
    """Progress of the segment being answered."""

    seg_samples: int = 0
    lead_samples: int = 0  # pre-roll before the first loud frame
    out_samples: int = 0  # loopback: segment audio already echoed (16 kHz samples)
    utterance: int | None = None  # scripted: index into the engine's utterance list
    decided: bool = False
    in_words: int = 0
    out_words: int = 0
    out_audio: int = 0  # scripted: translated audio samples sent (24 kHz)
    emitted: bool = False
    pending: list[Int16Array] = field(default_factory=list)


class Engine:
    """Base class: segmentation and turn bookkeeping. Subclasses answer segments.

    ``target_language`` is the session's target (``None`` for a non-S2ST session);
    ``part_ms`` the length of each audio part sent; ``source_language`` the language of the
    input heard (``None``: unknown, input transcripts then carry no ``languageCode``). See the
    module docstring for the whole interface.
    """

    source_language: str | None = None

    def __init__(
        self,
        *,
        target_language: str | None,
        part_ms: int = 100,
        manual_activity: bool = False,
        end_silence_ms: int = 500,
        threshold_db: float = 50.0,
    ) -> None:
        self.target_language = target_language
        self.part_ms = part_ms
        self.segmenter = Segmenter(
            manual=manual_activity, end_silence_ms=end_silence_ms, threshold_db=threshold_db
        )
        self.turn: _Turn | None = None
        self.turns_completed = 0
        self.input_s = 0.0
        self.output_s = 0.0

    @property
    def idle(self) -> bool:
        """True when no segment is open: a resumption point where nothing is pending."""
        return self.turn is None and not self.segmenter.active

    def snapshot(self) -> Engine:
        """A copy of the engine state, restorable on session resumption."""
        return copy.deepcopy(self)

    def poll(self) -> list[Reply]:
        """Output produced in the background since the last call (none here)."""
        return []

    def close(self) -> None:
        """Release resources when the logical session ends (nothing to release here)."""

    def feed(self, pcm16k: Int16Array) -> list[Reply]:
        """Consume 16 kHz mono int16 audio."""
        self.input_s += pcm16k.size / IN_RATE
        return self._handle(self.segmenter.feed(pcm16k))

    def stream_end(self) -> list[Reply]:
        """``audioStreamEnd``: flush the current segment."""
        return self._handle(self.segmenter.end())

    def activity_start(self) -> list[Reply]:
        """``activityStart`` (manual activity detection)."""
        return self._handle(self.segmenter.start())

    def activity_end(self) -> list[Reply]:
        """``activityEnd`` (manual activity detection)."""
        return self._handle(self.segmenter.end())

    def _handle(self, events: Sequence[SegmentEvent]) -> list[Reply]:
        out: list[Reply] = []
        for ev in events:
            if ev.kind == "start":
                self.turn = _Turn(lead_samples=ev.audio.size)
            elif self.turn is None:
                continue
            elif ev.kind == "audio":
                self.turn.seg_samples += ev.audio.size
                self.turn.pending.append(ev.audio)
                out += self._progress(self.turn, final=False)
            elif ev.kind == "discard" and not self.turn.emitted:
                self.turn = None
            else:
                out += self._progress(self.turn, final=True, segment=ev.audio)
                out += [Reply("generation_complete"), Reply("turn_complete")]
                self.turns_completed += 1
                self.turn = None
        for r in out:
            self.output_s += r.audio_s
        if out:
            if self.turn is not None:
                self.turn.emitted = True
        return out

    def _progress(
        self, turn: _Turn, *, final: bool, segment: Int16Array | None = None
    ) -> list[Reply]:
        raise NotImplementedError

    def _loopback(self, turn: _Turn, *, final: bool, source_text: str | None) -> list[Reply]:
        """Echo the segment audio not yet echoed (every >= part_ms, or all when final)."""
        pend = np.concatenate(turn.pending) if turn.pending else np.zeros(0, dtype=np.int16)
        out: list[Reply] = []
        if final or pend.size * 1000 >= IN_RATE * self.part_ms:
            turn.pending = []
            turn.out_samples += pend.size
            out += audio_replies(resample(pend, IN_RATE, OUT_RATE), self.part_ms)
        if final:
            speech_s = (turn.seg_samples - turn.lead_samples) / IN_RATE
            label = f"[emulator: speech {speech_s:.2f} s]"
            out.insert(0, Reply("input_text", text=source_text or label))
            out.insert(1, Reply("output_text", text=LOOPBACK_OUTPUT_TEXT))
        return out
