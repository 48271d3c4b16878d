"""Per-connection and per-session state of the emulator, and small wire helpers (private)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection

from .accounting import ConnectionRecord
from .engines import Engine
from .faults import Fault
from .wire import EndpointInfo, SetupInfo


@dataclass(frozen=True)
class _Item:
    """One queued server frame. ``frame=None`` is a resumption update built when written (so
    its handle captures exactly the output still queued behind it). ``audio_s`` paces the
    output lane; ``output`` marks translated output (dropped on barge-in)."""

    frame: str | bytes | None
    audio_s: float = 0.0
    output: bool = False


def _closing(st: _ConnState) -> bool:
    # A function call, so type checkers re-read the flag after an await.
    return st.closing


# Faults after which the connection does not process client messages any more.
_ENDING_FAULTS = frozenset({"close", "drop", "stall_close"})

_SECRET_HEADERS = {"authorization", "x-goog-api-key"}
_FROM_START = ("delay", "slow_reads", "burst")


def _duration(seconds: float) -> str:
    """proto3 Duration JSON: ``"50s"`` or ``"0.500s"``."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:.3f}s"


@dataclass
class _Session:
    """A logical session: survives resumption across connections."""

    id: int
    model_id: str
    engine: Engine
    current: ConnectionRecord | None = None
    input_s: float = 0.0
    output_s: float = 0.0


@dataclass
class _Handle:
    """A resumption point: engine state, consumed audio, and the output still queued then."""

    session: _Session
    engine: Engine
    digests: list[str]
    audio: list[bytes]
    issued_at: float
    pending: list[_Item] = field(default_factory=list)
    streaming: bool = False


@dataclass
class _ConnState:
    """Per-connection runtime state (not part of the public record)."""

    record: ConnectionRecord
    ws: ServerConnection
    endpoint: EndpointInfo
    faults: list[Fault]
    rng: random.Random
    # Two lanes: ``now`` (control frames and transcripts, written at once) and ``lane``
    # (translated audio and what must follow it, paced at ``speed``). ``kick`` wakes the sender.
    now: deque[_Item] = field(default_factory=deque)
    lane: deque[_Item] = field(default_factory=deque)
    kick: asyncio.Event = field(default_factory=asyncio.Event)
    drained: asyncio.Event = field(default_factory=asyncio.Event)  # ``now`` lane written
    stop_sending: bool = False
    streaming: bool = False  # first audio message seen: output never stops (silence)
    opened: float = field(default_factory=time.monotonic)
    setup_done_at: float | None = None
    setup: SetupInfo | None = None
    session: _Session | None = None
    delay: tuple[float, float] = (0.0, 0.0)
    hold_until: float = 0.0
    read_pause_s: float = 0.0
    stalled: bool = False
    closing: bool = False
    last_index: int = 0
    since_update: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    handle_counter: int = 0
    api_key_bad: bool = False
    sender: asyncio.Future[None] | None = None
