"""Translate your microphone live and play the translation on your speakers.

Needs ``pip install 's2st[devices]'`` and PortAudio. Without a sound device (CI, containers)
run it with ``--fake-mic``: a stand-in for the ``sounddevice`` module "records" the shipped
sample in real time, so the same code path runs end to end::

    python examples/microphone.py --seconds 15       # real microphone and speakers
    python examples/microphone.py --fake-mic         # no sound hardware needed

When no input device can be opened and ``--fake-mic`` was not given, the example says so and
falls back to the fake microphone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import s2st
from s2st.audio import Microphone, read_audio
from s2st.emulator import Emulator, sample_path


class FakeInputStream:
    """Plays a clip (then silence) into a ``RawInputStream`` callback from its own thread, at
    ``speed`` x real time, like PortAudio does with a real microphone."""

    def __init__(
        self,
        *,
        samplerate: int,
        blocksize: int,
        callback: Callable[[bytes, int, Any, Any], None],
        clip: np.ndarray[Any, np.dtype[np.int16]],
        speed: float,
        **_: Any,
    ) -> None:
        self._rate, self._block, self._callback = samplerate, blocksize, callback
        self._clip, self._speed = clip, speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-mic", daemon=True)

    def _run(self) -> None:
        period_s = self._block / self._rate / self._speed
        next_t, pos = time.monotonic(), 0
        while not self._stop.is_set():
            block = self._clip[pos : pos + self._block]
            pos += self._block
            if block.size < self._block:  # after the clip: silence, like a quiet room
                block = np.concatenate([block, np.zeros(self._block - block.size, np.int16)])
            self._callback(block.tobytes(), self._block, None, None)
            next_t += period_s
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        self._stop.set()


class FakeSoundDevice:
    """The part of the ``sounddevice`` module that :class:`s2st.audio.Microphone` uses."""

    def __init__(self, clip_path: str | os.PathLike[str], *, speed: float = 1.0) -> None:
        self._clip, self._clip_rate = read_audio(clip_path)
        self._speed = speed

    def RawInputStream(self, *, samplerate: int, **kwargs: Any) -> FakeInputStream:
        if samplerate != self._clip_rate:
            raise ValueError(f"the fake microphone records at {self._clip_rate} Hz only")
        return FakeInputStream(samplerate=samplerate, clip=self._clip, speed=self._speed, **kwargs)


async def translate_microphone(
    client: s2st.S2STClient, mic: Microphone, *, target: str, seconds: float, play: bool
) -> str:
    """Stream ``mic`` for ``seconds``, print captions, play (or just count) the translation."""
    speaker: s2st.audio.Speaker | None = s2st.audio.Speaker() if play else None
    translated: list[str] = []
    async with client.connect(target) as session, mic:
        if speaker is not None:
            await speaker.start()
        session.start_stream(mic)  # live source: sent as it is captured, no pacing

        async def stop_later() -> None:
            await asyncio.sleep(seconds)
            await mic.close()  # the stream then ends and the session finish()es

        stopper = asyncio.create_task(stop_later())
        try:
            async for event in session:
                if isinstance(event, s2st.InputTranscription):
                    print(f"  heard: {event.text!r}", flush=True)
                elif isinstance(event, s2st.OutputTranscription):
                    translated.append(event.text)
                    print(f"  said:  {event.text!r}", flush=True)
                elif isinstance(event, s2st.AudioChunk) and speaker is not None:
                    speaker.play(event)
                elif isinstance(event, s2st.Interrupted) and speaker is not None:
                    speaker.clear()  # drop queued speech that the server abandoned
            if speaker is not None:
                await speaker.drain()  # let the last words play out
        finally:
            stopper.cancel()
            if speaker is not None:
                await speaker.close()
    return "".join(translated).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake-mic", action="store_true", help="feed the sample, no hardware")
    parser.add_argument("--seconds", type=float, help="how long to listen (default 10; fake 2.5)")
    parser.add_argument("--target", default="es")
    args = parser.parse_args(argv)
    fake = args.fake_mic
    if not fake:
        try:
            s2st.audio.load_sounddevice().query_devices(kind="input")
        except Exception as exc:  # ConfigurationError (no PortAudio) or no default input device
            print(f"no microphone available ({exc}); using --fake-mic instead")
            fake = True
    speed = 4.0  # the fake microphone "speaks" 4x faster than real time
    sd = FakeSoundDevice(sample_path("hello"), speed=speed) if fake else None
    seconds = args.seconds or (7.0 / speed if fake else 10.0)

    async def run() -> str:
        mic = Microphone(sample_rate=16_000, frame_ms=100, sounddevice=sd)
        async with Emulator() as emu:  # s2st.S2STClient() for the real service
            client = s2st.S2STClient.for_emulator(emu)
            return await translate_microphone(
                client, mic, target=args.target, seconds=seconds, play=not fake
            )

    try:
        text = asyncio.run(run())
    except s2st.S2STError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"translation: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
