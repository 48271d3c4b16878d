"""What every ``s2st`` subcommand shares: exit codes, the error-to-exit-code mapping, the
client the connection flags choose, and the checks run on ``--to``/``--model``/``--dialect``
before anything connects."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from s2st._cli_files import UsageError
from s2st.errors import (
    AudioFormatError,
    AuthenticationError,
    ConfigurationError,
    ModelAccessDeniedError,
    S2STError,
    TransportError,
    UnsupportedLanguageError,
)

__all__ = [
    "EXIT_AUDIO",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "DeviceError",
    "check_connection_flags",
    "client_context",
    "emulator_note",
    "error_message",
    "exit_code_for",
    "language_arg",
    "session_options",
]

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


def error_message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename or exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, UnsupportedLanguageError):
        return text  # already carries the suggestions and the `s2st languages` hint
    return text


@contextlib.asynccontextmanager
async def client_context(args: argparse.Namespace) -> AsyncIterator[tuple[Any, bool]]:
    """Yield ``(S2STClient, is_emulator)`` for the connection flags of ``args``.

    Without flags and without Google credentials the bundled emulator answers, with the local
    engine when it can translate into ``--to`` here (real offline translation), else with the
    scripted engine; ``args.engine`` is set to the engine used."""
    from s2st.client import S2STClient
    from s2st.translate import credentials_configured, local_engine_available

    if not (args.emulator or args.engine or args.api_key_env or args.project or args.location):
        if not credentials_configured():
            args.engine = "local" if local_engine_available(args.to) else "scripted"
    if args.emulator or args.engine:
        from s2st.emulator import Emulator

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
    from s2st.translate import default_client_context

    async with default_client_context() as (client, is_emulator):
        yield client, is_emulator


def check_connection_flags(args: argparse.Namespace) -> None:
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


def language_arg(value: str) -> str:
    from s2st.languages import normalize_language

    return normalize_language(value)  # UnsupportedLanguageError -> exit 2 with suggestions


def session_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--to``'s BCP-47 tag and ``--model``/``--dialect`` as connect() options, validated
    before anything connects (a bad value is a ConfigurationError: exit 2). The tag keeps a
    region or script the user gave (``es-419``) for the live-translate dialect."""
    from s2st.config import TranslationConfig
    from s2st.languages import wire_language_code

    options: dict[str, Any] = {"target_language_tag": wire_language_code(args.to, "live_translate")}
    if args.model is not None:
        options["model"] = args.model
    if args.dialect is not None:
        options["dialect"] = args.dialect
    TranslationConfig.create(target_language=args.to, **options)
    return options


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


def emulator_note(engine: str | None) -> str:
    return _ENGINE_NOTES.get(engine or "scripted", _EMULATOR_NOTE)
