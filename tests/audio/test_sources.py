"""open_source: every source kind, pacing of recorded vs live sources, keepalive, cleanup."""

from __future__ import annotations

import asyncio
import logging
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from s2st.audio import Microphone, Pacer, open_source, to_pcm16
from s2st.errors import AudioFormatError, ConfigurationError

from ._helpers import pcm16, sine
from .test_devices import FakeSoundDevice
from .test_pacing import FakeClock


def _paced(frame_ms: int = 100, speed: float | None = 1.0) -> tuple[Pacer, FakeClock]:
    clock = FakeClock()
    return Pacer(frame_ms=frame_ms, speed=speed, clock=clock, sleep=clock.sleep), clock


async def _all(agen: AsyncIterator[bytes]) -> list[bytes]:
    return [f async for f in agen]


def _write_wav(path: Path, rate: int, seconds: float) -> Path:
    x = np.round(sine(440, rate, seconds) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


async def test_file_source_is_paced_at_real_time(tmp_path: Path) -> None:
    path = _write_wav(tmp_path / "a.wav", 44_100, 1.05)
    pacer, clock = _paced()
    frames = await _all(open_source(str(path), pacer=pacer))
    assert [len(f) for f in frames] == [3200] * 10 + [1600]
    assert pacer.frames == 11
    assert clock.now - 100.0 == pytest.approx(1.0)  # frame 10 is released at t = 1.0 s
    frames2 = await _all(open_source(path, speed=None, sample_rate=44_100))  # PathLike, matching
    assert frames2 == frames


async def test_file_rate_contradicting_the_header_is_certain_error(tmp_path: Path) -> None:
    path = _write_wav(tmp_path / "a.wav", 44_100, 0.1)
    with pytest.raises(AudioFormatError, match="header says 44100 Hz but sample_rate=16000"):
        await _all(open_source(path, sample_rate=16_000))


async def test_array_source_needs_a_rate_and_matches_to_pcm16() -> None:
    x = sine(300, 48_000, 0.55).astype(np.float32)
    with pytest.raises(AudioFormatError, match="pass sample_rate="):
        await _all(open_source(x))
    pacer, clock = _paced(frame_ms=50, speed=2.0)
    frames = await _all(open_source(x, sample_rate=48_000, frame_ms=50, pacer=pacer))
    assert b"".join(frames) == to_pcm16(x, sample_rate=48_000)
    assert [len(f) for f in frames] == [1600] * 11
    assert clock.now - 100.0 == pytest.approx(10 * 0.025)


async def test_bytes_and_sync_iterable_sources() -> None:
    x = np.round(sine(300, 16_000, 0.3) * 20000).astype("<i2")
    frames = await _all(open_source(x.tobytes(), sample_rate=16_000, speed=None))
    assert b"".join(frames) == x.tobytes() and len(frames) == 3
    with pytest.raises(AudioFormatError, match="bytes audio carries no sample rate"):
        await _all(open_source(x.tobytes()))
    chunks = [x[:1000], x[1000:1001].tobytes(), x[1001:]]
    pacer, clock = _paced()
    frames = await _all(open_source(chunks, sample_rate=16_000, pacer=pacer))
    assert b"".join(frames) == x.tobytes() and pacer.frames == 3 and clock.sleeps


async def test_async_iterable_is_live_and_never_paced() -> None:
    x = sine(300, 24_000, 0.5).astype(np.float32)

    async def live() -> AsyncIterator[np.ndarray]:
        for i in range(0, x.size, 999):
            yield x[i : i + 999]

    pacer, clock = _paced()
    frames = await _all(open_source(live(), sample_rate=24_000, pacer=pacer))
    assert b"".join(frames) == to_pcm16(x, sample_rate=24_000)
    assert pacer.frames == 0 and clock.sleeps == []
    with pytest.raises(AudioFormatError, match="async-iterator audio carries no sample rate"):
        await _all(open_source(live()))


async def test_keepalive_sends_the_tail_then_silence_while_paused() -> None:
    resume = asyncio.Event()

    async def live() -> AsyncIterator[bytes]:
        yield np.full(480, 1000, "<i2").tobytes()  # 30 ms: one 20 ms frame + 10 ms tail
        await resume.wait()
        yield np.full(320, 2000, "<i2").tobytes()

    agen = open_source(live(), sample_rate=16_000, frame_ms=20, keepalive_silence=True)
    first = await agen.__anext__()
    assert pcm16(first).tolist() == [1000] * 320
    tail = await agen.__anext__()  # after one frame period with nothing new
    assert pcm16(tail).tolist() == [1000] * 160 + [0] * 160
    silence = await agen.__anext__()
    assert len(silence) == 640 and not any(silence)
    resume.set()
    rest = [f async for f in agen]
    body = b"".join(rest)
    assert pcm16(body[-640:]).tolist() == [2000] * 320  # nothing sent by the source was lost
    assert not any(body[:-640])


async def test_without_keepalive_a_pause_sends_nothing() -> None:
    async def live() -> AsyncIterator[bytes]:
        yield b"\x01\x00" * 480
        await asyncio.sleep(0.1)
        yield b"\x02\x00" * 160

    frames = await _all(open_source(live(), sample_rate=16_000, frame_ms=20))
    assert b"".join(frames) == b"\x01\x00" * 480 + b"\x02\x00" * 160
    assert [len(f) for f in frames] == [640, 640]


async def test_early_close_closes_the_source() -> None:
    closed = asyncio.Event()

    async def live() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"\x00\x00" * 1600
        finally:
            closed.set()

    agen = open_source(live(), sample_rate=16_000)
    await agen.__anext__()
    await agen.aclose()
    assert closed.is_set()


async def test_early_close_of_a_file_source(tmp_path: Path) -> None:
    path = _write_wav(tmp_path / "a.wav", 16_000, 2.0)
    agen = open_source(path, speed=None)
    await agen.__anext__()
    await agen.aclose()
    path.unlink()  # the file is no longer held open (matters on Windows; cheap to check)


async def test_microphone_source_is_converted_and_closed() -> None:
    sd = FakeSoundDevice()
    mic = Microphone(sample_rate=48_000, frame_ms=20, sounddevice=sd)
    agen = open_source(mic, frame_ms=20)
    task = asyncio.ensure_future(agen.__anext__())
    for _ in range(20):
        await asyncio.sleep(0)
        if sd.streams:
            break
    stream = sd.streams[0]
    block = np.round(sine(500, 48_000, 0.02) * 10000).astype("<i2").tobytes()
    for _ in range(5):
        stream.callback(block, 960, None, None)
    first = await asyncio.wait_for(task, 5)
    assert len(first) == 640
    await agen.aclose()
    assert stream.closed


async def test_array_with_a_suspicious_rate_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    t = np.arange(48_000) / 48_000
    low = (0.3 * np.sin(2 * np.pi * 60 * t)).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="s2st.audio.sources"):
        await _all(open_source(low, sample_rate=16_000, speed=None))
    assert "possible sample-rate mismatch" in caplog.text


@pytest.mark.parametrize("frame_ms", [10, 250, 100.5])
async def test_bad_options(frame_ms: object) -> None:
    with pytest.raises(ConfigurationError, match="frame_ms"):
        await _all(open_source(b"\x00\x00", sample_rate=16_000, frame_ms=frame_ms))  # type: ignore[arg-type]


async def test_bad_sources() -> None:
    with pytest.raises(AudioFormatError, match="cannot stream a int"):
        await _all(open_source(42, sample_rate=16_000))  # type: ignore[arg-type]
    with pytest.raises(AudioFormatError, match="empty"):
        await _all(open_source(np.zeros(0, np.float32), sample_rate=16_000))
    with pytest.raises(AudioFormatError, match="no such audio file"):
        await _all(open_source("/nonexistent/x.wav"))
    with pytest.raises(ConfigurationError, match="differs from frame_ms"):
        await _all(open_source(b"\x00\x00", sample_rate=16_000, pacer=Pacer(frame_ms=20)))
    with pytest.raises(ConfigurationError, match="speed"):
        await _all(open_source(b"\x00\x00", sample_rate=16_000, speed=-1.0))
