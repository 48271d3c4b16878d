"""Session groups: several sessions run as one, the machinery of fan-outs and conversations.

A [`SessionGroup`][s2st.group.SessionGroup] opens its member sessions together, merges their
events into one bounded queue (each event tagged by the owner's ``wrap``), and closes them
together. [`GroupFront`][s2st.group.GroupFront] is the surface built on it that
[`FanOut`][s2st.fanout.FanOut] and [`Conversation`][s2st.conversation.Conversation] share
(``sessions``, ``failed``, ``closed``, ``open``, ``aclose``, ``async with``, ``async for``,
``receive``); each of them holds one group and adds its own sending methods.

Failure policy: with ``fail_fast`` the first member that ends with an error ends the group
(every session is closed, the iteration raises that error after the events before it);
otherwise that member yields one [`SessionFailed`][s2st.fanout.SessionFailed] marker and the
others keep running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeAlias, TypeVar

from typing_extensions import Self

from ._io.queue import BoundedQueue
from ._io.tasks import stream_then_finish
from ._validate import check_int
from .errors import ConcurrencyError, SessionClosedError
from .events import Event

if TYPE_CHECKING:
    from .session import S2STSession

__all__ = ["GroupEvent", "GroupFront", "SessionFailed", "SessionGroup"]

logger = logging.getLogger("s2st.group")

#: Close of the sessions and the drain of their readers, at most this long (seconds).
_CLOSE_WAIT_S = 15.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionFailed:
    """Marker yielded (with ``fail_fast=False``) when one member session ended with ``error``.

    No more events come from that session; the others continue.
    """

    type: ClassVar[str] = "session_failed"
    error: BaseException


#: What a member session can yield through a group: its events, or the failure marker.
GroupEvent: TypeAlias = Event | SessionFailed


class SessionGroup(Generic[T]):
    """Several sessions run as one: opened together, events merged, closed together.

    The shared machinery of [`FanOut`][s2st.fanout.FanOut] and
    [`Conversation`][s2st.conversation.Conversation]; not meant to be used directly.
    ``wrap(key, event)`` tags each member event.
    """

    def __init__(
        self,
        sessions: Mapping[str, S2STSession],
        wrap: Callable[[str, GroupEvent], T],
        *,
        fail_fast: bool,
        max_pending_events: int,
        name: str,
    ) -> None:
        maxsize = check_int("max_pending_events", max_pending_events, low=1)
        self.sessions: dict[str, S2STSession] = dict(sessions)
        self.failed: dict[str, BaseException] = {}
        self.fail_fast = fail_fast
        self._wrap = wrap
        self._name = name
        self._merged: BoundedQueue[T] = BoundedQueue(maxsize)
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._error: BaseException | None = None
        self._opened = False
        self._closed = False
        self._closer: asyncio.Task[None] | None = None
        self._close_initiator: asyncio.Task[Any] | None = None
        self._reading = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def closed(self) -> bool:
        """True once every member session has ended (or the group was closed)."""
        return self._closed or self._merged.ended

    async def open(self) -> None:
        """Open every session concurrently.

        If any fails to open: with ``fail_fast`` (or when all fail) every session is closed
        and the first error is raised; otherwise the failed ones yield a ``SessionFailed``
        marker first and the others run.
        """
        if self._opened:
            raise SessionClosedError(f"a {self._name} can be opened only once; create a new one")
        self._opened = True
        keys = list(self.sessions)
        results = await asyncio.gather(
            *(self.sessions[k].open() for k in keys), return_exceptions=True
        )
        failures = [
            (k, r) for k, r in zip(keys, results, strict=True) if isinstance(r, BaseException)
        ]
        if failures and (self.fail_fast or len(failures) == len(keys)):
            await self.aclose()
            key, error = failures[0]
            self.failed.update(failures)
            logger.info("%s: the %r session failed to open: %s", self._name, key, error)
            raise error
        for key, error in failures:
            self.failed[key] = error
            logger.info("%s: the %r session failed to open: %s", self._name, key, error)
            self._merged.put_nowait(self._wrap(key, SessionFailed(error)))
        for key in keys:
            if key not in self.failed:
                task = asyncio.create_task(self._read(key), name=f"s2st-{self._name}-reader")
                self._readers[key] = task
        if not self._readers:  # pragma: no cover - all failed is raised above
            self._merged.end()

    async def aclose(self) -> None:
        """Stop owned tasks, close every session (bounded), end the iteration. Events already
        received stay readable. Idempotent; concurrent callers all wait for the same close."""
        current = asyncio.current_task()
        if self._closer is None:
            self._closed = True
            self._close_initiator = current
            self._closer = asyncio.create_task(
                self._close(exclude=current), name=f"s2st-{self._name}-close"
            )
        await asyncio.shield(self._closer)
        initiator = self._close_initiator
        if initiator is not None and initiator is not current and initiator in self._tasks:
            # An owned task (a stream task's finish) started the close: let it end too.
            await asyncio.wait([initiator], timeout=_CLOSE_WAIT_S)

    async def _close(self, *, exclude: asyncio.Task[Any] | None) -> None:
        tasks = [t for t in self._tasks if t is not exclude]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_WAIT_S)
        results = await asyncio.gather(
            *(s.aclose() for s in self.sessions.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                logger.debug("%s: a session did not close cleanly: %r", self._name, result)
        # Readers now only drain what the sessions had buffered; they never wait for room.
        self._merged.end()
        readers = [t for t in self._readers.values() if t is not exclude]
        if readers:
            _, pending = await asyncio.wait(readers, timeout=_CLOSE_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        logger.debug("%s closed", self._name)

    def own(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        """Make the group responsible for ``task``: it is cancelled by `aclose()`."""
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        # The error already ends the iteration (see fail()); retrieving it here keeps asyncio
        # from logging "exception was never retrieved" when nobody awaits the task.
        if not task.cancelled():
            task.exception()

    def start(
        self,
        stream: Callable[[], Awaitable[None]],
        finish: Callable[[], Awaitable[None]] | None,
        *,
        key: str | None = None,
    ) -> asyncio.Task[None]:
        """Run ``stream()`` then ``finish()`` (unless None) in an owned task. If it fails, the
        group ends with its error, unless ``key`` names a member whose failure has already
        reached the iteration as a marker (``fail_fast=False``)."""

        def on_error(exc: BaseException) -> bool:
            of = f" for {key!r}" if key is not None else ""
            logger.debug("%s streaming task%s failed: %r", self._name, of, exc)
            if key is not None and not self.fail_fast and key in self.failed:
                return False
            self.fail(exc)
            return True

        run = stream_then_finish(stream, finish, on_error)
        return self.own(asyncio.create_task(run, name=f"s2st-{self._name}-stream"))

    def fail(self, error: BaseException) -> None:
        """End the group with ``error`` (raised by the iteration) and close every session."""
        if self._error is None:
            self._error = error
        self._merged.end(error)
        if self._closer is None:
            self._closed = True
            self._closer = asyncio.create_task(
                self._close(exclude=None), name=f"s2st-{self._name}-close"
            )

    async def _read(self, key: str) -> None:
        session = self.sessions[key]
        try:
            async for event in session:
                await self._merged.put(self._wrap(key, event))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failed[key] = exc
            logger.info("%s: the %r session failed: %s", self._name, key, exc)
            if self.fail_fast:
                self.fail(exc)
            else:
                await self._merged.put(self._wrap(key, SessionFailed(exc)))
        finally:
            self._readers.pop(key, None)
            if not self._readers:
                self._merged.end()

    # ------------------------------------------------------------------ iteration
    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if not self._opened:
            raise SessionClosedError(f"the {self._name} is not open; use `async with`")
        if self._reading:
            raise ConcurrencyError(f"another task is already iterating this {self._name}")
        self._reading = True
        try:
            return await self._merged.get()
        finally:
            self._reading = False

    # ------------------------------------------------------------------ sending
    def check_sendable(self) -> None:
        """Raise [`SessionClosedError`][s2st.errors.SessionClosedError] if no audio can be sent any more."""
        if not self._opened:
            raise SessionClosedError(f"the {self._name} is not open; use `async with`")
        if self._error is not None:
            raise SessionClosedError(
                f"the {self._name} ended because a session failed ({self._error}); no more audio"
                " can be sent"
            ) from self._error
        if self._closed:
            raise SessionClosedError(f"the {self._name} is closed; no more audio can be sent")

    def live_keys(self, keys: Iterable[str] | None = None) -> list[str]:
        """Members (of ``keys``, default all) that have not failed."""
        return [k for k in (self.sessions if keys is None else keys) if k not in self.failed]

    async def send_each(
        self, keys: list[str], send: Callable[[S2STSession], Any], *, what: str
    ) -> None:
        """Run ``send(session)`` for each of ``keys`` concurrently.

        With ``fail_fast`` any error is raised. Otherwise a session that has already ended
        (its failure reaches the iteration as a marker) is skipped; if none could take it,
        [`SessionClosedError`][s2st.errors.SessionClosedError] is raised.
        """
        self.check_sendable()
        targets = self.live_keys(keys)
        if not targets:
            raise self._none_left(what)
        results = await asyncio.gather(
            *(send(self.sessions[k]) for k in targets), return_exceptions=True
        )
        delivered = 0
        for key, result in zip(targets, results, strict=True):
            if not isinstance(result, BaseException):
                delivered += 1
            elif isinstance(result, asyncio.CancelledError) or self.fail_fast:
                raise result
            elif not self.sessions[key].closed:
                raise result
            else:
                logger.debug("%s: skipped %s for the ended %r session", self._name, what, key)
        if not delivered:
            raise self._none_left(what)

    def _none_left(self, what: str) -> SessionClosedError:
        return SessionClosedError(
            f"cannot {what}: the {self._name} has no session left running (they have ended)"
        )


class GroupFront(Generic[T]):
    """The surface [`FanOut`][s2st.fanout.FanOut] and
    [`Conversation`][s2st.conversation.Conversation] share: lifecycle, ``async with``,
    ``async for`` and ``receive()`` over the [`SessionGroup`][s2st.group.SessionGroup] it holds
    (its only state). Subclasses add the sending methods."""

    def __init__(self, group: SessionGroup[T]) -> None:
        self._group = group

    @property
    def sessions(self) -> dict[str, S2STSession]:
        """The member sessions by key (a fan-out's language codes, a conversation's speaker
        names), in order."""
        return self._group.sessions

    @property
    def failed(self) -> dict[str, BaseException]:
        """``{key: error}`` for each member session that ended with an error."""
        return self._group.failed

    @property
    def closed(self) -> bool:
        """True once every member session has ended (or it was closed)."""
        return self._group.closed

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Open every member session concurrently.

        If one fails to open: with ``fail_fast`` (or when all fail) every session is closed
        and the first error is raised; otherwise the failed one yields a
        [`SessionFailed`][s2st.fanout.SessionFailed] marker first and the others run.

        Raises:
            SessionClosedError: it was opened before (create a new one).
        """
        await self._group.open()

    async def aclose(self) -> None:
        """Cancel streaming tasks, close every session (bounded), end the iteration.
        Events already received stay readable. Idempotent."""
        await self._group.aclose()

    # ------------------------------------------------------------------ iteration
    def __aiter__(self) -> AsyncIterator[T]:
        return self._group

    async def receive(self, timeout_s: float | None = None) -> T:
        """The next tagged event (a fan-out's [`LanguageEvent`][s2st.fanout.LanguageEvent], a
        conversation's [`ConversationEvent`][s2st.conversation.ConversationEvent]);
        ``StopAsyncIteration`` at the end, ``asyncio.TimeoutError`` if none arrives within
        ``timeout_s``.

        Raises:
            SessionClosedError: not opened yet.
            ConcurrencyError: another task is iterating.
        """
        return await asyncio.wait_for(self._group.__anext__(), timeout_s)
