"""Microphone capture and speaker playback through sounddevice (``pip install 's2st[devices]'``).

The audio thread is never blocked: the capture callback copies the block and hands it to the
event loop with ``call_soon_threadsafe``; the playback callback pulls from a
`JitterBuffer` that is filled from the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from s2st.errors import ConfigurationError
from s2st.events import AudioChunk

from ._samples import Int16Array
from .convert import OUTPUT_SAMPLE_RATE, TARGET_SAMPLE_RATE
from .jitter import JitterBuffer
from .pacing import check_frame_ms

__all__ = ["Microphone", "Speaker", "load_sounddevice"]

logger = logging.getLogger("s2st.audio.devices")

_INSTALL_HINT = (
    "Microphone and Speaker need sounddevice and the PortAudio library: pip install"
    " 's2st[devices]' and install PortAudio (Debian/Ubuntu: apt install libportaudio2;"
    " macOS: brew install portaudio)"
)


def load_sounddevice() -> Any:
    """Import sounddevice on first use, translating failures into [`ConfigurationError`][s2st.errors.ConfigurationError]."""
    try:
        import sounddevice
    except ImportError as exc:
        raise ConfigurationError(f"sounddevice is not installed. {_INSTALL_HINT}") from exc
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise ConfigurationError(f"PortAudio could not be loaded ({exc}). {_INSTALL_HINT}") from exc
    return sounddevice


def _open_stream(
    factory: Any,
    what: str,
    sample_rate: int,
    blocksize: int,
    device: Any,
    callback: Any,
) -> Any:
    """Open and start a mono int16 sounddevice raw stream; any failure becomes a
    ConfigurationError naming the device."""
    try:
        stream = factory(
            samplerate=sample_rate,
            blocksize=blocksize,
            channels=1,
            dtype="int16",
            device=device,
            callback=callback,
        )
        stream.start()
    except Exception as exc:
        raise ConfigurationError(
            f"could not open the {what} (device={device!r}, {sample_rate} Hz): {exc}."
            " List devices with `python -m sounddevice`"
        ) from exc
    return stream


class Microphone:
    """Capture mono int16 audio frames from an input device.

    Use as ``async with Microphone() as mic: async for frame in mic: ...``; iterating without
    ``async with`` opens the device on the first frame and closes it when the loop ends. Each
    frame is ``frame_ms`` of little-endian int16 bytes at ``sample_rate``.

    Args:
        sample_rate: capture rate in Hz (16000 needs no conversion before sending).
        frame_ms: frame length (20..200 ms).
        device: sounddevice device index or name; ``None`` = the system default.
        queue_frames: frames held while the consumer is busy; beyond that the oldest frame is
            dropped and counted in ``overflows`` (the audio thread must never block).
        sounddevice: a module-like object to use instead of importing sounddevice (tests).

    Attributes:
        overflows: frames dropped because the consumer fell behind, plus PortAudio input
            overflows reported in the callback status.
    """

    def __init__(
        self,
        *,
        sample_rate: int = TARGET_SAMPLE_RATE,
        frame_ms: int = 100,
        device: int | str | None = None,
        queue_frames: int = 50,
        sounddevice: Any = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.frame_ms = check_frame_ms(frame_ms)
        self.device = device
        if queue_frames < 1:
            raise ConfigurationError("queue_frames must be >= 1")
        self._sd = sounddevice
        self.queue_frames = queue_frames
        # Unbounded queue with the bound enforced in _put, so the end marker always fits.
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.overflows = 0
        self.frames = 0

    @property
    def blocksize(self) -> int:
        """Samples per frame."""
        return self.sample_rate * self.frame_ms // 1000

    def _put(self, data: bytes) -> None:
        if self._queue.qsize() >= self.queue_frames:
            self._queue.get_nowait()
            self.overflows += 1
            logger.warning("microphone consumer too slow: dropped one %d ms frame", self.frame_ms)
        self._queue.put_nowait(data)

    def _callback(self, indata: Any, frames: int, time: Any, status: Any) -> None:
        # Runs on the PortAudio thread: copy and hand over, nothing else.
        if status and getattr(status, "input_overflow", False):
            self.overflows += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._put, bytes(indata))

    async def start(self) -> None:
        """Open and start the input stream (idempotent)."""
        if self._stream is not None:
            return
        sd = self._sd if self._sd is not None else load_sounddevice()
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._stream = _open_stream(
            sd.RawInputStream,
            "microphone",
            self.sample_rate,
            self.blocksize,
            self.device,
            self._callback,
        )

    async def close(self) -> None:
        """Stop and close the stream (idempotent); iteration then ends."""
        stream, self._stream = self._stream, None
        if stream is not None:
            self._closed = True
            stream.stop()
            stream.close()
            self._queue.put_nowait(None)

    async def __aenter__(self) -> Microphone:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # After close() the frames still queued are delivered, then iteration ends.
        owned = self._stream is None and not self._closed
        if owned:
            await self.start()
        try:
            while True:
                data = await self._queue.get()
                if data is None:
                    return
                self.frames += 1
                yield data
        finally:
            if owned:
                await self.close()


class Speaker:
    """Play mono int16 audio on an output device through a [`JitterBuffer`][s2st.audio.JitterBuffer].

    ``async with Speaker() as spk:`` then ``spk.play(chunk)`` for each
    [`AudioChunk`][s2st.events.AudioChunk]; call ``spk.clear()`` on
    [`Interrupted`][s2st.events.Interrupted] and ``await spk.drain()`` to let the tail finish.

    Args:
        sample_rate: playback rate (24000 = translated speech).
        device: sounddevice device index or name; ``None`` = the system default.
        target_delay_ms: buffered audio before playback starts (absorbs network jitter).
        blocksize_ms: samples pulled per device callback.
        sounddevice: a module-like object to use instead of importing sounddevice (tests).
    """

    def __init__(
        self,
        *,
        sample_rate: int = OUTPUT_SAMPLE_RATE,
        device: int | str | None = None,
        target_delay_ms: float = 150.0,
        blocksize_ms: int = 20,
        sounddevice: Any = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.device = device
        self.buffer = JitterBuffer(sample_rate=sample_rate, target_delay_ms=target_delay_ms)
        self.blocksize = sample_rate * blocksize_ms // 1000
        self._sd = sounddevice
        self._stream: Any = None
        self.device_underflows = 0

    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        # Runs on the PortAudio thread: the buffer's lock is held only for a copy.
        if status and getattr(status, "output_underflow", False):
            self.device_underflows += 1
        samples = self.buffer.pull(frames)
        outdata[:] = samples.astype("<i2", copy=False).tobytes()

    async def start(self) -> None:
        """Open and start the output stream (idempotent)."""
        if self._stream is not None:
            return
        sd = self._sd if self._sd is not None else load_sounddevice()
        self._stream = _open_stream(
            sd.RawOutputStream,
            "speaker",
            self.sample_rate,
            self.blocksize,
            self.device,
            self._callback,
        )

    def play(self, audio: AudioChunk | Int16Array | bytes) -> None:
        """Queue audio (an AudioChunk at this rate, a 1-D int16 array or pcm16 bytes)."""
        self.buffer.push(audio)

    def clear(self) -> int:
        """Drop queued audio (on interruption); returns samples dropped."""
        return self.buffer.clear()

    async def drain(self, *, poll_s: float = 0.01) -> None:
        """Wait until everything queued has been played (returns at once when not started)."""
        self.buffer.end()
        # The PortAudio thread empties the buffer; polling avoids waking the loop from it.
        while self._stream is not None and self.buffer.buffered_ms > 0:  # noqa: ASYNC110
            await asyncio.sleep(poll_s)

    async def close(self) -> None:
        """Stop and close the stream (idempotent); queued audio is discarded."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()

    async def __aenter__(self) -> Speaker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
