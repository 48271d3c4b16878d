"""The TCP fault matrix: 100 seeded byte-level fault schedules per backend, through a proxy.

Each run streams about 20 s of scripted speech (unique dithered 100 ms frames, at 40x real
time) from the client through :class:`~tests.resilience.tcp_proxy.TcpFaultProxy` into the
emulator, while the proxy resets, truncates, half-closes, injects close frames (1000, 1001,
1011), stalls, drips and delays the connections at random byte offsets and refuses some
reconnects. Per run (see :func:`~tests.resilience.tcp_matrix.check`): every frame the user
sent is consumed (Vertex: exactly once and in order; Gemini API: duplicates within
``s2st.protocol.MAX_UNINDEXED_OVERLAP_MS`` per resumed connection); only ``s2st.S2STError``
reaches the user; a typed error only when the service became unreachable beyond the retry
budget, and then with ``.unconfirmed_audio`` equal to what the emulator did not consume; a
bounded close; no task or socket left; no credential in any log record or exception. Totals
per backend are printed in the terminal summary (tests/conftest.py).
"""

from __future__ import annotations

import asyncio

import pytest

from .tcp_matrix import SECRETS, Backend, SecretWatch, TcpRunResult, check, run_once

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
    totals["lost"] += result.lost
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
    assert not failures, failures


@pytest.mark.parametrize("backend", BACKENDS)
def test_tcp_fault_matrix_totals(backend: Backend) -> None:
    """Runs last in this module: the totals of the runs above (tests/conftest.py prints
    them in the terminal summary)."""
    totals = TOTALS[backend]
    if totals["runs"] == 0:
        pytest.fail("the TCP fault schedules did not run (select the whole module)")
    assert totals["runs"] == SEEDS
    assert totals["faults"] > SEEDS  # the schedules do inject faults
    assert totals["reconnects"] > SEEDS // 2  # ... and they force reconnections
    assert totals["lost"] == 0
    assert totals["survived"] == totals["runs"]
