"""Audio toolkit benchmark: conversion speed and pacing drift.

Run: ``python benchmarks/bench_audio.py`` (about 15 s). Targets (issue "Step 4 of 6"):

* streaming 48 kHz stereo float32 -> 16 kHz mono int16 at >= 500x real time on one core
  (soxr backend; the numpy fallback is reported too), 44.1 kHz likewise;
* pacing drift < 20 ms over a simulated 10-minute file (sleep overshoot 0-3 ms per frame) and
  over a short real-clock run.

Every speed is also given as a ratio to a same-run naive baseline: stateless ``np.interp``
linear resampling of the same chunks (no anti-alias filter; what many clients do).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "on one core"

import asyncio  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from s2st.audio import AudioConverter, Pacer, soxr_available  # noqa: E402

SECONDS = 60
CHUNK_MS = 100
TARGET_XRT = 500.0
DRIFT_LIMIT_S = 0.020


def _signal(rate: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(0)
    t = np.arange(rate * SECONDS) / rate
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([mono, np.roll(mono, 7)], axis=1).astype(np.float32)


def _chunks(x: npt.NDArray[np.float32], rate: int) -> list[npt.NDArray[np.float32]]:
    n = rate * CHUNK_MS // 1000
    return [np.ascontiguousarray(x[i : i + n]) for i in range(0, len(x), n)]


def _best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, out = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _converter_run(chunks: list[npt.NDArray[np.float32]], rate: int, backend: str) -> int:
    conv = AudioConverter(sample_rate=rate, backend=backend)  # type: ignore[arg-type]
    total = sum(len(conv.convert(c)) for c in chunks)
    return total + len(conv.flush())


def _naive_run(chunks: list[npt.NDArray[np.float32]], rate: int) -> int:
    total = 0
    for c in chunks:
        mono = c.mean(axis=1)
        n_out = len(mono) * 16_000 // rate
        y = np.interp(np.arange(n_out) * rate / 16_000, np.arange(len(mono)), mono)
        total += len(np.clip(np.rint(y * 32768), -32768, 32767).astype("<i2").tobytes())
    return total


def bench_conversion(rate: int) -> dict[str, float]:
    chunks = _chunks(_signal(rate), rate)
    naive_s, _ = _best_of(3, lambda: _naive_run(chunks, rate))
    results = {"naive np.interp": SECONDS / naive_s}
    backends = ["numpy"] + (["soxr"] if soxr_available() else [])
    for backend in backends:
        secs, nbytes = _best_of(3, lambda b=backend: _converter_run(chunks, rate, b))  # type: ignore[misc]
        assert abs(nbytes // 2 - 16_000 * SECONDS) <= 1, nbytes
        results[backend] = SECONDS / secs
    print(f"\n{rate} Hz stereo float32 -> 16 kHz mono int16, {SECONDS} s in {CHUNK_MS} ms chunks")
    for name, xrt in results.items():
        ratio = xrt / results["naive np.interp"]
        print(f"  {name:<16} {xrt:10.0f}x real time   ({ratio:5.2f}x the naive baseline)")
    return results


class _FakeClock:
    def __init__(self, seed: int = 1) -> None:
        self.now = 0.0
        self._rng = random.Random(seed)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay + self._rng.uniform(0.0, 0.003)


async def bench_pacing_simulated() -> float:
    clock = _FakeClock()
    pacer = Pacer(frame_ms=100, clock=clock, sleep=clock.sleep)
    frames = 10 * 60 * 10  # 10 minutes of 100 ms frames
    for _ in range(frames):
        await pacer.wait()
        clock.now += 0.0002  # the producer's own work per frame
    end_error = abs(clock.now - 0.0002 - (frames - 1) * 0.1)
    print(
        f"\npacing, simulated 10 min at 1.0x (sleep overshoot 0-3 ms): max drift"
        f" {pacer.max_drift_s * 1000:.2f} ms, end-time error {end_error * 1000:.2f} ms"
    )
    return max(pacer.max_drift_s, end_error)


async def bench_pacing_real(seconds: float = 3.0, frame_ms: int = 20) -> float:
    pacer = Pacer(frame_ms=frame_ms, speed=1.0)
    frames = int(seconds * 1000 / frame_ms)
    start = time.monotonic()
    for _ in range(frames + 1):
        await pacer.wait()
    end_error = abs(time.monotonic() - start - seconds)
    print(
        f"pacing, real clock {seconds:.0f} s at 1.0x in {frame_ms} ms frames: max drift"
        f" {pacer.max_drift_s * 1000:.2f} ms, end-time error {end_error * 1000:.2f} ms"
    )
    return max(pacer.max_drift_s, end_error)


def main() -> int:
    r48 = bench_conversion(48_000)
    r44 = bench_conversion(44_100)
    sim = asyncio.run(bench_pacing_simulated())
    real = asyncio.run(bench_pacing_real())
    best = "soxr" if "soxr" in r48 else "numpy"
    checks = [
        (
            f"48k stereo -> 16k ({best})",
            r48[best],
            f">= {TARGET_XRT:.0f}x",
            r48[best] >= TARGET_XRT,
        ),
        (
            f"44.1k stereo -> 16k ({best})",
            r44[best],
            f">= {TARGET_XRT:.0f}x",
            r44[best] >= TARGET_XRT,
        ),
        ("48k stereo -> 16k (numpy fallback)", r48["numpy"], "info", True),
        ("pacing drift, simulated 10 min (ms)", sim * 1000, "< 20 ms", sim < DRIFT_LIMIT_S),
        ("pacing drift, real clock 3 s (ms)", real * 1000, "< 20 ms", real < DRIFT_LIMIT_S),
    ]
    print("\nsummary")
    failed = 0
    for name, value, target, ok in checks:
        verdict = "PASS" if ok else "FAIL"
        failed += not ok
        print(f"  {verdict}  {name:<38} {value:10.2f}  (target {target})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
