"""The one bounded event queue of sessions, fan-outs and conversations (private).

A FIFO with an end marker and backpressure: a producer that finds it full waits (``put``),
the consumer takes what is ready without suspending (``take``) and waits only when nothing is
(``get``). Producers that hand over several items at once (all events of one socket read) use
``put_nowait`` in a loop and wake the consumer once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["BoundedQueue"]

T = TypeVar("T")


class BoundedQueue(Generic[T]):
    """A bounded FIFO of ``T`` with an end marker (and an optional error to raise at the end).

    Args:
        maxsize: items held before producers wait.
        on_take: called with each item's ``arrived`` stamp when the consumer takes it (the
            session's delivery-delay accounting).
    """

    __slots__ = (
        "_items",
        "_maxsize",
        "_not_full",
        "_on_room",
        "_on_take",
        "_stamps",
        "_waiters",
        "ended",
        "error",
    )

    def __init__(self, maxsize: int, *, on_take: Callable[[float], None] | None = None) -> None:
        self._items: deque[T] = deque()
        self._stamps: deque[float] = deque()  # each item's arrival (floats: no GC tracking)
        self._maxsize = maxsize
        self._on_take = on_take
        self._on_room: Callable[[], None] | None = None
        self._waiters: list[asyncio.Future[None]] = []  # consumers waiting for an item
        self._not_full: asyncio.Event | None = None  # made when a producer first waits
        self.ended = False
        self.error: BaseException | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        """True when a producer would have to wait."""
        return len(self._items) >= self._maxsize

    def put_nowait(self, item: T, arrived: float = 0.0) -> None:
        """Append ``item`` now, even beyond the bound (a producer checks `full` first, or has a
        few markers to add that must not wait), and wake the consumer."""
        self._items.append(item)
        self._stamps.append(arrived)
        if self._waiters:
            self._wake()

    def _wake(self) -> None:
        # A bare future per waiting consumer (an asyncio.Event costs more per hand-off).
        waiters = self._waiters
        while waiters:
            waiter = waiters.pop()
            if not waiter.done():
                waiter.set_result(None)

    async def put(self, item: T, arrived: float = 0.0) -> None:
        """Append ``item``, waiting while the queue is full (backpressure). After `end()`
        nothing waits: the item is still kept, so none is lost."""
        if len(self._items) >= self._maxsize:
            await self.wait_for_room()
        self.put_nowait(item, arrived)

    async def wait_for_room(self) -> None:
        """Return once a producer may add an item without exceeding the bound (or at the end)."""
        while len(self._items) >= self._maxsize and not self.ended:
            event = self._not_full
            if event is None:
                event = self._not_full = asyncio.Event()
            event.clear()
            await event.wait()

    def on_room(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, when the consumer has taken the queue down to half its
        bound (or at the end): a producer that stopped (a socket not read) starts again."""
        self._on_room = callback

    def _room(self) -> None:
        callback, self._on_room = self._on_room, None
        if callback is not None:
            callback()

    def end(self, error: BaseException | None = None) -> None:
        """No more items will come; the consumer gets the held ones, then ``error`` (if any)
        or ``StopAsyncIteration``. The first end wins."""
        if not self.ended:
            self.ended = True
            self.error = error
        self._wake()
        if self._not_full is not None:
            self._not_full.set()
        self._room()

    def take(self) -> T:
        """The oldest item, without waiting (the queue must not be empty)."""
        item = self._items.popleft()
        arrived = self._stamps.popleft()
        not_full = self._not_full
        if not_full is not None and not not_full.is_set() and len(self._items) < self._maxsize:
            not_full.set()
        if self._on_room is not None and len(self._items) <= self._maxsize // 2:
            self._room()
        if self._on_take is not None:
            self._on_take(arrived)
        return item

    def arrival(self) -> asyncio.Future[None]:
        """A future done when an item arrives or the queue ends; at the end of an empty queue
        raise the end's error (once) or ``StopAsyncIteration`` instead. The consumer's wait,
        with no coroutine of its own: ``while not len(q): await q.arrival()``."""
        if self.ended and not self._items:
            if self.error is not None:
                error, self.error = self.error, None
                raise error
            raise StopAsyncIteration
        waiters = self._waiters
        if len(waiters) > 8:  # waits cancelled (timeouts) while nothing came: forget them
            waiters[:] = [w for w in waiters if not w.done()]
        waiter = asyncio.get_running_loop().create_future()
        if self._items:  # (an ended queue with items left: the caller takes them)
            waiter.set_result(None)
        else:
            waiters.append(waiter)
        return waiter

    async def get(self) -> T:
        """The oldest item, waiting for one; at the end raise the end's error (once) or
        ``StopAsyncIteration``."""
        while not self._items:
            await self.arrival()
        return self.take()
