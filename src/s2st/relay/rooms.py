"""Caption rooms: speakers publish caption events to a room, any number of viewers read them.

Each room keeps the last ``history`` events (numbered from 1) so a viewer that reconnects
with ``Last-Event-ID`` misses nothing recent. A viewer that falls behind by more than
``max_queue`` events is dropped (its EventSource reconnects and catches up from the history);
a slow viewer never slows a speaker down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Caption", "RoomHub"]

logger = logging.getLogger("s2st.relay.rooms")


@dataclass(frozen=True)
class Caption:
    """One caption event of a room: ``id`` counts from 1 per room."""

    id: int
    data: dict[str, Any]


@dataclass
class _Room:
    history: deque[Caption]
    next_id: int = 1
    viewers: set[asyncio.Queue[Caption | None]] = field(default_factory=set)
    publishers: int = 0
    touched: float = field(default_factory=time.monotonic)


class RoomHub:
    """The rooms of one relay process (rooms are not shared between processes).

    Args:
        history: events kept per room for late or reconnecting viewers.
        max_queue: events a viewer may lag behind before it is dropped.
        max_rooms: rooms held at once; idle rooms (no publisher, no viewer) are evicted first.
    """

    def __init__(self, *, history: int = 500, max_queue: int = 200, max_rooms: int = 1000) -> None:
        self._rooms: dict[str, _Room] = {}
        self._history = history
        self._max_queue = max_queue
        self._max_rooms = max_rooms
        self.closed = False

    def _room(self, name: str) -> _Room:
        room = self._rooms.get(name)
        if room is None:
            if len(self._rooms) >= self._max_rooms:
                self._evict()
            room = self._rooms[name] = _Room(history=deque(maxlen=self._history))
        room.touched = time.monotonic()
        return room

    def _evict(self) -> None:
        idle = [
            (r.touched, n) for n, r in self._rooms.items() if not r.viewers and not r.publishers
        ]
        for _, name in sorted(idle)[: max(1, len(idle) // 2)]:
            del self._rooms[name]

    def stats(self) -> dict[str, int]:
        """Room and viewer counts (for the health endpoint)."""
        return {
            "rooms": len(self._rooms),
            "viewers": sum(len(r.viewers) for r in self._rooms.values()),
        }

    def join(self, name: str) -> None:
        """A speaker starts publishing to ``name``."""
        self._room(name).publishers += 1

    def leave(self, name: str) -> None:
        """A speaker stops publishing to ``name``."""
        room = self._rooms.get(name)
        if room is not None:
            room.publishers = max(0, room.publishers - 1)

    def publish(self, name: str, data: dict[str, Any]) -> Caption:
        """Add a caption to room ``name`` and hand it to every viewer (never blocks)."""
        room = self._room(name)
        caption = Caption(room.next_id, data)
        room.next_id += 1
        room.history.append(caption)
        for queue in list(room.viewers):
            if queue.qsize() >= self._max_queue:
                room.viewers.discard(queue)
                queue.put_nowait(None)  # the viewer ends; its EventSource reconnects
                logger.info("dropped a caption viewer that fell %d events behind", self._max_queue)
            else:
                queue.put_nowait(caption)
        return caption

    async def follow(self, name: str, *, last_id: int = 0) -> AsyncIterator[Caption]:
        """Captions of room ``name`` after ``last_id`` (history first), until `close()`."""
        room = self._room(name)
        queue: asyncio.Queue[Caption | None] = asyncio.Queue()
        for caption in room.history:
            if caption.id > last_id:
                queue.put_nowait(caption)
        room.viewers.add(queue)
        try:
            while not self.closed:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            room.viewers.discard(queue)

    def close(self) -> None:
        """End every viewer stream (shutdown)."""
        self.closed = True
        for room in self._rooms.values():
            for queue in room.viewers:
                queue.put_nowait(None)
            room.viewers.clear()
