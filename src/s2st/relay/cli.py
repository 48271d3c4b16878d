"""``s2st relay``: serve the relay with uvicorn until SIGINT/SIGTERM (with a graceful drain).

The server secret comes from the environment (``S2ST_RELAY_SECRET``), never from the command
line, where other users of the machine could read it. ``--emulator`` without a secret runs in
development mode: anonymous sessions from this machine only, bound to loopback.

On the first SIGTERM/SIGINT the relay drains: ``/healthz`` answers 503, new sessions are refused
with 4503, open sessions go on until they end or ``--drain-timeout`` passes; a second signal
stops at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from s2st._cli_files import port_number
from s2st.errors import ConfigurationError, S2STError

__all__ = ["SECRET_ENV", "add_parser", "main"]

#: Environment variable holding the token secret.
SECRET_ENV = "S2ST_RELAY_SECRET"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``relay`` subcommand to an argparse ``subparsers`` object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "relay",
        help="serve the browser/phone relay (see `s2st relay --help`)",
        description="Serve the s2st relay: a translation page, caption overlays, browser and "
        f"Twilio WebSockets. The token secret is read from ${SECRET_ENV}.",
    )
    _arguments(p)
    p.set_defaults(handler="relay")
    return p


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=port_number, default=8000, help="port (default 8000; 0 = any free)"
    )
    p.add_argument("--emulator", action="store_true", help="translate with the bundled emulator")
    p.add_argument(
        "--engine",
        choices=["scripted", "loopback", "silent", "local"],
        help="the bundled emulator's engine (implies --emulator): scripted demo scenarios "
        "(default), loopback, silent, or local (real offline translation; s2st[local])",
    )
    p.add_argument(
        "--emulator-url", metavar="URL", help="translate with an emulator already running at URL"
    )
    p.add_argument(
        "--dev",
        action="store_true",
        help="development mode: anonymous sessions from loopback (loopback bind only)",
    )
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser Origin allowed besides the relay's own (repeatable)",
    )
    p.add_argument(
        "--language", action="append", metavar="CODE", help="offer only these (repeatable)"
    )
    p.add_argument("--default-language", default="es", metavar="CODE")
    p.add_argument("--public-captions", action="store_true", help="caption rooms need no token")
    p.add_argument("--token-url", metavar="URL", help="where the page fetches its token")
    p.add_argument("--max-sessions", type=int, default=100)
    p.add_argument("--drain-timeout", type=float, default=60.0, metavar="SECONDS")
    p.add_argument("--debug", action="store_true", help="debug logging")


def _config(args: argparse.Namespace) -> Any:
    from .config import RelayConfig

    secret = os.environ.get(SECRET_ENV) or None
    if args.engine is not None:
        if args.emulator_url:
            raise ConfigurationError(
                "--engine picks the bundled emulator's engine, not --emulator-url"
            )
        args.emulator = True
    dev = bool(args.dev or ((args.emulator or args.emulator_url) and secret is None))
    if dev and args.host not in _LOOPBACK:
        raise ConfigurationError(
            f"development mode (no ${SECRET_ENV}) only binds to loopback, not {args.host!r}; "
            f"set {SECRET_ENV} to serve on a network"
        )
    if not dev and secret is None:
        raise ConfigurationError(
            f"set ${SECRET_ENV} (at least 16 bytes) so the relay can verify tokens, "
            "or use --dev / --emulator on loopback"
        )
    return RelayConfig(
        secret=secret,
        dev_mode=dev,
        allowed_origins=tuple(args.allow_origin),
        languages=tuple(args.language) if args.language else None,
        default_language=args.default_language,
        public_captions=args.public_captions,
        token_url=args.token_url,
        max_sessions=args.max_sessions,
    )


@contextlib.asynccontextmanager
async def _client(
    emulator: bool, emulator_url: str | None = None, engine: str | None = None
) -> AsyncIterator[Any]:
    from s2st import S2STClient

    if emulator_url:
        yield S2STClient.for_emulator(emulator_url)
        return
    if not emulator:
        yield S2STClient()
        return
    from s2st.emulator import Emulator

    async with Emulator(engine=engine or "scripted") as emu:
        yield S2STClient.for_emulator(emu)


async def _serve(args: argparse.Namespace, config: Any) -> None:
    import uvicorn

    from .app import Relay

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    async with _client(args.emulator, args.emulator_url, args.engine) as client:
        relay = Relay(client, config)
        server = _draining_server(
            uvicorn.Config(
                relay,
                log_level="debug" if args.debug else "info",
                ws_max_size=config.max_frame_bytes * 2,  # larger frames: our 4413, not 1009
                lifespan="on",
                ws="websockets-sansio",  # websockets' maintained API, no deprecation warnings
            ),
            relay=relay,
            drain_timeout_s=args.drain_timeout,
        )
        port = sock.getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"s2st relay listening on http://{host}:{port}/", flush=True)
        print(f"  captions overlay: http://{host}:{port}/captions?room=main", flush=True)
        if config.dev_mode:
            print("  development mode: anonymous sessions from this machine only", flush=True)
        await server.serve(sockets=[sock])


def _draining_server(config: Any, *, relay: Any, drain_timeout_s: float) -> Any:
    """uvicorn's server with a graceful drain on the first signal (module docstring)."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def __init__(self) -> None:
            super().__init__(config)
            self._drain_since: float | None = None
            self._signalled = False

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self._signalled:  # a second signal: stop now
                self.should_exit = True
            self._signalled = True  # acted on in on_tick, on the event loop

        async def on_tick(self, counter: int) -> bool:
            if self._signalled and self._drain_since is None:
                self._drain_since = time.monotonic()
                relay.drain()
            if self._drain_since is not None and (
                relay.active_sessions == 0 or time.monotonic() - self._drain_since > drain_timeout_s
            ):
                self.should_exit = True
            if self.should_exit:
                relay.shutdown()  # caption streams would hold uvicorn's shutdown forever
            return await super().on_tick(counter)

    return DrainingServer()


def main(args: argparse.Namespace) -> int:
    """Run ``s2st relay`` with parsed ``args``; returns the exit status (2: configuration)."""
    logging.basicConfig(format="s2st relay: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("s2st.relay").setLevel(logging.DEBUG if args.debug else logging.INFO)
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print("s2st: error: the relay needs: pip install 's2st[relay]'", file=sys.stderr)
        return 2
    try:
        config = _config(args)
        asyncio.run(_serve(args, config))
    except ConfigurationError as exc:
        print(f"s2st: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, OverflowError) as exc:
        print(f"s2st: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 4
    except S2STError as exc:
        print(f"s2st: error: {exc}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 130
    return 0


def _standalone(argv: list[str] | None = None) -> int:
    """``python -m s2st.relay.cli``: the same command without the ``s2st`` front end."""
    parser = argparse.ArgumentParser(prog="s2st relay")
    _arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(_standalone())
