"""Subtitles and transcripts from [`Segment`][s2st.segments.Segment] objects: SubRip, WebVTT and
JSON Lines, as text or written to a file.

[`s2st.segments`][s2st.segments] makes the segments (it aggregates the streamed events); this
module only formats them. Cues are sorted by start, last at least ``min_duration_s`` and never
overlap. Pure code, no asyncio; [`write_subtitles()`][s2st.subtitles.write_subtitles] writes
atomically. Every name here is also importable from ``s2st.segments``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from typing import Literal

from ._atomic import atomic_write
from ._segment import Segment
from ._validate import check_number
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_MIN_DURATION_S",
    "SubtitleFormat",
    "SubtitleText",
    "from_jsonl",
    "to_jsonl",
    "to_srt",
    "to_webvtt",
    "write_subtitles",
]

SubtitleText = Literal["translated", "source", "both"]
SubtitleFormat = Literal["srt", "vtt", "jsonl"]

#: Default shortest time a cue stays on screen, in seconds.
DEFAULT_MIN_DURATION_S = 0.7


def _cue_text(seg: Segment, text: SubtitleText) -> str:
    if text == "translated":
        parts = [seg.translated_text]
    elif text == "source":
        parts = [seg.source_text]
    elif text == "both":
        parts = [seg.translated_text, seg.source_text]
    else:
        raise ConfigurationError(f"text must be 'translated', 'source' or 'both', got {text!r}")
    # A blank line ends a cue and "-->" marks a timing line: neither may appear in the text.
    lines = [" ".join(p.split()).replace("-->", "->") for p in parts]
    return "\n".join(line for line in lines if line)


def _cues(
    segments: Sequence[Segment], text: SubtitleText, min_duration_s: float
) -> list[tuple[float, float, str]]:
    """(start, end, text) per non-empty cue: sorted by start, at least ``min_duration_s``
    long, never overlapping (a cue that would start before the previous one ends waits)."""
    check_number("min_duration_s", min_duration_s, low=0)
    items = [(s, _cue_text(s, text)) for s in sorted(segments, key=lambda s: (s.start_s, s.id))]
    items = [(s, body) for s, body in items if body]
    cues: list[tuple[float, float, str]] = []
    prev_end = 0.0
    for i, (seg, body) in enumerate(items):
        start = max(seg.start_s, prev_end, 0.0)
        end = max(seg.end_s, start + min_duration_s)
        if i + 1 < len(items):
            end = max(min(end, items[i + 1][0].start_s), start + min_duration_s)
        cues.append((start, end, body))
        prev_end = end
    return cues


def _timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(
    segments: Sequence[Segment],
    *,
    text: SubtitleText = "translated",
    min_duration_s: float = DEFAULT_MIN_DURATION_S,
) -> str:
    """SubRip subtitles: 1-based cue numbers, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, the text
    (``"both"``: translated line, then source line), a blank line after each cue.

    Segments whose selected text is empty produce no cue. Returns ``""`` for no cues.
    """
    blocks = [
        f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{body}\n"
        for i, (a, b, body) in enumerate(_cues(segments, text, min_duration_s), start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(body: str) -> str:
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(
    segments: Sequence[Segment],
    *,
    text: SubtitleText = "translated",
    min_duration_s: float = DEFAULT_MIN_DURATION_S,
) -> str:
    """WebVTT subtitles: a ``WEBVTT`` header, then cues numbered like SRT with
    ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` timings; ``&``, ``<`` and ``>`` are escaped."""
    out = "WEBVTT\n"
    for i, (a, b, body) in enumerate(_cues(segments, text, min_duration_s), start=1):
        out += f"\n{i}\n{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{_vtt_escape(body)}\n"
    return out


def to_jsonl(segments: Sequence[Segment]) -> str:
    """One JSON object per segment and line (all [`Segment`][s2st.segments.Segment] fields; text as UTF-8, not
    escaped). [`from_jsonl()`][s2st.subtitles.from_jsonl] reads it back."""
    return "".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in segments)


def from_jsonl(data: str) -> list[Segment]:
    """Parse [`to_jsonl()`][s2st.subtitles.to_jsonl] output back into segments.

    Raises:
        ConfigurationError: a line is not a JSON object with the [`Segment`][s2st.segments.Segment] fields.
    """
    out: list[Segment] = []
    for n, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(Segment(**obj))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"line {n} is not a segment written by to_jsonl ({exc}); check the file"
            ) from exc
    return out


_SUFFIXES: dict[str, SubtitleFormat] = {".srt": "srt", ".vtt": "vtt", ".jsonl": "jsonl"}


def write_subtitles(
    path: str | os.PathLike[str],
    segments: Sequence[Segment],
    *,
    format: SubtitleFormat | None = None,
    text: SubtitleText = "translated",
    min_duration_s: float = DEFAULT_MIN_DURATION_S,
) -> None:
    """Write ``segments`` as SRT, WebVTT or JSONL (UTF-8), atomically: a temporary file in the
    same directory is renamed over ``path``, so readers never see a half-written file.

    ``format`` defaults to the suffix of ``path`` (``.srt``, ``.vtt``, ``.jsonl``).

    Raises:
        ConfigurationError: unknown format or suffix, or a bad ``text``/``min_duration_s``.
    """
    name = os.fspath(path)
    if format is None:
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in _SUFFIXES:
            raise ConfigurationError(
                f"cannot tell the subtitle format from {suffix or 'no suffix'!r}: use .srt, "
                ".vtt or .jsonl, or pass format="
            )
        format = _SUFFIXES[suffix]
    if format == "srt":
        data = to_srt(segments, text=text, min_duration_s=min_duration_s)
    elif format == "vtt":
        data = to_webvtt(segments, text=text, min_duration_s=min_duration_s)
    elif format == "jsonl":
        data = to_jsonl(segments)
    else:
        raise ConfigurationError(f"format must be 'srt', 'vtt' or 'jsonl', got {format!r}")
    atomic_write(name, data.encode("utf-8"))
