"""Hiding output the server generates twice after a reconnection (sans-I/O).

When a connection is lost, the client resumes from the latest resumable handle and replays the
messages after that handle's consumed index. The server then produces again the output for the
replayed input: output the user may already have seen on the old connection (the partial
translation of the utterance in progress). `OutputLedger` remembers the content
delivered since the latest checkpoint (resumable handle) and, after a reconnection, drops the
same amount from the start of each regenerated stream, so the user sees each word and each
sample once.

Rules (per stream, independently):

* transcripts: regenerated text is dropped while it matches what was already delivered; a
  fragment that extends past it is trimmed to the new part; the first mismatch ends the
  suppression for that stream (the server said something different: deliver it);
* audio: the number of *voiced* samples already delivered is dropped from the regenerated
  voiced audio (content is not compared: resynthesised speech is not bit-identical on a real
  server); silent chunks are neither counted nor dropped, since the silence the server
  streams between translations is not regenerated (EVIDENCE.md row 7);
* ``TurnComplete`` / ``GenerationComplete``: as many as were delivered are dropped.

This assumes what the protocol implies but does not state (PROTOCOL.md §5.5 ❓): output
received before a resumable update belongs to the state that update's handle captures.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from s2st.events import (
    AudioChunk,
    Event,
    GenerationComplete,
    InputTranscription,
    OutputTranscription,
    TurnComplete,
)

__all__ = ["LEDGER_KINDS", "OutputLedger"]

logger = logging.getLogger("s2st.session")

_KEPT = frozenset(
    {AudioChunk, InputTranscription, OutputTranscription, TurnComplete, GenerationComplete}
)
#: Event types other than audio whose repeats the ledger hides.
LEDGER_KINDS = frozenset(
    {InputTranscription, OutputTranscription, TurnComplete, GenerationComplete}
)
#: Shortest regenerated fragment (non-blank characters) that may realign an expectation.
_ALIGN_CHARS = 4


@dataclass
class _Streams:
    input_text: list[str] = field(default_factory=list)
    output_text: list[str] = field(default_factory=list)
    samples: int = 0
    turns: int = 0
    generations: int = 0

    def empty(self) -> bool:
        return not (
            self.input_text or self.output_text or self.samples or self.turns or self.generations
        )


@dataclass
class _Pending:
    input_text: str
    output_text: str
    samples: int
    turns: int
    generations: int

    def done(self) -> bool:
        return not (
            self.input_text or self.output_text or self.samples or self.turns or self.generations
        )


class _History:
    """What was delivered and when, oldest first: (arrival time, voiced samples or a kept
    event) pairs, held side by side in two deques (a tuple per audio chunk would be one more
    long-lived object for the garbage collector to scan, per 100 ms, per session)."""

    __slots__ = ("_items", "_times")

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._items: deque[Event | int] = deque()

    def __len__(self) -> int:
        return len(self._times)

    def __iter__(self) -> Iterator[tuple[float, Event | int]]:
        return zip(self._times, self._items, strict=True)

    def append(self, t: float, item: Event | int) -> None:
        self._times.append(t)
        self._items.append(item)

    def trim(self, limit: float) -> None:
        """Forget what arrived before ``limit``."""
        times, items = self._times, self._items
        while times and times[0] < limit:
            times.popleft()
            items.popleft()


class OutputLedger:
    """Content delivered since the latest checkpoint, and the suppression after a resume.

    ``history_s`` (servers that send no ``lastConsumedClientMessageIndex``): the ledger also
    remembers what it delivered over the last ``history_s`` seconds, so that a checkpoint can
    keep, as "to be regenerated", the output delivered after a given time (the replay window:
    the session replays input the handle may not cover, and the server answers it again).
    """

    def __init__(self, *, history_s: float | None = None) -> None:
        #: content delivered since the latest checkpoint
        self.since = _Streams()
        self._history_s = history_s
        self.history: _History | None = _History() if history_s is not None else None
        self._pending: _Pending | None = None
        #: True while regenerated output is being dropped (a plain attribute: it is read for
        #: every audio frame)
        self.active = False
        self.suppressed_events = 0
        self.suppressed_samples = 0

    def _set_pending(self, pending: _Pending | None) -> None:
        self._pending = pending
        self.active = pending is not None

    def checkpoint(self, *, now: float = 0.0, keep_after: float | None = None) -> None:
        """A resumable handle arrived: everything delivered so far is in the server state,
        except output still expected again after a resume (delivered on an older connection,
        not yet regenerated): that stays beyond the new checkpoint. With ``keep_after`` (and
        a ``history_s``), output delivered after that time stays beyond it too."""
        pending = self._pending
        history = self.history
        if history is not None:
            history.trim(now - (self._history_s or 0.0))
        if pending is None:
            self.since = _Streams()
            if history is not None and keep_after is not None:
                for t, item in history:
                    if t > keep_after:
                        self._count(item)
            return
        self.since = _Streams(
            [pending.input_text] if pending.input_text else [],
            [pending.output_text] if pending.output_text else [],
            pending.samples,
            pending.turns,
            pending.generations,
        )

    def _count(self, item: Event | int) -> None:
        if isinstance(item, int):
            self.since.samples += item
        else:
            self._note(item)

    def note(self, event: Event, t: float = 0.0) -> None:
        """Record a delivered event (that arrived at ``t``). Silent audio is not content: it is
        not recorded (the server's silence stream is not regenerated after a resume)."""
        if isinstance(event, AudioChunk):
            if not event.voiced:
                return
            if self.history is not None:
                self.history.append(t, len(event.data))
        elif self.history is not None and type(event) in _KEPT:
            self.history.append(t, event)
        self._note(event)

    def _note(self, event: Event) -> None:
        cls = type(event)
        if cls is AudioChunk:
            self.since.samples += len(event.data)  # type: ignore[union-attr]
        elif cls is InputTranscription:
            self.since.input_text.append(event.text)  # type: ignore[union-attr]
        elif cls is OutputTranscription:
            self.since.output_text.append(event.text)  # type: ignore[union-attr]
        elif cls is TurnComplete:
            self.since.turns += 1
        elif cls is GenerationComplete:
            self.since.generations += 1

    def resume(self) -> None:
        """A new connection replays from the latest checkpoint: expect the content delivered
        since then to come again, and hide it."""
        since = self.since
        if since.empty():
            self._set_pending(None)
            return
        self._set_pending(
            _Pending(
                "".join(since.input_text),
                "".join(since.output_text),
                since.samples,
                since.turns,
                since.generations,
            )
        )

    def filter_audio(self, chunk: AudioChunk, t: float = 0.0) -> AudioChunk | None:
        """`filter()` for one audio chunk (the hot path: outside a resume it only counts the
        voiced samples)."""
        if self.active:
            return self.filter(chunk, t)  # type: ignore[return-value]
        if chunk.voiced:
            samples = len(chunk.data)
            self.since.samples += samples
            if self.history is not None:
                self.history.append(t, samples)
        return chunk

    def filter(self, event: Event, t: float = 0.0) -> Event | None:
        """Return the event to deliver (possibly trimmed), or ``None`` to drop it. Delivered
        events are recorded (`note()`, with their arrival time ``t``)."""
        pending = self._pending
        if pending is not None:
            kept = self._apply(pending, event)
            if pending.done():
                self._set_pending(None)
                logger.debug(
                    "regenerated output hidden: %d events, %d samples",
                    self.suppressed_events,
                    self.suppressed_samples,
                )
            if kept is None:
                self.suppressed_events += 1
                return None
            event = kept
        self.note(event, t)
        return event

    def _apply(self, pending: _Pending, event: Event) -> Event | None:
        if isinstance(event, AudioChunk):
            if not pending.samples or not event.voiced:
                return event  # silence passes: only voiced samples were counted
            n = len(event.data)
            if n <= pending.samples:
                pending.samples -= n
                self.suppressed_samples += n
                return None
            skip, pending.samples = pending.samples, 0
            self.suppressed_samples += skip
            return AudioChunk(event.data[skip:], event.sample_rate, event.mime_type)
        if isinstance(event, (InputTranscription, OutputTranscription)):
            attr = "input_text" if isinstance(event, InputTranscription) else "output_text"
            kept_text, rest = _skip_text(getattr(pending, attr), event.text)
            setattr(pending, attr, rest)
            if kept_text is None:
                return None
            return type(event)(kept_text, event.finished, event.language_code)
        if isinstance(event, TurnComplete) and pending.turns:
            pending.turns -= 1
            return None
        if isinstance(event, GenerationComplete) and pending.generations:
            pending.generations -= 1
            return None
        return event


def _skip_text(expected: str, text: str) -> tuple[str | None, str]:
    """Drop the part of ``text`` already delivered; return (text to deliver or None, what is
    still expected).

    The expectation may begin with text that will not come again (on servers without a
    consumed index it is taken generously, from the start of the replay window): a fragment
    of at least `_ALIGN_CHARS` characters found further in the expectation realigns it.
    """
    if not expected:
        return text, ""
    if expected.startswith(text):
        return None, expected[len(text) :]
    if text.startswith(expected):
        return text[len(expected) :] or None, ""
    at = expected.find(text) if len(text.strip()) >= _ALIGN_CHARS else -1
    if at > 0:
        return None, expected[at + len(text) :]
    logger.debug("regenerated transcript differs from what was delivered; delivering it")
    return text, ""
