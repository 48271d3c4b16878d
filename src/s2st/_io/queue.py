"""The session's bounded event buffer (private)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from s2st.events import Event
from s2st.stats import SessionStats

__all__ = ["EventBuffer", "positive_number"]


def positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class EventBuffer:
    """A bounded FIFO of (arrival time, event) with an end marker; the producer waits while it
    is full. Delivery delays are recorded in ``stats``."""

    def __init__(self, maxsize: int, stats: SessionStats) -> None:
        self._items: deque[tuple[float, Event]] = deque()
        self._maxsize = maxsize
        self._stats = stats
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()
        self.ended = False
        self.error: BaseException | None = None

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, event: Event, arrived: float) -> None:
        while len(self._items) >= self._maxsize and not self.ended:
            self._not_full.clear()
            await self._not_full.wait()
        self._items.append((arrived, event))
        if not self._not_empty.is_set():
            self._not_empty.set()

    def end(self, error: BaseException | None = None) -> None:
        if not self.ended:
            self.ended = True
            self.error = error
        self._not_empty.set()
        self._not_full.set()

    async def get(self) -> Event:
        items = self._items
        while not items:
            if self.ended:
                if self.error is not None:
                    error, self.error = self.error, None
                    raise error
                raise StopAsyncIteration
            self._not_empty.clear()
            await self._not_empty.wait()
        return self.pop()

    def pop(self) -> Event:
        """Take the oldest event (the buffer must not be empty)."""
        arrived, event = self._items.popleft()
        if not self._not_full.is_set():
            self._not_full.set()
        # Delivery accounting (SessionStats), here because this runs once per event.
        delay = time.perf_counter() - arrived
        stats = self._stats
        stats.events_delivered += 1
        stats._delays.append(delay)
        if delay > stats.max_delivery_delay_s:
            stats.max_delivery_delay_s = delay
        return event
