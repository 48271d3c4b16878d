"""Translate an audio file into speech (WAV) and subtitles (SRT) in the target language.

:func:`s2st.translate.translate_file` streams the file over one session and returns a
:class:`~s2st.translate.TranslationResult`: source and translated text, the translated speech
as a numpy array, and the aligned :class:`~s2st.segments.Segment` list (each source sentence
with its translation and its span of translated speech), which becomes the SRT cues::

    python examples/translate_file.py                       # the shipped sample into Spanish
    python examples/translate_file.py talk.flac --target de --speed 1

Without a ``client`` it uses the real service when Google credentials are configured and the
bundled emulator otherwise. Files are decoded progressively (WAV natively; FLAC/OGG/MP3 with
``pip install 's2st[files]'``) and paced at ``--speed`` x real time (use 1 for the real
service).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import s2st
from s2st.emulator import sample_path
from s2st.translate import TranslationProgress, translate_file_sync


def show_progress(p: TranslationProgress) -> None:
    """Called after every frame sent; redraws one line on a terminal."""
    if sys.stdout.isatty():
        print(f"\r  {p.fraction:4.0%} sent, {p.translated_audio_s:5.2f} s translated", end="")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, help="audio file (default: the sample)")
    parser.add_argument("--target", default="es", help="target language (default: es)")
    parser.add_argument("--out-dir", type=Path, default=Path("out"))
    parser.add_argument("--speed", type=float, default=4.0, help="x real time (emulator: 4)")
    args = parser.parse_args(argv)
    source: Path = args.source or Path(sample_path("station"))
    args.out_dir.mkdir(parents=True, exist_ok=True)

    try:
        result = translate_file_sync(
            source, args.target, speed=args.speed, progress=show_progress, timeout_s=300
        )
    except s2st.S2STError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    print()
    wav_path = args.out_dir / f"{source.stem}.{args.target}.wav"
    srt_path = args.out_dir / f"{source.stem}.{args.target}.srt"
    result.write_wav(wav_path)
    result.write_subtitles(srt_path, text="translated")
    backend = "the bundled emulator" if result.used_emulator else "Google"
    print(f"translated by {backend}: {result.translated_text}")
    for seg in result.segments:
        print(
            f"{seg.start_s:6.2f}-{seg.end_s:6.2f} s  {seg.source_text}  ->  {seg.translated_text}"
        )
    print(f"wrote {wav_path} ({result.duration_s:.2f} s) and {srt_path}:\n")
    print(srt_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
