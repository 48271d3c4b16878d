"""Real-time pacing of recorded audio against an absolute schedule (no drift)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from s2st._validate import check_int, check_optional_number

__all__ = ["Pacer", "check_frame_ms"]

logger = logging.getLogger("s2st.audio.pacing")

MIN_FRAME_MS = 20
MAX_FRAME_MS = 200


def check_frame_ms(frame_ms: object) -> int:
    """Validate a frame length in milliseconds (an int in 20..200)."""
    return check_int("frame_ms", frame_ms, low=MIN_FRAME_MS, high=MAX_FRAME_MS, unit="ms")


class Pacer:
    """Release frames at ``speed`` times real time.

    Frame ``n`` (counting from 0) is due at ``start + n * frame_ms / 1000 / speed``, where
    ``start`` is the clock reading at the first `wait()`. Because every deadline is computed
    from ``start`` rather than from the previous wake-up, sleep overshoot does not accumulate:
    the drift stays bounded by one sleep's lateness however long the file.

    Args:
        frame_ms: duration of one frame (20..200 ms).
        speed: playback factor (1.0 = real time, 2.0 = twice as fast); ``None`` sends as fast
            as possible (no sleeping, counters still kept).
        clock: monotonic clock in seconds (injectable for tests).
        sleep: async sleep in seconds (injectable for tests).

    Attributes:
        frames: frames released so far.
        lag_s: how far behind schedule the producer was at the last frame (0 when on time): the
            input lag when the producer (a decoder, a slow disk) cannot keep up.
        max_lag_s: the largest ``lag_s`` seen.
        late_frames: frames that were released more than one frame period late.
        drift_s: lateness of the last release versus its deadline, after sleeping.
        max_drift_s: the largest ``drift_s`` seen.
    """

    def __init__(
        self,
        *,
        frame_ms: int = 100,
        speed: float | None = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.frame_ms = check_frame_ms(frame_ms)
        check_optional_number("speed", speed, positive=True)
        self.speed = None if speed is None else float(speed)
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self.frames = 0
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        self.late_frames = 0
        self.drift_s = 0.0
        self.max_drift_s = 0.0

    @property
    def period_s(self) -> float:
        """Wall-clock time between two frames (0 when unpaced)."""
        return 0.0 if self.speed is None else self.frame_ms / 1000.0 / self.speed

    def deadline(self, frame: int) -> float:
        """Clock time at which ``frame`` is due (requires a started pacer)."""
        if self._start is None:
            raise RuntimeError("the pacer has not started; call wait() first")
        return self._start + frame * self.period_s

    async def wait(self) -> None:
        """Wait until the next frame is due, then count it as released."""
        if self.speed is None:
            self.frames += 1
            return
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self.deadline(self.frames)
        delay = due - now
        if delay > 0:
            await self._sleep(delay)
            self.lag_s = 0.0
        else:
            self.lag_s = -delay
            self.max_lag_s = max(self.max_lag_s, self.lag_s)
            if self.lag_s > self.period_s:
                self.late_frames += 1
                logger.debug("producer behind schedule by %.3f s", self.lag_s)
        self.drift_s = self._clock() - due
        self.max_drift_s = max(self.max_drift_s, abs(self.drift_s))
        self.frames += 1
