"""Shared pytest configuration."""

from __future__ import annotations

import sys
from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault matrix totals when they ran (tests/resilience/test_fault_matrix.py and
    tests/resilience/test_tcp_fault_matrix.py)."""
    _fault_matrix_summary(terminalreporter)
    _tcp_fault_matrix_summary(terminalreporter)


def _fault_matrix_summary(terminalreporter: Any) -> None:
    module = sys.modules.get("tests.resilience.test_fault_matrix")
    totals = getattr(module, "TOTALS", None)
    if not totals or not totals.get("runs"):
        return
    terminalreporter.write_sep("-", "fault matrix")
    terminalreporter.write_line(
        f"{totals['runs']} runs, {totals['faults']} faults injected, "
        f"{totals['reconnects']} reconnections, {totals['survived']} runs survived, "
        f"audio lost: {totals['lost']}"
    )


def _tcp_fault_matrix_summary(terminalreporter: Any) -> None:
    module = sys.modules.get("tests.resilience.test_tcp_fault_matrix")
    per_backend = getattr(module, "TOTALS", None)
    if not per_backend or not any(t.get("runs") for t in per_backend.values()):
        return
    terminalreporter.write_sep("-", "TCP fault matrix (proxy)")
    for backend, totals in per_backend.items():
        if not totals.get("runs"):
            continue
        terminalreporter.write_line(
            f"{backend}: {totals['runs']} runs, {totals['survived']} survived, "
            f"{totals['faults']} faults fired, {totals['reconnects']} reconnections, "
            f"frames lost: {totals['lost']}, frames duplicated: {totals['duplicated']}"
            + (" (Gemini overlap)" if backend == "gemini" else "")
            + f", typed errors (service unreachable): {totals['gave_up']} "
            f"(frames handed back in them: {totals['returned']})"
        )
