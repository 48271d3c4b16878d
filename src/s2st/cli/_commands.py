"""The ``translate``, ``live`` and ``languages`` subcommands of ``s2st``: each takes the parsed
arguments and the two output streams and returns the exit status."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any, Literal, TextIO

from s2st._cli_files import (
    NativeStderr,
    UsageError,
    check_input,
    check_output,
    preflight_decode,
    subtitle_bytes,
    wav_bytes,
    write_file,
)
from s2st._screen import Screen
from s2st.errors import ConfigurationError

from ._common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    DeviceError,
    check_connection_flags,
    client_context,
    emulator_note,
    language_arg,
    session_options,
)

__all__ = ["languages", "live", "translate"]


def _check_paths(args: argparse.Namespace) -> Literal["srt", "vtt", "jsonl"] | None:
    """Check the input and both outputs before connecting; return the subtitle format."""
    path = args.input
    check_input(path)
    subtitle_format = _subtitle_format(args.subtitles) if args.subtitles else None
    for flag, where in (("-o", args.output), ("--subtitles", args.subtitles)):
        if where:
            check_output(flag, where, input_path=path)
    if (
        args.output
        and args.subtitles
        and os.path.abspath(args.output) == os.path.abspath(args.subtitles)
    ):
        raise UsageError("-o and --subtitles name the same file; choose two names")
    return subtitle_format


# One flow (check, connect, translate, write); the nested callbacks share its screen.
def translate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from s2st import translate as tr
    from s2st.audio.files import _is_wav

    # Everything that can be checked is checked before connecting.
    check_connection_flags(args)
    language = language_arg(args.to)
    options = session_options(args)
    path = args.input
    subtitle_format = _check_paths(args)
    decoded = not _is_wav(path)  # a native decoder (libsndfile, FFmpeg) will run
    with NativeStderr(err, enabled=decoded or args.quiet, quiet=True):
        preflight_decode(path)
    native = NativeStderr(err, enabled=decoded or args.quiet, quiet=args.quiet)
    live_err = native.__enter__()
    screen = Screen(
        out,
        live_err,
        captions=not (args.json or args.quiet),
        progress=not args.quiet,
        show_source=args.show_source,
    )

    def on_progress(p: Any) -> None:
        screen.update_progress(p.fraction, p.sent_s, p.total_s or p.sent_s)

    async def run() -> tuple[Any, bool]:
        async with client_context(args) as (client, is_emulator):
            if is_emulator and not args.quiet:
                screen.message(emulator_note(args.engine))
            result = await tr.translate_file(
                path,
                language,
                client=client,
                speed=None if args.speed == 0 else args.speed,
                progress=on_progress,
                on_event=screen.feed,
                **options,
            )
            return result, is_emulator

    started = time.monotonic()
    try:
        result, is_emulator = asyncio.run(run())
    finally:
        screen.close()
        native.__exit__(None, None, None)
    outputs = _write_outputs(args, result, subtitle_format)
    if args.json:
        out.write(json.dumps(_result_json(result, outputs, is_emulator, started)) + "\n")
    elif not args.quiet:
        _summary(err, result, outputs, started)
    return EXIT_OK


def _summary(err: TextIO, result: Any, outputs: dict[str, str], started: float) -> None:
    err.write(
        f"s2st: done in {time.monotonic() - started:.1f} s: {len(result.segments)} segment(s),"
        f" {result.duration_s:.1f} s of translated audio\n"
    )
    for kind, where in outputs.items():
        err.write(f"s2st: wrote {kind} {where}\n")


def _write_outputs(
    args: argparse.Namespace, result: Any, subtitle_format: Literal["srt", "vtt", "jsonl"] | None
) -> dict[str, str]:
    outputs: dict[str, str] = {}
    if args.output:
        write_file("-o", args.output, wav_bytes(result.audio, result.sample_rate))
        outputs["audio"] = os.path.abspath(args.output)
    if args.subtitles and subtitle_format is not None:
        write_file("--subtitles", args.subtitles, subtitle_bytes(result, subtitle_format))
        outputs["subtitles"] = os.path.abspath(args.subtitles)
    return outputs


def _subtitle_format(path: str) -> Literal["srt", "vtt", "jsonl"]:
    suffix = os.path.splitext(path)[1].lower()
    formats: dict[str, Literal["srt", "vtt", "jsonl"]] = {
        ".srt": "srt",
        ".vtt": "vtt",
        ".jsonl": "jsonl",
    }
    if suffix not in formats:
        raise UsageError(f"--subtitles {path}: use a .srt, .vtt or .jsonl file name")
    return formats[suffix]


def _result_json(
    result: Any, outputs: dict[str, str], is_emulator: bool, started: float
) -> dict[str, Any]:
    summary: dict[str, Any] = dict(result.summary())
    summary["input"] = os.path.abspath(str(result.path))
    summary["outputs"] = outputs
    summary["used_emulator"] = is_emulator
    summary["elapsed_s"] = round(time.monotonic() - started, 3)
    return summary


async def live(args: argparse.Namespace, out: TextIO, err: TextIO, devices: Any) -> int:
    from s2st.audio import Microphone, Speaker
    from s2st.events import AudioChunk, Interrupted, OutputTranscription

    check_connection_flags(args)
    language = language_arg(args.to)
    options = session_options(args)
    mic = Microphone(device=_device(args.device), sounddevice=devices)
    speaker = Speaker(device=_device(args.output_device), sounddevice=devices)
    try:
        await mic.start()
        await speaker.start()
    except ConfigurationError as exc:
        await mic.close()
        raise DeviceError(f"no usable sound device: {exc}") from exc
    screen = Screen(out, err, captions=not args.json, progress=False, show_source=args.show_source)
    transcript: list[str] = []
    try:
        async with client_context(args) as (client, is_emulator):
            if is_emulator:
                screen.message(emulator_note(args.engine))
            async with client.connect(language, **options) as session:
                screen.message("s2st: listening; press Ctrl-C to stop")
                session.start_stream(mic, finish=True)
                if args.duration_s is not None:
                    asyncio.get_running_loop().call_later(
                        args.duration_s, lambda: asyncio.ensure_future(mic.close())
                    )
                async for event in session:
                    screen.feed(event)
                    if isinstance(event, AudioChunk):
                        speaker.play(event)
                    elif isinstance(event, Interrupted):
                        speaker.clear()
                    elif isinstance(event, OutputTranscription):
                        transcript.append(event.text)
        screen.close()
        await speaker.drain()
    finally:
        screen.close()
        await mic.close()
        await speaker.close()
    if args.json:
        out.write(json.dumps({"target_language": language, "translated_text": "".join(transcript)}))
        out.write("\n")
    return EXIT_OK


def _device(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def languages(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List languages with the code each dialect sends: ``code`` (the table code, sent by the
    ``s2st`` dialect) and ``live_translate_code`` (the BCP-47 tag of ``live_translate``)."""
    from s2st.languages import search_languages, wire_language_code

    rows = [
        (code, wire_language_code(code, "live_translate"), name)
        for code, name in search_languages(args.query or "")
    ]
    if args.json:
        records = [{"code": c, "live_translate_code": t, "name": n} for c, t, n in rows]
        out.write(json.dumps(records, ensure_ascii=False) + "\n")
    elif rows:
        out.write(f"{'s2st':<8} {'live_translate':<15} name\n")
        for code, tag, name in rows:
            out.write(f"{code:<8} {tag:<15} {name}\n")
    if not rows:
        err.write(
            f"s2st: no language matches {args.query!r}; run `s2st languages` for the full list\n"
        )
        return EXIT_NOT_FOUND
    return EXIT_OK
