"""Emulator: resumption, goAway/lifetime, every fault kind, determinism (plain websockets)."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect

from s2st.emulator import Emulator, EmulatorConfig, Fault, FaultPlan

from .helpers import (
    BEARER,
    audio_msg,
    expect_close,
    legacy_setup,
    open_vertex,
    recv_json,
    stream,
    tone,
)

OPTIMISTIC = EmulatorConfig.optimistic()


def _chunks(n: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-200, 200, 1600).astype(np.int16) for _ in range(n)]  # quiet noise


async def _updates(ws, n: int) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    while len(out) < n:
        msg = await recv_json(ws)
        if "sessionResumptionUpdate" in msg:
            out.append(msg["sessionResumptionUpdate"])
    return out


async def test_transparent_resumption_and_consumed_accounting() -> None:
    async with Emulator(config=OPTIMISTIC, resumption_update_every_messages=3) as emu:
        chunks = _chunks(8)
        ws = await open_vertex(emu, legacy_setup(session_resumption={"transparent": True}))
        assert "setupComplete" in await recv_json(ws)
        first = (await _updates(ws, 1))[0]
        assert first["resumable"] is True and first["lastConsumedClientMessageIndex"] == "0"
        for c in chunks[:3]:
            await ws.send(audio_msg(c))
        upd = (await _updates(ws, 1))[0]
        assert upd["lastConsumedClientMessageIndex"] == "3"  # setup is message 0
        handle = upd["newHandle"]
        for c in chunks[3:5]:  # sent after the handle: lost when the connection drops
            await ws.send(audio_msg(c))
        emu.inject(Fault.drop(at_s=0), connection=0)
        assert (await expect_close(ws))[0] == 1006
        rec0 = await emu.wait_for_close(0)
        assert rec0.handles_issued[-1] == handle and rec0.consumed_through == 3
        # resume; replay messages 4 and 5, then continue
        async with connect(emu.vertex_url(), additional_headers=BEARER) as ws2:
            await ws2.send(
                json.dumps(legacy_setup(session_resumption={"handle": handle, "transparent": True}))
            )
            assert "setupComplete" in await recv_json(ws2)
            for c in chunks[3:8]:
                await ws2.send(audio_msg(c))
            upd2 = await _updates(ws2, 2)
            assert [u["lastConsumedClientMessageIndex"] for u in upd2] == ["0", "3"]
        rec1 = await emu.wait_for_close(1)
    assert rec1.resumed_from_handle == handle and rec1.session_id == rec0.session_id
    import hashlib

    expected = [hashlib.sha1(c.astype("<i2").tobytes()).hexdigest() for c in chunks]
    assert emu.consumed_audio_digests() == expected  # exactly once, in order
    assert emu.all_audio_bytes() == b"".join(c.astype("<i2").tobytes() for c in chunks)
    assert len(rec0.audio_digests) == 5  # received 5, only 3 made it into the session


async def test_non_transparent_updates_and_bad_handles() -> None:
    async with Emulator(config=OPTIMISTIC) as emu:
        ws = await open_vertex(emu, legacy_setup(session_resumption={}))
        await recv_json(ws)
        upd = (await _updates(ws, 1))[0]
        assert set(upd) == {"newHandle", "resumable"}
        # resuming while the old connection is open -> 1011
        ws2 = await open_vertex(emu, legacy_setup(session_resumption={"handle": upd["newHandle"]}))
        assert (await expect_close(ws2))[0] == 1011
        ws3 = await open_vertex(emu, legacy_setup(session_resumption={"handle": "nope"}))
        code, reason = await expect_close(ws3)
        assert code == 1007 and "handle" in reason
        await ws.close()
        # not resumable while a segment is open
        ws4 = await open_vertex(emu, legacy_setup(session_resumption={"handle": upd["newHandle"]}))
        await recv_json(ws4)
        await _updates(ws4, 1)
        emu.inject(Fault.close(1000, at_s=5), connection=3)
        for c in np.split(tone(1.0, post_s=0)[:16000], 10):
            await ws4.send(audio_msg(c))
        # default: update every 20 messages; force one by many chunks of speech
        for c in np.split(tone(2.0, pre_s=0, post_s=0)[:32000], 20):
            await ws4.send(audio_msg(c))
        upd4 = (await _updates(ws4, 1))[0]
        assert upd4 == {"resumable": False}
        await ws4.close()


async def test_handle_expiry() -> None:
    async with Emulator(handle_ttl_s=0.05, usage_every_s=None) as emu:
        ws = await open_vertex(emu, legacy_setup(session_resumption={}))
        await recv_json(ws)
        handle = (await _updates(ws, 1))[0]["newHandle"]
        await ws.close()
        await asyncio.sleep(0.1)
        ws2 = await open_vertex(emu, legacy_setup(session_resumption={"handle": handle}))
        assert (await expect_close(ws2))[0] == 1007


async def test_go_away_and_lifetime() -> None:
    optimistic = EmulatorConfig.optimistic(connection_lifetime_s=0.6, go_away_before_s=0.3)
    async with Emulator(config=optimistic) as emu:
        ws = await open_vertex(emu)
        t0 = time.monotonic()
        await recv_json(ws)
        msg = await recv_json(ws)
        t_go = time.monotonic() - t0
        assert msg == {"goAway": {"timeLeft": "0.300s"}}
        assert 0.2 < t_go < 0.5
        code, reason = await expect_close(ws)
        assert (code, reason) == (1011, "Deadline expired before operation could complete.")
        assert 0.5 < time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("code", [1000, 1007, 1008, 1011])
async def test_fault_close_at_message(code: int) -> None:
    plan = FaultPlan({0: [Fault.close(code, "injected", at_message=2)]})
    async with Emulator(faults=plan) as emu:
        ws = await open_vertex(emu)
        await recv_json(ws)
        for c in _chunks(3):
            await ws.send(audio_msg(c))
        assert await expect_close(ws) == (code, "injected")
        rec = await emu.wait_for_close(0)
    assert rec.kinds()[:3] == ["setup", "audio", "unprocessed"]
    assert len(rec.audio) == 1 and rec.faults_fired == ["close"]


async def test_fault_close_at_time_and_second_connection_unaffected() -> None:
    plan = FaultPlan({1: Fault.close(1011, "boom", at_s=0.1)})
    async with Emulator(faults=plan) as emu:
        ws0 = await open_vertex(emu)
        await recv_json(ws0)
        ws1 = await open_vertex(emu)
        await recv_json(ws1)
        t0 = time.monotonic()
        assert await expect_close(ws1) == (1011, "boom")
        assert time.monotonic() - t0 < 0.5
        assert emu.connections[0].open
        await ws0.close()


async def test_fault_go_away() -> None:
    async with Emulator(faults=FaultPlan({0: Fault.go_away(0.2, at_message=1)})) as emu:
        ws = await open_vertex(emu)
        await recv_json(ws)
        await ws.send(audio_msg(_chunks(1)[0]))
        assert await recv_json(ws) == {"goAway": {"timeLeft": "0.200s"}}
        assert (await expect_close(ws))[0] == 1011


async def test_fault_delay_with_jitter_is_deterministic() -> None:
    times = []
    for _ in range(2):
        async with Emulator(faults=FaultPlan({0: Fault.delay(100, 50)}), seed=7) as emu:
            ws = await open_vertex(emu)
            t0 = time.monotonic()
            await recv_json(ws)
            times.append(time.monotonic() - t0)
            await ws.close()
    assert all(t >= 0.09 for t in times)
    import random

    assert Fault.delay(1, 2) == Fault.delay(1, 2)
    assert FaultPlan.random(3).faults == FaultPlan.random(3).faults
    assert (
        FaultPlan.random(3).faults != FaultPlan.random(4).faults
        or random.Random(3).random() != random.Random(4).random()
    )


async def test_fault_burst_releases_at_once() -> None:
    plan = FaultPlan({0: Fault.burst(0.4, at_message=1)})
    async with Emulator(config=OPTIMISTIC, faults=plan, speed=1.0) as emu:
        ws = await open_vertex(emu)
        await recv_json(ws)
        t0 = time.monotonic()
        await stream(ws, tone(0.6), speedup=float("inf"))
        arrivals = []
        msgs = []
        while not msgs or not msgs[-1].get("serverContent", {}).get("turnComplete"):
            msgs.append(await recv_json(ws))
            arrivals.append(time.monotonic() - t0)
        assert arrivals[0] >= 0.35
        assert arrivals[-1] - arrivals[0] < 0.1  # 0.6 s of audio at speed 1.0 would take 0.6 s
        await ws.close()


async def test_fault_drop_and_stall_and_malformed() -> None:
    plan = FaultPlan(
        {
            0: Fault.drop(at_message=1),
            1: Fault.stall_close(0.5, at_s=0),
            2: Fault.malformed_frame("not_json", at_s=0),
            3: Fault.malformed_frame("unknown_field", at_s=0),
        }
    )
    async with Emulator(faults=plan) as emu:
        ws = await open_vertex(emu)
        await recv_json(ws)
        await ws.send(audio_msg(_chunks(1)[0]))
        assert (await expect_close(ws))[0] == 1006
        ws = await open_vertex(emu, close_timeout=0.2)
        await recv_json(ws)
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await ws.close()  # never answered: the client gives up after close_timeout
        assert ws.close_code == 1006
        assert 0.15 < time.monotonic() - t0 < 0.45
        rec = await emu.wait_for_close(1, timeout_s=2)
        assert rec.faults_fired == ["stall_close"]
        ws = await open_vertex(emu)
        await recv_json(ws)
        assert await ws.recv() == b"{this is not json"
        await ws.close()
        ws = await open_vertex(emu)
        await recv_json(ws)
        assert await recv_json(ws) == {"emulatorUnknownField": {"x": 1}}
        await ws.close()


async def test_fault_slow_reads_push_back() -> None:
    async with Emulator(faults=FaultPlan({0: Fault.slow_reads(50, at_message=1)})) as emu:
        ws = await open_vertex(emu, write_limit=1024)
        await recv_json(ws)
        payload = audio_msg(np.zeros(200_000, np.int16))  # ~530 kB each
        t0 = time.monotonic()
        for _ in range(40):
            await ws.send(payload)
        elapsed = time.monotonic() - t0
        await ws.close()
        rec = await emu.wait_for_close(0)
    assert elapsed > 0.3  # 21 MB could not be buffered: sends waited for the slow reader
    gaps = np.diff([m.t for m in rec.messages[1:]])
    assert gaps.min() >= 0.045


async def test_inject_while_running() -> None:
    async with Emulator() as emu:
        ws = await open_vertex(emu)
        await recv_json(ws)
        emu.inject(Fault.close(1008, "late"), connection=0)
        assert await expect_close(ws) == (1008, "late")


def test_fault_validation() -> None:
    from s2st.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        Fault.close(1234)
    with pytest.raises(ConfigurationError):
        Fault("close", at_message=0)
    with pytest.raises(ConfigurationError):
        Fault("drop", at_message=1, at_s=1.0)
