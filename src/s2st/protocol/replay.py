"""The replay buffer: client messages sent but not yet confirmed by the server (sans-I/O)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from s2st.errors import ConfigurationError

__all__ = [
    "DEFAULT_REPLAY_WINDOW_S",
    "MAX_UNINDEXED_OVERLAP_MS",
    "UNSENT",
    "ReplayBuffer",
    "SentMessage",
    "frames_of",
]

logger = logging.getLogger("s2st.protocol")

#: Servers that send no ``lastConsumedClientMessageIndex`` (the Gemini API): messages sent
#: within this many seconds before a resumable handle stay replayable (the window's floor).
DEFAULT_REPLAY_WINDOW_S = 2.0

#: The cap of that window, in milliseconds: the most input a resume on such a server can replay
#: that the server had already consumed (the honest price of an index the server does not give).
MAX_UNINDEXED_OVERLAP_MS = 30_000


UNSENT = 2**62  # index of a message held while no connection is active


@dataclass(slots=True)
class SentMessage:
    """A client message kept until the server confirms it consumed it.

    Attributes:
        index: its index on the current connection; a placeholder larger than any real index
            while it waits to be sent (held between connections, or unconfirmed when the last
            connection was lost), so that no ``lastConsumedClientMessageIndex`` confirms it.
        frame: the exact payload sent.
        kind: ``"audio"``, ``"audio_stream_end"``, ``"activity_start"`` or ``"activity_end"``.
        audio_ms: milliseconds of audio it carries (0 for control messages).
        sent_at: the protocol clock when it was last handed out to be written (its replay
            included); used to confirm messages on servers that send no index.
        user: ``False`` for audio the client added itself (``end_audio()``'s trailing
            silence): never reported as the user's unconfirmed audio.
        connection: the number of the connection it was last written on (0: never written).
    """

    index: int
    frame: bytes
    kind: str
    audio_ms: float = 0.0
    sent_at: float = 0.0
    user: bool = True
    connection: int = 0


class ReplayBuffer:
    """Client messages sent but not yet confirmed by ``lastConsumedClientMessageIndex``.

    Bounded by ``max_bytes``: when full, the oldest messages are dropped and counted in
    `dropped_messages` / `dropped_audio_ms` (reported, never silent).
    """

    def __init__(self, *, max_bytes: int | None = 16 * 1024 * 1024) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise ConfigurationError("max_replay_bytes must be positive or None")
        self.max_bytes = max_bytes
        self._items: deque[SentMessage] = deque()
        self._bytes = 0
        self.dropped_messages = 0
        self.dropped_audio_ms = 0.0
        self._overflowing = False

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[SentMessage]:
        return iter(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes of payload held."""
        return self._bytes

    @property
    def audio_ms(self) -> float:
        """Milliseconds of audio held."""
        return sum(m.audio_ms for m in self._items)

    def append(self, message: SentMessage) -> None:
        """Keep ``message``; drop the oldest ones if over ``max_bytes``."""
        self._items.append(message)
        self._bytes += len(message.frame)
        if self.max_bytes is not None and self._bytes > self.max_bytes:
            while self._bytes > self.max_bytes and len(self._items) > 1:
                old = self._items.popleft()
                self._bytes -= len(old.frame)
                self.dropped_messages += 1
                self.dropped_audio_ms += old.audio_ms
            if not self._overflowing:
                # Once per overflow (until the server confirms again), not once per send: a
                # server that never confirms would otherwise log on every message.
                self._overflowing = True
                logger.warning(
                    "replay buffer full (%d bytes): dropping the oldest unconfirmed audio "
                    "(%.0f ms so far); it can no longer be replayed after a reconnection",
                    self.max_bytes,
                    self.dropped_audio_ms,
                )

    def last(self) -> SentMessage | None:
        """The newest message held, or ``None``."""
        return self._items[-1] if self._items else None

    def confirm(self, last_consumed_index: int) -> int:
        """Forget messages with ``index <= last_consumed_index``; return how many."""
        n = 0
        while self._items and self._items[0].index <= last_consumed_index:
            old = self._items.popleft()
            self._bytes -= len(old.frame)
            n += 1
        if n:
            self._overflowing = False
        return n

    def confirm_all(self) -> int:
        """Forget every message sent on the current connection (used when the server state is
        known to include them all); messages still waiting to be sent are kept."""
        return self.confirm(UNSENT - 1)

    def confirm_sent_before(self, cutoff: float) -> int:
        """Forget the messages sent on the current connection at or before ``cutoff`` (protocol
        clock); return how many. Messages held for the next connection are kept."""
        n = 0
        items = self._items
        while items and items[0].index != UNSENT and items[0].sent_at <= cutoff:
            old = items.popleft()
            self._bytes -= len(old.frame)
            n += 1
        if n:
            self._overflowing = False
        return n

    def mark_unsent(self) -> None:
        """The connection was lost: every held message must be sent again on the next one."""
        for message in self._items:
            message.index = UNSENT

    def renumber(
        self, first_index: int, sent_at: float = 0.0, connection: int = 0
    ) -> list[SentMessage]:
        """Give the held messages consecutive indices from ``first_index`` (for a replay on
        connection number ``connection``), stamp them ``sent_at``, and return them in order."""
        for offset, message in enumerate(self._items):
            message.index = first_index + offset
            message.sent_at = sent_at
            message.connection = connection
        return list(self._items)


def frames_of(messages: Iterable[SentMessage]) -> list[bytes]:
    """The payloads of ``messages``, in order."""
    return [m.frame for m in messages]
