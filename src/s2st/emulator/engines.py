"""Engines decide what the emulator "says" for the audio it hears.

Both bundled engines segment the incoming 16 kHz audio with an energy detector and answer per
segment:

- `LoopbackEngine` sends the segment's own audio back, resampled to 24 kHz, with clearly
  labelled placeholder transcripts (``[emulator: speech 1.24 s]`` and
  ``[emulator: no translation — loopback audio]``). It never pretends to translate.
- `ScriptedEngine` recognises the utterances of bundled scenarios by their energy
  envelope; for a recognised utterance it streams the real source transcript word by word as the
  audio arrives, and the scripted translation text and speech for the target language. For a
  language the scenario lacks, or audio matching no scenario, it falls back to loopback.

The engine interface
--------------------
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

from ._audio import IN_RATE, OUT_RATE, Int16Array, Segmenter, SegmentEvent, envelope_db, resample
from .scenarios import Scenario, Translation, Utterance, load_scenario

__all__ = [
    "LOOPBACK_OUTPUT_TEXT",
    "Engine",
    "LoopbackEngine",
    "Reply",
    "ScriptedEngine",
    "SilentEngine",
]

LOOPBACK_OUTPUT_TEXT = "[emulator: no translation — loopback audio]"

# BCP-47 primary tags whose scripted translations are keyed by another (table) code.
_BCP47_TO_SCRIPT = {"zh": "cmn"}

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


def _audio_replies(pcm24: Int16Array, part_ms: int) -> list[Reply]:
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


def _split_text(text: str) -> list[str]:
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
            out += _audio_replies(resample(pend, IN_RATE, OUT_RATE), self.part_ms)
        if final:
            speech_s = (turn.seg_samples - turn.lead_samples) / IN_RATE
            label = f"[emulator: speech {speech_s:.2f} s]"
            out.insert(0, Reply("input_text", text=source_text or label))
            out.insert(1, Reply("output_text", text=LOOPBACK_OUTPUT_TEXT))
        return out


class LoopbackEngine(Engine):
    """Echo each detected speech segment as 24 kHz audio with labelled placeholder transcripts."""

    def _progress(
        self, turn: _Turn, *, final: bool, segment: Int16Array | None = None
    ) -> list[Reply]:
        return self._loopback(turn, final=final, source_text=None)


class SilentEngine(Engine):
    """Hears the speech and answers nothing: no transcript, no translated audio, only the
    silence stream. The silent failure of EVIDENCE.md row 15 (a proxy dropped
    ``translationConfig``; the service answered all-zero audio and no error), for testing an
    application's handling of it (the client emits ``SilentOutputWarning``)."""

    def _progress(
        self, turn: _Turn, *, final: bool, segment: Int16Array | None = None
    ) -> list[Reply]:
        turn.pending = []
        return []


def _speech_part(env: np.ndarray, threshold_db: float) -> np.ndarray:
    """The envelope from the first loud frame on (the preroll is not part of the fingerprint)."""
    loud = np.nonzero(env >= threshold_db)[0]
    return env[loud[0] :] if loud.size else env[:0]


def _match_score(env_a: np.ndarray, env_b: np.ndarray, max_shift: int = 3) -> float:
    """Best Pearson correlation of two dB envelopes over small shifts (prefix of ``env_b``).

    Envelopes without real level variation (tones, noise) never match: speech varies by tens
    of dB between syllables.
    """
    best = -1.0
    n = env_a.size
    for shift in range(-max_shift, max_shift + 1):
        a = env_a[max(0, shift) :]
        b = env_b[max(0, -shift) :]
        m = min(a.size, b.size, n)
        if m < 10:
            continue
        a, b = a[:m], b[:m]
        sa, sb = a.std(), b.std()
        if sa < 3.0 or sb < 3.0:
            continue
        best = max(best, float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb)))
    return best


class ScriptedEngine(Engine):
    """Play back bundled scenarios when their utterances are heard (see the module docstring).

    ``scenarios`` are names (default: all bundled) or loaded [`Scenario`][s2st.emulator.scenarios.Scenario] objects. A segment
    is answered with a script only when it matches that utterance as a whole: a correlation of
    at least ``min_score`` over the whole segment and a length within 25 %, decided when the
    segment ends (the answer then follows at once, its audio paced by the output clock). A
    candidate found after ``decide_ms`` holds the answer back; a segment that grows longer than
    the candidate, or matches nothing, gets the loopback answer.
    """

    def __init__(
        self,
        *,
        target_language: str | None,
        scenarios: Sequence[str | Scenario] | None = None,
        decide_ms: int = 600,
        min_score: float = 0.85,
        part_ms: int = 100,
        manual_activity: bool = False,
        end_silence_ms: int = 500,
        threshold_db: float = 50.0,
    ) -> None:
        super().__init__(
            target_language=target_language,
            part_ms=part_ms,
            manual_activity=manual_activity,
            end_silence_ms=end_silence_ms,
            threshold_db=threshold_db,
        )
        from .scenarios import list_scenarios

        loaded = [
            s if isinstance(s, Scenario) else load_scenario(s)
            for s in (scenarios if scenarios is not None else list_scenarios())
        ]
        self._utterances: list[Utterance] = [u for s in loaded for u in s.utterances]
        self._languages: list[str] = [s.source_language for s in loaded for _ in s.utterances]
        self._envelopes = [
            _speech_part(envelope_db(u.source_audio), threshold_db) for u in self._utterances
        ]
        self.decide_ms = decide_ms
        self.min_score = min_score

    def __deepcopy__(self, memo: dict[int, object]) -> ScriptedEngine:
        # Scenario data is immutable and shared; only the mutable state is copied.
        clone = copy.copy(self)
        clone.segmenter = copy.deepcopy(self.segmenter, memo)
        clone.turn = copy.deepcopy(self.turn, memo)
        return clone

    def _translation(self, utt: Utterance) -> Translation | None:
        code = self.target_language
        if code is None:
            return None
        if code in utt.translations:
            return utt.translations[code]
        primary = code.split("-")[0].split("_")[0].lower()
        # The live-translate dialect sends BCP-47 ("zh" for Mandarin Chinese, EVIDENCE.md row
        # 12); the scenarios are keyed by the table's codes ("cmn").
        for candidate in (primary, _BCP47_TO_SCRIPT.get(primary)):
            if candidate is not None and candidate in utt.translations:
                return utt.translations[candidate]
        return None

    def _decide(self, turn: _Turn, audio: Int16Array, *, final: bool) -> None:
        env = _speech_part(envelope_db(audio), self.segmenter.threshold_db)
        best, best_i = -1.0, None
        for i, ref in enumerate(self._envelopes):
            if (
                final
                and not 0.75 <= audio.size / max(1, self._utterances[i].source_audio.size) <= 1.25
            ):
                continue
            score = _match_score(env, ref)
            if score > best:
                best, best_i = score, i
        turn.decided = True
        turn.utterance = best_i if best >= self.min_score else None
        # A recognised utterance is in its scenario's language; loopback audio is unknown.
        lang = self._languages[turn.utterance] if turn.utterance is not None else None
        self.source_language = lang if lang and lang != "und" else None

    def _progress(
        self, turn: _Turn, *, final: bool, segment: Int16Array | None = None
    ) -> list[Reply]:
        if final and segment is not None:
            # The whole segment decides (length within 25 % included): a prefix that sounded
            # like a script ("Good morning." inside "Good morning, where is the train
            # station?") is not that script. Until then a candidate's answer is held back.
            self._decide(turn, segment, final=True)
        elif not turn.decided:
            if turn.seg_samples * 1000 < IN_RATE * self.decide_ms:
                return []
            self._decide(turn, np.concatenate(turn.pending), final=False)
        if not final and turn.utterance is not None:
            utt = self._utterances[turn.utterance]
            if turn.seg_samples - turn.lead_samples <= 1.25 * utt.source_audio.size:
                return []  # a candidate: hold its answer until the segment ends
            turn.utterance = None  # longer than the script: it is something else
        if turn.utterance is None:
            return self._loopback(turn, final=final, source_text=None)
        utt = self._utterances[turn.utterance]
        trans = self._translation(utt)
        if trans is None:
            return self._loopback(turn, final=final, source_text=utt.text if final else None)
        turn.pending = []
        frac = 1.0 if final else min(1.0, turn.seg_samples / max(1, utt.source_audio.size))
        return self._scripted(turn, utt, trans, frac)

    def _scripted(
        self, turn: _Turn, utt: Utterance, trans: Translation, frac: float
    ) -> list[Reply]:
        out: list[Reply] = []
        in_words = _split_text(utt.text)
        n_in = len(in_words) if frac >= 1.0 else int(len(in_words) * frac)
        for w in in_words[turn.in_words : n_in]:
            out.append(Reply("input_text", text=w))
        turn.in_words = max(turn.in_words, n_in)
        out_words = _split_text(trans.text)
        n_out = len(out_words) if frac >= 1.0 else int(len(out_words) * frac)
        for w in out_words[turn.out_words : n_out]:
            out.append(Reply("output_text", text=w))
        turn.out_words = max(turn.out_words, n_out)
        step = OUT_RATE * self.part_ms // 1000
        n_audio = trans.audio.size if frac >= 1.0 else (int(trans.audio.size * frac) // step) * step
        if n_audio > turn.out_audio:
            out += _audio_replies(trans.audio[turn.out_audio : n_audio], self.part_ms)
            turn.out_audio = n_audio
        return out
