"""The connection half of ``S2STSession``: reading frames, reconnecting (private).

`ConnectionLoop` holds the supervisor's logic: the hot read loop (``_pump``), the
handshake, and reconnection with resumption, replay and hiding of regenerated output. It is a
mixin of [`s2st.session.S2STSession`][s2st.session.S2STSession], which owns the state declared below.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from s2st.config import TranslationConfig
from s2st.errors import (
    AbnormalClosureError,
    InvalidArgumentError,
    ProtocolError,
    S2STError,
    SetupTimeoutError,
    TransportError,
    UnconfirmedAudio,
    UnknownSetupFieldError,
    UnsupportedModelError,
)
from s2st.events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    OutputTranscription,
    Reconnected,
    SessionResumptionUpdate,
    SetupComplete,
    SilentOutputWarning,
    TurnComplete,
    chunk_voiced,
)
from s2st.metrics import LatencyTracker
from s2st.protocol import ClientProtocol, ConnectionState, SentMessage
from s2st.protocol.ledger import OutputLedger
from s2st.reconnect import ReconnectPolicy
from s2st.stats import SessionStats

from .queue import BoundedQueue
from .transport import TransportOptions, abort, close_error, close_quietly, open_websocket

if TYPE_CHECKING:
    from s2st.client import ConnectionTarget

__all__ = ["ConnectionLoop"]

logger = logging.getLogger("s2st.session")

_CONTENT_EVENTS = (InputTranscription, OutputTranscription, AudioChunk)
_CONTENT = frozenset(_CONTENT_EVENTS)
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
    """Mixin: the supervisor task's work for [`s2st.session.S2STSession`][s2st.session.S2STSession]."""

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
    _events: BoundedQueue[Event] | None
    _ws: ClientConnection | None
    _send_lock: asyncio.Lock | None
    _ledger: OutputLedger
    _tracker: LatencyTracker
    _closing: bool
    _input_ended: bool
    _last_voiced_t: float
    _last_translation_t: float
    _quiet_from: float
    _heard_voice: bool
    _silence_warning_s: float | None
    _done_after_input: asyncio.Event | None
    _reconnecting: bool
    _failures_in_a_row: int
    _failing_since: float | None
    _rng: random.Random
    _last_frame_t: float
    _audio_on_link: bool
    _ended_with_audio: bool
    _closed_cleanly: bool

    def unconfirmed_audio(self) -> UnconfirmedAudio | None:
        """The user's audio that no server confirmation covers yet, in order (see
        [`UnconfirmedAudio`][s2st.errors.UnconfirmedAudio]), or ``None`` when there is none. On a server
        that never confirms (no resumption) that is everything still held for replay."""
        pcm, ms = self._proto.unconfirmed_audio()
        if not pcm:
            return None
        return UnconfirmedAudio(pcm, self.config.input_sample_rate, ms)

    def _output_activity(self, event: Event, arrived: float) -> SilentOutputWarning | None:
        """Note voiced output (transcript text, or audio above ``SILENCE_PEAK``): the clock of
        `finish()`. Server silence does not count (EVIDENCE.md row 7). Returns the one
        [`SilentOutputWarning`][s2st.events.SilentOutputWarning] when it is due."""
        cls = type(event)
        if cls is AudioChunk:
            if chunk_voiced(event.data):  # type: ignore[union-attr]
                self._last_voiced_t = self._last_translation_t = arrived
                self._heard_voice = True
                return None
            return None if self._heard_voice else self._silence_check()
        if event.text:  # type: ignore[union-attr]
            self._last_voiced_t = arrived
            self._heard_voice = True
            if cls is OutputTranscription:
                self._last_translation_t = arrived
        return None

    def _silence_check(self) -> SilentOutputWarning | None:
        """Only silence came back so far: warn once if the user has sent enough speech."""
        limit = self._silence_warning_s
        if limit is None:
            return None
        speech = self._tracker.speech_sent_s
        if speech < limit:
            return None
        self._silence_warning_s = None  # once per session
        output = self._tracker.snapshot().output_audio_s
        message = (
            f"{speech:.1f} s of speech sent, but the server returned only silence "
            f"({output:.1f} s) and no transcript. Usually a setup field was lost on the way "
            "(a proxy that drops translationConfig or the S2ST switch), or the wrong target "
            "language or input sample rate; check the setup your server receives."
        )
        logger.warning("%s", message)
        return SilentOutputWarning(speech_sent_s=speech, output_audio_s=output, message=message)

    def _watch(self, event: Event, arrived: float) -> bool:
        """Note what the session itself needs from an event; True if the connection must be
        left (``goAway`` with reconnection on)."""
        if isinstance(event, _CONTENT_EVENTS):
            pass  # output activity is noted by the caller (_output_activity)
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
                latency = self._ws.latency if self._ws is not None else 0.0
                if latency:
                    self._proto.observe_lag(latency)  # the last keepalive round trip
                if self._proto.track_consumption:
                    self._ledger.checkpoint()
                else:  # no index: output of the replay window will come again
                    window = self._proto.replay_window_s
                    self._ledger.checkpoint(now=arrived, keep_after=arrived - window)
        return False

    async def _deliver(
        self, event: Event, arrived: float | None = None, *, generated: bool = False
    ) -> None:
        assert self._events is not None
        arrived = time.perf_counter() if arrived is None else arrived
        if generated:
            self.stats.events_generated += 1
        warning = (
            self._output_activity(event, arrived) if isinstance(event, _CONTENT_EVENTS) else None
        )
        kept = self._ledger.filter(event, arrived)
        if kept is None:
            self.stats.events_hidden += 1
            return
        event = kept
        self._watch(event, arrived)
        await self._events.put(event, arrived)
        measured = self._tracker.on_event(event, t=arrived)
        for extra in (measured, warning):
            if extra is not None:
                self.stats.events_generated += 1
                await self._events.put(extra, arrived)

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
            error: S2STError = SetupTimeoutError(
                f"no setupComplete within {self._setup_timeout_s} s; the server may be "
                "overloaded or the endpoint is not a Live API server"
            )
        except ConnectionClosed as exc:
            error = close_error(exc) or TransportError(
                "the server closed the connection during setup (1000)"
            )
        except BaseException:
            await self._drop(ws)
            raise
        else:
            logger.info("connected (%s)", "resumed" if resume_handle else "new session")
            self._last_frame_t = time.perf_counter()
            self._audio_on_link = False
            return ws, events
        await self._drop(ws)
        raise error  # outside the except block: no foreign exception in the chain

    async def _drop(self, ws: ClientConnection) -> None:
        if self._proto.state in (ConnectionState.SETUP_SENT, ConnectionState.ACTIVE):
            self._proto.connection_lost()
        # A completed closing handshake: the server read all that was sent on this connection.
        self._closed_cleanly = await close_quietly(ws, timeout_s=self._transport.close_timeout_s)

    async def _pump(self, ws: ClientConnection) -> tuple[str, BaseException | None]:
        """Read frames until the connection ends or must be left; return (reason, error).

        This is the hot path: events go straight into the buffer unless it is full."""
        stats, receive, buf, ledger = self.stats, self._proto.receive, self._events, self._ledger
        track, track_audio = self._tracker.on_event, self._tracker.on_audio
        assert buf is not None
        put_nowait = buf.put_nowait
        clock = time.perf_counter
        recv = ws.recv
        voiced_of = chunk_voiced
        leave = False
        history = ledger.history
        proto = self._proto
        unindexed = not proto.track_consumption
        gap_floor = self.reconnect_policy.replay_window_s / 4
        watchdog = self._watchdog(ws)
        try:
            while True:
                frame = await recv()
                arrived = clock()
                if arrived - self._last_frame_t > gap_floor and unindexed:
                    # The server held its frames back: an update in them may be that late.
                    proto.observe_lag(arrived - self._last_frame_t)
                self._last_frame_t = arrived
                events = receive(frame)
                stats.frames_received += 1
                stats.events_received += len(events)
                for event in events:
                    cls = type(event)
                    warning = None
                    if cls is AudioChunk and not ledger.active:  # the hot path, inlined
                        data = event.data  # type: ignore[union-attr]
                        samples = len(data)
                        voiced = voiced_of(data)
                        if voiced:  # the ledger counts voiced audio only (_resume.py)
                            ledger.since.samples += samples
                            if history is not None:
                                history.append((arrived, samples))
                            self._last_voiced_t = self._last_translation_t = arrived
                            self._heard_voice = True
                        elif not self._heard_voice:
                            warning = self._silence_check()
                        measured = track_audio(samples, event.sample_rate, arrived, voiced)  # type: ignore[union-attr]
                    else:
                        if cls in _CONTENT:
                            warning = self._output_activity(event, arrived)
                        if cls in _WATCHED:
                            kept = ledger.filter(event, arrived)
                            if kept is None:
                                stats.events_hidden += 1
                                continue  # already delivered before the reconnection
                            event = kept
                            leave |= self._watch(event, arrived)
                        measured = track(event, t=arrived)
                    if not buf.full:  # no coroutine per event
                        put_nowait(event, arrived)
                    else:
                        await buf.put(event, arrived)
                    if measured is not None:
                        stats.events_generated += 1
                        await buf.put(measured, arrived)
                    if warning is not None:
                        stats.events_generated += 1
                        await buf.put(warning, arrived)
                if proto.ping_wanted:
                    await self._probe(ws)
                if leave:
                    return "go_away", None
        except ConnectionClosed as exc:
            if watchdog is not None and watchdog.fired:
                idle = self._transport.receive_timeout_s
                return "dead link", AbnormalClosureError(
                    1006, "", f"no frame from the server for {idle} s while streaming (dead link)"
                )
            error = close_error(exc)
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            return f"closed {code}", error
        except ProtocolError as exc:
            return "protocol error", exc
        finally:
            if watchdog is not None:
                watchdog.cancel()

    async def _probe(self, ws: ClientConnection) -> None:
        """Send a ping whose pong proves the server read what was sent before it (servers
        without a consumed index: see ClientProtocol.pong_received)."""
        proto = self._proto
        token = proto.ping_sent()
        try:
            waiter = await ws.ping()
        except ConnectionClosed:
            return  # the pump sees the same closure

        def answered(future: asyncio.Future[float]) -> None:
            if not future.cancelled() and future.exception() is None:
                proto.pong_received(token)

        waiter.add_done_callback(answered)  # type: ignore[attr-defined]

    def _watchdog(self, ws: ClientConnection) -> _Watchdog | None:
        timeout = self._transport.receive_timeout_s
        if timeout is None:
            return None
        return _Watchdog(self, ws, timeout)

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
                if self.stats.frames_received > frames_before:
                    self._failures_in_a_row, self._failing_since = 0, None
                else:
                    self._failures_in_a_row += 1
                    self._failing_since = self._failing_since or lost_at
                policy = self.reconnect_policy
                since = self._failing_since or lost_at
                if not policy.should_retry(error) or policy.exhausted(
                    self._failures_in_a_row, lost_at - since
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
            if isinstance(error, S2STError):
                # What the server never confirmed goes back to the application with the error.
                error.unconfirmed_audio = audio = self.unconfirmed_audio()
                self.stats.unconfirmed_audio_ms_at_close = audio.duration_ms if audio else 0.0
                self._ended_with_audio = True
        assert self._events is not None
        self._events.end(error)

    async def _reconnect(self, reason: str, error: BaseException | None, lost_at: float) -> None:
        """Connect again, resume and replay; every failure of an attempt (refused, garbage,
        closed during the replay) is one more attempt, within the policy's budget. Raises the
        last typed error when the budget is spent."""
        policy = self.reconnect_policy
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
            await asyncio.sleep(policy.backoff_s(failures + 1, self._rng, last_error))
            try:
                ws, events = await self._handshake(resume_handle=handle)
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
            replayed, failed = await self._replay(ws)
            if failed is not None:
                last_error = failed
                logger.info("reconnect attempt %d failed during the replay: %s", attempt, failed)
                continue
            self.reconnects += 1
            # finish() measures quiet from the new connection, not from before the outage.
            self._quiet_from = max(self._quiet_from, time.perf_counter())
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

    async def _replay(self, ws: ClientConnection) -> tuple[list[SentMessage], S2STError | None]:
        """Send the unconfirmed messages on the new connection and make it current; on a
        closure meanwhile, drop it (the messages stay held) and return the typed error."""
        async with self._lock():
            replayed = self._proto.replay()
            try:
                for message in replayed:
                    await ws.send(message.frame, text=True)
                    if message.kind == "audio":
                        self.stats.audio_messages_sent += 1
                        self.stats.audio_ms_sent += message.audio_ms
            except ConnectionClosed as exc:
                failed: S2STError = close_error(exc) or TransportError(
                    "the server closed the new connection during the replay"
                )
            else:
                self._ws = ws
                self._audio_on_link = bool(replayed)
                return replayed, None
            await self._drop(ws)
        return replayed, failed


class _Watchdog:
    """Drops a connection on which audio was sent but from which no frame came for
    ``timeout_s`` (``TransportOptions.receive_timeout_s``). A timer handle on the loop, re-armed
    for the time left: no task, no wake-up per frame."""

    __slots__ = ("_handle", "_link", "_loop", "_timeout", "_ws", "fired")

    def __init__(self, link: ConnectionLoop, ws: ClientConnection, timeout_s: float) -> None:
        self._link, self._ws, self._timeout = link, ws, timeout_s
        self._loop = asyncio.get_running_loop()
        self.fired = False
        self._handle = self._loop.call_later(timeout_s, self._check)

    def _check(self) -> None:
        link = self._link
        # The later of the last frame read and the last bytes received: a reader that is
        # behind (bytes arrived, frames not read yet) is not a dead link.
        arrived = max(link._last_frame_t, getattr(self._ws, "last_data_t", 0.0))
        idle = time.perf_counter() - arrived
        if idle >= self._timeout and link._audio_on_link:
            self.fired = True
            logger.warning(
                "no frame from the server for %.1f s while streaming: dropping the connection",
                idle,
            )
            abort(self._ws)
            return
        self._handle = self._loop.call_later(max(0.05, self._timeout - idle), self._check)

    def cancel(self) -> None:
        self._handle.cancel()
