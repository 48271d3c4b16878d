"""The connection supervisor: one owner for the socket, sending, reading and reconnecting.

[`S2STSession`][s2st.session.S2STSession] *holds* a `Supervisor` (composition): the session
keeps the user's surface (open/close, sending, iteration, ``finish()``), the supervisor owns the
current connection, the send lock, the reconnection loop and its counters, and the dead-link
watchdog. The protocol state (wire state, replay buffer, resumption, output ledger) is owned by
the sans-I/O [`ClientProtocol`][s2st.protocol.ClientProtocol] and driven only by its
``receive()``: the supervisor never re-derives it.

Reading: the connection hands every complete message of one socket read to `on_frames` from
the event loop's read callback (see [`LiveConnection`][s2st._io.transport.LiveConnection]).
There the messages are parsed by the core, noted by the session's
[`OutputWatch`][s2st._watch.OutputWatch] and appended to the session's queue in one step: no
reader task and no wake-up per message; the consumer wakes once per read. When the queue is
full the socket is not read until the consumer has made room (TCP flow control then slows the
server; no event is ever dropped).

Connecting: the setup goes out and ``on_frames`` sees ``setupComplete``; right then, in the same
callback, the held messages are replayed (written without a coroutine, so nothing can come
between them and the new connection), the connection becomes current and, on a reconnection,
a [`Reconnected`][s2st.events.Reconnected] event follows the ``SetupComplete``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from s2st._watch import OutputWatch
from s2st.errors import (
    AbnormalClosureError,
    InvalidArgumentError,
    ProtocolError,
    S2STError,
    SetupTimeoutError,
    TransportError,
    UnknownSetupFieldError,
    UnsupportedModelError,
)
from s2st.events import Event, Reconnected
from s2st.protocol import ClientProtocol, ConnectionState
from s2st.reconnect import ReconnectPolicy
from s2st.stats import SessionStats

from .queue import BoundedQueue
from .target import ConnectionTarget
from .transport import LiveConnection, TransportOptions, abort, close_quietly, open_websocket

__all__ = ["Supervisor"]

logger = logging.getLogger("s2st.session")


@dataclass(slots=True)
class _Attempt:
    """The connection being set up: what its ``Reconnected`` event will say."""

    ws: LiveConnection
    ready: asyncio.Future[None]
    reason: str = ""
    resumed: bool = False
    number: int = 0
    lost_at: float = 0.0


class Supervisor:
    """Owns the connection of one session (see the module docstring).

    It holds, without owning them, the session's protocol core, output watch, event queue and
    stats; ``on_end`` is how it ends the session (with the error, or ``None`` when the server
    ended it normally)."""

    __slots__ = (
        "_activated",
        "_attempt",
        "_audio_on_link",
        "_closing",
        "_crash",
        "_failing_since",
        "_failure",
        "_failures_in_a_row",
        "_frames_on_link",
        "_last_frame_t",
        "_latency",
        "_on_end",
        "_options",
        "_paused",
        "_policy",
        "_proto",
        "_queue",
        "_rng",
        "_send_lock",
        "_setup_timeout_s",
        "_stats",
        "_target",
        "_task",
        "_wake",
        "_watch",
        "_ws",
        "_ws_number",
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
        self._policy, self._proto, self._watch = policy, proto, watch
        self._queue, self._stats, self._on_end = queue, stats, on_end
        self._send_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._rng: random.Random | None = None  # backoff jitter, made at the first retry
        self._task: asyncio.Task[None] | None = None
        self._ws: LiveConnection | None = None  # the current connection (None between two)
        self._attempt: _Attempt | None = None  # the connection being set up
        self._failure: ProtocolError | None = None  # garbage from the current connection
        self._crash: Exception | None = None  # an unexpected error while reading
        self._paused: LiveConnection | None = None  # a connection not read until there is room
        self._latency = 0.0  # the keepalive round trip last reported to the core
        self._last_frame_t = 0.0  # arrival of the last frame (the watchdog reads it)
        self._frames_on_link = 0  # frames read on the current connection after its setup
        self._audio_on_link = False  # something was sent on the current connection
        self._closing = False
        #: the number of the latest connection that closed with a completed closing
        #: handshake (the server read everything written on it), if any
        self.heard_on: int | None = None
        self._activated: LiveConnection | None = None  # the latest connection made current
        self._ws_number = 0  # ... and its number in the protocol core
        self.reconnects = 0
        self.reconnecting = False
        self._failures_in_a_row = 0
        self._failing_since: float | None = None

    # ------------------------------------------------------------------ connecting
    async def connect(self) -> None:
        """Open the first connection (``setup`` .. ``setupComplete``) and start supervising."""
        await self._handshake(resume_handle=None)
        self._task = asyncio.create_task(self._supervise(), name="s2st-session-supervisor")

    async def _handshake(
        self, *, resume_handle: str | None, reason: str = "", number: int = 0, lost_at: float = 0.0
    ) -> None:
        """Connect, send ``setup`` and wait until `on_frames` has seen ``setupComplete`` (and
        replayed the held messages); raise the typed error otherwise."""
        headers = await self._target.headers()
        ws = await open_websocket(
            self._target.url, headers, self._options, secrets=self._target.secrets()
        )
        ready = asyncio.get_running_loop().create_future()
        attempt = _Attempt(ws, ready, reason, resume_handle is not None, number, lost_at)
        self._attempt, self._failure = attempt, None
        error: S2STError | None = None
        try:
            ws.attach(self)
            error = await ws.write(self._proto.start(resume_handle=resume_handle))
            if error is None:
                await asyncio.wait_for(ready, self._setup_timeout_s)
        except asyncio.TimeoutError:
            error = SetupTimeoutError(
                f"no setupComplete within {self._setup_timeout_s} s; the server may be "
                "overloaded or the endpoint is not a Live API server"
            )
        except _SetupFailed as exc:
            error = exc.error or ws.closed_error()
            if error is None:
                error = TransportError("the server closed the connection during setup (1000)")
        except BaseException:
            self._attempt = None
            await self._drop(ws)
            raise
        else:
            if error is None:
                logger.info("connected (%s)", "resumed" if resume_handle else "new session")
                return
        self._attempt = None
        await self._drop(ws)
        raise error  # outside the except block: no foreign exception in the chain

    def _activate(self, attempt: _Attempt) -> None:
        """``setupComplete`` arrived on the connection being set up: replay the held
        messages on it, make it current and (on a reconnection) announce it. Synchronous: no
        message the user sends can come between the replay and the new connection."""
        ws = attempt.ws
        replayed = self._proto.replay()
        stats = self._stats
        for message in replayed:
            if not ws.send_now(message.frame, force=True):
                # Closing: what was not written stays held (the core marks everything
                # unconfirmed again when the connection is lost).
                self._attempt = None
                if not attempt.ready.done():
                    failed = TransportError(
                        "the server closed the new connection during the replay"
                    )
                    failed.retryable = True  # like any failed attempt: try again
                    attempt.ready.set_exception(_SetupFailed(failed))
                return
            if message.kind == "audio":
                stats.audio_messages_sent += 1
                stats.audio_ms_sent += message.audio_ms
        self._attempt = None
        self._ws = self._activated = ws
        self._ws_number = self._proto.connections
        self._audio_on_link = bool(replayed)
        self._last_frame_t = time.perf_counter()
        self._frames_on_link = 0
        if attempt.number:
            self.reconnects += 1
            # finish() measures quiet from the new connection, not from before the outage.
            self._watch.quiet_from = max(self._watch.quiet_from, time.perf_counter())
            stats.events_generated += 1
            event = Reconnected(
                reason=attempt.reason,
                resumed=attempt.resumed,
                attempt=attempt.number,
                downtime_s=time.monotonic() - attempt.lost_at,
                replayed_messages=len(replayed),
                replayed_audio_ms=sum(m.audio_ms for m in replayed),
            )
            self._queue.put_nowait(event, time.perf_counter())
            self._watch.tracker.on_event(event, t=time.perf_counter())
        attempt.ready.set_result(None)

    # ------------------------------------------------------------------ reading (hot path)
    def on_frames(self, ws: LiveConnection, frames: list[bytes]) -> None:
        """The messages of one socket read (see the module docstring)."""
        attempt = self._attempt
        if ws is not self._ws and (attempt is None or ws is not attempt.ws):
            return  # a connection being dropped: nothing it says counts any more
        try:
            self._read(ws, frames, attempt)
        except Exception as exc:  # a bug of ours: end the session with it, visibly
            self._crash = exc
            if attempt is not None and not attempt.ready.done():
                attempt.ready.set_exception(exc)
            self._wake.set()

    def _read(self, ws: LiveConnection, frames: list[bytes], attempt: _Attempt | None) -> None:
        arrived = time.perf_counter()
        proto, stats, watch = self._proto, self._stats, self._watch
        gap = arrived - self._last_frame_t
        if (
            gap > self._policy.replay_window_s / 4
            and ws is self._ws
            and not proto.track_consumption
        ):
            proto.observe_lag(gap)  # the server held its frames back: an update may be that late
        latency = ws.latency
        if latency != self._latency and latency:
            self._latency = latency
            proto.observe_lag(latency)  # the last keepalive round trip
        self._last_frame_t = arrived
        out: list[Event] = []
        for frame in frames:
            try:
                events = proto.receive(frame, arrived)
            except ProtocolError as exc:
                self._fail_connection(ws, exc)
                break
            stats.frames_received += 1
            stats.events_generated += watch.see(events, arrived, out)
            if ws is self._ws:
                self._frames_on_link += 1
            elif proto.state is ConnectionState.ACTIVE and attempt is not None:
                self._emit(out, arrived)
                out = []
                self._activate(attempt)
            if watch.go_away and self._policy.on_go_away and ws is self._ws:
                # Leave this connection: the rest of this read goes with it (the output after
                # the resume point comes again on the next connection).
                self._wake.set()
                break
        stats.events_received = proto.events_received
        stats.events_hidden = proto.events_hidden
        self._emit(out, arrived)
        if proto.ping_wanted:
            self._wake.set()
        if self._queue.full and ws is self._ws:
            ws.pause_reading()
            self._paused = ws
            self._queue.on_room(self._resume_reading)

    def _emit(self, events: list[Event], arrived: float) -> None:
        put = self._queue.put_nowait
        for event in events:
            put(event, arrived)

    def _resume_reading(self) -> None:
        ws, self._paused = self._paused, None
        if ws is not None:
            ws.resume_reading()

    def _fail_connection(self, ws: LiveConnection, error: ProtocolError) -> None:
        attempt = self._attempt
        if attempt is not None and ws is attempt.ws:
            self._attempt = None
            if not attempt.ready.done():
                attempt.ready.set_exception(_SetupFailed(error))
            return
        self._failure = error
        self._wake.set()

    def on_lost(self, ws: LiveConnection) -> None:
        """The connection closed (any side, any reason)."""
        attempt = self._attempt
        if attempt is not None and ws is attempt.ws:
            self._attempt = None
            if not attempt.ready.done():
                attempt.ready.set_exception(_SetupFailed(None))
        self._wake.set()

    # ------------------------------------------------------------------ sending
    async def send(self, build: Callable[[], bytes | None]) -> S2STError | None:
        """Build a message with the core (numbered and held for replay) and write it on the
        current connection. Returns the typed error when the connection closed meanwhile
        (the supervisor sees the same closure and reconnects, or ends the session)."""
        lock = self._send_lock
        frame: bytes | None = None
        ws = self._ws
        if not lock.locked():  # the common case: build and write with no suspension at all
            frame = build()
            if frame is None or ws is None:
                return None  # held: replayed on the next connection
            if ws.send_now(frame):
                self._audio_on_link = True
                return None
        async with lock:  # a write waiting for the transport: later messages queue behind
            if frame is None:
                frame, ws = build(), self._ws
            if frame is None or ws is None or ws is not self._ws:
                return None  # held, or the connection was dropped meanwhile (it is held)
            error = await ws.write(frame)
            if error is None:
                self._audio_on_link = True
            return error

    # ------------------------------------------------------------------ supervising
    async def _serve(self, ws: LiveConnection) -> tuple[str, BaseException | None]:
        """Wait until the current connection ends or must be left; return (reason, error).
        Wakes for pings the core wants and for the end (not per message)."""
        watchdog = _Watchdog(self, ws, self._options.receive_timeout_s)
        try:
            while True:
                if self._crash is not None:
                    raise self._crash
                if self._failure is not None:
                    return "protocol error", self._failure
                if self._watch.go_away and self._policy.on_go_away:
                    self._watch.go_away = False
                    return "go_away", None
                if ws.closed:
                    if watchdog.fired:
                        idle = self._options.receive_timeout_s
                        return "dead link", AbnormalClosureError(
                            1006,
                            "",
                            f"no frame from the server for {idle} s while streaming (dead link)",
                        )
                    return f"closed {ws.received_code}", ws.closed_error()
                if self._proto.ping_wanted:
                    await self._probe(ws)
                    continue
                self._wake.clear()
                await self._wake.wait()
        finally:
            watchdog.cancel()

    async def _probe(self, ws: LiveConnection) -> None:
        """Send a ping whose pong proves the server read what was sent before it (servers
        without a consumed index: see ClientProtocol.pong_received)."""
        proto = self._proto
        token = proto.ping_sent()
        await ws.probe(lambda: proto.pong_received(token))

    async def _supervise(self) -> None:
        try:
            while True:
                ws = self._ws
                assert ws is not None
                reason, error = await self._serve(ws)
                if self._closing:
                    return
                lost_at = time.monotonic()
                async with self._send_lock:
                    self._ws = None
                    await self._drop(ws)
                # A connection that failed before a single frame after its setup is a failed
                # attempt: counted across reconnections, so a server that accepts setup and
                # then always fails cannot keep the session reconnecting forever.
                if self._frames_on_link:
                    self._failures_in_a_row, self._failing_since = 0, None
                else:
                    self._failures_in_a_row += 1
                    self._failing_since = self._failing_since or lost_at
                since = self._failing_since or lost_at
                if not self._policy.should_retry(error) or self._policy.exhausted(
                    self._failures_in_a_row, lost_at - since
                ):
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

    async def _reconnect(self, reason: str, error: BaseException | None, lost_at: float) -> None:
        """Connect again, resume and replay; every failure of an attempt (refused, garbage,
        closed before the replay was written) is one more attempt, within the policy's
        budget. Raises the last typed error when the budget is spent."""
        policy = self._policy
        handle = self._proto.resumption_handle if policy.resume else None
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
                    resume_handle=handle, reason=reason, number=attempt, lost_at=lost_at
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

    async def _drop(self, ws: LiveConnection) -> None:
        if self._proto.state in (ConnectionState.SETUP_SENT, ConnectionState.ACTIVE):
            self._proto.connection_lost()
        if self._paused is ws:
            self._paused = None
        await self._close(ws)

    async def _close(self, ws: LiveConnection) -> None:
        clean = await close_quietly(ws, timeout_s=self._options.close_timeout_s)
        if clean and ws is self._activated:
            self.heard_on = self._ws_number

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
        ws, self._ws = self._ws, None
        if ws is not None:
            await self._close(ws)

    def idle_s(self, ws: LiveConnection) -> float:
        """How long ``ws`` has been silent while it should not be (audio was sent on it and
        it is being read); 0 otherwise. The later of the last frame read and the last bytes
        received counts: a reader that is behind is not a dead link."""
        if not self._audio_on_link or self._paused is ws:
            return 0.0
        return time.perf_counter() - max(self._last_frame_t, ws.last_data_t)

    def running_tasks(self) -> list[asyncio.Task[None]]:
        """The supervising task, while it runs."""
        task = self._task
        return [task] if task is not None and not task.done() else []

    @property
    def connected(self) -> bool:
        """True while a connection is current."""
        return self._ws is not None


class _SetupFailed(Exception):
    """The connection being set up failed before it became current (``error``: garbage the
    server sent; ``None``: it closed)."""

    def __init__(self, error: S2STError | None) -> None:
        super().__init__("setup failed")
        self.error = error


class _Watchdog:
    """Drops a connection on which audio was sent but from which no frame came for
    ``timeout_s`` (``TransportOptions.receive_timeout_s``; ``None``: never). A timer handle on
    the loop, re-armed for the time left: no task, no wake-up per frame."""

    __slots__ = ("_handle", "_link", "_loop", "_timeout", "_ws", "fired")

    def __init__(self, link: Supervisor, ws: LiveConnection, timeout_s: float | None) -> None:
        self._link, self._ws, self._timeout = link, ws, timeout_s
        self._loop = asyncio.get_running_loop()
        self.fired = False
        self._handle = None if timeout_s is None else self._loop.call_later(timeout_s, self._check)

    def _check(self) -> None:
        timeout = self._timeout
        assert timeout is not None
        idle = self._link.idle_s(self._ws)
        if idle >= timeout:
            self.fired = True
            logger.warning(
                "no frame from the server for %.1f s while streaming: dropping the connection",
                idle,
            )
            abort(self._ws)
            return
        self._handle = self._loop.call_later(max(0.05, timeout - idle), self._check)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
