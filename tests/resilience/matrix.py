"""One fault-matrix run: stream scripted speech through random faults, check zero loss."""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from dataclasses import dataclass, field, replace

import numpy as np

import s2st
from s2st.audio import read_audio
from s2st.emulator import Emulator, FaultPlan, load_scenario, sample_path

FRAME_BYTES = 3200  # 100 ms at 16 kHz


@dataclass
class RunResult:
    seed: int
    faults_injected: int = 0
    reconnects: int = 0
    audio_messages: int = 0
    lost: int = 0
    duplicated: int = 0
    source_text: str = ""
    expected_text: str = ""
    translated_text: str = ""
    expected_translation: str = ""
    events_in_order: bool = True
    error: str | None = None
    leaked: list[str] = field(default_factory=list)
    seconds: float = 0.0


def program(seed: int, utterances: int) -> tuple[bytes, str, str]:
    """A reproducible stream: scenario utterances in a seeded order with pauses between."""
    rng = random.Random(seed)
    pcm = bytearray()
    source: list[str] = []
    target: list[str] = []
    for _ in range(utterances):
        name = rng.choice(["hello", "station"])
        audio, _ = read_audio(sample_path(name))
        pcm += audio.astype("<i2").tobytes()
        pcm += bytes(int(16000 * rng.uniform(0.8, 1.5)) * 2)
        scenario = load_scenario(name)
        for utt in scenario.utterances:
            source.append(utt.text)
            target.append(utt.translations["es"].text)
    pcm += bytes(FRAME_BYTES - len(pcm) % FRAME_BYTES)
    # 1-LSB seeded dither makes every 100 ms frame unique, so the emulator's per-message
    # digests identify each frame (silence frames would otherwise all look alike).
    samples = np.frombuffer(bytes(pcm), dtype="<i2").astype(np.int32)
    samples += np.random.default_rng(seed).integers(-1, 2, samples.size)
    pcm = bytearray(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    return bytes(pcm), " ".join(source), " ".join(target)


def _scaled(plan: FaultPlan, speed: float) -> FaultPlan:
    """Timing faults scaled to the accelerated clock. Slow reads: at most 2x slower than the
    sender (as a server reading 50 ms late per 100 ms frame at 1x), so a backlog forms and
    drains as it would in real time instead of growing faster than any real server falls
    behind. Reply delays: divided by the speed-up, like every other duration here."""
    limit_ms = 2 * 100.0 / speed
    scaled = FaultPlan()
    for conn in range(6):
        for fault in plan.for_connection(conn):
            if fault.kind == "slow_reads" and fault.ms > limit_ms:
                fault = replace(fault, ms=limit_ms)
            elif fault.kind == "delay":
                # A per-frame reply delay is real time: on the accelerated clock it shrinks
                # too, or hundreds of output frames would each wait a real-time delay.
                fault = replace(fault, ms=fault.ms / speed, jitter_ms=fault.jitter_ms / speed)
            scaled.add(fault, connection=conn)
    return scaled


def _norm(text: str) -> str:
    return "".join(text.split())


async def run_once(seed: int, *, utterances: int = 6, speed: float = 40.0) -> RunResult:
    result = RunResult(seed)
    started = time.monotonic()
    pcm, result.expected_text, result.expected_translation = program(seed, utterances)
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    result.audio_messages = len(frames)
    plan = FaultPlan.random(
        seed,
        connections=6,
        kinds=("close", "drop", "go_away", "delay", "burst", "stall_close", "slow_reads"),
        probability=0.9,
        # Early triggers: each connection is likely to meet its fault, so a run chains several
        # connections and several faults (message indices restart on every connection).
        max_message=len(frames) // 3,
        max_s=len(frames) * 0.1 / speed / 3,
        close_codes=(1000, 1011),
    )
    plan = _scaled(plan, speed)
    async with Emulator(
        faults=plan,
        speed=math.inf,
        seed=seed,
        resumption_update_every_messages=5,
        usage_every_s=None,
    ) as emu:
        # Short keepalive: a stalled server (no pong) is detected within about a second.
        transport = s2st.TransportOptions(
            close_timeout_s=0.5, ping_interval_s=0.5, ping_timeout_s=1.0
        )
        client = s2st.S2STClient.for_emulator(emu, transport=transport)
        policy = s2st.ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.5, max_attempts=40)
        events: list[s2st.Event] = []
        session = client.connect("es", reconnect=policy)
        try:
            async with session:

                async def send() -> None:
                    loop = asyncio.get_running_loop()
                    t0 = loop.time()
                    for i, frame in enumerate(frames):
                        await asyncio.sleep(max(0.0, t0 + i * 0.1 / speed - loop.time()))
                        await session.send_audio(frame)
                    await session.finish(timeout_s=20, idle_s=1.5)

                sender = asyncio.create_task(send())
                async for event in session:
                    events.append(event)
                await sender
        except s2st.S2STError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        # This run's own tasks only (other runs may be going on concurrently).
        result.leaked = [t.get_name() for t in session.running_tasks()]
        # Faults that actually fired (a plan's later connections may never exist).
        result.faults_injected = sum(len(c.faults_fired) for c in emu.connections)
        sent = [hashlib.sha1(f).hexdigest() for f in frames]
        consumed = emu.consumed_audio_digests()
    # end_audio()'s trailing silence is consumed too: look at the user's frames only.
    sent_set = set(sent)
    consumed_user = [d for d in consumed if d in sent_set]
    result.duplicated = len(consumed_user) - len(set(consumed_user))
    result.lost = len(sent_set - set(consumed_user))
    result.events_in_order = consumed_user == sent
    result.reconnects = sum(isinstance(e, s2st.Reconnected) for e in events)
    result.source_text = _norm(
        "".join(e.text for e in events if isinstance(e, s2st.InputTranscription))
    )
    result.translated_text = _norm(
        "".join(e.text for e in events if isinstance(e, s2st.OutputTranscription))
    )
    result.seconds = time.monotonic() - started
    return result
