"""The sending half of a session (private): the user's audio in, client messages out.

`Sender` owns the input converter (resampling state carries across calls), splits audio into
messages of at most 200 ms, has the protocol core build each message (numbered and held for
replay) and the supervisor write it, and counts what was sent: the stats, and the speech the
latency tracker measures lag from. The session holds one and gives it the user's calls.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from s2st._watch import OutputWatch
from s2st.config import TranslationConfig
from s2st.errors import ConfigurationError, S2STError
from s2st.metrics import LatencyTracker
from s2st.protocol import ClientProtocol, SentMessage
from s2st.stats import SessionStats

from .input import InputAudio
from .supervisor import Supervisor

__all__ = ["Sender"]

_MAX_MESSAGE_MS = 200  # larger send_audio() buffers are split into messages of this length


class Sender:
    """Sends for one session (see the module docstring).

    ``link`` returns the supervisor to write through, or raises ``SessionClosedError`` when
    nothing can be sent any more; ``raise_on_close`` says whether a closure seen while writing
    is the caller's error (reconnection off) or the supervisor's to handle."""

    def __init__(
        self,
        *,
        config: TranslationConfig,
        backend: str,
        proto: ClientProtocol,
        stats: SessionStats,
        tracker: LatencyTracker,
        watch: OutputWatch,
        trailing_silence_ms: int,
        link: Callable[[], Supervisor],
        raise_on_close: bool,
    ) -> None:
        self._config, self._backend, self._proto = config, backend, proto
        self._stats, self._tracker, self._watch = stats, tracker, watch
        self._trailing_silence_ms = trailing_silence_ms
        self._link, self._raise_on_close = link, raise_on_close
        self._rate = config.input_sample_rate
        self._step = self._rate * 2 * _MAX_MESSAGE_MS // 1000
        self._input = InputAudio(self._rate)
        #: the last message carrying the user's audio when the input ended: finish() waits
        #: until the server has confirmed it (when the server confirms at all)
        self.last_user_message: SentMessage | None = None

    async def audio(self, audio: Any, sample_rate: int | None, channels: int) -> None:
        """`S2STSession.send_audio()`: convert, split, send (each message written with no
        suspension when the connection can take it, the common case at real time)."""
        data = self._input.to_pcm(audio, sample_rate, channels)
        step = self._step
        if len(data) <= step:  # one message (the common case): no view to make
            if not self._frame_now(data):
                await self.frame(data)
            return
        view = memoryview(data)
        for start in range(0, len(view), step):
            pcm = view[start : start + step]
            if not self._frame_now(pcm):
                await self.frame(pcm)

    async def stream(self, frames: Any) -> None:
        """`S2STSession.stream()`: send the frames of an opened source as they come."""
        async with contextlib.aclosing(frames):  # closes files/devices if we stop early
            async for frame in frames:
                if not self._frame_now(frame):
                    await self.frame(frame)

    def _frame_now(self, pcm: bytes | memoryview) -> bool:
        """`frame()` without a coroutine when the supervisor can write at once; False when
        nothing was sent (then `frame()` waits its turn)."""
        if self._link().send_nowait(self._proto.audio, pcm):
            self._sent(pcm, True)
            return True
        return False

    async def frame(self, pcm: bytes | memoryview, *, user: bool = True) -> None:
        """Send one message of int16 mono PCM at the input rate (at most 200 ms)."""
        await self.control(lambda: self._proto.audio(pcm, user=user))
        self._sent(pcm, user)

    def _sent(self, pcm: bytes | memoryview, user: bool) -> None:
        stats = self._stats
        stats.audio_messages_sent += 1
        stats.audio_ms_sent += len(pcm) * 500 / self._rate
        if user:  # end_audio()'s trailing silence is not the user's speech
            self._tracker.on_audio_sent(pcm, sample_rate=self._rate, t=time.perf_counter())

    async def control(self, build: Callable[[], bytes | None]) -> None:
        """Have the core build a message and the supervisor write it."""
        error: S2STError | None = await self._link().send(build)
        # On a closure the supervisor reconnects (the message is replayed) or ends the
        # session with the typed error.
        if error is not None and self._raise_on_close:
            raise error

    async def end(self) -> None:
        """`S2STSession.end_audio()`: the resampler's tail, then the end of the input."""
        tail = self._input.flush()  # the resampler's last samples belong to the input
        if tail:
            await self.frame(tail)
        self._watch.input_ended = True
        # finish()'s quiet is measured from the later of this and the last voiced output.
        self._watch.quiet_from = time.perf_counter()
        self.last_user_message = self._proto.last_message()
        if self._backend == "gemini":
            await self.control(self._proto.audio_stream_end)
        elif self._trailing_silence_ms > 0:
            silence = memoryview(bytes(self._rate * 2 * self._trailing_silence_ms // 1000))
            for start in range(0, len(silence), self._step):
                await self.frame(silence[start : start + self._step], user=False)

    async def activity(self, what: str) -> None:
        """``activity_start``/``activity_end``: only with automatic activity detection off
        (sending them with server VAD on closes the session with 1007, §4.2)."""
        rti = self._config.realtime_input
        detection = rti.automatic_activity_detection if rti is not None else None
        if detection is None or not detection.disabled:
            raise ConfigurationError(
                f"{what}() needs automatic activity detection disabled: connect with "
                "realtime_input=s2st.RealtimeInputConfig(automatic_activity_detection="
                "s2st.ActivityDetection(disabled=True))"
            )
        proto = self._proto
        await self.control(proto.activity_start if what == "activity_start" else proto.activity_end)
