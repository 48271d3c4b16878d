"""Emulator load benchmark: N concurrent plain-websockets clients streaming at real time.

The emulator runs in its own process (one event loop, so one core at most). Each client sends
100 ms chunks of 16 kHz audio at real time: tone bursts of 1 s separated by 1 s of silence, so
every burst is answered (loopback engine) with audio, transcripts and ``turnComplete``. The
emulator should send ``turnComplete`` ``end_silence_ms`` (500 ms) after a burst ends; the lag is
how much later it arrives. PASS when the worst lag stays under ``--max-lag-ms``.

    python benchmarks/bench_emulator.py --clients 250 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

SETUP = json.dumps(
    {
        "setup": {
            "model": "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash-s2st-11-2025-exp",
            "generation_config": {
                "response_modalities": ["AUDIO"],
                "speech_config": {"language_code": "es"},
            },
            "input_audio_transcription": {},
            "output_audio_transcription": {},
            "enable_speech_to_speech_translation": True,
        }
    }
)


def _serve(port_q: Any, stop: Any) -> None:
    from s2st.emulator import Emulator

    async def main() -> None:
        async with Emulator(engine="loopback", usage_every_s=5.0) as emu:
            port_q.put(emu.port)
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(main())


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _messages(seconds: float) -> list[tuple[str, bool]]:
    """(frame, ends_burst) per 100 ms chunk: 1 s tone, 1 s silence, repeated."""
    t = np.arange(1600) / 16000
    loud = (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
    quiet = np.zeros(1600, "<i2").tobytes()

    def frame(pcm: bytes) -> str:
        blob = {"mimeType": "audio/pcm;rate=16000", "data": base64.b64encode(pcm).decode()}
        return json.dumps({"realtimeInput": {"audio": blob}})

    out = []
    for i in range(int(seconds * 10)):
        in_burst = (i // 10) % 2 == 0
        out.append((frame(loud if in_burst else quiet), in_burst and i % 10 == 9))
    return out


async def _client(url: str, msgs: list[tuple[str, bool]], start: float, lags: list[float]) -> None:
    async with connect(
        url, additional_headers={"Authorization": "Bearer bench"}, max_queue=None
    ) as ws:
        await ws.send(SETUP)
        await ws.recv()
        expected: list[float] = []

        async def reader() -> None:
            async for raw in ws:
                if b"turnComplete" in (raw if isinstance(raw, bytes) else raw.encode()):
                    lags.append(time.monotonic() - expected.pop(0))

        task = asyncio.ensure_future(reader())
        t0 = start
        for i, (frame, ends) in enumerate(msgs):
            delay = t0 + (i + 1) * 0.1 - time.monotonic()  # a chunk exists once captured
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(frame)
            if ends:
                expected.append(t0 + (i + 1) * 0.1 + 0.5)  # burst end + 500 ms silence
        await asyncio.sleep(1.5)
        task.cancel()


async def _run(port: int, clients: int, seconds: float) -> list[float]:
    url = f"ws://127.0.0.1:{port}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    msgs = _messages(seconds)
    lags: list[float] = []
    start = time.monotonic() + 2.0  # everyone connected before streaming starts
    await asyncio.gather(*(_client(url, msgs, start, lags) for _ in range(clients)))
    return lags


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=250)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-lag-ms", type=float, default=250.0)
    args = ap.parse_args(argv)
    ctx = mp.get_context("spawn")
    port_q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    proc = ctx.Process(target=_serve, args=(port_q, stop), daemon=True)
    proc.start()
    try:
        port = port_q.get(timeout=30)
        cpu0, wall0 = _cpu_s(proc.pid or 0), time.monotonic()
        lags = asyncio.run(_run(port, args.clients, args.seconds))
        cpu = _cpu_s(proc.pid or 0) - cpu0
        wall = time.monotonic() - wall0
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    expected = args.clients * int(args.seconds / 2)
    worst = max(lags) * 1000 if lags else float("inf")
    p50 = statistics.median(lags) * 1000 if lags else float("inf")
    ok = len(lags) == expected and worst <= args.max_lag_ms
    print(
        f"clients={args.clients} audio={args.seconds:.0f}s turns={len(lags)}/{expected} "
        f"lag p50={p50:.0f} ms max={worst:.0f} ms emulator cpu={cpu:.1f}s over {wall:.1f}s "
        f"({100 * cpu / wall:.0f}% of one core)"
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
