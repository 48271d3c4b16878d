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

The engine interface (`Engine`, `Reply`) is described in `s2st.emulator._engine`; both are
re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from ._audio import IN_RATE, OUT_RATE, Int16Array, envelope_db
from ._engine import (
    LOOPBACK_OUTPUT_TEXT,
    Engine,
    Reply,
    _Turn,
    audio_replies,
    split_text,
)
from .scenarios import Scenario, Translation, Utterance, load_scenario

__all__ = [
    "LOOPBACK_OUTPUT_TEXT",
    "Engine",
    "LoopbackEngine",
    "Reply",
    "ScriptedEngine",
    "SilentEngine",
]

# BCP-47 primary tags whose scripted translations are keyed by another (table) code.
_BCP47_TO_SCRIPT = {"zh": "cmn"}


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
        in_words = split_text(utt.text)
        n_in = len(in_words) if frac >= 1.0 else int(len(in_words) * frac)
        for w in in_words[turn.in_words : n_in]:
            out.append(Reply("input_text", text=w))
        turn.in_words = max(turn.in_words, n_in)
        out_words = split_text(trans.text)
        n_out = len(out_words) if frac >= 1.0 else int(len(out_words) * frac)
        for w in out_words[turn.out_words : n_out]:
            out.append(Reply("output_text", text=w))
        turn.out_words = max(turn.out_words, n_out)
        step = OUT_RATE * self.part_ms // 1000
        n_audio = trans.audio.size if frac >= 1.0 else (int(trans.audio.size * frac) // step) * step
        if n_audio > turn.out_audio:
            out += audio_replies(trans.audio[turn.out_audio : n_audio], self.part_ms)
            turn.out_audio = n_audio
        return out
