"""Aligned bilingual segments from the streamed transcripts.

The service streams three unaligned outputs (PROTOCOL.md §5.2, §8.1–8.2): source-language
transcript deltas ([`InputTranscription`][s2st.events.InputTranscription]), translated-text deltas
([`OutputTranscription`][s2st.events.OutputTranscription]) and translated speech
([`AudioChunk`][s2st.events.AudioChunk]). [`SegmentAggregator`][s2st.segments.SegmentAggregator] pairs them into
[`Segment`][s2st.segments.Segment] objects: source text, translated text and the span of translated audio they
belong to. Pure code, no asyncio: feed it every event of a session, in order.

Server silence is not translation: the live-translate model streams PCM silence in real time
after its last word, forever, and sends no turn markers at all (EVIDENCE.md rows 6 and 7). An
audio chunk is *voiced* when a sample exceeds `SILENCE_PEAK`
([`AudioChunk.voiced`][s2st.events.AudioChunk.voiced]); a silent chunk never opens,
extends or ends a segment's audio, and is not a fragment for the pause rule.

Segmentation rule (applied by [`SegmentAggregator.feed()`][s2st.segments.SegmentAggregator.feed]):

1. Any transcript fragment or *voiced* audio chunk opens a segment when none is open.
2. ``TurnComplete``, ``GenerationComplete`` and ``Interrupted`` close the open segment.
3. Sentences are paired by order: as soon as *both* streams of the open segment contain a
   completed sentence, the segment is closed after the first sentence of each stream and the
   rest of both texts opens the next segment. A sentence ends at ``. ! ? 。 ！ ？ ؟ ।`` (a run of
   them, plus closing quotes or brackets) followed by whitespace, another character for the
   CJK/Arabic/Devanagari marks, or the end of the text received so far (except a ``.`` after a
   digit, which waits for the next fragment so ``3.5`` is not split, and a ``.`` ending a word
   that already has one, such as ``e.g.``). When both texts end exactly at their sentence
   ends, the segment stays open, collecting the translated audio that trails the text, until
   the next transcript fragment (which opens a new segment), a turn boundary or a pause.
4. A pause, found in two ways (``pause_s`` for both):

   - on the clock: when a fragment (transcript text or voiced audio) or a silent chunk
     arrives ``pause_s`` or more after the previous fragment, the open segment is closed
     first. [`SegmentAggregator.poll()`][s2st.segments.SegmentAggregator.poll] applies the same rule without an event;
   - in the audio: when ``pause_s`` of silent audio has followed the open segment's voiced
     audio with no fragment in between, the segment is closed. This is what splits the real
     service's stream, which has no turn markers, even when its chunks arrive in a burst.

   A segment still *waiting for its translated speech* (no voiced audio yet) is closed by a
   pause only when new source text arrives (or by [`poll()`][s2st.segments.SegmentAggregator.poll]): neither
   silence nor its own late translation (translated text or voiced audio) closes it, since
   the translation lags the source by seconds.
5. ``Reconnected``: fragments are deltas, so nothing is replayed or dropped. A resumed session
   keeps the open segment (and the pause clock restarts); a fresh session (``resumed=False``,
   server context lost) closes it.

Closed segments are *stable* and never change again; the open segment is still revising.

Limits: sentence pairing assumes one translated sentence per source sentence; an abbreviation
(``Mr.``) or a merged sentence shifts the pairing until the next turn boundary re-aligns it.
Audio is attributed to the segment that is open when it arrives: the split between two
segments of one turn is as good as the service's interleaving of text and audio.

Timing: ``start_s``/``end_s`` are on the translated-audio timeline (seconds of translated
audio received before the segment's audio), which is what subtitles for the translated audio
need. It is the timeline of the recorded audio ([`s2st.audio.WavWriter`][s2st.audio.WavWriter],
[`s2st.audio.collect_audio()`][s2st.audio.collect_audio], ``TranslationResult.audio``): silence before the first voiced
chunk and between voiced chunks is on it, because it is kept in the recordings (it is the lag
and the pauses of the translation); silence after the last voiced chunk is not, until voiced
audio follows it. So a segment ends with its last voiced chunk, never with the silence after
it, and the last cue ends with the last translated word. Exports ([`to_srt()`][s2st.subtitles.to_srt],
[`to_webvtt()`][s2st.subtitles.to_webvtt]) add a minimum display duration and never let cues overlap.

Subtitle export lives in [`s2st.subtitles`][s2st.subtitles]; its names are re-exported here,
so ``from s2st.segments import write_subtitles`` keeps working.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ._segment import Segment
from ._validate import check_optional_number
from .events import (
    AudioChunk,
    Event,
    GenerationComplete,
    InputTranscription,
    Interrupted,
    OutputTranscription,
    Reconnected,
    TurnComplete,
)
from .subtitles import (
    DEFAULT_MIN_DURATION_S,
    SubtitleFormat,
    SubtitleText,
    from_jsonl,
    to_jsonl,
    to_srt,
    to_webvtt,
    write_subtitles,
)

__all__ = [
    "DEFAULT_MIN_DURATION_S",
    "Segment",
    "SegmentAggregator",
    "SubtitleFormat",
    "SubtitleText",
    "from_jsonl",
    "join_texts",
    "renumber",
    "to_jsonl",
    "to_srt",
    "to_webvtt",
    "write_subtitles",
]

_CJK_TERMINATORS = "。！？؟।"
_TERMINATORS = ".!?" + _CJK_TERMINATORS
_CLOSERS = "\"'”’»)]}」』）"
_SENTENCE_END = re.compile(rf"[{re.escape(_TERMINATORS)}]+[{re.escape(_CLOSERS)}]*")


def _sentence_end(text: str) -> int | None:
    """Index just after the first completed sentence in ``text``, or ``None``."""
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if m.group().rstrip(_CLOSERS) == "." and _is_abbreviation(text, m.start()):
            continue
        if end < len(text):
            nxt = text[end]
            if nxt.isspace() or any(c in _CJK_TERMINATORS for c in m.group()):
                return end
            continue
        if m.group()[0] == "." and m.start() > 0 and text[m.start() - 1].isdigit():
            return None  # "3." may continue as "3.5": wait for the next fragment
        return end
    return None


def _is_abbreviation(text: str, dot: int) -> bool:
    """``e.g.``, ``U.S.``: the word before a single ``.`` already contains a dot."""
    word = text[:dot].rsplit(None, 1)[-1] if text[:dot].strip() else ""
    return "." in word


class _Open:
    """The segment being built (mutable)."""

    __slots__ = (
        "audio_end",
        "audio_start",
        "complete",
        "first_t",
        "id",
        "last_t",
        "source",
        "start",
        "target",
    )

    def __init__(self, seg_id: int, t: float, position_s: float) -> None:
        self.id = seg_id
        self.source = ""
        self.target = ""
        self.first_t = t
        self.last_t = t
        self.start = position_s
        self.audio_start: float | None = None
        self.audio_end: float | None = None
        self.complete = False  # both texts end with a sentence: the next text starts anew

    def freeze(self, *, stable: bool) -> Segment:
        start = self.audio_start if self.audio_start is not None else self.start
        end = self.audio_end if self.audio_end is not None else start
        return Segment(
            id=self.id,
            source_text=self.source.strip(),
            translated_text=self.target.strip(),
            start_s=start,
            end_s=end,
            first_received_s=self.first_t,
            last_received_s=self.last_t,
            audio_start_s=self.audio_start,
            audio_end_s=self.audio_end,
            stable=stable,
        )


class SegmentAggregator:
    """Turn a session's events into [`Segment`][s2st.segments.Segment] objects (see the module docstring).

    Args:
        pause_s: close the open segment when a fragment arrives this long after the previous
            one, or when this much silent audio has followed its voiced audio (``None``
            disables the pause rule).
        split_sentences: apply the sentence-pairing rule (``False``: split on turn boundaries
            and pauses only).
        t0: the session start on the ``t`` clock (default: ``t`` of the first event fed).
    """

    def __init__(
        self,
        *,
        pause_s: float | None = 1.5,
        split_sentences: bool = True,
        t0: float | None = None,
    ) -> None:
        check_optional_number("pause_s", pause_s, positive=True)
        self.pause_s = pause_s
        self.split_sentences = split_sentences
        self._t0 = t0
        self._closed: list[Segment] = []
        self._open: _Open | None = None
        self._next_id = 0
        self._position_s = 0.0  # end of the timeline: audio up to the last voiced chunk
        # Silence after the last voiced chunk: on the timeline only once voiced audio follows.
        self._held_s = 0.0
        self._quiet_s = 0.0  # silent audio since the last fragment (the audio pause rule)
        self._last_fragment_t: float | None = None

    @property
    def output_audio_s(self) -> float:
        """Seconds of translated audio on the timeline: up to the end of the last voiced chunk,
        with the silence before and between voiced chunks, without the silence after it."""
        return self._position_s

    @property
    def trailing_silence_s(self) -> float:
        """Seconds of silent audio received after the last voiced chunk (not on the timeline
        unless voiced audio follows). A number, whatever its length: no samples are kept."""
        return self._held_s

    @property
    def segments(self) -> list[Segment]:
        """All segments in order: the stable ones, then the open one (if any)."""
        out = list(self._closed)
        if self._open is not None:
            out.append(self._open.freeze(stable=False))
        return out

    @property
    def stable_segments(self) -> list[Segment]:
        """The segments that will not change any more."""
        return list(self._closed)

    def _rel(self, t: float | None) -> float:
        if t is None:
            t = time.monotonic()
        if self._t0 is None:
            self._t0 = t
        return t - self._t0

    def feed(self, event: Event, *, t: float | None = None) -> list[Segment]:
        """Consume one event; return the segments it created or changed (closed ones with
        ``stable=True``), in order. ``t`` is the event's arrival on a monotonic clock in
        seconds (default `time.monotonic()`)."""
        now = self._rel(t)
        changed: list[Segment] = []
        if isinstance(event, AudioChunk) and not event.voiced:
            changed += self._pause_check(now, waiting_too=False)
            changed += self._silence(event.duration_s)
        elif isinstance(event, (InputTranscription, OutputTranscription, AudioChunk)):
            if isinstance(event, AudioChunk) or event.text:
                # New source speech after a pause starts anew; the translation arriving late
                # (text or voiced audio) belongs to the segment still waiting for it.
                waiting_too = isinstance(event, InputTranscription)
                changed += self._pause_check(now, waiting_too=waiting_too)
                self._last_fragment_t = now
                self._quiet_s = 0.0
                changed += self._content(event, now)
        elif isinstance(event, (TurnComplete, GenerationComplete, Interrupted)):
            changed += self._close()
        elif isinstance(event, Reconnected):
            if event.resumed:
                self._last_fragment_t = now if self._last_fragment_t is not None else None
            else:
                changed += self._close()
        return changed

    def poll(self, *, t: float | None = None) -> list[Segment]:
        """Apply the clock pause rule at time ``t`` without an event (to any open segment, also
        one still waiting for its translated speech); return the segment it closed."""
        return self._pause_check(self._rel(t), waiting_too=True)

    def close(self) -> list[Segment]:
        """Close the open segment (end of session); return it if there was one."""
        return self._close()

    def _pause_check(self, now: float, *, waiting_too: bool) -> list[Segment]:
        """The clock rule. ``waiting_too=False`` spares a segment without voiced audio yet."""
        seg = self._open
        if (
            self.pause_s is not None
            and seg is not None
            and (waiting_too or seg.audio_end is not None)
            and self._last_fragment_t is not None
            and now - self._last_fragment_t >= self.pause_s
        ):
            return self._close()
        return []

    def _silence(self, duration_s: float) -> list[Segment]:
        """A silent chunk: held off the timeline; ends a voiced segment after ``pause_s``."""
        self._held_s += duration_s
        self._quiet_s += duration_s
        seg = self._open
        if (
            self.pause_s is not None
            and seg is not None
            and seg.audio_end is not None
            and self._quiet_s >= self.pause_s
        ):
            return self._close()
        return []

    def _new(self, now: float) -> _Open:
        seg = _Open(self._next_id, now, self._position_s)
        self._next_id += 1
        return seg

    def _content(
        self, event: InputTranscription | OutputTranscription | AudioChunk, now: float
    ) -> list[Segment]:
        seg = self._open
        closed: list[Segment] = []
        if seg is not None and seg.complete and not isinstance(event, AudioChunk):
            # Both sentences were complete and the audio that followed them was theirs:
            # this text is the next sentence.
            closed = self._close()
            seg = None
        if seg is None:
            seg = self._open = self._new(now)
        seg.last_t = now
        if isinstance(event, AudioChunk):
            self._position_s += self._held_s  # the silence before it was a pause: keep it
            self._held_s = 0.0
            if seg.audio_start is None:
                seg.audio_start = self._position_s
            self._position_s += event.duration_s
            seg.audio_end = self._position_s
            return [seg.freeze(stable=False)]
        if isinstance(event, InputTranscription):
            seg.source += event.text
        else:
            seg.target += event.text
        return closed + self._split(now)

    def _split(self, now: float) -> list[Segment]:
        seg = self._open
        assert seg is not None
        out: list[Segment] = []
        while self.split_sentences:
            cut_src, cut_tgt = _sentence_end(seg.source), _sentence_end(seg.target)
            if cut_src is None or cut_tgt is None:
                break
            rest_src, rest_tgt = seg.source[cut_src:], seg.target[cut_tgt:]
            if not (rest_src.strip() or rest_tgt.strip()):
                # Keep it open: translated audio usually trails the text (module docstring).
                seg.complete = True
                break
            seg.source, seg.target = seg.source[:cut_src], seg.target[:cut_tgt]
            out += self._close()
            seg = self._open = self._new(now)
            seg.source, seg.target = rest_src, rest_tgt
        out.append(seg.freeze(stable=False))
        return out

    def _close(self) -> list[Segment]:
        seg, self._open = self._open, None
        if seg is None:
            return []
        frozen = seg.freeze(stable=True)
        self._closed.append(frozen)
        return [frozen]


# ---------------------------------------------------------------------------- text helpers
def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3000 <= code <= 0x9FFF  # CJK punctuation, kana, unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
    )


def join_texts(texts: Iterable[str]) -> str:
    """Join segment texts into one transcript: a space between them, none between two CJK
    characters (Chinese and Japanese are written without spaces)."""
    out = ""
    for text in texts:
        text = text.strip()
        if not text:
            continue
        if out and not (_is_cjk(out[-1]) and _is_cjk(text[0])):
            out += " "
        out += text
    return out


def renumber(segments: Sequence[Segment]) -> list[Segment]:
    """Copies of ``segments`` with ids 0, 1, 2... in their order (e.g. after filtering)."""
    return [replace(s, id=i) for i, s in enumerate(segments)]
