"""A session that outlives several connection caps, with continuous audio, loses nothing.

The emulator caps each connection at 2 s (a ``goAway`` 0.8 s before the cap, then a close with
1011 "Deadline expired..."). About 60 s of scripted speech is streamed at 10x real time in
100 ms frames, so the session crosses at least three caps. From the emulator's accounting every
frame must be consumed exactly once and in order across all connections; from the events the
user must see the scripted source and translated text exactly once; and the session must end
cleanly with none of its tasks left.

Two variants: the client honours ``goAway`` (moves before the cap), and the client ignores it
(``ReconnectPolicy(on_go_away=False)``): the cap then closes the connection with 1008 (the
overstay, EVIDENCE.md row 18) or 1011 (the deadline) and the client reconnects after the fact,
replaying what the server had not confirmed.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass, field

import pytest

import s2st
from s2st.emulator import Emulator
from tests.session_helpers import of_type

from .matrix import FRAME_BYTES, program

SPEED = 10.0  # real time multiple of the sender
UTTERANCES = 10  # about 60 s of speech and pauses
LIFETIME_S = 2.0
GO_AWAY_BEFORE_S = 0.8
IDLE_S = 0.8


@dataclass
class LongRun:
    frames: list[bytes]
    expected_source: str
    expected_translation: str
    events: list[s2st.Event] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)
    connections: int = 0
    close_codes: list[int | None] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    finish_s: float = math.inf


def _norm(text: str) -> str:
    return "".join(text.split())


async def _run(seed: int, policy: s2st.ReconnectPolicy, cap_close: str = "overstay") -> LongRun:
    pcm, source, target = program(seed, UTTERANCES)
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    run = LongRun(frames, source, target)
    started = time.monotonic()
    async with Emulator(
        connection_lifetime_s=LIFETIME_S,
        go_away_before_s=GO_AWAY_BEFORE_S,
        speed=math.inf,
        resumption_update_every_messages=5,
        usage_every_s=None,
        seed=seed,
        cap_close=cap_close,
    ) as emu:
        transport = s2st.TransportOptions(
            close_timeout_s=0.5, ping_interval_s=0.5, ping_timeout_s=1.0
        )
        client = s2st.S2STClient.for_emulator(emu, transport=transport)
        session = client.connect("es", reconnect=policy)
        async with session:

            async def send() -> None:
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                for i, frame in enumerate(frames):
                    await asyncio.sleep(max(0.0, t0 + i * 0.1 / SPEED - loop.time()))
                    await session.send_audio(frame)
                finish_started = loop.time()
                # idle_s below the 1.2 s between goAways: every reconnection restarts the idle
                # clock (replayed audio is being heard), so a longer idle_s would never settle.
                await session.finish(timeout_s=20, idle_s=IDLE_S)
                run.finish_s = loop.time() - finish_started

            sender = asyncio.create_task(send())

            async def read() -> None:
                async for event in session:
                    run.events.append(event)

            await asyncio.wait_for(read(), 40)
            await asyncio.wait_for(sender, 5)
        run.leaked = [t.get_name() for t in session.running_tasks()]
        run.consumed = emu.consumed_audio_digests()
        run.connections = len(emu.connections)
        run.close_codes = [c.close_code for c in emu.connections]
    run.wall_s = time.monotonic() - started
    return run


def _check_zero_loss(run: LongRun) -> None:
    sent = [hashlib.sha1(f).hexdigest() for f in run.frames]
    assert len(set(sent)) == len(sent), "program() frames must be unique"
    sent_set = set(sent)
    # end_audio()'s trailing silence is consumed too: compare the user's frames only.
    consumed_user = [d for d in run.consumed if d in sent_set]
    assert len(consumed_user) == len(set(consumed_user)), "a frame was consumed twice"
    assert not sent_set - set(consumed_user), (
        f"{len(sent_set - set(consumed_user))} of {len(sent)} frames lost"
    )
    assert consumed_user == sent, "frames consumed out of order"
    source = "".join(e.text for e in of_type(run.events, s2st.InputTranscription))
    translated = "".join(e.text for e in of_type(run.events, s2st.OutputTranscription))
    assert _norm(source) == _norm(run.expected_source)
    assert _norm(translated) == _norm(run.expected_translation)
    assert isinstance(run.events[0], s2st.SetupComplete)
    assert not run.leaked, run.leaked
    assert sum(c.duration_s for c in of_type(run.events, s2st.AudioChunk)) > 10.0
    # finish() settled on its own (translation arrived), well before its 20 s timeout.
    assert run.finish_s < 8.0, run.finish_s


@pytest.mark.timeout(60)
async def test_session_outlives_connection_caps_with_go_away() -> None:
    run = await _run(11, s2st.ReconnectPolicy(initial_backoff_s=0.05, max_attempts=10))
    _check_zero_loss(run)
    audio_s = len(run.frames) * 0.1
    assert audio_s >= 50.0
    reconnects = of_type(run.events, s2st.Reconnected)
    moved = [r for r in reconnects if r.reason == "go_away" and r.resumed]
    assert len(moved) >= 3, reconnects
    # Every reconnection was a planned move on goAway, none after a cap closed the connection.
    assert len(moved) == len(reconnects)
    assert len(of_type(run.events, s2st.GoAway)) >= len(moved)
    assert run.connections == len(reconnects) + 1
    assert 1011 not in run.close_codes[:-1]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("cap_close", "code"), [("overstay", 1008), ("deadline", 1011)])
async def test_session_outlives_connection_caps_without_honouring_go_away(
    cap_close: str, code: int
) -> None:
    """The cap closes a client that overstays its goAway: 1008 "...failed to close the
    connection after receiving a GoAway signal..." (EVIDENCE.md row 18) or 1011 "Deadline
    expired" (row 17). Both are a session-duration cap: reconnect with the handle."""
    policy = s2st.ReconnectPolicy(on_go_away=False, initial_backoff_s=0.05, max_attempts=10)
    run = await _run(12, policy, cap_close)
    _check_zero_loss(run)
    reconnects = of_type(run.events, s2st.Reconnected)
    after_cap = [r for r in reconnects if r.reason == f"closed {code}" and r.resumed]
    assert len(after_cap) >= 3, reconnects
    assert len(after_cap) == len(reconnects)
    # The goAway notices were still delivered to the user, just not acted upon.
    assert of_type(run.events, s2st.GoAway)
    # Each capped connection was closed by the server with the cap's code, not by us.
    assert run.close_codes.count(code) >= 3
    assert sum(r.replayed_messages for r in after_cap) > 0
