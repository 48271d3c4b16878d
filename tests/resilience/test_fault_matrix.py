"""The fault matrix: 100 seeded random fault schedules, zero audio lost, nothing duplicated.

Each run streams about 35 s of scripted speech (the bundled scenarios in a seeded order, at
40x real time) through random faults: closes with 1000/1011, TCP drops without a close frame,
goAway, reply delays with jitter, bursts, stalled servers that never answer the closing
handshake, and slow reads. From the emulator's accounting it checks that every audio message
the user sent was consumed exactly once, in order, across all connections; from the events,
that the user saw each scripted sentence exactly once and in order; and that the session ended
cleanly with no task left behind. The totals are printed at the end of the module.
"""

from __future__ import annotations

import asyncio

import pytest

from .matrix import RunResult, run_once

SEEDS = 100
BATCH = 10
CONCURRENT = 8
TOTALS: dict[str, int] = {"runs": 0, "survived": 0, "faults": 0, "reconnects": 0, "lost": 0}


def _check(result: RunResult) -> list[str]:
    problems = []
    if result.error is not None:
        problems.append(f"ended with {result.error}")
    if result.lost:
        problems.append(f"{result.lost} audio messages lost")
    if result.duplicated:
        problems.append(f"{result.duplicated} audio messages consumed twice")
    if not result.events_in_order:
        problems.append("audio consumed out of order")
    if result.source_text != "".join(result.expected_text.split()):
        problems.append(f"source transcript differs: {result.source_text[:200]!r}")
    if result.translated_text != "".join(result.expected_translation.split()):
        problems.append(f"translation differs: {result.translated_text[:200]!r}")
    if result.leaked:
        problems.append(f"leaked tasks {result.leaked}")
    return problems


async def _batch(seeds: range) -> list[RunResult]:
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(seed: int) -> RunResult:
        async with gate:
            return await run_once(seed)

    return list(await asyncio.gather(*(one(s) for s in seeds)))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("batch", range(SEEDS // BATCH))
async def test_fault_schedules(batch: int) -> None:
    results = await _batch(range(batch * BATCH, (batch + 1) * BATCH))
    failures = {}
    for result in results:
        problems = _check(result)
        TOTALS["runs"] += 1
        TOTALS["faults"] += result.faults_injected
        TOTALS["reconnects"] += result.reconnects
        TOTALS["lost"] += result.lost
        if problems:
            failures[result.seed] = problems
        else:
            TOTALS["survived"] += 1
    assert not failures, failures


def test_fault_matrix_totals() -> None:
    """Runs last in this module: checks the totals of the runs above (tests/conftest.py prints
    them in the terminal summary)."""
    if TOTALS["runs"] == 0:
        pytest.fail("the fault schedules did not run (select the whole module)")
    assert TOTALS["runs"] == SEEDS
    assert TOTALS["lost"] == 0
    assert TOTALS["survived"] == TOTALS["runs"]
