"""A local speech-to-speech translation engine: a VAD -> ASR -> MT -> TTS cascade.

It serves the emulator's Live API protocol, so the SDK, the CLI and users' tests get real
(machine) translations without a Google project and with the network off::

    from s2st.emulator import Emulator
    from s2st.local import local_engine_factory

    async with Emulator(engine=local_engine_factory()) as emu:
        ...

Backends (all loaded from local files, never downloaded): Silero VAD v6 and Whisper through
faster-whisper (models shipped by pinned PyPI packages, SHA-256-verified), Apertium (Debian)
or a converted CTranslate2 model for translation, espeak-ng for speech. ``s2st local check``
says what this machine can do. Importing this package loads none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .check import LocalReport, check, ready
    from .engine import LocalEngine, load_components, local_engine_factory

__all__ = [
    "LocalEngine",
    "LocalReport",
    "check",
    "load_components",
    "local_engine_factory",
    "ready",
]

_LAZY = {
    "LocalEngine": "engine",
    "load_components": "engine",
    "local_engine_factory": "engine",
    "LocalReport": "check",
    "check": "check",
    "ready": "check",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 's2st.local' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
