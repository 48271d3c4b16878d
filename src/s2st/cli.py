"""The ``s2st`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _languages(args: argparse.Namespace) -> int:
    from .languages import search_languages

    rows = search_languages(args.query or "")
    for code, name in rows:
        print(f"{code:<5} {name}")
    return 0 if rows else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``s2st`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "emulator":
        from .emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="s2st", description="Real-time speech-to-speech translation."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    langs = sub.add_parser("languages", help="list or search the supported target languages")
    langs.add_argument("query", nargs="?", help="code or name to search for")
    langs.set_defaults(func=_languages)
    sub.add_parser("emulator", help="run the local Live API emulator (see `s2st emulator --help`)")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
