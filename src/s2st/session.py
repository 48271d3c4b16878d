"""``S2STSession``: one translation session over one or more WebSocket connections.

The session is the thin asyncio layer over [`s2st.protocol.ClientProtocol`][s2st.protocol.ClientProtocol]. It owns
exactly one background task (the *supervisor*, which reads frames and reconnects) plus the
streaming tasks the user starts with [`S2STSession.start_stream()`][s2st.session.S2STSession.start_stream]; all of them are
cancelled and awaited by [`S2STSession.aclose()`][s2st.session.S2STSession.aclose], which is idempotent and bounded in time.

The session *holds* its parts (composition; each piece of state has one owner): the sans-I/O
protocol core (wire state, replay buffer, resumption, output ledger), the output watch (what
finish() and the metrics need), the event queue, the `Supervisor` (the socket, the send lock,
reconnection), the `Sender` (converting and sending the user's audio) and the `Finisher` (how
the session ends). See the architecture page of the docs.

Backpressure policy: events wait in a bounded queue (``max_pending_events``). When it is full
the socket is not read until the consumer has taken half of it, TCP flow control slows the
server's sends, and no event is ever dropped.
"""

# Size: about a quarter of this module is the docstrings of the public session API (they render
# in the docs); the work is in the parts the session holds (s2st._io).
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from ._io.finishing import Finisher
from ._io.options import SessionOptions
from ._io.queue import BoundedQueue
from ._io.sender import Sender
from ._io.supervisor import Supervisor
from ._io.target import ConnectionTarget
from ._io.tasks import stream_then_finish
from ._io.transport import TransportOptions
from ._watch import OutputWatch
from .config import TranslationConfig
from .errors import (
    ConcurrencyError,
    SessionClosedError,
    UnconfirmedAudio,
)
from .events import Event
from .metrics import LatencyTracker, SessionMetrics
from .protocol import ClientProtocol, ConnectionState
from .reconnect import ReconnectPolicy
from .stats import SessionStats

__all__ = ["S2STSession"]

logger = logging.getLogger("s2st.session")


class S2STSession:
    """A live translation session. Create it with [`s2st.S2STClient.connect()`][s2st.client.S2STClient.connect].

    Use it as an async context manager and iterate it for events::

        async with client.connect(target_language="cmn") as session:
            session.start_stream("speech.wav")          # paced at 1x, then finish()
            async for event in session:
                ...

    Iteration does not stop at ``TurnComplete``: it ends when the session is closed (by
    [`finish()`][s2st.session.S2STSession.finish], [`aclose()`][s2st.session.S2STSession.aclose] or the server). If the session ended because of an error,
    the iteration raises that error (a [`S2STError`][s2st.errors.S2STError]) after the events
    received before it. Only one task may iterate at a time ([`ConcurrencyError`][s2st.errors.ConcurrencyError]).
    """

    def __init__(
        self,
        target: ConnectionTarget,
        config: TranslationConfig,
        *,
        setup_timeout_s: float = 15.0,
        reconnect: ReconnectPolicy | None = None,
        max_pending_events: int = 1024,
        max_replay_bytes: int | None = 16 * 1024 * 1024,
        transport: TransportOptions | None = None,
        trailing_silence_ms: int = 1000,
        silence_warning_s: float | None = 6.0,
    ) -> None:
        options = SessionOptions(
            setup_timeout_s=setup_timeout_s,
            reconnect=reconnect or ReconnectPolicy(),
            max_pending_events=max_pending_events,
            max_replay_bytes=max_replay_bytes,
            transport=transport or TransportOptions(),
            trailing_silence_ms=trailing_silence_ms,
            silence_warning_s=silence_warning_s,
        )
        self._options = options
        self._target = target
        self.config = config
        self.reconnect_policy = options.reconnect
        self.stats = SessionStats()
        self._tracker = LatencyTracker(clock=time.perf_counter)
        self._watch = OutputWatch(self._tracker, silence_warning_s=options.silence_warning_s)
        # The protocol core validates the setup now; open() gives it the final model resource
        # (known only once credentials load, on Vertex AI).
        self._proto = self._protocol(
            f"projects/p/locations/l/publishers/google/models/{config.model}"
            if target.backend == "vertex"
            else f"models/{config.model}"
        )
        # Made by open(), which has the running loop: the queue and the supervisor.
        self._events: BoundedQueue[Event] | None = None
        self._link: Supervisor | None = None
        self._sender, self._finisher = self._parts()
        self._user_tasks: set[asyncio.Task[Any]] = set()
        self._reading = False
        self._opened = False
        self._closed = False
        self._closing = False

    def _parts(self) -> tuple[Sender, Finisher]:
        config, options = self.config, self._options
        sender = Sender(
            config=config,
            backend=self._target.backend,
            proto=self._proto,
            stats=self.stats,
            tracker=self._tracker,
            watch=self._watch,
            trailing_silence_ms=options.trailing_silence_ms,
            link=self._writable_link,
            raise_on_close=not options.reconnect.enabled,
        )
        finisher = Finisher(
            proto=self._proto,
            watch=self._watch,
            stats=self.stats,
            sample_rate=config.input_sample_rate,
            last_user_message=lambda: sender.last_user_message,
        )
        return sender, finisher

    def _protocol(self, model_resource: str) -> ClientProtocol:
        config, backend = self.config, self._target.backend
        policy = self.reconnect_policy
        return ClientProtocol(
            config.build_setup(model_resource=model_resource, backend=backend),
            casing="camel" if config.resolved_dialect == "live_translate" else "snake",
            sample_rate=config.input_sample_rate,
            track_consumption=config.session_resumption.resolve_transparent(backend),
            max_replay_bytes=self._options.max_replay_bytes,
            clock=time.perf_counter,
            replay_window_s=policy.replay_window_s,
            max_replay_window_s=policy.max_replay_window_s,
        )

    async def __aenter__(self) -> S2STSession:
        """Open the session (`open`); ``async with client.connect(...) as session``."""
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the session (`aclose`), bounded in time, whatever ended the block."""
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._proto.state.value
        return (
            f"S2STSession(target_language={self.config.target_language!r}, "
            f"backend={self._target.backend!r}, state={state!r})"
        )

    @property
    def metrics(self) -> SessionMetrics:
        """Latency figures so far: time to first translated audio, ear-to-voice lag per
        segment, drift, reconnect downtime (see `s2st.metrics`). Each new per-segment
        lag is also delivered as a [`LatencyMeasurement`][s2st.events.LatencyMeasurement] event."""
        return self._tracker.snapshot()

    @property
    def closed(self) -> bool:
        """True once the session has ended (for any reason)."""
        return self._closed or (self._events is not None and self._events.ended)

    @property
    def session_id(self) -> str | None:
        """The server's session id (Vertex AI sends one in ``setupComplete``), else ``None``."""
        return self._proto.session_id

    @property
    def reconnects(self) -> int:
        """Reconnections so far (each announced by a [`Reconnected`][s2st.events.Reconnected]
        event)."""
        return self._link.reconnects if self._link is not None else 0

    async def open(self) -> None:
        """Connect, send ``setup`` and wait for ``setupComplete``. Called by ``async with``.

        Raises:
            SetupTimeoutError: no ``setupComplete`` within ``setup_timeout_s``.
            HandshakeError: the upgrade was refused (401/403 ``AuthenticationError``, 404 ...).
            ConnectionClosedError: the server closed after ``setup`` (1007, 1008 ...).
        """
        if self._opened:
            raise SessionClosedError(
                "a session can be opened only once; call client.connect() again"
            )
        self._opened = True
        self._events = BoundedQueue(
            self._options.max_pending_events, on_take=self.stats.record_delivery
        )
        self._link = Supervisor(
            target=self._target,
            transport=self._options.transport,
            setup_timeout_s=self._options.setup_timeout_s,
            policy=self.reconnect_policy,
            proto=self._proto,
            watch=self._watch,
            queue=self._events,
            stats=self.stats,
            on_end=self._end,
        )
        try:
            resource = await self._target.model_resource()
            self._proto.replace_setup(
                self.config.build_setup(model_resource=resource, backend=self._target.backend)
            )
            await self._link.connect()
        except BaseException:
            self._closed = True
            self._proto.close()
            self._events.end()
            raise

    async def aclose(self) -> None:
        """Close the session: stop streaming tasks, close the connection (bounded by
        ``close_timeout_s`` even if the server never answers) and end the iteration.
        Events already received stay readable. Idempotent."""
        if self._closed:
            return
        self._closed = self._closing = True
        current = asyncio.current_task()
        tasks = [t for t in self._user_tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._options.transport.close_timeout_s + 1)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                logger.debug("task %s ended with %r", task.get_name(), task.exception())
        heard_on = None
        if self._link is not None:
            await self._link.aclose()
            heard_on = self._link.heard_on
        error = self._finisher.unheard_at_close(heard_on)
        if self._proto.state is not ConnectionState.CLOSED:
            self._proto.close()
        if self._events is not None:
            self._events.end(error)
        logger.debug("session closed")

    def running_tasks(self) -> list[asyncio.Task[Any]]:
        """The background tasks this session started that have not ended yet: its connection
        supervisor and the streaming tasks of `start_stream()`. Empty once `aclose()` has
        returned (a leak check for tests)."""
        tasks = [t for t in self._user_tasks if not t.done()]
        if self._link is not None:
            tasks.extend(self._link.running_tasks())
        return tasks

    def unconfirmed_audio(self) -> UnconfirmedAudio | None:
        """The user's audio that no server confirmation covers yet, in order (see
        [`UnconfirmedAudio`][s2st.errors.UnconfirmedAudio]), or ``None`` when there is none. On a server
        that never confirms (no resumption) that is everything still held for replay."""
        return self._finisher.unconfirmed_audio()

    def _end(self, error: BaseException | None) -> None:
        """The supervisor ended the session (``None``: the server ended it normally)."""
        if error is None:
            logger.info("the server ended the session")
        else:
            logger.info("session ended: %s", error)
            # What the server never confirmed goes back to the application with the error.
            self._finisher.ended(error)
        assert self._events is not None
        self._events.end(error)

    def __aiter__(self) -> AsyncIterator[Event]:
        """``async for event in session``: every event until the session ends."""
        return self

    async def __anext__(self) -> Event:
        """The next event; ``StopAsyncIteration`` at a normal end, the session's typed error
        after an abnormal one."""
        buf = self._events
        if buf is None:
            raise SessionClosedError(
                "the session is not open; use `async with client.connect(...)`"
            )
        if self._reading:
            raise ConcurrencyError("another task is already iterating this session")
        if len(buf):  # no suspension when events are waiting
            return buf.take()
        self._reading = True
        try:
            while not len(buf):
                await buf.arrival()
            return buf.take()
        finally:
            self._reading = False

    async def receive(self, timeout_s: float | None = None) -> Event:
        """Return the next event; raise ``StopAsyncIteration`` at the end of the session,
        ``asyncio.TimeoutError`` if none arrives within ``timeout_s``."""
        return await asyncio.wait_for(self.__anext__(), timeout_s)

    async def send_audio(
        self,
        audio: bytes | bytearray | memoryview | np.ndarray[Any, Any],
        *,
        sample_rate: int | None = None,
        channels: int = 1,
    ) -> None:
        """Send audio now (no pacing; see [`stream()`][s2st.session.S2STSession.stream] for files).

        ``audio`` is little-endian int16 mono PCM bytes at ``sample_rate`` (default: the
        config's ``input_sample_rate``, 16 kHz), or a numpy array (int16, float in [-1, 1],
        ...; shape ``(frames,)`` or ``(frames, channels)``) at ``sample_rate``. Anything not
        16-bit mono at the input rate is converted with a streaming resampler that keeps its
        state between calls. Large buffers are split into messages of at most 200 ms.

        While the session is between two connections the audio is held and sent, in order,
        as soon as the next connection is ready: nothing is lost.

        Raises:
            SessionClosedError: the session is closed.
            AudioFormatError: the audio cannot be interpreted (odd byte count, NaN, ...).
        """
        await self._sender.audio(audio, sample_rate, channels)

    async def end_audio(self) -> None:
        """Tell the server the input has ended so it flushes the last words.

        Gemini API: ``audioStreamEnd``. Vertex AI, where ``audioStreamEnd`` is reportedly
        rejected (PROTOCOL.md §4.2): ``trailing_silence_ms`` of silence instead, which lets the
        server's activity detection close the last utterance.
        """
        await self._sender.end()

    async def activity_start(self) -> None:
        """Mark the start of speech (``activityStart``), for sessions whose automatic activity
        detection is disabled (``realtime_input.automatic_activity_detection.disabled``).
        Translated output still playing is interrupted (an ``Interrupted`` event follows)."""
        await self._sender.activity("activity_start")

    async def activity_end(self) -> None:
        """Mark the end of speech (``activityEnd``); see [`activity_start()`][s2st.session.S2STSession.activity_start]."""
        await self._sender.activity("activity_end")

    async def stream(
        self,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
    ) -> None:
        """Send a whole source, paced: a file path, a numpy array or bytes (with
        ``sample_rate``), an (async) iterable of chunks, or a ``s2st.audio.Microphone``.

        Files and arrays are paced at ``speed`` x real time (``None``: as fast as possible);
        live sources are sent as they come. Does not end the input: call [`end_audio()`][s2st.session.S2STSession.end_audio] or
        [`finish()`][s2st.session.S2STSession.finish], or use [`start_stream()`][s2st.session.S2STSession.start_stream].
        """
        from .audio import open_source

        frames = open_source(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed)
        await self._sender.stream(frames)

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
        """Run [`stream()`][s2st.session.S2STSession.stream] (then [`finish()`][s2st.session.S2STSession.finish] unless ``finish=False``) in a task owned by
        the session: it is cancelled by [`aclose()`][s2st.session.S2STSession.aclose], and if it fails, the session ends
        with its error so the ``async for`` loop sees it."""

        def on_error(exc: BaseException) -> bool:
            logger.debug("streaming task failed: %r", exc)
            self._fail(exc)
            return True

        run = stream_then_finish(
            lambda: self.stream(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed),
            (lambda: self.finish(timeout_s=finish_timeout_s)) if finish else None,
            on_error,
        )
        return self._own(asyncio.create_task(run, name="s2st-stream"))

    async def finish(
        self,
        timeout_s: float = 30.0,
        *,
        idle_s: float = 2.0,
        confirm_timeout_s: float = 5.0,
        max_lag_s: float = 8.0,
    ) -> None:
        """End the input, wait until the translation of what was sent has arrived, then close.

        "Arrived" means that after the input ended no *voiced* output came for ``idle_s``:
        no transcript text, and no audio chunk with a sample louder than
        `SILENCE_PEAK` (128, about -48 dBFS; see
        [`AudioChunk.voiced`][s2st.events.AudioChunk.voiced]). The live-translate model
        never sends turn markers and streams PCM silence forever (EVIDENCE.md rows 6-7), so
        server silence, usage and resumption updates never count as output. Two refinements:

        * if no translation (voiced audio or translated text) has come since the user's last
          speech was sent, the wait goes on until ``max_lag_s`` after that speech (the model
          is a few seconds behind the speaker);
        * a ``TurnComplete``/``GenerationComplete`` after the input ended, from a server that
          sends them, shortens the wait to 0.5 s without output once the server confirmed all
          of the user's audio.

        While the session is reconnecting it keeps waiting, and the quiet is measured from the
        new connection. When the server confirms consumed messages
        (``lastConsumedClientMessageIndex``, or resumable handles) it also waits, up to
        ``confirm_timeout_s`` more, until all of the user's audio is confirmed. ``timeout_s``
        bounds the whole wait. Audio still unconfirmed when the session closes is logged as a
        warning and counted in ``stats.unconfirmed_audio_ms_at_close``.
        Events stay readable after the session closes.
        """
        if self._closed:
            return
        if not self._watch.input_ended:
            await self.end_audio()
        finisher = self._finisher
        await finisher.settle(
            timeout_s=timeout_s,
            idle_s=idle_s,
            confirm_timeout_s=confirm_timeout_s,
            max_lag_s=max_lag_s,
            closed=lambda: self.closed,
            reconnecting=self._reconnecting,
        )
        # Never a normal end while audio the user gave may not have been heard: mid-reconnect,
        # or when the closing handshake fails with audio unconfirmed (see aclose()).
        finisher.finishing = True
        if not self.closed and self._reconnecting():
            self._fail(
                finisher.incomplete(f"finish() ran out of time ({timeout_s} s) while reconnecting")
            )
        await self.aclose()
        if finisher.error is not None:
            raise finisher.error

    def _reconnecting(self) -> bool:
        return self._link is not None and self._link.reconnecting

    def _own(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._user_tasks.add(task)
        task.add_done_callback(self._user_tasks.discard)
        return task

    def _fail(self, error: BaseException) -> None:
        if self._events is not None:
            self._events.end(error)
        if not self._closing:
            self._own(asyncio.create_task(self.aclose(), name="s2st-close-after-error"))

    def _writable_link(self) -> Supervisor:
        """The supervisor to send through; SessionClosedError when nothing can be sent."""
        link, events = self._link, self._events
        if self._closed or link is None:
            raise SessionClosedError("the session is closed; no more audio can be sent")
        if events is not None and events.ended:
            raise SessionClosedError("the session has ended; no more audio can be sent")
        return link
