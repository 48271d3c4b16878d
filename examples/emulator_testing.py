"""Test your own application against the emulator, including the failures you cannot
provoke on the real service (dropped connections, 1011s, refused models, slow networks).

This file is a pytest module; run it either way::

    pytest examples/emulator_testing.py
    python examples/emulator_testing.py          # runs pytest on itself

The fixtures ``s2st_emulator`` (one started emulator with default settings) and
``s2st_emulator_factory`` (``await factory(**EmulatorConfig fields)``) come from the pytest
plugin that s2st installs; they need pytest-asyncio.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import s2st
from s2st.emulator import Emulator, Fault, sample_path

EmulatorFactory = Callable[..., Awaitable[Emulator]]


# --- the "application" under test --------------------------------------------------------------
async def translate_to_text(client: s2st.S2STClient, path: Path, target: str) -> str:
    """Your code: translate a recording and return the translated text."""
    parts: list[str] = []
    async with client.connect(target) as session:
        session.start_stream(path, speed=8.0)  # tests may stream faster than real time
        async for event in session:
            if isinstance(event, s2st.OutputTranscription):
                parts.append(event.text)
    return "".join(parts).strip()


# --- the tests ------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_translates_the_sample(s2st_emulator: Emulator) -> None:
    client = s2st.S2STClient.for_emulator(s2st_emulator)
    text = await translate_to_text(client, sample_path("hello"), "de")
    assert text.startswith("Hallo und willkommen")
    # The emulator records what it received: check what your app sent.
    setup = s2st_emulator.connections[0].setup
    assert (
        setup is not None and setup["generation_config"]["speech_config"]["language_code"] == "de"
    )


@pytest.mark.asyncio
async def test_survives_a_dropped_connection(s2st_emulator_factory: EmulatorFactory) -> None:
    emu = await s2st_emulator_factory()
    emu.inject(Fault.drop(at_message=10), connection=0)  # TCP reset after the 10th message
    client = s2st.S2STClient.for_emulator(emu)
    text = await translate_to_text(client, sample_path("hello"), "es")
    assert text.endswith("del tiempo.")
    assert len(emu.connections) == 2  # the session reconnected once


@pytest.mark.asyncio
async def test_reports_a_model_without_access(s2st_emulator_factory: EmulatorFactory) -> None:
    emu = await s2st_emulator_factory(allowed_models=())  # the project is not allow-listed
    client = s2st.S2STClient.for_emulator(emu)
    with pytest.raises(s2st.ModelAccessDeniedError) as info:
        await translate_to_text(client, sample_path("hello"), "es")
    assert info.value.code == 1008


@pytest.mark.asyncio
async def test_surfaces_server_errors_without_reconnect(
    s2st_emulator_factory: EmulatorFactory,
) -> None:
    emu = await s2st_emulator_factory()
    emu.inject(Fault.close(1011, "Internal error occurred.", at_message=5), connection=0)
    client = s2st.S2STClient.for_emulator(emu)
    with pytest.raises(s2st.ServerError) as info:
        async with client.connect("es", reconnect=False) as session:
            session.start_stream(sample_path("hello"), speed=8.0)
            async for _event in session:
                pass
    assert info.value.code == 1011


if __name__ == "__main__":
    # A fresh interpreter, so pytest can rewrite the asserts of modules imported above.
    command = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"]
    sys.exit(subprocess.call(command))
