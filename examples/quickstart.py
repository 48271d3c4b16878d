"""Translate a recording and write the translated speech to ``out/translated.wav``.

Runs against the bundled emulator unless Google credentials are configured
(``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_APPLICATION_CREDENTIALS`` or ``GOOGLE_API_KEY``), in
which case it uses the real service; ``--emulator`` forces the emulator::

    python examples/quickstart.py                  # the shipped sample into Spanish
    python examples/quickstart.py --target de      # ... into German (es, de, cmn are scripted)
    python examples/quickstart.py my.wav --target cmn

Source text and translated text are printed as they arrive (they come as fragments).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import s2st
from s2st.audio import WavWriter
from s2st.emulator import Emulator, sample_path
from s2st.translate import credentials_configured


def use_real_service(force_emulator: bool) -> bool:
    """True when Google credentials are configured (GOOGLE_CLOUD_PROJECT, GOOGLE_API_KEY,
    GEMINI_API_KEY or GOOGLE_APPLICATION_CREDENTIALS) and the emulator is not forced."""
    return not force_emulator and credentials_configured()


@contextlib.asynccontextmanager
async def open_client(real: bool) -> AsyncIterator[s2st.S2STClient]:
    """A client for Google (configured from the environment) or for a local emulator."""
    if real:
        yield s2st.S2STClient()
        return
    async with Emulator() as emu:
        yield s2st.S2STClient.for_emulator(emu)


async def translate(
    client: s2st.S2STClient, source: Path, *, target: str, speed: float, out: Path
) -> None:
    """Stream ``source`` (paced at ``speed`` x real time) and print/write what comes back."""
    out.parent.mkdir(parents=True, exist_ok=True)
    heard: list[str] = []
    said: list[str] = []
    with WavWriter(out) as wav:
        async with client.connect(target) as session:
            session.start_stream(source, speed=speed)  # streams, then finish()es the session
            async for event in session:
                if isinstance(event, s2st.InputTranscription):
                    heard.append(event.text)
                    print(f"  source     + {event.text!r}", flush=True)
                elif isinstance(event, s2st.OutputTranscription):
                    said.append(event.text)
                    print(f"  translated + {event.text!r}", flush=True)
                elif isinstance(event, s2st.AudioChunk):
                    wav.write(event)
        print(f"source:     {''.join(heard).strip()}")
        print(f"translated: {''.join(said).strip()}")
        print(f"wrote {wav.duration_s:.2f} s of translated speech to {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, help="audio file (default: the sample)")
    parser.add_argument("--target", default="es", help="target language code (default: es)")
    parser.add_argument("--emulator", action="store_true", help="use the local emulator")
    parser.add_argument("--speed", type=float, help="x real time (default 4 emulator, 1 real)")
    parser.add_argument("--out", type=Path, default=Path("out/translated.wav"))
    args = parser.parse_args(argv)

    real = use_real_service(args.emulator)
    speed = args.speed or (1.0 if real else 4.0)
    source = args.source or Path(sample_path("hello"))
    print(
        f"translating {source.name} into {args.target!r} via "
        f"{'Google' if real else 'the local emulator'} at {speed:g}x real time"
    )

    async def run() -> None:
        async with open_client(real) as client:
            await translate(client, source, target=args.target, speed=speed, out=args.out)
        if not real:
            print(
                "note: the emulator's translations of the bundled samples are scripted, not "
                "real translations; other audio gets labelled loopback. For a real offline "
                "translation: s2st translate FILE --to es --engine local (pip install "
                "'s2st[local]'); for Google's model, set GOOGLE_CLOUD_PROJECT or GOOGLE_API_KEY."
            )

    try:
        asyncio.run(run())
    except s2st.S2STError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
