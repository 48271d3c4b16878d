"""Smoke test of benchmarks/bench_realtime.py: its frames, and a tiny ``--quick`` run end to end."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_realtime.py"
ROW = re.compile(
    r"^\s*(?P<client>raw|genai|s2st)\s+(?P<n>\d+)\s+(?P<cpu>[\d.]+)\s+(?P<user>[\d.]+)\s+\d+"
    r"\s+\d+%\s+\d+%\s+(?P<p50>[\d.]+)\s+(?P<p99>[\d.]+)\s+(?P<max>[\d.]+)\s+(?P<lost>\d+)"
    r"\s+(?P<errs>\d+)\s+[\d.]+\s+\d+%\s+\d+%\s+[\d.]+",
    re.MULTILINE,
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_realtime", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_realtime"] = module
    spec.loader.exec_module(module)
    return module


def test_audio_frame_carries_the_send_stamp() -> None:
    bench = _load()
    frame = bench._Frames().audio(12345.678901)
    part = json.loads(frame)["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
    assert part["mimeType"] == "audio/pcm;rate=24000"
    pcm = np.frombuffer(base64.b64decode(part["data"]), dtype=np.int16)
    assert pcm.size == 2400  # 100 ms at 24 kHz
    assert bench._STAMP.unpack_from(pcm)[0] == 12345.678901


def test_text_frames_carry_the_send_stamp() -> None:
    bench = _load()
    tally = bench._Tally()
    for kind, key in (("input", "inputTranscription"), ("output", "outputTranscription")):
        text = json.loads(bench._Frames.transcript(kind, 1.5))["serverContent"][key]["text"]
        tally.text(kind, text)
    update = json.loads(bench._Frames.resume(2.5))["sessionResumptionUpdate"]
    assert update["resumable"] is True
    assert tally.counts == {"audio": 0, "input": 1, "output": 1, "resume": 0}
    assert len(tally.delays) == 2 and all(d > 0 for d in tally.delays)


def test_schedule_and_frame_headers() -> None:
    bench = _load()
    assert bench._expected(20) == {"audio": 200, "input": 20, "output": 20, "resume": 10}
    offsets = [t for t, _ in bench._schedule(4)]
    assert offsets == sorted(offsets) and max(offsets) < 4
    assert bench._frame_header(0x2, 125) == b"\x82\x7d"
    assert bench._frame_header(0x2, 6500) == b"\x82\x7e" + (6500).to_bytes(2, "big")
    assert bench._frame_header(0x2, 70000) == b"\x82\x7f" + (70000).to_bytes(8, "big")


@pytest.mark.timeout(240)  # three client runs in subprocesses on a shared machine
def test_quick_run_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    rows = {m.group(1): m for m in ROW.finditer(out)}
    assert set(rows) == {"raw", "genai", "s2st"}, out
    for kind, row in rows.items():
        assert int(row["n"]) == 3, out  # N in --quick
        assert float(row["cpu"]) > 0, out
        assert float(row["p50"]) <= float(row["p99"]) <= float(row["max"]), out
        assert (int(row["lost"]), int(row["errs"])) == (0, 0), f"{kind} lost messages: {out}"
        assert f"{kind}: largest N with p99 < 50 ms" in out
    assert re.search(r"N=3: s2st/raw CPU per message [\d.]+x \(user time only [\d.]+x\)", out)
