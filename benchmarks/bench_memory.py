"""Memory per idle session: s2st sessions vs raw websockets connections, same run.

Run: ``python benchmarks/bench_memory.py`` (``--sessions 200``; ``--quick`` is 20).

Each client runs in a fresh process against the lean Live API server of
``bench_realtime.py``: it opens N connections (raw: ``websockets.connect`` and the setup
message; s2st: ``client.connect`` up to ``setupComplete``), lets them sit idle for a second,
and reports the Python heap it holds per connection (``tracemalloc``, traced after the imports
and one warm-up connection) and the growth of its resident memory (``/proc/self/statm``). The
ratio of the two clients is the figure: absolute sizes depend on the machine and the Python.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tracemalloc
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_realtime  # the lean server (same directory)

RATIO_TARGET = 3.0  # a regression guard: an idle session holds its protocol core, queue, metrics


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _open_raw(url: str) -> Any:
    import websockets

    ws = await websockets.connect(url, max_size=None)
    await ws.send(json.dumps({"setup": {"model": f"models/{bench_realtime.MODEL}"}}))
    await ws.recv()  # setupComplete
    return ws


async def _open_s2st(url: str) -> Any:
    import s2st

    client = s2st.S2STClient(backend="gemini", api_key="bench-key", base_url=url)
    session = client.connect("es", reconnect=False)
    await session.open()
    return session


async def _client(kind: str, url: str, sessions: int) -> dict[str, Any]:
    opener = _open_raw if kind == "raw" else _open_s2st
    warm = await opener(url)  # imports, caches and the first-use allocations
    gc.collect()
    tracemalloc.start()
    before_heap, before_rss = tracemalloc.get_traced_memory()[0], _rss_bytes()
    opened = [await opener(url) for _ in range(sessions)]
    await asyncio.sleep(1.0)
    gc.collect()
    heap, rss = tracemalloc.get_traced_memory()[0], _rss_bytes()
    tracemalloc.stop()
    for item in [warm, *opened]:
        await (item.close() if kind == "raw" else item.aclose())
    return {
        "kind": kind,
        "sessions": sessions,
        "heap_per_session": (heap - before_heap) / sessions,
        "rss_per_session": (rss - before_rss) / sessions,
    }


def _measure(kind: str, sessions: int) -> dict[str, Any]:
    server, port = bench_realtime._start_server(30, None)
    try:
        argv = [sys.executable, __file__, "--client", kind, "--port", str(port)]
        argv += ["--sessions", str(sessions)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise SystemExit(f"{kind} client failed: {done.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
        return result
    finally:
        assert server.stdin is not None
        server.communicate("", timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 sessions")
    parser.add_argument("--client", choices=("raw", "s2st"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sessions = 20 if args.quick else args.sessions
    if args.client:
        url = f"ws://127.0.0.1:{args.port}/"
        print("RESULT " + json.dumps(asyncio.run(_client(args.client, url, sessions))))
        return 0
    results = {kind: _measure(kind, sessions) for kind in ("raw", "s2st")}
    print(f"memory per idle session, {sessions} sessions:")
    for r in results.values():
        print(
            f"  {r['kind']:>5}: Python heap {r['heap_per_session'] / 1024:7.1f} KiB, "
            f"resident {r['rss_per_session'] / 1024:7.1f} KiB"
        )
    ratio = results["s2st"]["heap_per_session"] / max(1.0, results["raw"]["heap_per_session"])
    print(f"s2st/raw heap per idle session: {ratio:.2f}x (target <= {RATIO_TARGET:.1f}x)")
    return 0 if ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
