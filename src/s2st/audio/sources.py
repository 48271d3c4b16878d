"""One entry point that turns anything audio-like into paced 16 kHz mono int16 frames."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Generator,
    Iterable,
    Iterator,
)
from typing import Any, Union

import numpy as np

from s2st._validate import is_number
from s2st.errors import AudioFormatError, ConfigurationError

from .convert import TARGET_SAMPLE_RATE, AudioConverter, check_sample_rate
from .devices import Microphone
from .files import audio_file_info, iter_file_frames
from .pacing import Pacer, check_frame_ms
from .resample import Backend

__all__ = ["AudioSource", "open_source"]

logger = logging.getLogger("s2st.audio.sources")

AudioSource = Union[
    str,
    "os.PathLike[str]",
    np.ndarray,
    bytes,
    bytearray,
    memoryview,
    AsyncIterable[Any],
    Iterable[Any],
    Microphone,
]
"""Anything [`open_source()`][s2st.audio.open_source] accepts."""

#: Only this much of an in-memory clip is examined by [`check_sample_rate()`][s2st.audio.check_sample_rate].
_CHECK_S = 10


class _Framer:
    """Cut a byte stream into frames of exactly ``size`` bytes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        while len(self._buf) >= self.size:
            frame = bytes(self._buf[: self.size])
            del self._buf[: self.size]
            yield frame

    def rest(self) -> bytes:
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def finish(self, converter: AudioConverter) -> Iterator[bytes]:
        """The frames of the converter's flushed tail, then the short rest (if any)."""
        yield from self.feed(converter.flush())
        rest = self.rest()
        if rest:
            yield rest


def _need_rate(kind: str, sample_rate: int | None) -> int:
    if sample_rate is None:
        raise AudioFormatError(
            f"{kind} audio carries no sample rate: pass sample_rate= (e.g. sample_rate=16000)."
            " A wrong rate garbles the translation, so it is never guessed"
        )
    return sample_rate


def _warn_if_mislabelled(audio: np.ndarray, sample_rate: int) -> None:
    if audio.dtype.kind in "iuf" and audio.ndim in (1, 2):
        problem = check_sample_rate(audio[: sample_rate * _CHECK_S], sample_rate)
        if problem:
            logger.warning("possible sample-rate mismatch: %s", problem)


async def _iter_file(
    path: str, sample_rate: int | None, frame_ms: int, backend: Backend
) -> AsyncGenerator[bytes, None]:
    info = await asyncio.to_thread(audio_file_info, path)
    if sample_rate is not None and sample_rate != info.sample_rate:
        raise AudioFormatError(
            f"{path}: the file header says {info.sample_rate} Hz but sample_rate={sample_rate} was"
            " passed; drop sample_rate (files declare their own) or fix the file"
        )
    frames = iter_file_frames(path, frame_ms=frame_ms, backend=backend)
    assert isinstance(frames, Generator)
    try:
        while True:
            # Decoding touches the disk: keep it off the event loop.
            frame = await asyncio.to_thread(next, frames, None)
            if frame is None:
                return
            yield frame
    finally:
        try:
            frames.close()
        except ValueError:  # still running in the worker thread after a cancellation
            logger.debug("file decoder still busy at close; it is released when it finishes")


async def _iter_memory(
    chunks: Iterable[Any], converter: AudioConverter, framer: _Framer
) -> AsyncGenerator[bytes, None]:
    for chunk in chunks:
        for frame in framer.feed(converter.convert(chunk)):
            yield frame
    for frame in framer.finish(converter):
        yield frame


async def _iter_live(
    chunks: AsyncIterable[Any],
    converter: AudioConverter,
    framer: _Framer,
    keepalive_s: float | None,
) -> AsyncGenerator[bytes, None]:
    iterator = chunks.__aiter__()
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            if keepalive_s is not None:
                done, _ = await asyncio.wait({pending}, timeout=keepalive_s)
                if not done:
                    # The source paused: send what is buffered, padded, then silence.
                    rest = framer.rest()
                    yield rest + bytes(framer.size - len(rest))
                    continue
            try:
                chunk = await pending
            except StopAsyncIteration:
                pending = None
                break
            pending = None
            for frame in framer.feed(converter.convert(chunk)):
                yield frame
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    for frame in framer.finish(converter):
        yield frame


# One dispatch over every kind of source a user may pass (path, array, bytes, iterables,
# devices), each a few lines: long because the table of kinds is the function.
async def open_source(
    source: AudioSource,
    *,
    sample_rate: int | None = None,
    frame_ms: int = 100,
    speed: float | None = 1.0,
    keepalive_silence: bool = False,
    backend: Backend = "auto",
    pacer: Pacer | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield ``source`` as 16 kHz mono int16 LE frames of exactly ``frame_ms`` (the last may be
    shorter; nothing is dropped).

    Sources:

    * a path (``str`` or ``os.PathLike``): decoded progressively (see
      [`iter_file_frames()`][s2st.audio.iter_file_frames]); ``sample_rate``, if given, must match the header.
    * a numpy array (``(frames,)`` or ``(frames, channels)``) or bytes (pcm16 mono): needs
      ``sample_rate``; a suspicious rate is logged (see [`check_sample_rate()`][s2st.audio.check_sample_rate]).
    * a (sync) iterable of arrays/bytes: in-memory chunks, converted as one stream; needs
      ``sample_rate``.
    * an async iterable of arrays/bytes or a [`Microphone`][s2st.audio.Microphone]: a *live* source.

    Recorded sources (files, arrays, bytes, sync iterables) are paced at ``speed`` x real time
    (``None`` or ``0`` = as fast as possible, like ``s2st translate --speed 0``); live sources
    are never paced. With ``keepalive_silence``
    a live source that produces nothing for one frame period gets its buffered tail sent
    (padded with silence to a full frame) and then silence frames until it resumes.

    ``pacer`` lets the caller supply (and then inspect) the [`Pacer`][s2st.audio.Pacer]; by default one is
    made from ``frame_ms`` and ``speed``. Closing the generator early closes the file, the
    async iterator or the microphone.

    Raises:
        ConfigurationError: ``frame_ms`` outside 20..200, bad ``speed``, missing decoder extras.
        AudioFormatError: a missing ``sample_rate``, a rate that contradicts the file header,
            an unsupported source type, and every conversion error.
    """
    check_frame_ms(frame_ms)
    if is_number(speed) and speed == 0:
        speed = None  # 0 = unpaced, as on the command line
    if pacer is None:
        pacer = Pacer(frame_ms=frame_ms, speed=speed)
    elif pacer.frame_ms != frame_ms:
        raise ConfigurationError(
            f"pacer.frame_ms={pacer.frame_ms} differs from frame_ms={frame_ms}"
        )
    framer = _Framer(TARGET_SAMPLE_RATE * frame_ms // 1000 * 2)
    keepalive_s = frame_ms / 1000 if keepalive_silence else None
    live = isinstance(source, (Microphone, AsyncIterable))
    frames: AsyncGenerator[bytes, None]
    if isinstance(source, (str, os.PathLike)):
        frames = _iter_file(os.fspath(source), sample_rate, frame_ms, backend)
    elif isinstance(source, Microphone):
        converter = AudioConverter(sample_rate=source.sample_rate, backend=backend)
        frames = _iter_live(source, converter, framer, keepalive_s)
    elif isinstance(source, AsyncIterable):
        rate = _need_rate("async-iterator", sample_rate)
        frames = _iter_live(
            source, AudioConverter(sample_rate=rate, backend=backend), framer, keepalive_s
        )
    elif isinstance(source, (np.ndarray, bytes, bytearray, memoryview)):
        rate = _need_rate("array" if isinstance(source, np.ndarray) else "bytes", sample_rate)
        if len(source) == 0:
            raise AudioFormatError("the audio is empty; pass at least one sample")
        if isinstance(source, np.ndarray):
            _warn_if_mislabelled(source, rate)
        converter = AudioConverter(sample_rate=rate, backend=backend)
        frames = _iter_memory([source], converter, framer)
    elif isinstance(source, Iterable):
        rate = _need_rate("iterable", sample_rate)
        frames = _iter_memory(source, AudioConverter(sample_rate=rate, backend=backend), framer)
    else:
        raise AudioFormatError(
            f"cannot stream a {type(source).__name__}; pass a file path, a numpy array, pcm16"
            " bytes, an (async) iterable of arrays/bytes, or an s2st.audio.Microphone"
        )
    try:
        async for frame in frames:
            if not live:
                await pacer.wait()
            yield frame
    finally:
        await frames.aclose()
