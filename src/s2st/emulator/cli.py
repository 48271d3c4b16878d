"""``s2st emulator`` / ``python -m s2st.emulator``: run the emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from .server import Emulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="s2st emulator",
        description="Run a local Live API speech-to-speech translation emulator.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    p.add_argument("--lifetime", type=float, default=600.0, help="connection lifetime in seconds")
    p.add_argument("--go-away-before", type=float, default=60.0, help="goAway notice, seconds")
    p.add_argument("--text-frames", action="store_true", help="send text frames, not binary")
    p.add_argument("--seed", type=int, default=0, help="seed for jitter and handles")
    p.add_argument("--engine", choices=["scripted", "loopback"], default="scripted")
    p.add_argument("--no-s2st-flag", action="store_true", help="accept setups without S2ST")
    return p


async def _serve(args: argparse.Namespace) -> None:
    emu = Emulator(
        host=args.host,
        port=args.port,
        connection_lifetime_s=args.lifetime,
        go_away_before_s=min(args.go_away_before, args.lifetime),
        binary_frames=not args.text_frames,
        seed=args.seed,
        engine=args.engine,
        require_s2st_flag=not args.no_s2st_flag,
    )
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
    """Entry point; returns the exit status (0 after a signal-initiated stop)."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:  # pragma: no cover - signal handler normally catches it
        pass
    except OSError as exc:
        print(f"s2st emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
