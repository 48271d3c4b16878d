"""A local emulator of the Live API speech-to-speech translation endpoint.

It serves the Vertex and Gemini API WebSocket paths on 127.0.0.1, validates what the real
service validates, and answers with transcripts and audio decided by an engine (scripted
scenarios or a clearly labelled loopback). It never pretends to translate arbitrary speech.
By default it behaves as the real live-translate service was seen behaving (output that never
stops, no turn markers, handles every ~2 s, the 10-minute cap closing 1008);
[`EmulatorConfig.optimistic()`][s2st.emulator.EmulatorConfig.optimistic] restores the former, friendlier behaviour.
See [`Emulator`][s2st.emulator.Emulator], [`EmulatorConfig`][s2st.emulator.EmulatorConfig], [`Engine`][s2st.emulator.Engine], [`Fault`][s2st.emulator.Fault] and
[`FaultPlan`][s2st.emulator.FaultPlan].
"""

from __future__ import annotations

from .accounting import ConnectionRecord, ReceivedMessage
from .config import DEFAULT_ALLOWED_MODELS, EmulatorConfig
from .engines import Engine, LoopbackEngine, Reply, ScriptedEngine, SilentEngine
from .faults import Fault, FaultPlan
from .runner import EmulatorThread, run_in_thread
from .scenarios import Scenario, list_scenarios, load_scenario, sample_path
from .server import Emulator, EmulatorFactory

__all__ = [
    "DEFAULT_ALLOWED_MODELS",
    "ConnectionRecord",
    "Emulator",
    "EmulatorConfig",
    "EmulatorFactory",
    "EmulatorThread",
    "Engine",
    "Fault",
    "FaultPlan",
    "LoopbackEngine",
    "ReceivedMessage",
    "Reply",
    "Scenario",
    "ScriptedEngine",
    "SilentEngine",
    "list_scenarios",
    "load_scenario",
    "run_in_thread",
    "sample_path",
]
