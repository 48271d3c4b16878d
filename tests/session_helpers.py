"""Shared helpers for session tests: a time unit, event collection, leak checks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

import s2st
from s2st.emulator import Emulator

#: Time unit for waits in tests; scale with S2ST_TEST_TIME_SCALE on slow machines.
UNIT_S = float(os.environ.get("S2ST_TEST_TIME_SCALE", "1"))


def tone(seconds: float, *, rate: int = 16_000, freq: float = 440.0, amp: float = 0.4) -> bytes:
    """A sine burst as int16 LE bytes (loud enough for the emulator's energy detector)."""
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * amp * 32767).astype("<i2").tobytes()


def silence(seconds: float, *, rate: int = 16_000) -> bytes:
    return bytes(int(seconds * rate) * 2)


async def collect(session: s2st.S2STSession, *, timeout_s: float = 20.0) -> list[s2st.Event]:
    """Read events until the session ends (bounded)."""
    events: list[s2st.Event] = []

    async def run() -> None:
        async for event in session:
            events.append(event)

    await asyncio.wait_for(run(), timeout_s * UNIT_S)
    return events


def of_type(events: list[Any], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def leaked_tasks() -> list[asyncio.Task[Any]]:
    """Tasks other than the current one that are still pending (emulator tasks excluded)."""
    current = asyncio.current_task()
    return [
        t
        for t in asyncio.all_tasks()
        if t is not current and not t.done() and t.get_name().startswith("s2st-")
    ]


@asynccontextmanager
async def emulator(**overrides: Any) -> AsyncIterator[Emulator]:
    async with Emulator(**overrides) as emu:
        yield emu
