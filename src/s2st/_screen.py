"""Terminal output of the ``s2st`` command: captions on their own lines, one status line.

Captions are printed a whole line at a time: the translation of a segment once the segment is
stable (see [`s2st.segments.SegmentAggregator`][s2st.segments.SegmentAggregator]), preceded by its source text on its own
``> `` line with ``--show-source``. While a segment is still growing, a terminal shows it on a
single *status line* together with the progress bar; that line is erased (``CR`` + ``EL``,
ECMA-48 "erase in line") before anything else is printed and redrawn after it, so progress
never tears a caption. When the stream is not a terminal nothing is ever rewritten: plain lines
only (captions on stdout, progress every 10 % on stderr).
"""

from __future__ import annotations

import shutil
from typing import TextIO

from .events import Event
from .segments import Segment, SegmentAggregator

__all__ = ["Screen"]

_ERASE_LINE = "\r\x1b[K"
_BAR_WIDTH = 20


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


class Screen:
    """Captions on ``out`` and progress on ``err``, coordinated on a shared terminal.

    Args:
        out: where captions go (stdout).
        err: where progress goes (stderr).
        captions: print captions at all (off for ``--json`` and ``-q``).
        progress: show progress at all (off for ``-q``).
        show_source: also print the source text, each on its own ``> `` line.
    """

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        captions: bool = True,
        progress: bool = True,
        show_source: bool = False,
    ) -> None:
        self.out = out
        self.err = err
        self.captions = captions
        self.progress = progress
        self.show_source = show_source
        self.segments = SegmentAggregator()
        self._printed: dict[int, tuple[str, str]] = {}
        self._bar = ""
        self._partial = ""
        self._shown = False
        self._last_step = -1
        # The status line lives on a terminal: stderr when progress is shown, else stdout.
        self._host: TextIO | None = None
        if progress and _is_tty(err):
            self._host = err
        elif captions and _is_tty(out):
            self._host = out

    # ------------------------------------------------------------------ status line

    def _width(self) -> int:
        return max(20, shutil.get_terminal_size((80, 24)).columns - 1)

    def _status_text(self) -> str:
        parts = [p for p in (self._bar, self._partial) if p]
        text = "  ".join(parts)
        width = self._width()
        if len(text) > width:  # a wrapped line could not be erased with one CR
            keep = width - len(self._bar) - 3
            text = f"{self._bar}  …{self._partial[-keep:]}" if keep > 8 else text[:width]
        return text

    def _erase(self) -> None:
        if self._host is not None and self._shown:
            self._host.write(_ERASE_LINE)
            self._host.flush()
            self._shown = False

    def _draw(self) -> None:
        if self._host is None:
            return
        text = self._status_text()
        self._host.write(_ERASE_LINE + text)
        self._host.flush()
        self._shown = bool(text)

    def update_progress(self, fraction: float, sent_s: float, total_s: float) -> None:
        """Show how much of the input was sent (a bar on a terminal, else every 10 %)."""
        if not self.progress:
            return
        fraction = min(1.0, max(0.0, fraction))
        if self._host is self.err:
            filled = round(fraction * _BAR_WIDTH)
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            self._bar = f"[{bar}] {fraction:4.0%} {sent_s:5.1f}/{total_s:.1f} s"
            self._draw()
            return
        step = int(fraction * 10)
        if step > self._last_step:
            self._last_step = step
            self.err.write(f"s2st: sent {sent_s:.1f}/{total_s:.1f} s ({fraction:.0%})\n")
            self.err.flush()

    def message(self, text: str) -> None:
        """Print one line on ``err`` without tearing the status line."""
        self._erase()
        self.err.write(text + "\n")
        self.err.flush()
        self._draw()

    # ------------------------------------------------------------------ captions

    def feed(self, event: Event) -> None:
        """Consume a session event: print the segments it completed, show the open one."""
        if not self.captions:
            return
        for seg in self.segments.feed(event):
            self._segment(seg)

    def _segment(self, seg: Segment) -> None:
        if not seg.stable:
            text = seg.translated_text or (f"> {seg.source_text}" if self.show_source else "")
            if self._host is not None and text != self._partial:
                self._partial = text
                self._draw()
            return
        src_done, dst_done = self._printed.get(seg.id, ("", ""))
        lines: list[str] = []
        if self.show_source and seg.source_text and seg.source_text != src_done:
            lines.append(f"> {seg.source_text}")
        if seg.translated_text and seg.translated_text != dst_done:
            lines.append(seg.translated_text)
        self._printed[seg.id] = (seg.source_text, seg.translated_text)
        self._partial = ""
        self._print_lines(lines)

    def _print_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        self._erase()
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()
        self._draw()

    def close(self) -> None:
        """End of input: print the open segment, erase the status line."""
        if self.captions:
            for seg in self.segments.close():
                self._segment(seg)
        self._bar = ""
        self._partial = ""
        self._erase()
