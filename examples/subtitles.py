"""Live bilingual subtitles: show each sentence pair as soon as it is final, then save them.

Transcripts arrive as small fragments (``"Hel"``, ``"lo,"`` ...) in two unaligned streams:
the source language (:class:`s2st.InputTranscription`) and the translation
(:class:`s2st.OutputTranscription`), next to the translated speech. A
:class:`s2st.segments.SegmentAggregator` fed with every event pairs them into
:class:`~s2st.segments.Segment` objects; a segment is *stable* once it will not change again.
This example prints the open segment as it grows and each stable one when it closes, then
writes bilingual WebVTT, SRT and JSONL files::

    python examples/subtitles.py
    python examples/subtitles.py --target cmn
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import s2st
from s2st.emulator import Emulator, sample_path
from s2st.segments import Segment, SegmentAggregator, write_subtitles


def show(segment: Segment) -> None:
    mark = "final" if segment.stable else "  ..."
    print(f"[{mark}] #{segment.id} {segment.start_s:5.2f}s  {segment.source_text!r}")
    print(f"                  -> {segment.translated_text!r}", flush=True)


async def live_subtitles(
    client: s2st.S2STClient, source: Path, *, target: str, speed: float
) -> list[Segment]:
    captions = SegmentAggregator(pause_s=1.5)
    async with client.connect(target) as session:
        session.start_stream(source, speed=speed)
        async for event in session:
            for segment in captions.feed(event):
                if segment.stable or isinstance(event, s2st.OutputTranscription):
                    show(segment)  # a real UI would redraw the caption line instead
    for segment in captions.close():
        show(segment)
    return captions.segments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, help="audio file (default: the sample)")
    parser.add_argument("--target", default="es", help="target language (default: es)")
    parser.add_argument("--speed", type=float, default=4.0, help="x real time")
    parser.add_argument("--out-dir", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    source = args.source or Path(sample_path("station"))

    async def run() -> list[Segment]:
        async with Emulator() as emu:  # s2st.S2STClient() for the real service
            client = s2st.S2STClient.for_emulator(emu)
            return await live_subtitles(client, source, target=args.target, speed=args.speed)

    try:
        segments = asyncio.run(run())
    except s2st.S2STError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("subtitles.vtt", "subtitles.srt", "subtitles.jsonl"):
        write_subtitles(args.out_dir / name, segments, text="both")
        print(f"wrote {args.out_dir / name}")
    print((args.out_dir / "subtitles.vtt").read_text(encoding="utf-8"))
    return 0 if segments else 1


if __name__ == "__main__":
    sys.exit(main())
