"""One connection of a session, from ``setup`` to its end (private).

A `Link` owns what belongs to one WebSocket: the future its setup waits on, why it failed,
whether its socket is paused, when its last frame came, whether audio was sent on it, and its
dead-link watchdog. It is the [`FrameSink`][s2st._io.transport.FrameSink] of its
[`LiveConnection`][s2st._io.transport.LiveConnection]: the messages of one socket read come
to `on_frames` from the event loop's read callback and are parsed by the protocol core, noted
by the session's [`OutputWatch`][s2st._watch.OutputWatch] and queued in one step. At
``setupComplete`` it replays the held messages (written without a coroutine, so nothing the
user sends can come between) and tells the supervisor it is current. `serve()` then waits, for
pings the core asks for and for the end, and says why the connection ended.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from s2st._watch import OutputWatch
from s2st.errors import AbnormalClosureError, ProtocolError, S2STError, TransportError
from s2st.events import Event, Reconnected
from s2st.protocol import ClientProtocol, ConnectionState
from s2st.reconnect import ReconnectPolicy
from s2st.stats import SessionStats

from .queue import BoundedQueue
from .transport import LiveConnection, abort

__all__ = ["Link", "LinkParts", "LinkPlan", "SetupFailed"]

logger = logging.getLogger("s2st.session")


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """Why a link is made: the ``Reconnected`` event it will announce (``attempt`` 0: the
    first connection, announced by nothing)."""

    reason: str = ""
    resumed: bool = False
    attempt: int = 0
    lost_at: float = 0.0


class SetupFailed(Exception):
    """The link failed before it became current (``error``: what the server did wrong;
    ``None``: it closed)."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__("setup failed")
        self.error = error


@dataclass(slots=True)
class LinkParts:
    """What a link uses of the session and does not own."""

    proto: ClientProtocol
    watch: OutputWatch
    queue: BoundedQueue[Event]
    stats: SessionStats
    policy: ReconnectPolicy
    on_current: Callable[[Link], None]  # the supervisor makes it its current link


class Link:
    """One connection (see the module docstring)."""

    __slots__ = (
        "_crash",
        "_failure",
        "_frames",
        "_last_frame_t",
        "_latency",
        "_out",
        "_paused",
        "_plan",
        "_wake",
        "audio_sent",
        "current",
        "dropped",
        "number",
        "parts",
        "ready",
        "ws",
    )

    def __init__(self, ws: LiveConnection, parts: LinkParts, plan: LinkPlan) -> None:
        self.ws, self.parts, self._plan = ws, parts, plan
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wake = asyncio.Event()
        self.current = False  # setupComplete came and the replay was written
        self.dropped = False  # the supervisor is closing it: nothing it says counts
        self.number = 0  # its number in the protocol core (set when it becomes current)
        self.audio_sent = False  # something was written on it (the watchdog's condition)
        self._failure: ProtocolError | None = None
        self._crash: Exception | None = None
        self._paused = False
        self._latency = 0.0  # the keepalive round trip last reported to the core
        self._last_frame_t = 0.0
        self._frames = 0  # frames read after it became current
        self._out: list[Event] = []

    @property
    def reconnection(self) -> bool:
        """True for a link made to replace a lost one."""
        return self._plan.attempt > 0

    @property
    def worked(self) -> bool:
        """True when frames came after its setup (it was not just a failed attempt)."""
        return self._frames > 0

    # ------------------------------------------------------------------ reading (hot path)
    def on_frames(self, ws: LiveConnection, frames: list[bytes]) -> None:
        """The messages of one socket read (see the module docstring)."""
        if self.dropped:
            return
        try:
            self._read(frames)
        except Exception as exc:  # a bug of ours: end the session with it, visibly
            self._out.clear()
            self._crash = exc
            self._settle(exc)
            self._wake.set()

    def _read(self, frames: list[bytes]) -> None:
        parts, ws = self.parts, self.ws
        proto, stats, watch = parts.proto, parts.stats, parts.watch
        arrived = time.perf_counter()
        gap = arrived - self._last_frame_t
        if self.current and not proto.track_consumption and gap > parts.policy.replay_window_s / 4:
            proto.observe_lag(gap)  # the server held its frames back: an update may be that late
        latency = ws.latency
        if latency != self._latency and latency:
            self._latency = latency
            proto.observe_lag(latency)  # the last keepalive round trip
        self._last_frame_t = arrived
        out = self._out  # one list for every read (queued from, then cleared)
        for frame in frames:
            try:
                events = proto.receive(frame, arrived)
            except ProtocolError as exc:
                self._fail(exc)
                break
            stats.frames_received += 1
            stats.events_generated += watch.see(events, arrived, out)
            if self.current:
                self._frames += 1
            elif proto.state is ConnectionState.ACTIVE and not self.ready.done():
                self._emit(out, arrived)
                out.clear()
                self._activate()
            if self.current and watch.go_away and parts.policy.on_go_away:
                # Leave this connection: the rest of this read goes with it (the output after
                # the resume point comes again on the next connection).
                self._wake.set()
                break
        stats.events_received = proto.events_received
        stats.events_hidden = proto.events_hidden
        self._emit(out, arrived)
        out.clear()
        if proto.ping_wanted:
            self._wake.set()
        if parts.queue.full and self.current:
            ws.pause_reading()
            self._paused = True
            parts.queue.on_room(self._resume_reading)

    def _emit(self, events: list[Event], arrived: float) -> None:
        put = self.parts.queue.put_nowait
        for event in events:
            put(event, arrived)

    def _resume_reading(self) -> None:
        if self._paused and not self.dropped:
            self.ws.resume_reading()
        self._paused = False

    def _activate(self) -> None:
        """``setupComplete`` arrived: replay the held messages, become current and (on a
        reconnection) announce it. Synchronous: nothing the user sends can come between."""
        parts, plan, ws = self.parts, self._plan, self.ws
        replayed = parts.proto.replay()
        stats = parts.stats
        for message in replayed:
            if not ws.send_now(message.frame, force=True):
                # Closing: what was not written stays held (the core marks everything
                # unconfirmed again when the connection is lost).
                failed = TransportError("the server closed the new connection during the replay")
                failed.retryable = True  # like any failed attempt: try again
                self._settle(SetupFailed(failed))
                return
            if message.kind == "audio":
                stats.audio_messages_sent += 1
                stats.audio_ms_sent += message.audio_ms
        self.current, self.number = True, parts.proto.connections
        self.audio_sent = bool(replayed)
        self._last_frame_t = time.perf_counter()
        parts.on_current(self)
        if plan.attempt:
            now = time.perf_counter()
            # finish() measures quiet from the new connection, not from before the outage.
            parts.watch.quiet_from = max(parts.watch.quiet_from, now)
            stats.events_generated += 1
            event = Reconnected(
                reason=plan.reason,
                resumed=plan.resumed,
                attempt=plan.attempt,
                downtime_s=time.monotonic() - plan.lost_at,
                replayed_messages=len(replayed),
                replayed_audio_ms=sum(m.audio_ms for m in replayed),
            )
            parts.queue.put_nowait(event, now)
            parts.watch.tracker.on_event(event, t=now)
        if not self.ready.done():
            self.ready.set_result(None)

    def _settle(self, error: BaseException) -> None:
        """The setup ends with ``error`` (no effect once the link is current)."""
        if not self.ready.done():
            self.ready.set_exception(error)

    def _fail(self, error: ProtocolError) -> None:
        if self.current:
            self._failure = error
            self._wake.set()
        else:
            self._settle(SetupFailed(error))

    def on_lost(self, ws: LiveConnection) -> None:
        """The connection closed (any side, any reason)."""
        self._settle(SetupFailed(None))
        self._wake.set()

    # ------------------------------------------------------------------ waiting for the end
    async def serve(self, receive_timeout_s: float | None) -> tuple[str, BaseException | None]:
        """Wait until the connection ends or must be left; return (reason, error). Wakes for
        pings the core wants and for the end, not per message."""
        watchdog = _Watchdog(self, receive_timeout_s)
        proto, watch, policy = self.parts.proto, self.parts.watch, self.parts.policy
        try:
            while True:
                if self._crash is not None:
                    raise self._crash
                if self._failure is not None:
                    return "protocol error", self._failure
                if watch.go_away and policy.on_go_away:
                    watch.go_away = False
                    return "go_away", None
                if self.ws.closed:
                    if watchdog.fired:
                        return "dead link", AbnormalClosureError(
                            1006,
                            "",
                            f"no frame from the server for {receive_timeout_s} s while "
                            "streaming (dead link)",
                        )
                    return f"closed {self.ws.received_code}", self.ws.closed_error()
                if proto.ping_wanted:
                    # A pong proves the server read what was sent before the ping (servers
                    # without a consumed index: see ClientProtocol.pong_received).
                    token = proto.ping_sent()
                    await self.ws.probe(functools.partial(proto.pong_received, token))
                    continue
                self._wake.clear()
                await self._wake.wait()
        finally:
            watchdog.cancel()

    def idle_s(self) -> float:
        """How long the server has been silent while it should not be (audio was sent on
        this link and it is being read); 0 otherwise. The later of the last frame read and
        the last bytes received counts: a reader that is behind is not a dead link."""
        if not self.audio_sent or self._paused:
            return 0.0
        return time.perf_counter() - max(self._last_frame_t, self.ws.last_data_t)

    def setup_error(self, error: BaseException | None) -> S2STError | BaseException:
        """The typed error for a setup that failed with ``error`` (see `SetupFailed`)."""
        if error is not None:
            return error
        closed = self.ws.closed_error()
        if closed is not None:
            return closed
        return TransportError("the server closed the connection during setup (1000)")


class _Watchdog:
    """Drops a link on which audio was sent but from which no frame came for ``timeout_s``
    (``TransportOptions.receive_timeout_s``; ``None``: never). A timer handle on the loop,
    re-armed for the time left: no task, no wake-up per frame."""

    __slots__ = ("_handle", "_link", "_loop", "_timeout", "fired")

    def __init__(self, link: Link, timeout_s: float | None) -> None:
        self._link, self._timeout = link, timeout_s
        self._loop = asyncio.get_running_loop()
        self.fired = False
        self._handle = None if timeout_s is None else self._loop.call_later(timeout_s, self._check)

    def _check(self) -> None:
        timeout = self._timeout
        assert timeout is not None
        idle = self._link.idle_s()
        if idle >= timeout:
            self.fired = True
            logger.warning(
                "no frame from the server for %.1f s while streaming: dropping the connection",
                idle,
            )
            abort(self._link.ws)
            return
        self._handle = self._loop.call_later(max(0.05, timeout - idle), self._check)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
