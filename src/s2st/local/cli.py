"""``s2st local ...``: the local engine's commands.

``s2st local check [--json]`` lists the language pairs and voices the local engine can use on
this machine and what to install for the rest. Exit status 0 when the engine is ready (VAD, ASR
and at least one pair), 1 when it is not.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser", "main"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``local`` on the ``s2st`` command's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "local",
        help="the local cascade engine (VAD, ASR, MT, TTS): `s2st local check`",
        description="Commands of the local (offline) translation engine.",
    )
    sub = p.add_subparsers(dest="local_command", metavar="LOCAL_COMMAND")
    sub.required = True
    c = sub.add_parser(
        "check",
        help="list available language pairs and voices, and what to install",
        description="List which language pairs and voices the local engine can use on this "
        "machine, and what to install for the rest. Loads no model.",
    )
    c.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler="local")
    return p


def main(args: argparse.Namespace) -> int:
    """Run a parsed ``s2st local`` command; returns the exit status."""
    from .check import check, format_report

    report = check()
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_report(report) + "\n")
    return 0 if report.ready else 1
