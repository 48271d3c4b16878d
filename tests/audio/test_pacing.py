"""Pacer: absolute schedule with a fake clock, drift, lag, speed factors."""

from __future__ import annotations

import random

import pytest

from s2st.audio import Pacer
from s2st.errors import ConfigurationError


class FakeClock:
    """A clock whose sleeps overshoot by a random 0..max_overshoot_s, like a busy event loop."""

    def __init__(self, max_overshoot_s: float = 0.0, seed: int = 0) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._rng = random.Random(seed)
        self._over = max_overshoot_s

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay + self._rng.uniform(0, self._over)


async def test_ten_minutes_at_real_time_do_not_drift() -> None:
    clock = FakeClock(max_overshoot_s=0.003)
    pacer = Pacer(frame_ms=100, clock=clock, sleep=clock.sleep)
    releases = []
    for _ in range(6000):  # 10 minutes of 100 ms frames
        await pacer.wait()
        releases.append(clock.now - 100.0)
    assert pacer.frames == 6000
    assert pacer.max_drift_s < 0.0031  # one sleep's overshoot, never accumulated
    assert releases[-1] == pytest.approx(599.9, abs=0.004)
    assert pacer.late_frames == 0 and pacer.max_lag_s < 0.0031


@pytest.mark.parametrize(("speed", "period"), [(1.0, 0.02), (2.0, 0.01), (0.5, 0.04)])
async def test_speed_factor_scales_the_period(speed: float, period: float) -> None:
    clock = FakeClock()
    pacer = Pacer(frame_ms=20, speed=speed, clock=clock, sleep=clock.sleep)
    for _ in range(51):
        await pacer.wait()
    assert clock.now - 100.0 == pytest.approx(50 * period)
    assert pacer.period_s == pytest.approx(period)
    assert pacer.deadline(10) == pytest.approx(100.0 + 10 * period)


async def test_as_fast_as_possible_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(speed=None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        await pacer.wait()
    assert clock.sleeps == [] and pacer.frames == 1000 and pacer.period_s == 0.0


async def test_slow_producer_lag_is_measured() -> None:
    clock = FakeClock()
    pacer = Pacer(frame_ms=100, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        await pacer.wait()
        clock.now += 0.16  # the producer needs 160 ms per 100 ms frame
    # Frame n is due at n*0.1 but ready at n*0.16: lag (n*0.06) grows and is reported.
    assert pacer.lag_s == pytest.approx(9 * 0.06)
    assert pacer.max_lag_s == pytest.approx(9 * 0.06)
    assert pacer.late_frames == 8  # frames whose lag exceeded one period (n >= 2)
    assert clock.sleeps == []


async def test_a_stall_is_caught_up_then_pace_resumes() -> None:
    clock = FakeClock()
    pacer = Pacer(frame_ms=100, clock=clock, sleep=clock.sleep)
    await pacer.wait()
    clock.now += 0.5  # the decoder stalls for half a second
    for _ in range(5):  # frames 1..5 are overdue: released at once
        await pacer.wait()
    assert clock.sleeps == []
    await pacer.wait()  # frame 6 is due at 0.6 s: sleeps 0.1 s
    assert clock.sleeps == [pytest.approx(0.1)]
    assert pacer.lag_s == 0.0


def test_deadline_before_start_and_bad_options() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        Pacer().deadline(0)
    for frame_ms in (19, 201, 100.0, True):
        with pytest.raises(ConfigurationError, match="frame_ms"):
            Pacer(frame_ms=frame_ms)  # type: ignore[arg-type]
    for speed in (0, -1.0, "fast", True):
        with pytest.raises(ConfigurationError, match="speed"):
            Pacer(speed=speed)  # type: ignore[arg-type]


async def test_real_clock_short_run_is_accurate() -> None:
    import time

    pacer = Pacer(frame_ms=20, speed=4.0)
    start = time.monotonic()
    for _ in range(26):
        await pacer.wait()
    elapsed = time.monotonic() - start
    assert elapsed == pytest.approx(25 * 0.005, abs=0.05)
    assert pacer.max_drift_s < 0.05
