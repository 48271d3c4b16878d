"""Translate a phone call: 8 kHz G.711 (mu-law or A-law) in, 8 kHz G.711 out.

Telephony audio (SIP/RTP, Twilio/Asterisk media streams) arrives as 20 ms frames of 8-bit
G.711 at 8 kHz. The Live API wants 16 kHz 16-bit PCM in and sends 24 kHz PCM back, so the
call leg needs a converter in each direction; :class:`s2st.audio.AudioConverter` keeps its
resampler state between frames, so the audio stays continuous across frame boundaries.

To be self-contained, this example first turns the shipped sample into mu-law 8 kHz (what a
phone would send), then "receives" it in 20 ms RTP-sized frames::

    python examples/telephony.py
    python examples/telephony.py --codec alaw
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import numpy as np

import s2st
from s2st.audio import AudioConverter, alaw_encode, mulaw_encode, read_audio
from s2st.emulator import Emulator, sample_path

PHONE_RATE = 8000
FRAME_MS = 20
Codec = Literal["mulaw", "alaw"]
FRAME_BYTES = PHONE_RATE * FRAME_MS // 1000  # one byte per G.711 sample: 160


def phone_recording(codec: Codec) -> bytes:
    """The sample as a phone would send it: G.711 at 8 kHz."""
    samples, _ = read_audio(sample_path("hello"), target_rate=PHONE_RATE)
    return mulaw_encode(samples) if codec == "mulaw" else alaw_encode(samples)


async def rtp_frames(payload: bytes, *, speed: float) -> AsyncIterator[bytes]:
    """Yield 20 ms G.711 frames at ``speed`` x real time, like an RTP receiver."""
    for start in range(0, len(payload), FRAME_BYTES):
        yield payload[start : start + FRAME_BYTES]
        await asyncio.sleep(FRAME_MS / 1000 / speed)


async def translate_call(
    client: s2st.S2STClient, frames: AsyncIterator[bytes], *, codec: Codec, target: str
) -> tuple[bytes, str]:
    """Send the caller's G.711 frames, return (translated G.711 8 kHz audio, translated text)."""
    inbound = AudioConverter(sample_rate=PHONE_RATE, encoding=codec)  # G.711 8k -> PCM 16k
    outbound = AudioConverter(sample_rate=24_000, target_rate=PHONE_RATE)  # PCM 24k -> 8k
    encode = mulaw_encode if codec == "mulaw" else alaw_encode
    to_caller: list[bytes] = []
    text: list[str] = []
    async with client.connect(target) as session:

        async def caller() -> None:
            async for frame in frames:
                pcm = inbound.convert(frame)
                if pcm:
                    await session.send_audio(pcm)  # 16 kHz int16 mono: sent as is
            tail = inbound.flush()
            if tail:
                await session.send_audio(tail)
            await session.finish()

        sender = asyncio.create_task(caller())
        try:
            async for event in session:
                if isinstance(event, s2st.AudioChunk):
                    pcm8k = outbound.convert(event.data)  # int16 array at 24 kHz
                    if pcm8k:
                        to_caller.append(encode(np.frombuffer(pcm8k, dtype="<i2")))
                elif isinstance(event, s2st.OutputTranscription):
                    text.append(event.text)
        finally:
            if not sender.done():
                sender.cancel()
        if not sender.cancelled():
            await sender  # re-raises a failure of the sending side
    tail = outbound.flush()
    if tail:
        to_caller.append(encode(np.frombuffer(tail, dtype="<i2")))
    return b"".join(to_caller), "".join(text).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", choices=["mulaw", "alaw"], default="mulaw")
    parser.add_argument("--target", default="es")
    parser.add_argument("--speed", type=float, default=4.0, help="x real time")
    parser.add_argument("--out", type=Path, default=Path("out/call.translated.g711"))
    args = parser.parse_args(argv)
    payload = phone_recording(args.codec)
    print(
        f"caller audio: {len(payload)} bytes of {args.codec} at 8 kHz "
        f"({len(payload) / PHONE_RATE:.2f} s, {len(payload) // FRAME_BYTES} frames)"
    )

    async def run() -> tuple[bytes, str]:
        async with Emulator() as emu:
            client = s2st.S2STClient.for_emulator(emu)
            frames = rtp_frames(payload, speed=args.speed)
            return await translate_call(client, frames, codec=args.codec, target=args.target)

    audio, text = asyncio.run(run())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(audio)
    print(f"translated: {text}")
    print(
        f"to the caller: {len(audio)} bytes of {args.codec} at 8 kHz "
        f"({len(audio) / PHONE_RATE:.2f} s) written to {args.out}"
    )
    return 0 if audio else 1


if __name__ == "__main__":
    sys.exit(main())
