"""Shared pytest configuration."""

from __future__ import annotations

import sys
from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault matrix totals when it ran (tests/resilience/test_fault_matrix.py)."""
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
