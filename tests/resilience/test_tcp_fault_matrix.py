"""The TCP fault matrix: 100 seeded byte-level fault schedules per backend, through a proxy.

Each run streams about 20 s of scripted speech (unique dithered 100 ms frames, at 40x real
time) from the client through :class:`~tests.resilience.tcp_proxy.TcpFaultProxy` into the
emulator, while the proxy resets, truncates, half-closes, injects close frames (1000, 1001,
1011), stalls, drips and delays the connections at random byte offsets and refuses some
reconnects. Per run (see :func:`~tests.resilience.tcp_matrix.check`): every frame the user
sent is consumed (Vertex: exactly once and in order; Gemini API: duplicates within
``s2st.protocol.MAX_UNINDEXED_OVERLAP_MS`` per resumed connection); only ``s2st.S2STError``
reaches the user; a typed error only when the service became unreachable beyond the retry
budget, and then with ``.unconfirmed_audio`` holding the last frames sent, all that the
emulator never consumed among them; a bounded close; no task or socket left;
no credential in any log record or exception. Totals per backend are printed in the terminal
summary (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import math
import random
import struct

import pytest

import s2st
from s2st.emulator import Emulator

from .tcp_matrix import SECRETS, Backend, SecretWatch, TcpRunResult, check, run_once
from .tcp_proxy import ProxySchedule, TcpFault, TcpFaultProxy, _FrameBoundaries

SEEDS = 100
BATCH = 10
CONCURRENT = 8
BACKENDS: tuple[Backend, ...] = ("vertex", "gemini")
TOTALS: dict[str, dict[str, int]] = {
    b: {
        "runs": 0,
        "survived": 0,
        "faults": 0,
        "reconnects": 0,
        "lost": 0,
        "returned": 0,
        "duplicated": 0,
        "gave_up": 0,
    }
    for b in BACKENDS
}


async def _batch(backend: Backend, seeds: range) -> tuple[list[TcpRunResult], list[str]]:
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(seed: int) -> TcpRunResult:
        async with gate:
            return await run_once(seed, backend)

    with SecretWatch(SECRETS) as watch:
        results = list(await asyncio.gather(*(one(s) for s in seeds)))
    return results, watch.leaks


def _record(backend: Backend, result: TcpRunResult, problems: list[str]) -> None:
    totals = TOTALS[backend]
    totals["runs"] += 1
    totals["faults"] += result.faults_fired
    totals["reconnects"] += result.reconnects
    # Frames not consumed: lost, unless the run gave up and handed them back in its error.
    totals["lost" if result.error is None or result.unconfirmed_ms is None else "returned"] += (
        result.lost
    )
    totals["duplicated"] += result.duplicated
    totals["gave_up"] += result.error is not None
    totals["survived"] += not problems


@pytest.mark.timeout(240)
@pytest.mark.parametrize("batch", range(SEEDS // BATCH))
@pytest.mark.parametrize("backend", BACKENDS)
async def test_tcp_fault_schedules(backend: Backend, batch: int) -> None:
    results, log_leaks = await _batch(backend, range(batch * BATCH, (batch + 1) * BATCH))
    failures = {}
    for result in results:
        problems = check(result)
        _record(backend, result, problems)
        if problems:
            failures[result.seed] = [
                *problems,
                f"schedule: {result.schedule}",
                f"trace: {result.trace}",
            ]
    assert not log_leaks, f"credential in log records: {log_leaks[:3]}"
    report = "\n".join(f"seed {seed}: " + " | ".join(p) for seed, p in failures.items())
    assert not failures, f"{len(failures)} of {len(results)} runs failed:\n{report}"


def _frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes([0x80 | opcode, n]) + payload
    if n < 65536:
        return bytes([0x80 | opcode, 126]) + struct.pack("!H", n) + payload
    return bytes([0x80 | opcode, 127]) + struct.pack("!Q", n) + payload


@pytest.mark.parametrize("seed", range(5))
def test_proxy_finds_websocket_frame_boundaries(seed: int) -> None:
    """The close-frame injection point: every frame start, whatever the read chunking."""
    rng = random.Random(seed)
    stream = bytearray(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    expected = [len(stream)]
    for size in [0, 1, 125, 126, 65535, 65536, 70000, *(rng.randrange(0, 3000) for _ in range(20))]:
        stream += _frame(bytes(size), opcode=rng.choice((1, 2, 9)))
        expected.append(len(stream))
    finder, found, pos = _FrameBoundaries(), [], 0
    while pos < len(stream):
        chunk = bytes(stream[pos : pos + rng.randint(1, 9000)])
        found += [pos + offset for offset in finder.feed(chunk)]
        pos += len(chunk)
    assert sorted(set(found)) == expected


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (
            TcpFault("close_frame", "s2c", 6000, code=1011, reason="Internal error occurred."),
            "closed 1011",
        ),
        (TcpFault("close_frame", "s2c", 6000, code=1000), "closed 1000"),
        (TcpFault("reset", "c2s", 20_000), "closed 1006"),
        (TcpFault("truncate", "s2c", 6000), "closed 1006"),
        (TcpFault("fin", "s2c", 6000), "closed 1006"),
    ],
)
async def test_proxy_faults_end_the_connection_as_labelled(fault: TcpFault, reason: str) -> None:
    """Each connection-ending fault reaches the client as the close it stands for, and the
    session moves to a second connection."""
    async with (
        Emulator(speed=math.inf, usage_every_s=0.2) as emu,
        TcpFaultProxy(emu.port, ProxySchedule().add(fault, connection=0)) as proxy,
    ):
        client = s2st.S2STClient.for_emulator(proxy.base_url)
        reconnected: list[s2st.Reconnected] = []
        async with client.connect(
            "es", reconnect=s2st.ReconnectPolicy(initial_backoff_s=0.05)
        ) as session:
            for _ in range(40):
                await session.send_audio(bytes(3200))
                await asyncio.sleep(0.01)
            while not reconnected:
                event = await session.receive(timeout_s=10)
                if isinstance(event, s2st.Reconnected):
                    reconnected.append(event)
        assert await proxy.wait_client_sockets_closed(5.0)
    assert [f.label for f in proxy.fired] == [fault.label()]
    assert reconnected[0].reason == reason
    assert proxy.connections == 2


@pytest.mark.timeout(60)
async def test_proxy_refusals_and_stalls_hold_the_client_back() -> None:
    """A stall forwards nothing for its duration; refused connections are reset or left
    unanswered; counters add up."""
    schedule = ProxySchedule().add(TcpFault("stall", "c2s", 3000, duration_s=1.0), connection=0)
    schedule.refuse([1], "rst").refuse([2], "silent")
    async with (
        Emulator(speed=math.inf) as emu,
        TcpFaultProxy(emu.port, schedule) as proxy,
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"x" * 3996 + b"\r\n\r\n")  # not HTTP: the emulator refuses it
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):  # stalled: nothing forwarded either way
            await asyncio.wait_for(reader.read(100), 0.7)
        await asyncio.wait_for(reader.read(100), 5.0)  # the refusal, once the stall ended
        assert loop.time() - t0 >= 0.95
        assert proxy.bytes_c2s == 4000 and proxy.fired[0].label == "stall 1.00s c2s@3000"
        writer.close()
        rst_r, rst_w = await asyncio.open_connection("127.0.0.1", proxy.port)
        with pytest.raises(ConnectionResetError):  # a real RST, not a FIN
            await asyncio.wait_for(rst_r.read(10), 5)
        rst_w.close()
        silent_r, silent_w = await asyncio.open_connection("127.0.0.1", proxy.port)
        silent_w.write(b"GET / HTTP/1.1\r\n\r\n")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(silent_r.read(10), 1.0)
        silent_w.close()
        assert await proxy.wait_client_sockets_closed(5.0)
    assert proxy.connections == 3 and proxy.refused == 2
    assert [f.label for f in proxy.fired] == ["stall 1.00s c2s@3000", "refuse rst", "refuse silent"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_tcp_fault_matrix_totals(backend: Backend) -> None:
    """Runs last in this module: the totals of the runs above (tests/conftest.py prints
    them in the terminal summary)."""
    totals = TOTALS[backend]
    if totals["runs"] == 0:
        pytest.fail("no TCP fault schedule completed (select the whole module; see above)")
    assert totals["runs"] == SEEDS
    assert totals["faults"] > SEEDS  # the schedules do inject faults
    assert totals["reconnects"] > SEEDS // 2  # ... and they force reconnections
    assert totals["lost"] == 0
    assert totals["survived"] == totals["runs"]
