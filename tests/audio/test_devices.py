"""Microphone and Speaker against a fake sounddevice module (no sound card here)."""

from __future__ import annotations

import asyncio
import importlib.abc
import sys
import threading
from typing import Any

import numpy as np
import pytest

from s2st.audio import Microphone, Speaker, load_sounddevice
from s2st.errors import ConfigurationError
from s2st.events import AudioChunk


class FakeStatus:
    def __init__(self, input_overflow: bool = False, output_underflow: bool = False) -> None:
        self.input_overflow = input_overflow
        self.output_underflow = output_underflow

    def __bool__(self) -> bool:
        return self.input_overflow or self.output_underflow


class FakeStream:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.callback = kwargs["callback"]
        self.started = self.stopped = self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True


class FakeSoundDevice:
    """The part of the sounddevice API that s2st uses."""

    def __init__(self, fail: bool = False) -> None:
        self.streams: list[FakeStream] = []
        self.fail = fail

    def _make(self, **kwargs: Any) -> FakeStream:
        if self.fail:
            raise RuntimeError("Error opening RawInputStream: Invalid device [PaErrorCode -9996]")
        stream = FakeStream(**kwargs)
        self.streams.append(stream)
        return stream

    def RawInputStream(self, **kwargs: Any) -> FakeStream:
        return self._make(**kwargs)

    def RawOutputStream(self, **kwargs: Any) -> FakeStream:
        return self._make(**kwargs)


def _from_audio_thread(fn: Any) -> None:
    t = threading.Thread(target=fn)
    t.start()
    t.join()


async def test_microphone_delivers_frames_from_the_audio_thread() -> None:
    sd = FakeSoundDevice()
    mic = Microphone(frame_ms=20, sounddevice=sd)
    frames = [np.full(320, i, "<i2").tobytes() for i in range(5)]
    async with mic:
        stream = sd.streams[0]
        assert stream.started
        assert stream.kwargs | {"callback": None} == {
            "samplerate": 16_000,
            "blocksize": 320,
            "channels": 1,
            "dtype": "int16",
            "device": None,
            "callback": None,
        }
        _from_audio_thread(lambda: [stream.callback(f, 320, None, FakeStatus()) for f in frames])
        got = []
        async for frame in mic:
            got.append(frame)
            if len(got) == 5:
                break
    assert got == frames and stream.stopped and stream.closed and mic.overflows == 0


async def test_microphone_overflow_is_counted_never_blocking() -> None:
    sd = FakeSoundDevice()
    mic = Microphone(frame_ms=20, queue_frames=2, sounddevice=sd)
    await mic.start()
    stream = sd.streams[0]
    frames = [np.full(320, i, "<i2").tobytes() for i in range(5)]
    _from_audio_thread(lambda: [stream.callback(f, 320, None, FakeStatus()) for f in frames])
    _from_audio_thread(
        lambda: stream.callback(frames[0], 320, None, FakeStatus(input_overflow=True))
    )
    await asyncio.sleep(0)  # let call_soon_threadsafe deliver
    await mic.close()
    got = [f async for f in mic]
    # 6 frames into a 2-slot queue: the 4 oldest dropped, +1 PortAudio overflow; the frames
    # queued before close() are still delivered.
    assert mic.overflows == 5
    assert got == [frames[4], frames[0]]
    assert len(sd.streams) == 1  # draining after close does not reopen the device


async def test_microphone_iteration_opens_and_closes_itself() -> None:
    sd = FakeSoundDevice()
    mic = Microphone(frame_ms=100, sounddevice=sd)
    agen = mic.__aiter__()
    task = asyncio.ensure_future(agen.__anext__())
    await asyncio.sleep(0)
    stream = sd.streams[0]
    _from_audio_thread(lambda: stream.callback(b"\x01\x00" * 1600, 1600, None, None))
    assert await task == b"\x01\x00" * 1600
    await agen.aclose()
    assert stream.closed


async def test_device_open_failure_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="could not open the microphone"):
        await Microphone(sounddevice=FakeSoundDevice(fail=True)).start()
    with pytest.raises(ConfigurationError, match="could not open the speaker"):
        await Speaker(sounddevice=FakeSoundDevice(fail=True)).start()
    with pytest.raises(ConfigurationError, match="queue_frames"):
        Microphone(queue_frames=0)
    with pytest.raises(ConfigurationError, match="frame_ms"):
        Microphone(frame_ms=5)


class _RaisingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


def test_missing_portaudio_or_package_becomes_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_RaisingFinder(), *sys.meta_path])
    with pytest.raises(ConfigurationError, match=r"PortAudio could not be loaded.*s2st\[devices\]"):
        load_sounddevice()
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes the import raise ImportError
    with pytest.raises(ConfigurationError, match=r"not installed.*s2st\[devices\]"):
        load_sounddevice()


async def test_speaker_plays_through_the_jitter_buffer() -> None:
    sd = FakeSoundDevice()
    async with Speaker(target_delay_ms=40, sounddevice=sd) as spk:
        stream = sd.streams[0]
        assert stream.kwargs["samplerate"] == 24_000 and stream.kwargs["blocksize"] == 480
        data = np.full(2400, 1000, np.int16)
        data.flags.writeable = False
        spk.play(AudioChunk(data=data, sample_rate=24_000))
        out = bytearray(960)
        _from_audio_thread(
            lambda: stream.callback(out, 480, None, FakeStatus(output_underflow=True))
        )
        samples = np.frombuffer(bytes(out), "<i2")
        assert samples[0] == 0 and samples[-1] == 1000  # fade-in, then audio
        assert spk.device_underflows == 1
        assert spk.clear() == 2400 - 480

        spk.play(np.full(480, 5, np.int16))

        def device() -> None:
            buf = bytearray(960)
            for _ in range(3):
                stream.callback(buf, 480, None, None)

        drain = asyncio.ensure_future(spk.drain(poll_s=0.001))
        await asyncio.sleep(0.01)
        assert not drain.done()
        _from_audio_thread(device)
        await asyncio.wait_for(drain, 5)
    assert stream.closed
    await spk.drain()  # not started: returns at once
