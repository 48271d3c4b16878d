"""One speaker, several audiences: translate one input into several languages at once.

:class:`s2st.fanout.FanOut` opens one session per target language, converts the input once
and sends the same audio to every session; the events come back merged, each tagged with its
language. Every language gets its own WAV file::

    python examples/fanout.py                        # es, de and cmn
    python examples/fanout.py --targets es de
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

import s2st
from s2st.audio import WavWriter
from s2st.emulator import Emulator, sample_path
from s2st.fanout import FanOut, SessionFailed


async def fan_out(
    client: s2st.S2STClient, source: Path, *, targets: list[str], out_dir: Path, speed: float
) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    with contextlib.ExitStack() as files:
        async with FanOut(client, targets, fail_fast=False) as fan:
            wavs = {
                code: files.enter_context(WavWriter(out_dir / f"fanout.{code}.wav"))
                for code in fan.languages
            }
            fan.start_stream(source, speed=speed)  # streams to all sessions, then finish()
            async for language, event in fan:
                if isinstance(event, s2st.OutputTranscription):
                    texts.setdefault(language, []).append(event.text)
                elif isinstance(event, s2st.AudioChunk):
                    wavs[language].write(event)
                elif isinstance(event, SessionFailed):  # the other languages keep going
                    print(f"{language}: failed: {event.error}")
        for code, wav in wavs.items():
            print(f"{code}: {wav.duration_s:.2f} s of speech in {wav.path}")
    return {code: "".join(parts).strip() for code, parts in texts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["es", "de", "cmn"])
    parser.add_argument("--speed", type=float, default=4.0, help="x real time")
    parser.add_argument("--out-dir", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> dict[str, str]:
        async with Emulator() as emu:  # s2st.S2STClient() for the real service
            client = s2st.S2STClient.for_emulator(emu)
            return await fan_out(
                client,
                sample_path("hello"),
                targets=args.targets,
                out_dir=args.out_dir,
                speed=args.speed,
            )

    try:
        texts = asyncio.run(run())
    except s2st.S2STError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for code, text in texts.items():
        print(f"{code}: {text}")
    return 0 if len(texts) == len(args.targets) else 1


if __name__ == "__main__":
    sys.exit(main())
