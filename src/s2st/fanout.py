"""Fan-out: one input stream translated into several target languages at once.

One [`S2STSession`][s2st.session.S2STSession] per language; the input is converted to 16 kHz mono int16
*once* and the same bytes are sent to every session concurrently. The per-language event
streams are merged into one, each event tagged with its language::

    async with FanOut(client, ["es", "de", "cmn"]) as fan:
        fan.start_stream("talk.wav")                 # paced at 1x, then finish()
        async for language, event in fan:            # LanguageEvent(language, event)
            ...

Failure policy: by default (``fail_fast=True``) the first session that ends with an error ends
the whole fan-out: every session is closed and the iteration raises that (typed) error after
the events received before it; [`FanOut.failed`][s2st.fanout.FanOut.failed] says which language failed. With
``fail_fast=False`` the other languages keep running and the failed language yields one
``LanguageEvent(language, SessionFailed(error))`` marker instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeAlias, TypeVar

import numpy as np

from ._io.input import InputAudio
from ._io.tasks import stream_then_finish
from .errors import (
    ConcurrencyError,
    ConfigurationError,
    SessionClosedError,
)
from .events import Event
from .languages import normalize_language

if TYPE_CHECKING:
    from .client import S2STClient
from .session import S2STSession

__all__ = ["FanOut", "LanguageEvent", "SessionFailed"]

logger = logging.getLogger("s2st.fanout")

#: Audio sent to the sessions (PROTOCOL.md §7): 16 kHz mono int16 little-endian.
_INPUT_RATE = 16_000
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


class LanguageEvent(NamedTuple):
    """An event of one language's session: unpack it as ``language, event = item``."""

    language: str
    event: GroupEvent


class _Merged(Generic[T]):
    """Bounded FIFO with an end marker; producers wait while it is full (backpressure)."""

    def __init__(self, maxsize: int) -> None:
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._changed = asyncio.Event()
        self.ended = False
        self.error: BaseException | None = None

    async def put(self, item: T) -> None:
        # After the end nothing waits: remaining events are still appended so none is lost.
        while len(self._items) >= self._maxsize and not self.ended:
            self._changed.clear()
            await self._changed.wait()
        self._items.append(item)
        self._changed.set()

    def put_nowait(self, item: T) -> None:
        """Append even beyond the bound (for the few markers made before anyone reads)."""
        self._items.append(item)
        self._changed.set()

    def end(self, error: BaseException | None = None) -> None:
        if not self.ended:
            self.ended = True
            self.error = error
        self._changed.set()

    async def get(self) -> T:
        while not self._items:
            if self.ended:
                if self.error is not None:
                    error, self.error = self.error, None
                    raise error
                raise StopAsyncIteration
            self._changed.clear()
            await self._changed.wait()
        item = self._items.popleft()
        self._changed.set()  # wakes a producer waiting for room
        return item


class SessionGroup(Generic[T]):
    """Several sessions run as one: opened together, events merged, closed together.

    The shared machinery of [`FanOut`][s2st.fanout.FanOut] and [`s2st.conversation.Conversation`][s2st.conversation.Conversation]; not
    meant to be used directly. ``wrap(key, event)`` tags each member event.
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
        if max_pending_events < 1:
            raise ConfigurationError("max_pending_events must be >= 1")
        self.sessions: dict[str, S2STSession] = dict(sessions)
        self.failed: dict[str, BaseException] = {}
        self.fail_fast = fail_fast
        self._wrap = wrap
        self._name = name
        self._merged: _Merged[T] = _Merged(max_pending_events)
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
            raise SessionClosedError(
                f"cannot {what}: the {self._name} has no session left running (they have ended)"
            )
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
            raise SessionClosedError(
                f"cannot {what}: the {self._name} has no session left running (they have ended)"
            )


class FanOut:
    """Translate one input into several target languages at once (one session per language).

    Args:
        client: the [`S2STClient`][s2st.client.S2STClient] that opens the sessions.
        languages: target languages (codes or names, see [`s2st.languages.normalize_language()`][s2st.languages.normalize_language]);
            at least one, no duplicates after normalisation.
        fail_fast: end everything on the first session error (default), or keep the other
            languages running and yield a [`SessionFailed`][s2st.fanout.SessionFailed] marker for the failed one.
        max_pending_events: merged events held while the consumer is busy; beyond that the
            sessions stop reading (backpressure, nothing is dropped).
        **connect_options: passed to [`S2STClient.connect()`][s2st.client.S2STClient.connect] for every language.

    Attributes:
        sessions: ``{language_code: S2STSession}`` in the order given.
        languages: the normalised language codes.
        failed: ``{language_code: error}`` of the sessions that ended with an error.

    Raises (from the constructor, before connecting):
        UnsupportedLanguageError, ConfigurationError: bad languages or options.
    """

    def __init__(
        self,
        client: S2STClient,
        languages: Iterable[str],
        *,
        fail_fast: bool = True,
        max_pending_events: int = 1024,
        **connect_options: Any,
    ) -> None:
        if isinstance(languages, str):
            raise ConfigurationError(
                f"languages must be a list of codes such as ['es', 'de'], not the string "
                f"{languages!r}"
            )
        codes: list[str] = []
        for language in languages:
            code = normalize_language(language)
            if code in codes:
                raise ConfigurationError(
                    f"target language {language!r} is given twice (as {code!r}); list each once"
                )
            codes.append(code)
        if not codes:
            raise ConfigurationError("FanOut needs at least one target language")
        sessions = {code: client.connect(code, **connect_options) for code in codes}
        self.languages: tuple[str, ...] = tuple(codes)
        self._group: SessionGroup[LanguageEvent] = SessionGroup(
            sessions,
            LanguageEvent,
            fail_fast=fail_fast,
            max_pending_events=max_pending_events,
            name="fan-out",
        )
        self._input = InputAudio(_INPUT_RATE)
        self._input_ended = False

    def __repr__(self) -> str:
        state = "closed" if self._group.closed else "open"
        return f"FanOut(languages={list(self.languages)!r}, state={state!r})"

    @property
    def sessions(self) -> dict[str, S2STSession]:
        """``{language_code: S2STSession}``."""
        return self._group.sessions

    @property
    def failed(self) -> dict[str, BaseException]:
        """``{language_code: error}`` for each session that ended with an error."""
        return self._group.failed

    @property
    def closed(self) -> bool:
        """True once every session has ended."""
        return self._group.closed

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> FanOut:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Open every language's session concurrently (see the class docstring for failures)."""
        await self._group.open()

    async def aclose(self) -> None:
        """Cancel streaming tasks, close every session (bounded), end the iteration.
        Events already received stay readable. Idempotent."""
        await self._group.aclose()

    # ------------------------------------------------------------------ iteration
    def __aiter__(self) -> AsyncIterator[LanguageEvent]:
        return self._group

    async def receive(self, timeout_s: float | None = None) -> LanguageEvent:
        """The next tagged event; ``StopAsyncIteration`` at the end, ``asyncio.TimeoutError``
        if none arrives within ``timeout_s``."""
        return await asyncio.wait_for(self._group.__anext__(), timeout_s)

    # ------------------------------------------------------------------ sending
    async def send_audio(
        self,
        audio: bytes | bytearray | memoryview | np.ndarray[Any, Any],
        *,
        sample_rate: int | None = None,
        channels: int = 1,
    ) -> None:
        """Convert ``audio`` once to 16 kHz mono int16 and send the same bytes to every
        language's session concurrently. Accepts what [`S2STSession.send_audio()`][s2st.session.S2STSession.send_audio] accepts
        (``sample_rate`` defaults to 16000); resampler state carries over between calls.

        Raises:
            SessionClosedError: the fan-out is not open, closed, or failed.
            AudioFormatError: the audio cannot be interpreted.
        """
        self._group.check_sendable()
        pcm = self._input.to_pcm(audio, sample_rate, channels)
        if pcm:
            await self._broadcast(pcm)

    async def _broadcast(self, pcm: bytes) -> None:
        await self._group.send_each(
            list(self.languages),
            lambda s: s.send_audio(pcm, sample_rate=_INPUT_RATE),
            what="send audio",
        )

    async def end_audio(self) -> None:
        """Send the resampler tails, then end the input of every session
        (see [`S2STSession.end_audio()`][s2st.session.S2STSession.end_audio])."""
        tail = self._input.flush()
        if tail:
            await self._broadcast(tail)
        self._input_ended = True
        await self._group.send_each(
            list(self.languages), lambda s: s.end_audio(), what="end the audio"
        )

    async def stream(
        self,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
    ) -> None:
        """Decode and pace ``source`` once (see [`s2st.audio.open_source()`][s2st.audio.open_source]) and send each
        frame to every session. A slow session slows them all (nothing is dropped). Does not
        end the input: call [`end_audio()`][s2st.fanout.FanOut.end_audio] or [`finish()`][s2st.fanout.FanOut.finish], or use [`start_stream()`][s2st.fanout.FanOut.start_stream]."""
        from .audio import open_source

        self._group.check_sendable()
        frames = open_source(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed)
        async with contextlib.aclosing(frames):  # closes files/devices if we stop early
            async for frame in frames:
                await self._broadcast(frame)

    def start_stream(
        self,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
        finish: bool = True,
        finish_timeout_s: float = 30.0,
    ) -> asyncio.Task[None]:
        """Run [`stream()`][s2st.fanout.FanOut.stream] (then [`finish()`][s2st.fanout.FanOut.finish] unless ``finish=False``) in a task owned by
        the fan-out: cancelled by [`aclose()`][s2st.fanout.FanOut.aclose]; if it fails, the fan-out ends with its error
        so the ``async for`` loop sees it."""

        def on_error(exc: BaseException) -> bool:
            logger.debug("fan-out streaming task failed: %r", exc)
            self._group.fail(exc)
            return True

        run = stream_then_finish(
            lambda: self.stream(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed),
            (lambda: self.finish(timeout_s=finish_timeout_s)) if finish else None,
            on_error,
        )
        return self._group.own(asyncio.create_task(run, name="s2st-fan-out-stream"))

    async def finish(self, timeout_s: float = 30.0, *, idle_s: float = 3.0) -> None:
        """End the input and wait (concurrently, at most ``timeout_s``) until every language's
        translation has arrived, then close (see [`S2STSession.finish()`][s2st.session.S2STSession.finish]). Events stay
        readable."""
        if self._group.closed:
            return
        if not self._input_ended:
            tail = self._input.flush()
            if tail:
                await self._broadcast(tail)
            self._input_ended = True
        try:
            await self._group.send_each(
                list(self.languages),
                lambda s: s.finish(timeout_s=timeout_s, idle_s=idle_s),
                what="finish",
            )
        finally:
            await self._group.aclose()
