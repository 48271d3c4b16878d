"""Protocol-core benchmark: parser and encoder CPU time against the seed's raw loop, same run.

Run: ``python benchmarks/bench_protocol.py`` (add ``--quick`` for a short smoke run).

Targets (issue "Step 1"):
* parsing a 40 ms and a 100 ms 24 kHz audio message into an ``AudioChunk``: <= 0.6x the
  baseline ``json.loads`` + ``base64.b64decode`` + ``np.frombuffer``;
* encoding a 20 ms and a 100 ms 16 kHz ``realtimeInput`` message: <= 0.5x ``json.dumps`` of
  the same dict with ``base64.b64encode``;
* ``import s2st`` imports neither google-auth nor audio file/device libraries.

CPU time is ``time.process_time``; each measurement is the best of several rounds, and the
ratio compares two loops measured alternately in the same process.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from s2st.protocol import AudioEncoder, parse_server_frame

PARSE_TARGET = 0.6
ENCODE_TARGET = 0.5


def audio_frame(ms: int, rate: int = 24_000) -> bytes:
    rng = np.random.default_rng(ms)
    pcm = rng.integers(-8000, 8000, rate * ms // 1000).astype("<i2").tobytes()
    message = {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {
                        "inlineData": {
                            "mimeType": f"audio/pcm;rate={rate}",
                            "data": base64.b64encode(pcm).decode(),
                        }
                    }
                ]
            }
        }
    }
    return json.dumps(message).encode()


def cpu_per_call(fn: Callable[[], Any], n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n)
    return best


def compare(
    label: str, ours: Callable[[], Any], base: Callable[[], Any], n: int, rounds: int, target: float
) -> bool:
    # Alternate the two loops so both see the same machine noise.
    t_ours = t_base = float("inf")
    for _ in range(rounds):
        t_base = min(t_base, cpu_per_call(base, n, 1))
        t_ours = min(t_ours, cpu_per_call(ours, n, 1))
    ratio = t_ours / t_base
    ok = ratio <= target
    print(
        f"{label:<38} ours {t_ours * 1e6:7.2f} us  baseline {t_base * 1e6:7.2f} us"
        f"  ratio {ratio:5.2f}x  (target <= {target}x)  {'PASS' if ok else 'FAIL'}"
    )
    return ok


def bench_parse(n: int, rounds: int) -> bool:
    ok = True
    for ms in (40, 100):
        frame = audio_frame(ms)

        def baseline(frame: bytes = frame) -> Any:
            msg = json.loads(frame)
            data = msg["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"]
            return np.frombuffer(base64.b64decode(data), dtype=np.int16)

        def ours(frame: bytes = frame) -> Any:
            return parse_server_frame(frame)

        ok &= compare(
            f"parse {ms} ms 24 kHz audio -> AudioChunk", ours, baseline, n, rounds, PARSE_TARGET
        )
    return ok


def bench_encode(n: int, rounds: int) -> bool:
    ok = True
    encoder = AudioEncoder(sample_rate=16_000)
    for ms in (20, 100):
        pcm = np.random.default_rng(ms).integers(-8000, 8000, 16 * ms).astype("<i2").tobytes()

        def baseline(pcm: bytes = pcm) -> Any:
            return json.dumps(
                {
                    "realtime_input": {
                        "audio": {
                            "mime_type": "audio/pcm;rate=16000",
                            "data": base64.b64encode(pcm).decode(),
                        }
                    }
                }
            )

        def ours(pcm: bytes = pcm) -> Any:
            return encoder.encode(pcm)

        ok &= compare(
            f"encode {ms} ms 16 kHz realtimeInput", ours, baseline, n, rounds, ENCODE_TARGET
        )
    return ok


def check_import() -> bool:
    code = (
        "import sys, s2st; heavy = [m for m in ('google.auth', 'soundfile', 'sounddevice', 'soxr', 'av', "
        "'websockets') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    heavy = [m for m in out.split(",") if m]
    bad = [m for m in heavy if m != "websockets"]
    print(
        f"{'import s2st pulls in':<38} {heavy or 'nothing heavy'}  {'PASS' if not bad else 'FAIL'}"
    )
    return not bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (smoke test)")
    args = parser.parse_args(argv)
    n, rounds = (500, 3) if args.quick else (5000, 7)
    results = [bench_parse(n, rounds), bench_encode(n, rounds), check_import()]
    print("protocol benchmark:", "PASS" if all(results) else "FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
