"""The connection half of ``S2STSession``: reading frames, reconnecting (private).

:class:`ConnectionLoop` holds the supervisor's logic: the hot read loop (``_pump``), the
handshake, and reconnection with resumption, replay and hiding of regenerated output. It is a
mixin of :class:`s2st.session.S2STSession`, which owns the state declared below.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ._buffer import EventBuffer
from ._resume import OutputLedger
from ._transport import TransportOptions, close_error, close_quietly, open_websocket
from .config import TranslationConfig
from .errors import (
    InvalidArgumentError,
    ProtocolError,
    SetupTimeoutError,
    TransportError,
)
from .events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    OutputTranscription,
    Reconnected,
    SessionResumptionUpdate,
    SetupComplete,
    TurnComplete,
)
from .metrics import LatencyTracker
from .protocol import ClientProtocol, ConnectionState
from .reconnect import ReconnectPolicy
from .stats import SessionStats

if TYPE_CHECKING:
    from .client import ConnectionTarget

__all__ = ["ConnectionLoop"]

logger = logging.getLogger("s2st.session")

_CONTENT_EVENTS = (InputTranscription, OutputTranscription, AudioChunk)
# Event types the session itself reacts to (a set lookup keeps the hot path cheap).
_WATCHED = frozenset(
    {
        InputTranscription,
        OutputTranscription,
        AudioChunk,
        SetupComplete,
        TurnComplete,
        GenerationComplete,
        GoAway,
        SessionResumptionUpdate,
    }
)


class ConnectionLoop:
    """Mixin: the supervisor task's work for :class:`s2st.session.S2STSession`."""

    # State owned by S2STSession (set in its __init__ / open()).
    config: TranslationConfig
    reconnect_policy: ReconnectPolicy
    stats: SessionStats
    session_id: str | None
    reconnects: int
    _target: ConnectionTarget
    _transport: TransportOptions
    _setup_timeout_s: float
    _proto: ClientProtocol
    _events: EventBuffer | None
    _ws: ClientConnection | None
    _send_lock: asyncio.Lock | None
    _ledger: OutputLedger
    _tracker: LatencyTracker
    _closing: bool
    _input_ended: bool
    _last_event_t: float
    _done_after_input: asyncio.Event | None
    _reconnecting: bool
    _failures_in_a_row: int
    _rng: random.Random

    def _watch(self, event: Event, arrived: float) -> bool:
        """Note what the session itself needs from an event; True if the connection must be
        left (``goAway`` with reconnection on)."""
        if isinstance(event, _CONTENT_EVENTS):
            self._last_event_t = arrived
        elif isinstance(event, SetupComplete):
            self.session_id = event.session_id or self.session_id
        elif isinstance(event, (TurnComplete, GenerationComplete)):
            if self._input_ended:
                assert self._done_after_input is not None
                self._done_after_input.set()
        elif isinstance(event, GoAway):
            return self.reconnect_policy.on_go_away
        elif isinstance(event, SessionResumptionUpdate):
            if event.resumable and event.new_handle:
                self._ledger.checkpoint()
        return False

    async def _deliver(
        self, event: Event, arrived: float | None = None, *, generated: bool = False
    ) -> None:
        assert self._events is not None
        arrived = time.perf_counter() if arrived is None else arrived
        if generated:
            self.stats.events_generated += 1
        kept = self._ledger.filter(event)
        if kept is None:
            self.stats.events_hidden += 1
            return
        event = kept
        self._watch(event, arrived)
        await self._events.put(event, arrived)
        measured = self._tracker.on_event(event, t=arrived)
        if measured is not None:
            self.stats.events_generated += 1
            await self._events.put(measured, arrived)

    async def _handshake(
        self, *, resume_handle: str | None
    ) -> tuple[ClientConnection, list[Event]]:
        url = self._target.url
        headers = await self._target.headers()
        ws = await open_websocket(url, headers, self._transport, secrets=self._target.secrets())
        events: list[Event] = []
        try:
            await ws.send(self._proto.start(resume_handle=resume_handle), text=True)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._setup_timeout_s
            while self._proto.state is not ConnectionState.ACTIVE:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                frame = await asyncio.wait_for(ws.recv(), remaining)
                parsed = self._proto.receive(frame)
                self.stats.frames_received += 1
                self.stats.events_received += len(parsed)
                events.extend(parsed)
        except asyncio.TimeoutError:
            await self._drop(ws)
            raise SetupTimeoutError(
                f"no setupComplete within {self._setup_timeout_s} s; the server may be "
                "overloaded or the endpoint is not a Live API server"
            ) from None
        except ConnectionClosed as exc:
            await self._drop(ws)
            closed = close_error(exc)
            if closed is not None:
                raise closed from None
            raise TransportError("the server closed the connection during setup (1000)") from None
        except BaseException:
            await self._drop(ws)
            raise
        logger.info("connected (%s)", "resumed" if resume_handle else "new session")
        return ws, events

    async def _drop(self, ws: ClientConnection) -> None:
        if self._proto.state in (ConnectionState.SETUP_SENT, ConnectionState.ACTIVE):
            self._proto.connection_lost()
        await close_quietly(ws, timeout_s=self._transport.close_timeout_s)

    async def _pump(self, ws: ClientConnection) -> tuple[str, BaseException | None]:
        """Read frames until the connection ends or must be left; return (reason, error).

        This is the hot path: events go straight into the buffer unless it is full."""
        stats, receive, buf, ledger = self.stats, self._proto.receive, self._events, self._ledger
        track, track_audio = self._tracker.on_event, self._tracker.on_audio
        assert buf is not None
        items, maxsize, not_empty = buf._items, buf._maxsize, buf._not_empty
        clock = time.perf_counter
        recv = ws.recv
        leave = False
        try:
            while True:
                frame = await recv()
                arrived = clock()
                events = receive(frame)
                stats.frames_received += 1
                stats.events_received += len(events)
                for event in events:
                    cls = type(event)
                    if cls is AudioChunk and not ledger.active:  # the hot path, inlined
                        self._last_event_t = arrived
                        samples = len(event.data)  # type: ignore[union-attr]
                        ledger.since.samples += samples
                        measured = track_audio(samples, event.sample_rate, arrived)  # type: ignore[union-attr]
                    else:
                        if cls in _WATCHED:
                            kept = ledger.filter(event)
                            if kept is None:
                                stats.events_hidden += 1
                                continue  # already delivered before the reconnection
                            event = kept
                            leave |= self._watch(event, arrived)
                        measured = track(event, t=arrived)
                    if len(items) < maxsize:  # inline put(): no coroutine per event
                        items.append((arrived, event))
                        if not not_empty.is_set():
                            not_empty.set()
                    else:
                        await buf.put(event, arrived)
                    if measured is not None:
                        stats.events_generated += 1
                        await buf.put(measured, arrived)
                if leave:
                    return "go_away", None
        except ConnectionClosed as exc:
            error = close_error(exc)
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            return f"closed {code}", error
        except ProtocolError as exc:
            return "protocol error", exc

    async def _supervise(self) -> None:
        try:
            while True:
                ws = self._ws
                assert ws is not None
                frames_before = self.stats.frames_received
                reason, error = await self._pump(ws)
                if self._closing:
                    return
                lost_at = time.monotonic()
                async with self._lock():
                    self._ws = None
                    await self._drop(ws)
                # A connection that failed before a single frame parsed is a failed attempt:
                # counted across reconnections, so a server that accepts setup and then always
                # fails cannot keep the session reconnecting forever.
                healthy = self.stats.frames_received > frames_before
                self._failures_in_a_row = 0 if healthy else self._failures_in_a_row + 1
                policy = self.reconnect_policy
                if not policy.should_retry(error) or (
                    self._failures_in_a_row >= policy.max_attempts
                ):
                    self._end(error)
                    return
                logger.info("connection ended (%s); reconnecting", reason)
                self._reconnecting = True
                try:
                    await self._reconnect(reason, error, lost_at)
                finally:
                    self._reconnecting = False
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._end(exc)

    def _lock(self) -> asyncio.Lock:
        assert self._send_lock is not None
        return self._send_lock

    def _end(self, error: BaseException | None) -> None:
        if error is None:
            logger.info("the server ended the session")
        else:
            logger.info("session ended: %s", error)
        assert self._events is not None
        self._events.end(error)

    async def _reconnect(self, reason: str, error: BaseException | None, lost_at: float) -> None:
        policy = self.reconnect_policy
        handle = self._proto.resumption_handle if policy.resume else None
        last_error: BaseException | None = error
        for attempt in range(1, policy.max_attempts + 1 - self._failures_in_a_row):
            await asyncio.sleep(policy.backoff_s(attempt + self._failures_in_a_row, self._rng))
            try:
                ws, events = await self._handshake(resume_handle=handle)
            except InvalidArgumentError as exc:
                if handle is None:
                    raise
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
            async with self._lock():
                replayed = self._proto.replay()
                for message in replayed:
                    await ws.send(message.frame, text=True)
                    if message.kind == "audio":
                        self.stats.audio_messages_sent += 1
                        self.stats.audio_ms_sent += message.audio_ms
                self._ws = ws
            self.reconnects += 1
            self._ledger.resume()
            for event in events:
                await self._deliver(event)
            await self._deliver(
                Reconnected(
                    reason=reason,
                    resumed=handle is not None,
                    attempt=attempt,
                    downtime_s=time.monotonic() - lost_at,
                    replayed_messages=len(replayed),
                    replayed_audio_ms=sum(m.audio_ms for m in replayed),
                ),
                generated=True,
            )
            return
        assert last_error is not None
        raise last_error
