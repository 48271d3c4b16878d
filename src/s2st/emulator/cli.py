"""``s2st emulator`` / ``python -m s2st.emulator``: run the emulator until SIGINT/SIGTERM.

Without flags it behaves like the real service (EVIDENCE.md): continuous real-time output with
PCM silence, no turn markers, handles every 2 s, a 600 s cap with a goAway 50 s before it.
``--optimistic`` starts from [`EmulatorConfig.optimistic()`][s2st.emulator.EmulatorConfig.optimistic] instead; every other flag
overrides one field on top of either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NoReturn

from s2st._cli_files import port_number
from s2st.errors import ConfigurationError

from .config import EmulatorConfig
from .server import Emulator

__all__ = ["main"]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0 (inf allowed where documented)")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``s2st emulator: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# One flat table of the command's options: splitting it would only scatter them.
def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="s2st emulator",
        description="Run a local Live API speech-to-speech translation emulator.",
    )
    add = p.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=port_number, default=0, help="port (default 0: a free port)")
    add("--debug", action="store_true", help="log every connection and fault (DEBUG level)")
    add(
        "--optimistic",
        action="store_true",
        help="start from the optimistic preset "
        "(turn markers, no silence, speed 4, idle-only handles, 1011 at the cap)",
    )
    add("--lifetime", type=_positive, help="connection cap in seconds (default 600)")
    add(
        "--go-away-before",
        type=_non_negative,
        help="goAway notice before the cap, s (default 50)",
    )
    add(
        "--cap-close",
        choices=["overstay", "deadline"],
        help="close at the cap: overstay = 1008 (default), deadline = 1011",
    )
    add(
        "--speed",
        type=_positive,
        help="output pace, x real time (default 1; 'inf' sends at once and streams no silence)",
    )
    add("--no-silence", action="store_true", help="stay quiet when there is nothing to say")
    add("--turn-markers", action="store_true", help="send generationComplete/turnComplete")
    add(
        "--resumption-every",
        type=_positive,
        help="seconds between sessionResumptionUpdate messages (default 2)",
    )
    add(
        "--handles-only-when-idle",
        action="store_true",
        help="send resumable:false while an utterance is open",
    )
    add(
        "--quota-exhausted",
        action="store_true",
        help="refuse every setup with the 1011 quota close",
    )
    add(
        "--unsupported-model",
        action="append",
        default=[],
        metavar="MODEL_ID",
        help="close 1007 '<id> is not supported in the live api.' for this model (repeatable)",
    )
    add("--text-frames", action="store_true", help="send text frames, not binary")
    add("--seed", type=int, default=0, help="seed for jitter, handles and session ids")
    add(
        "--engine",
        choices=["scripted", "loopback", "silent", "local"],
        default="scripted",
        help="what the emulator answers: scripted scenarios with a loopback fallback (default), "
        "loopback (echo, labelled), silent (only silence, like a setup a proxy broke), or local "
        "(a real offline translation: VAD, Whisper, Apertium, TTS; pip install 's2st[local]')",
    )
    add("--no-s2st-flag", action="store_true", help="accept setups without S2ST")
    return p


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The [`EmulatorConfig`][s2st.emulator.EmulatorConfig] the parsed command line asks for."""
    base = EmulatorConfig.optimistic() if args.optimistic else EmulatorConfig()
    fields: dict[str, Any] = {
        "seed": args.seed,
        "engine": args.engine,
        "binary_frames": not args.text_frames,
        "require_s2st_flag": not args.no_s2st_flag,
        "unsupported_models": tuple(args.unsupported_model),
    }
    optional = {
        "connection_lifetime_s": args.lifetime,
        "go_away_before_s": args.go_away_before,
        "cap_close": args.cap_close,
        "speed": args.speed,
        "resumption_update_every_s": args.resumption_every,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    for flag, name, value in (
        (args.no_silence, "stream_silence", False),
        (args.turn_markers, "turn_markers", True),
        (args.handles_only_when_idle, "handles_only_when_idle", True),
        (args.quota_exhausted, "quota_exhausted", True),
    ):
        if flag:
            fields[name] = value
    life = fields.get("connection_lifetime_s", base.connection_lifetime_s)
    go_away = fields.get("go_away_before_s", base.go_away_before_s)
    if life is not None and not math.isinf(life):
        fields["go_away_before_s"] = min(go_away, life)
    return replace(base, **fields)


async def _serve(args: argparse.Namespace, config: EmulatorConfig) -> None:
    emu = Emulator(host=args.host, port=args.port, config=config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    async with emu:
        print(f"s2st emulator listening on {emu.base_url}", flush=True)
        print(f"  vertex: {emu.vertex_url()}", flush=True)
        print(f"  gemini: {emu.gemini_url()}", flush=True)
        await stop.wait()
        print("s2st emulator stopping", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 after a signal-initiated stop, 2 for bad flags)."""
    args = _parser().parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="s2st emulator: %(name)s: %(message)s")
    try:
        config = build_config(args)
    except ConfigurationError as exc:
        print(f"s2st emulator: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, config))
    except KeyboardInterrupt:  # pragma: no cover - signal handler normally catches it
        pass
    except (OSError, OverflowError) as exc:
        print(f"s2st emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
