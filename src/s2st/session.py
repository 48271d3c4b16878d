"""``S2STSession``: one translation session over one or more WebSocket connections.

The session is the thin asyncio layer over [`s2st.protocol.ClientProtocol`][s2st.protocol.ClientProtocol]. It owns
exactly one background task (the *supervisor*, which reads frames and reconnects) plus the
streaming tasks the user starts with [`S2STSession.start_stream()`][s2st.session.S2STSession.start_stream]; all of them are
cancelled and awaited by [`S2STSession.aclose()`][s2st.session.S2STSession.aclose], which is idempotent and bounded in time.

Backpressure policy: events wait in a bounded buffer (``max_pending_events``). When it is full
the supervisor stops reading the socket, websockets stops reading TCP after
``max_queue_frames``, and the server's sends slow down. No event is ever dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ._io.input import InputAudio
from ._io.queue import BoundedQueue
from ._validate import is_number
from ._io.supervisor import ConnectionLoop
from ._io.tasks import stream_then_finish
from ._io.transport import TransportOptions, close_error, close_quietly
from .config import TranslationConfig
from .errors import (
    ConcurrencyError,
    ConfigurationError,
    SessionClosedError,
    TranslationIncompleteError,
)
from .events import (
    Event,
)
from .metrics import LatencyTracker, SessionMetrics
from .protocol import ClientProtocol, ConnectionState, SentMessage
from .protocol.ledger import OutputLedger
from .reconnect import ReconnectPolicy
from .stats import SessionStats

if TYPE_CHECKING:
    from .client import ConnectionTarget

__all__ = ["S2STSession"]

logger = logging.getLogger("s2st.session")

_MAX_MESSAGE_MS = 200  # larger send_audio() buffers are split into messages of this length


class S2STSession(ConnectionLoop):
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
        if not (is_number(setup_timeout_s) and setup_timeout_s > 0):
            raise ConfigurationError(
                f"setup_timeout_s must be a positive number, got {setup_timeout_s!r}"
            )
        if (
            isinstance(max_pending_events, bool)
            or not isinstance(max_pending_events, int)
            or max_pending_events < 1
        ):
            raise ConfigurationError(
                f"max_pending_events must be an int >= 1, got {max_pending_events!r}"
            )
        if (
            isinstance(trailing_silence_ms, bool)
            or not isinstance(trailing_silence_ms, int)
            or not 0 <= trailing_silence_ms <= 10_000
        ):
            raise ConfigurationError(
                f"trailing_silence_ms must be an int from 0 to 10000, got {trailing_silence_ms!r}"
            )
        if max_replay_bytes is not None and (
            isinstance(max_replay_bytes, bool)
            or not isinstance(max_replay_bytes, int)
            or max_replay_bytes <= 0
        ):
            raise ConfigurationError(
                f"max_replay_bytes must be a positive int or None, got {max_replay_bytes!r}"
            )
        if silence_warning_s is not None and not (is_number(silence_warning_s) and silence_warning_s > 0):
            raise ConfigurationError(
                f"silence_warning_s must be a positive number or None, got {silence_warning_s!r}"
            )
        if transport is not None and not isinstance(transport, TransportOptions):
            raise ConfigurationError("transport must be a s2st.TransportOptions")
        self._target = target
        self.config = config
        self._setup_timeout_s = setup_timeout_s
        self.reconnect_policy = reconnect or ReconnectPolicy()
        self._transport = transport or TransportOptions()
        self._trailing_silence_ms = trailing_silence_ms
        self._max_replay_bytes = max_replay_bytes
        # Validate the setup now (the model resource is final only once credentials load).
        self._proto = self._protocol(
            f"projects/p/locations/l/publishers/google/models/{config.model}"
            if target.backend == "vertex"
            else f"models/{config.model}"
        )
        self._max_pending = max_pending_events
        self._events: BoundedQueue[Event] | None = None
        self._ws: ClientConnection | None = None
        self._send_lock: asyncio.Lock | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._user_tasks: set[asyncio.Task[Any]] = set()
        self._reading = False
        self._opened = False
        self._closed = False
        self._closing = False
        self._input_ended = False
        self._last_voiced_t = 0.0  # arrival of the last voiced output (see _output_activity)
        self._last_translation_t = 0.0  # ... of voiced audio or translated text only
        self._quiet_from = 0.0  # end of the input, or the latest reconnection (for finish())
        self._heard_voice = False
        self._silence_warning_s = silence_warning_s
        self._done_after_input: asyncio.Event | None = None  # created by open()
        self._input = InputAudio(config.input_sample_rate)
        self._rng = random.Random()
        self.session_id: str | None = None
        self.reconnects = 0
        self._reconnecting = False
        self._failures_in_a_row = 0
        self._failing_since: float | None = None
        self._finishing = False  # finish() is closing the session
        self._ended_with_audio = False  # _end() already reported the unconfirmed audio
        self._closed_cleanly = False  # the last connection the supervisor dropped closed cleanly
        self._finish_error: TranslationIncompleteError | None = None
        self._last_frame_t = 0.0  # arrival of the last frame (the dead-link watchdog reads it)
        self._audio_on_link = False  # something was sent on the current connection
        self._last_user_message: SentMessage | None = None
        self.stats = SessionStats()
        self._tracker = LatencyTracker(clock=time.perf_counter)
        # Without a consumed index (the Gemini API) the ledger keeps a history as long as the
        # largest replay window.
        unindexed = not config.session_resumption.resolve_transparent(target.backend)
        self._ledger = OutputLedger(
            history_s=self.reconnect_policy.max_replay_window_s + 1.0 if unindexed else None
        )

    def _protocol(self, model_resource: str) -> ClientProtocol:
        config, backend = self.config, self._target.backend
        policy = self.reconnect_policy
        return ClientProtocol(
            config.build_setup(model_resource=model_resource, backend=backend),
            casing="camel" if config.resolved_dialect == "live_translate" else "snake",
            sample_rate=config.input_sample_rate,
            track_consumption=config.session_resumption.resolve_transparent(backend),
            max_replay_bytes=self._max_replay_bytes,
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
        self._events = BoundedQueue(self._max_pending, on_take=self.stats.record_delivery)
        self._send_lock = asyncio.Lock()
        self._done_after_input = asyncio.Event()
        try:
            self._proto = self._protocol(await self._target.model_resource())
            ws, events = await self._handshake(resume_handle=None)
        except BaseException:
            self._closed = True
            self._proto.close()
            self._events.end()
            raise
        self._ws = ws
        self._proto.replay()  # nothing held yet; opens the way for audio
        for event in events:
            await self._deliver(event)
        self._supervisor = asyncio.create_task(self._supervise(), name="s2st-session-supervisor")

    async def aclose(self) -> None:
        """Close the session: stop streaming tasks, close the connection (bounded by
        ``close_timeout_s`` even if the server never answers) and end the iteration.
        Events already received stay readable. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing = True
        current = asyncio.current_task()
        tasks = [t for t in self._user_tasks if t is not current]
        if self._supervisor is not None and self._supervisor is not current:
            tasks.append(self._supervisor)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._transport.close_timeout_s + 1)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                logger.debug("task %s ended with %r", task.get_name(), task.exception())
        ws, self._ws = self._ws, None
        # No connection left: the supervisor closed the last one (say how it went).
        clean = self._closed_cleanly
        if ws is not None:
            clean = await close_quietly(ws, timeout_s=self._transport.close_timeout_s)
        error: TranslationIncompleteError | None = None
        if self._proto.state is not ConnectionState.CLOSED and not self._ended_with_audio:
            # After a clean closing handshake the server has read all that was sent (only audio
            # held for a next connection is unheard); otherwise any of it may be unheard, and
            # finish() then ends with an error that returns it.
            unconfirmed = self._proto.unconfirmed_audio(sent=not clean)[1]
            self.stats.unconfirmed_audio_ms_at_close = unconfirmed
            if unconfirmed > 0:
                if self._finishing and self._finish_error is None:
                    error = self._incomplete("the session closed with audio the server never read")
                logger.warning(
                    "closing with %.0f ms of audio the server may not have heard%s",
                    unconfirmed,
                    "" if clean else " (the connection did not close cleanly)",
                )
        if self._proto.state is not ConnectionState.CLOSED:
            self._proto.close()
        if self._events is not None:
            self._events.end(error)
        logger.debug("session closed")

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
        if len(buf):  # fast path: no suspension when events are waiting
            return buf.take()
        self._reading = True
        try:
            return await buf.get()
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
        pcm = self._input.to_pcm(audio, sample_rate, channels)
        step = self.config.input_sample_rate * 2 * _MAX_MESSAGE_MS // 1000
        view = memoryview(pcm)
        for start in range(0, len(view), step):
            await self._send_audio_frame(view[start : start + step])

    async def end_audio(self) -> None:
        """Tell the server the input has ended so it flushes the last words.

        Gemini API: ``audioStreamEnd``. Vertex AI, where ``audioStreamEnd`` is reportedly
        rejected (PROTOCOL.md §4.2): ``trailing_silence_ms`` of silence instead, which lets the
        server's activity detection close the last utterance.
        """
        tail = self._input.flush()  # the resampler's last samples belong to the input
        if tail:
            await self._send_audio_frame(tail)
        self._input_ended = True
        # finish()'s quiet is measured from the later of this and the last voiced output.
        self._quiet_from = time.perf_counter()
        # The last message carrying the user's audio: finish() waits until the server has
        # confirmed it (when the server confirms at all), so nothing is closed away unheard.
        self._last_user_message = self._proto.last_message()
        if self._target.backend == "gemini":
            await self._send(self._proto.audio_stream_end)
        elif self._trailing_silence_ms > 0:
            rate = self.config.input_sample_rate
            silence = memoryview(bytes(rate * 2 * self._trailing_silence_ms // 1000))
            step = rate * 2 * _MAX_MESSAGE_MS // 1000
            for start in range(0, len(silence), step):
                await self._send_audio_frame(silence[start : start + step], user=False)

    async def activity_start(self) -> None:
        """Mark the start of speech (``activityStart``), for sessions whose automatic activity
        detection is disabled (``realtime_input.automatic_activity_detection.disabled``).
        Translated output still playing is interrupted (an ``Interrupted`` event follows)."""
        self._require_manual_activity("activity_start")
        await self._send(self._proto.activity_start)

    async def activity_end(self) -> None:
        """Mark the end of speech (``activityEnd``); see [`activity_start()`][s2st.session.S2STSession.activity_start]."""
        self._require_manual_activity("activity_end")
        await self._send(self._proto.activity_end)

    def _require_manual_activity(self, what: str) -> None:
        # Sending activity signals with server VAD on closes the session with 1007 (§4.2).
        rti = self.config.realtime_input
        detection = rti.automatic_activity_detection if rti is not None else None
        if detection is None or not detection.disabled:
            raise ConfigurationError(
                f"{what}() needs automatic activity detection disabled: connect with "
                "realtime_input=s2st.RealtimeInputConfig(automatic_activity_detection="
                "s2st.ActivityDetection(disabled=True))"
            )

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
        async with contextlib.aclosing(frames):  # closes files/devices if we stop early
            async for frame in frames:
                await self._send_audio_frame(frame)

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
        if not self._input_ended:
            await self.end_audio()
        clock = time.perf_counter
        deadline = clock() + timeout_s
        settled_at: float | None = None
        while not self.closed:
            now = clock()
            if now >= deadline:
                break
            if self._reconnecting or not self._arrived(now, idle_s, max_lag_s):
                settled_at = None
            else:
                settled_at = settled_at or now
                # Servers confirm periodically: give the last confirmation a bounded moment.
                if self._input_confirmed() or now - settled_at >= confirm_timeout_s:
                    break
            await asyncio.sleep(min(0.05, max(0.0, deadline - now)))
        # Never a normal end while audio the user gave may not have been heard: mid-reconnect,
        # or when the closing handshake fails with audio unconfirmed (see aclose()).
        self._finishing = True
        if not self.closed and self._reconnecting:
            self._fail(
                self._incomplete(f"finish() ran out of time ({timeout_s} s) while reconnecting")
            )
        await self.aclose()
        if self._finish_error is not None:
            raise self._finish_error

    def _incomplete(self, what: str) -> TranslationIncompleteError:
        unconfirmed = self.unconfirmed_audio()
        ms = unconfirmed.duration_ms if unconfirmed is not None else 0.0
        error = TranslationIncompleteError(
            f"{what}, with {ms:.0f} ms of audio the server never confirmed; the session is "
            "closed. error.unconfirmed_audio holds that audio: send it again in a new session."
        )
        error.unconfirmed_audio = unconfirmed
        self._finish_error = error
        # Before the iteration ends with the error: a reader may look at the stats at once.
        self.stats.unconfirmed_audio_ms_at_close = ms
        self._ended_with_audio = True
        return error

    def _arrived(self, now: float, idle_s: float, max_lag_s: float) -> bool:
        """finish()'s test: has the translation of the input arrived? (see its docstring)"""
        quiet = now - max(self._last_voiced_t, self._quiet_from)
        assert self._done_after_input is not None
        # A turn marker after the input ended is weak evidence (it may close an earlier
        # utterance when the server lags): it shortens the wait only once the server has
        # also confirmed all of the user's audio.
        if (
            self._done_after_input.is_set()
            and self._proto.checkpoints > 0
            and self._input_confirmed()
            and quiet >= 0.5
        ):
            return True
        if quiet < idle_s:
            return False
        speech = self._tracker.last_speech_sent_t
        return speech is None or self._last_translation_t > speech or now - speech >= max_lag_s

    def _input_confirmed(self) -> bool:
        if self._proto.checkpoints == 0:  # this server never confirms: nothing to wait for
            return True
        marker = self._last_user_message
        return marker is None or all(m is not marker for m in self._proto.replay_buffer)

    def _own(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._user_tasks.add(task)
        task.add_done_callback(self._user_tasks.discard)
        return task

    def _fail(self, error: BaseException) -> None:
        if self._events is not None:
            self._events.end(error)
        if not self._closing:
            self._own(asyncio.create_task(self.aclose(), name="s2st-close-after-error"))

    async def _send_audio_frame(self, pcm: bytes | memoryview, *, user: bool = True) -> None:
        await self._send(lambda: self._proto.audio(pcm, user=user))
        rate = self.config.input_sample_rate
        self.stats.audio_messages_sent += 1
        self.stats.audio_ms_sent += len(pcm) * 500 / rate
        if user:  # end_audio()'s trailing silence is not the user's speech
            self._tracker.on_audio_sent(bytes(pcm), sample_rate=rate, t=time.perf_counter())

    async def _send(self, build: Callable[[], bytes | None]) -> None:
        if self._closed or self._send_lock is None:
            raise SessionClosedError("the session is closed; no more audio can be sent")
        if self._events is not None and self._events.ended:
            raise SessionClosedError("the session has ended; no more audio can be sent")
        async with self._send_lock:
            frame = build()  # numbered and kept for replay even if the send below fails
            ws = self._ws
            if frame is None or ws is None:
                return
            try:
                await ws.send(frame, text=True)
            except ConnectionClosed as exc:
                # The supervisor sees the same closure and reconnects (the message is replayed)
                # or ends the session with the typed error.
                error = close_error(exc) or SessionClosedError("the connection closed")
            else:
                self._audio_on_link = True
                return
        if not self.reconnect_policy.enabled:
            raise error  # outside the except block: no websockets exception in the chain
