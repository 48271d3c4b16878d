"""The record [`SegmentAggregator`][s2st.segments.SegmentAggregator] produces (private home):
public as [`s2st.segments.Segment`][s2st.segments.Segment], read by
[`s2st.subtitles`][s2st.subtitles] too, so it lives below both."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Segment"]


@dataclass(frozen=True, slots=True)
class Segment:
    """Source text, translated text and translated-audio span of one utterance or sentence.

    Attributes:
        id: 0-based, in order of creation; an open segment keeps its id when it is updated.
        source_text: the source-language transcript (whitespace-trimmed).
        translated_text: the translated text (whitespace-trimmed).
        start_s: start on the translated-audio timeline: ``audio_start_s`` when the segment
            has audio, else the end of the translated audio on the timeline when it opened
            (silence received after the last voiced chunk not included).
        end_s: end on that timeline (``audio_end_s``, or ``start_s`` without audio).
        first_received_s: arrival of its first fragment, seconds since the aggregator's start.
        last_received_s: arrival of its last fragment, same clock.
        audio_start_s: start of the voiced translated audio attributed to it, ``None`` if none.
        audio_end_s: end of its last voiced chunk (silence after it excluded), ``None`` if none.
        stable: ``True`` once closed: the segment will not change any more.
    """

    id: int
    source_text: str
    translated_text: str
    start_s: float
    end_s: float
    first_received_s: float
    last_received_s: float
    audio_start_s: float | None = None
    audio_end_s: float | None = None
    stable: bool = False

    @property
    def duration_s(self) -> float:
        """``end_s - start_s``."""
        return self.end_s - self.start_s
