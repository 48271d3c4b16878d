"""Translate an audio file into speech (WAV) and subtitles (SRT) in the target language.

:class:`s2st.segments.SegmentAggregator` pairs each source sentence with its translation and
the span of translated speech they belong to; each pair becomes one SRT cue, timed against the
translated speech in the WAV file::

    python examples/translate_file.py                       # the shipped sample into Spanish
    python examples/translate_file.py talk.flac --target de --out-dir out

Files are decoded progressively (WAV natively; FLAC/OGG/MP3 with ``pip install
's2st[files]'``) and paced at ``--speed`` x real time (use 1 against the real service).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import s2st
from s2st.audio import WavWriter
from s2st.emulator import Emulator, sample_path
from s2st.segments import SegmentAggregator, write_subtitles


async def translate_file(
    client: s2st.S2STClient, source: Path, *, target: str, out_dir: Path, speed: float
) -> tuple[Path, Path]:
    """Write ``<stem>.<target>.wav`` and ``<stem>.<target>.srt`` into ``out_dir``."""
    wav_path = out_dir / f"{source.stem}.{target}.wav"
    srt_path = out_dir / f"{source.stem}.{target}.srt"
    segments = SegmentAggregator()  # pairs source/translated sentences with the audio span
    with WavWriter(wav_path) as wav:
        async with client.connect(target) as session:
            session.start_stream(source, speed=speed)
            async for event in session:
                segments.feed(event)
                if isinstance(event, s2st.AudioChunk):
                    wav.write(event)
        segments.close()
    write_subtitles(srt_path, segments.segments, text="translated")
    for seg in segments.segments:
        print(
            f"{seg.start_s:6.2f}-{seg.end_s:6.2f} s  {seg.source_text}  ->  {seg.translated_text}"
        )
    return wav_path, srt_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, help="audio file (default: the sample)")
    parser.add_argument("--target", default="es", help="target language (default: es)")
    parser.add_argument("--out-dir", type=Path, default=Path("out"))
    parser.add_argument("--speed", type=float, default=4.0, help="x real time (emulator: 4)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    source = args.source or Path(sample_path("station"))

    async def run() -> None:
        async with Emulator() as emu:  # replace with s2st.S2STClient() for the real service
            client = s2st.S2STClient.for_emulator(emu)
            wav_path, srt_path = await translate_file(
                client, source, target=args.target, out_dir=args.out_dir, speed=args.speed
            )
        print(f"wrote {wav_path} and {srt_path}:\n")
        print(srt_path.read_text(encoding="utf-8"))

    try:
        asyncio.run(run())
    except s2st.S2STError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
