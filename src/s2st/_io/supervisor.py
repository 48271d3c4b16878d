"""The connection supervisor: one owner for the current connection, sending and reconnecting.

[`S2STSession`][s2st.session.S2STSession] *holds* a `Supervisor` (composition): the session
keeps the user's surface (open/close, sending, iteration, ``finish()``); the supervisor owns
the current [`Link`][s2st._io.link.Link] (one connection, which reads itself), the send lock,
the reconnection loop and its counters. The protocol state (wire state, replay buffer,
resumption, output ledger) is owned by the sans-I/O
[`ClientProtocol`][s2st.protocol.ClientProtocol] and driven only by its ``receive()``: the
supervisor never re-derives it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from s2st._watch import OutputWatch
from s2st.errors import (
    InvalidArgumentError,
    ProtocolError,
    S2STError,
    SetupTimeoutError,
    TransportError,
    UnknownSetupFieldError,
    UnsupportedModelError,
)
from s2st.events import Event
from s2st.protocol import ClientProtocol, ConnectionState
from s2st.reconnect import ReconnectPolicy
from s2st.stats import SessionStats

from .link import Link, LinkParts, LinkPlan, SetupFailed
from .queue import BoundedQueue
from .target import ConnectionTarget
from .transport import TransportOptions, close_quietly, open_websocket

__all__ = ["Supervisor"]

logger = logging.getLogger("s2st.session")

T = TypeVar("T")


def _build(build: Callable[[], bytes | None]) -> bytes | None:
    return build()


class Supervisor:
    """Owns the connections of one session (see the module docstring).

    It holds, without owning them, the session's protocol core, output watch, event queue and
    stats; ``on_end`` is how it ends the session (with the error, or ``None`` when the server
    ended it normally)."""

    __slots__ = (
        "_closing",
        "_failing_since",
        "_failures_in_a_row",
        "_link",
        "_on_end",
        "_options",
        "_parts",
        "_rng",
        "_send_lock",
        "_setup_timeout_s",
        "_target",
        "_task",
        "heard_on",
        "reconnecting",
        "reconnects",
    )

    def __init__(
        self,
        *,
        target: ConnectionTarget,
        transport: TransportOptions,
        setup_timeout_s: float,
        policy: ReconnectPolicy,
        proto: ClientProtocol,
        watch: OutputWatch,
        queue: BoundedQueue[Event],
        stats: SessionStats,
        on_end: Callable[[BaseException | None], None],
    ) -> None:
        self._target, self._options, self._setup_timeout_s = target, transport, setup_timeout_s
        self._parts = LinkParts(proto, watch, queue, stats, policy, self._current)
        self._on_end = on_end
        self._send_lock = asyncio.Lock()
        self._rng: random.Random | None = None  # backoff jitter, made at the first retry
        self._task: asyncio.Task[None] | None = None
        self._link: Link | None = None  # the current connection (None between two)
        self._closing = False
        #: the number of the latest connection that closed with a completed closing
        #: handshake (the server read everything written on it), if any
        self.heard_on: int | None = None
        self.reconnects = 0
        self.reconnecting = False
        self._failures_in_a_row = 0
        self._failing_since: float | None = None

    # ------------------------------------------------------------------ connecting
    async def connect(self) -> None:
        """Open the first connection (``setup`` .. ``setupComplete``) and start supervising."""
        await self._handshake(None, LinkPlan())
        self._task = asyncio.create_task(self._supervise(), name="s2st-session-supervisor")

    def _current(self, link: Link) -> None:
        """A link saw ``setupComplete`` and wrote the replay: it is the connection now."""
        self._link = link
        if link.reconnection:
            self.reconnects += 1

    async def _handshake(self, resume_handle: str | None, plan: LinkPlan) -> None:
        """Connect, send ``setup`` and wait until the link has seen ``setupComplete`` (and
        replayed the held messages); raise the typed error otherwise."""
        headers = await self._target.headers()
        ws = await open_websocket(
            self._target.url, headers, self._options, secrets=self._target.secrets()
        )
        link = Link(ws, self._parts, plan)
        error: BaseException | None = None
        try:
            ws.attach(link)
            error = await ws.write(self._parts.proto.start(resume_handle=resume_handle))
            if error is None:
                await asyncio.wait_for(link.ready, self._setup_timeout_s)
        except asyncio.TimeoutError:
            error = SetupTimeoutError(
                f"no setupComplete within {self._setup_timeout_s} s; the server may be "
                "overloaded or the endpoint is not a Live API server"
            )
        except SetupFailed as exc:
            error = link.setup_error(exc.error)
        except BaseException:
            await self._drop(link)
            raise
        if error is None:
            logger.info("connected (%s)", "resumed" if resume_handle else "new session")
            return
        await self._drop(link)
        raise error  # outside the except block: no foreign exception in the chain

    # ------------------------------------------------------------------ sending
    def send_nowait(self, build: Callable[[T], bytes | None], arg: T) -> bool:
        """The common case of `send()`, with no coroutine: when no write is waiting and the
        current connection can take a write now, build the message with ``build(arg)`` and
        write it (or, between connections, hold it); True when done. False when nothing was
        built: the caller uses `send()`, which waits its turn."""
        if self._send_lock.locked():
            return False
        link = self._link
        if link is not None and not link.ws.writable:
            return False
        frame = build(arg)
        if frame is not None and link is not None:
            link.ws.send_now(frame)  # writable, and nothing ran since: it is written
            link.audio_sent = True
        return True

    async def send(self, build: Callable[[], bytes | None]) -> S2STError | None:
        """Build a message with the core (numbered and held for replay) and write it on the
        current connection. Returns the typed error when the connection closed meanwhile
        (the supervisor sees the same closure and reconnects, or ends the session)."""
        if self.send_nowait(_build, build):  # the common case: no suspension at all
            return None
        async with self._send_lock:  # a write waiting for the transport: later ones queue behind
            frame, link = build(), self._link
            if frame is None or link is None:
                return None  # held: replayed on the next connection
            error = await link.ws.write(frame)
            if error is None:
                link.audio_sent = True
            return error

    # ------------------------------------------------------------------ supervising
    async def _supervise(self) -> None:
        try:
            while True:
                link = self._link
                assert link is not None
                reason, error = await link.serve(self._options.receive_timeout_s)
                if self._closing:
                    return
                lost_at = time.monotonic()
                async with self._send_lock:
                    self._link = None
                    await self._drop(link)
                if not self._count_failure(link, lost_at, error):
                    self._on_end(error)
                    return
                logger.info("connection ended (%s); reconnecting", reason)
                self.reconnecting = True
                try:
                    await self._reconnect(reason, error, lost_at)
                finally:
                    self.reconnecting = False
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._on_end(exc)

    def _count_failure(self, link: Link, lost_at: float, error: BaseException | None) -> bool:
        """Count a connection that ended; True if the policy lets the session reconnect. A
        connection that failed before a single frame after its setup is a failed attempt:
        counted across reconnections, so a server that accepts setup and then always fails
        cannot keep the session reconnecting forever."""
        if link.worked:
            self._failures_in_a_row, self._failing_since = 0, None
        else:
            self._failures_in_a_row += 1
            self._failing_since = self._failing_since or lost_at
        policy = self._parts.policy
        since = self._failing_since or lost_at
        return policy.should_retry(error) and not policy.exhausted(
            self._failures_in_a_row, lost_at - since
        )

    async def _reconnect(self, reason: str, error: BaseException | None, lost_at: float) -> None:
        """Connect again, resume and replay; every failure of an attempt (refused, garbage,
        closed before the replay was written) is one more attempt, within the policy's
        budget. Raises the last typed error when the budget is spent."""
        policy = self._parts.policy
        handle = self._parts.proto.resumption_handle if policy.resume else None
        last_error: BaseException | None = error
        started = self._failing_since or lost_at
        attempt = 0
        while True:
            attempt += 1
            failures = self._failures_in_a_row + attempt - 1
            if attempt > 1 and policy.exhausted(failures, time.monotonic() - started):
                raise last_error or TransportError(
                    f"could not reconnect within the retry budget ({reason})"
                )
            self._rng = rng = self._rng or random.Random()
            await asyncio.sleep(policy.backoff_s(failures + 1, rng, last_error))
            try:
                await self._handshake(
                    handle, LinkPlan(reason, handle is not None, attempt, lost_at)
                )
            except InvalidArgumentError as exc:
                if handle is None or isinstance(
                    exc, (UnsupportedModelError, UnknownSetupFieldError)
                ):
                    raise  # the setup itself is refused: retrying cannot help
                # The handle was refused (expired or unknown): start afresh, context is lost.
                logger.warning("resumption handle refused (%s); starting a new session", exc.code)
                handle, last_error = None, exc
                continue
            except (TransportError, ProtocolError) as exc:
                if isinstance(exc, TransportError) and not exc.retryable:
                    raise
                last_error = exc  # ProtocolError: garbage instead of setupComplete; try again
                logger.info("reconnect attempt %d failed: %s", attempt, exc)
                continue
            return

    async def _drop(self, link: Link) -> None:
        proto = self._parts.proto
        if proto.state in (ConnectionState.SETUP_SENT, ConnectionState.ACTIVE):
            proto.connection_lost()
        link.dropped = True  # nothing it still says counts
        if not link.ready.done():
            link.ready.cancel()  # nobody waits for its setup any more
        if link is self._link:
            self._link = None
        await self._close(link)

    async def _close(self, link: Link) -> None:
        clean = await close_quietly(link.ws, timeout_s=self._options.close_timeout_s)
        if clean and link.current:
            self.heard_on = link.number

    async def aclose(self) -> None:
        """Stop supervising and close the connection, bounded in time (`heard_on` then says
        whether the server provably read what was written on it)."""
        self._closing = True
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task], timeout=self._options.close_timeout_s + 1)
            if task.done() and not task.cancelled() and task.exception() is not None:
                logger.debug("supervisor ended with %r", task.exception())
        link, self._link = self._link, None
        if link is not None:
            link.dropped = True
            await self._close(link)

    def running_tasks(self) -> list[asyncio.Task[None]]:
        """The supervising task, while it runs."""
        task = self._task
        return [task] if task is not None and not task.done() else []
