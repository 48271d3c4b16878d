"""pytest plugin (entry point ``pytest11: s2st_emulator``): emulator fixtures.

- ``s2st_emulator``: a started [`Emulator`][s2st.emulator.Emulator] with default settings (the
  real service's behaviour: continuous real-time output with PCM silence, no turn markers,
  handles every 2 s), stopped after the test.
- ``s2st_emulator_factory``: an async callable ``await factory(**config_overrides)`` returning
  started emulators; all are stopped after the test. ``await
  factory(config=EmulatorConfig.optimistic())`` gives the former optimistic behaviour.

The fixtures need pytest-asyncio (they are ``pytest_asyncio.fixture`` fixtures, so they work in
both "auto" and "strict" mode). Without pytest-asyncio, using a fixture fails with a clear message;
merely having this plugin installed never breaks a test session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .server import Emulator, EmulatorFactory

__all__ = ["EmulatorFactory", "s2st_emulator", "s2st_emulator_factory"]

try:
    import pytest_asyncio as _pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    _HAVE_PYTEST_ASYNCIO = False
else:
    _HAVE_PYTEST_ASYNCIO = True


_MISSING = (
    "The s2st emulator fixtures need pytest-asyncio: pip install pytest-asyncio (or s2st[test])."
)


async def _emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu


async def _factory() -> AsyncIterator[EmulatorFactory]:
    started: list[Emulator] = []

    async def make(**config_overrides: Any) -> Emulator:
        emu = Emulator(**config_overrides)
        await emu.start()
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in reversed(started):
            await emu.stop()


if _HAVE_PYTEST_ASYNCIO:
    s2st_emulator = _pytest_asyncio.fixture(_emulator)
    s2st_emulator_factory = _pytest_asyncio.fixture(_factory)
else:  # pragma: no cover

    @pytest.fixture
    def s2st_emulator() -> Any:
        pytest.fail(_MISSING, pytrace=False)

    @pytest.fixture
    def s2st_emulator_factory() -> Any:
        pytest.fail(_MISSING, pytrace=False)
