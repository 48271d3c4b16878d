"""Relay benchmark (issue 14): the relay's CPU cost per session against the SDK used directly.

Run: ``python benchmarks/bench_relay.py`` (``--quick`` for a short smoke run, ``--sessions N``).

The bundled emulator runs in its own process (its CPU is not counted). Both runs use the same
workload: N concurrent sessions, each streaming the bundled hello sample at real time in 100 ms
chunks, then ending the input and reading the translation to the end.

1. Direct: N ``S2STSession`` in this process; the CPU of this process (``time.process_time``)
   is the SDK's cost.
2. Relay: ``s2st relay --emulator-url`` in a child process; N simulated browsers in this
   process speak the relay's browser protocol. The CPU of the relay process (from
   ``/proc/<pid>/stat``, Linux) is the relay's cost: its SDK sessions plus the browser side.

It prints the CPU per session-second of audio for both, their ratio, and checks that every
session in both runs received the whole translation (no event lost). Ratios come from the same
run because the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.asyncio.client import connect

import s2st
from s2st.emulator import sample_path

EXPECTED = "Hoy hablaremos del tiempo."
CHUNK_MS = 100


def _pcm() -> bytes:
    with wave.open(str(sample_path("hello")), "rb") as w:
        frames: bytes = w.readframes(w.getnframes())
    return frames + bytes(16000 * 2 * 3 // 2)  # + 1.5 s silence


def _chunks(pcm: bytes) -> Iterator[bytes]:
    step = 16000 * 2 * CHUNK_MS // 1000
    for i in range(0, len(pcm), step):
        yield pcm[i : i + step]


@contextmanager
def _process(args: list[str], banner: str, env: dict[str, str] | None = None) -> Iterator[Any]:
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env or dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith(banner):
            raise RuntimeError(f"unexpected output from {args}: {line!r}")
        yield proc, line.split()[-1]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _direct_session(client: s2st.S2STClient, pcm: bytes) -> str:
    text = ""
    async with client.connect(target_language="es") as session:

        async def send() -> None:
            for chunk in _chunks(pcm):
                await session.send_audio(chunk)
                await asyncio.sleep(CHUNK_MS / 1000)
            await session.finish(timeout_s=30)

        sender = asyncio.create_task(send())
        async for event in session:
            if isinstance(event, s2st.OutputTranscription):
                text += event.text
        await sender
    return text


async def _browser_session(url: str, pcm: bytes) -> str:
    text = ""
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "version": 1, "target_language": "es"}))
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready

        async def send() -> None:
            for chunk in _chunks(pcm):
                await ws.send(chunk)
                await asyncio.sleep(CHUNK_MS / 1000)
            await ws.send(json.dumps({"type": "stop"}))

        sender = asyncio.create_task(send())
        async for frame in ws:
            if isinstance(frame, str) and (msg := json.loads(frame))["type"] == "translation":
                text += msg["text"]
        await sender
    return text


async def _run(n: int, coro: Any) -> list[str]:
    results: list[str] = await asyncio.gather(*(coro() for _ in range(n)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 sessions")
    args = parser.parse_args(argv)
    n = 5 if args.quick else args.sessions
    pcm = _pcm()
    audio_s = len(pcm) / 32000
    with _process(["-m", "s2st.emulator", "--port", "0"], "s2st emulator listening") as (_, emu):
        client = s2st.S2STClient.for_emulator(emu)
        t0 = time.process_time()
        direct = asyncio.run(_run(n, lambda: _direct_session(client, pcm)))
        direct_cpu = time.process_time() - t0

        env = {k: v for k, v in os.environ.items() if k != "S2ST_RELAY_SECRET"}
        relay_args = ["-m", "s2st.relay.cli", "--emulator-url", emu, "--port", "0"]
        relay_args += ["--max-sessions", str(max(100, n))]
        with _process(relay_args, "s2st relay listening", env) as (proc, http):
            ws_url = http.replace("http://", "ws://").rstrip("/") + "/ws"
            time.sleep(0.5)  # let it finish starting before its CPU is sampled
            c0 = _cpu_s(proc.pid)
            relayed = asyncio.run(_run(n, lambda: _browser_session(ws_url, pcm)))
            relay_cpu = _cpu_s(proc.pid) - c0

    lost = sum(not t.endswith(EXPECTED) for t in direct + relayed)
    per_direct = 1000 * direct_cpu / (n * audio_s)
    per_relay = 1000 * relay_cpu / (n * audio_s)
    print(f"{n} concurrent sessions x {audio_s:.1f} s of audio at real time")
    print(f"  SDK directly : {direct_cpu:6.2f} s CPU = {per_direct:5.2f} ms CPU per audio second")
    print(f"  through relay: {relay_cpu:6.2f} s CPU = {per_relay:5.2f} ms CPU per audio second")
    print(f"  relay / direct: {relay_cpu / max(direct_cpu, 1e-9):.2f}x")
    print(f"  sessions missing part of the translation: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
