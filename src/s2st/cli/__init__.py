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

from ._common import (
    EXIT_AUDIO,
    EXIT_AUTH,
    EXIT_INTERRUPTED,
    EXIT_TRANSPORT,
    EXIT_USAGE,
    exit_code_for,
)
from ._common import error_message as _error_message  # noqa: F401 (the one-line message of main)
from ._main import build_parser, main

__all__ = [
    "EXIT_AUDIO",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "build_parser",
    "exit_code_for",
    "main",
]
