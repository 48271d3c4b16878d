"""Regression tests for the six reconnection bugs the TCP fault proxy found (issue 11).

One named test per case; each streams unique 100 ms frames (1-LSB dithered, so the emulator's
per-message digests identify every frame) and checks the emulator's accounting:

1. Gemini API: no audio lost on a plain goAway reconnection (no index is ever sent).
2. The new connection dies in the middle of the replay: the session reconnects again, and no
   raw ``websockets`` exception reaches ``async for``.
3. Gemini API: after a reconnection, ``finish()`` waits for the regenerated output.
4. A server that stalls after ``setupComplete`` is detected (``receive_timeout_s``) and the
   session resumes; also when the old socket stays open (retries outlast the 1011s).
5. Reconnects all refused, or accepted and never answered: a typed error in bounded time that
   carries the unconfirmed audio, and exact stats; never a normal end with audio lost.
6. No credential anywhere in the exception chain of a refused upgrade whose 401 body echoes
   the request (``__context__`` is set even with ``raise ... from None``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import s2st
import s2st.protocol
from s2st.emulator import Emulator, Fault

from .matrix import FRAME_BYTES, program
from .tcp_matrix import (
    SECRET_TOKEN,
    SecretWatch,
    judge_unconfirmed,
    leaks_in,
    make_client,
)
from .tcp_proxy import ProxySchedule, RefuseMode, TcpFault, TcpFaultProxy

FRAME_MS = 100.0
#: Case 2: about 1900 frames (4.4 kB each on the wire) into the first connection.
REPLAY_RESET_BYTE = 1900 * 4400


def speech_frames(seed: int, seconds: float) -> list[bytes]:
    """Scripted speech and pauses, unique 100 ms frames (see ``matrix.program``)."""
    pcm, _, _ = program(seed, utterances=math.ceil(seconds / 5) + 1)
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    n = round(seconds * 1000 / FRAME_MS)
    assert len(frames) >= n
    return frames[:n]


def silence_frames(seed: int, count: int) -> list[bytes]:
    """Unique frames of 1-LSB noise: silence to the emulator's activity detection, so it stays
    idle and issues handles only when asked to (large replays)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(-1, 2, FRAME_BYTES // 2).astype("<i2").tobytes() for _ in range(count)]


@dataclass
class Outcome:
    frames: list[bytes] = field(repr=False)
    events: list[s2st.Event] = field(default_factory=list, repr=False)
    error: BaseException | None = None
    sent: int = 0
    consumed: list[str] = field(default_factory=list, repr=False)
    resumed_connections: int = 0
    ended_at: float = 0.0
    finish_called_at: float | None = None
    session: Any = None

    @property
    def digests(self) -> list[str]:
        return [hashlib.sha1(f).hexdigest() for f in self.frames[: self.sent]]

    @property
    def user_consumed(self) -> list[str]:
        sent = set(self.digests)
        return [d for d in self.consumed if d in sent]

    @property
    def lost(self) -> int:
        return len(set(self.digests) - set(self.user_consumed))

    @property
    def duplicated(self) -> int:
        return len(self.user_consumed) - len(set(self.user_consumed))

    def reconnects(self) -> list[s2st.Reconnected]:
        return [e for e in self.events if isinstance(e, s2st.Reconnected)]


async def drive(
    session: s2st.S2STSession,
    frames: list[bytes],
    *,
    speed: float,
    finish_timeout_s: float = 20.0,
    idle_s: float = 1.5,
) -> Outcome:
    """Stream ``frames`` paced at ``speed`` x real time, then ``finish()``; read every event.
    Whatever reaches the user is kept in ``error`` (the assertions judge its type)."""
    out = Outcome(frames, session=session)

    async def send() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i, frame in enumerate(frames):
            await asyncio.sleep(max(0.0, t0 + i * FRAME_MS / 1000 / speed - loop.time()))
            await session.send_audio(frame)
            out.sent = i + 1
        out.finish_called_at = time.monotonic()
        await session.finish(timeout_s=finish_timeout_s, idle_s=idle_s)

    sender: asyncio.Task[None] | None = None
    try:
        async with session:
            sender = asyncio.create_task(send())
            async for event in session:
                out.events.append(event)
            await sender
    except Exception as exc:
        out.error = exc
    out.ended_at = time.monotonic()
    if sender is not None:
        if not sender.done():
            sender.cancel()
        await asyncio.wait([sender], timeout=2.0)
        if sender.done() and not sender.cancelled():
            late = sender.exception()  # SessionClosedError after the session ended, usually
            if out.error is None:
                out.error = late
    return out


def assert_no_loss(out: Outcome) -> None:
    assert out.error is None, f"session ended with {type(out.error).__name__}: {out.error}"
    assert out.sent == len(out.frames), f"only {out.sent} of {len(out.frames)} frames were sent"
    assert out.lost == 0, (
        f"{out.lost} of {out.sent} frames ({out.lost * FRAME_MS / 1000:.1f} s) never consumed; "
        f"stats.unconfirmed_audio_ms_at_close="
        f"{out.session.stats.unconfirmed_audio_ms_at_close}"
    )


def assert_typed(out: Outcome) -> s2st.S2STError:
    error = out.error
    assert error is not None, (
        f"the session ended normally with {out.lost} frames ({out.lost * FRAME_MS:.0f} ms) "
        "never consumed"
    )
    assert isinstance(error, s2st.S2STError), (
        f"{type(error).__module__}.{type(error).__name__} reached the user: {error}"
    )
    return error


def assert_unconfirmed_is_what_was_lost(out: Outcome, error: s2st.S2STError) -> None:
    """The error's unconfirmed audio: the last frames sent, covering every frame the server
    never consumed; the same from ``session.unconfirmed_audio()`` and, to the frame, in
    ``stats.unconfirmed_audio_ms_at_close``."""
    assert out.lost > 0, "the schedule should have left audio unconsumed"
    audio = getattr(error, "unconfirmed_audio", None)
    problems = judge_unconfirmed(
        out.frames[: out.sent],
        out.lost,
        None if audio is None else float(audio.duration_ms),
        None if audio is None else bytes(audio.pcm),
        out.session.stats.unconfirmed_audio_ms_at_close,
    )
    assert not problems, f"{type(error).__name__}: {'; '.join(problems)}"
    assert len(audio.pcm) == round(audio.duration_ms * audio.sample_rate * 2 / 1000)
    again = out.session.unconfirmed_audio()
    assert again is not None and again.pcm == audio.pcm


async def _run(
    emu: Emulator,
    proxy: TcpFaultProxy | None,
    backend: s2st.config.Backend,
    frames: list[bytes],
    *,
    speed: float,
    transport: s2st.TransportOptions | None = None,
    policy: s2st.ReconnectPolicy | None = None,
    **drive_kwargs: Any,
) -> Outcome:
    base_url = proxy.base_url if proxy is not None else emu.base_url
    client = make_client(backend, base_url, transport=transport)
    session = client.connect("es", reconnect=policy or s2st.ReconnectPolicy(initial_backoff_s=0.05))
    out = await drive(session, frames, speed=speed, **drive_kwargs)
    out.consumed = emu.consumed_audio_digests()
    out.resumed_connections = sum(1 for c in emu.connections if c.resumed_from_handle)
    return out


def _emulator(**overrides: Any) -> Emulator:
    from .tcp_matrix import SECRET_API_KEY

    options: dict[str, Any] = {
        "speed": math.inf,
        "seed": 11,
        "usage_every_s": 0.5,  # the real service is never quiet for long
        "valid_tokens": {SECRET_TOKEN},
        "valid_api_keys": {SECRET_API_KEY},
    }
    options.update(overrides)
    return Emulator(**options)


# --------------------------------------------------------------------------------- case 1
@pytest.mark.timeout(60)
async def test_case1_gemini_goaway_reconnection_loses_no_audio() -> None:
    """Gemini API, emulator connections capped at 3 s (goAway 1 s before), no fault at all:
    8 s of unique frames at real time cross two caps and every frame is consumed."""
    frames = speech_frames(1, 8.0)
    async with _emulator(connection_lifetime_s=3.0, go_away_before_s=1.0) as emu:
        out = await _run(emu, None, "gemini", frames, speed=1.0)
    assert len(out.reconnects()) >= 2, out.reconnects()
    assert_no_loss(out)
    stats_ms = out.session.stats.unconfirmed_audio_ms_at_close
    assert stats_ms == 0, (
        f"stats.unconfirmed_audio_ms_at_close={stats_ms:.0f} ms though the server consumed "
        "every frame (the stats must be exact)"
    )
    bound = s2st.protocol.MAX_UNINDEXED_OVERLAP_MS
    assert out.duplicated * FRAME_MS <= bound * max(1, out.resumed_connections)
    assert list(dict.fromkeys(out.user_consumed)) == out.digests  # in order


# --------------------------------------------------------------------------------- case 2
@pytest.mark.timeout(60)
async def test_case2_connection_lost_during_replay_reconnects_again() -> None:
    """The first connection is reset after 1900 frames with no handle since setup (an 8 MB
    replay: more than the socket buffers hold); the second one stalls after its setup, then is
    reset while the client is still sending the replay. The session must try again, not end
    with a raw websockets error."""
    frames = silence_frames(2, 2000)
    schedule = ProxySchedule()
    schedule.add(TcpFault("reset", "c2s", REPLAY_RESET_BYTE), connection=0)
    schedule.add(TcpFault("stall", "c2s", 3000, duration_s=1.0, hold_open=True), connection=1)
    schedule.add(TcpFault("reset", "c2s", 3001), connection=1)
    async with (
        _emulator(resumption_update_every_messages=100_000) as emu,
        TcpFaultProxy(emu.port, schedule, client_rcvbuf=65536) as proxy,
    ):
        out = await _run(emu, proxy, "vertex", frames, speed=100.0)
    assert [f.label for f in proxy.fired][:3] == [
        f"reset c2s@{REPLAY_RESET_BYTE}",
        "stall 1.00s hold-open c2s@3000",
        "reset c2s@3001",
    ], proxy.fired
    if out.error is not None:
        assert isinstance(out.error, s2st.S2STError), (
            f"{type(out.error).__module__}.{type(out.error).__name__} reached the user: {out.error}"
        )
    assert proxy.connections >= 3, "the session did not try a third connection"
    assert_no_loss(out)
    assert out.duplicated == 0
    assert out.user_consumed == out.digests


# --------------------------------------------------------------------------------- case 3
@pytest.mark.timeout(60)
async def test_case3_gemini_finish_waits_for_regenerated_output() -> None:
    """Gemini API, output paced at real time: the connection drops while the translation of
    the last utterance is being spoken, after the input ended. The resumed server speaks it
    again from the start; the part already heard is hidden, and finish() must not take that
    quiet stretch for the end: the whole translation arrives."""
    pcm, _, expected = program(3, utterances=1)
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    async with _emulator(speed=1.0, resumption_update_every_messages=5) as emu:
        client = make_client("gemini", emu.base_url)
        session = client.connect("es", reconnect=s2st.ReconnectPolicy(initial_backoff_s=0.05))

        async def drop_while_speaking() -> None:
            # After the input ended, once about 3 s of translated speech was delivered.
            await input_done.wait()
            while _audio_s(out_events) < 3.0:
                await asyncio.sleep(0.02)
            for conn in emu.connections:
                if conn.open:
                    emu.inject(Fault.drop(), connection=conn.index)

        out_events: list[s2st.Event] = []
        input_done = asyncio.Event()
        dropper = asyncio.create_task(drop_while_speaking())
        out = Outcome(frames, events=out_events, session=session)
        try:
            async with session:

                async def send() -> None:
                    for frame in frames:
                        await session.send_audio(frame)
                        await asyncio.sleep(FRAME_MS / 1000 / 4)
                    out.sent = len(frames)
                    await session.end_audio()
                    input_done.set()
                    await session.finish(timeout_s=30, idle_s=1.5)

                sender = asyncio.create_task(send())
                async for event in session:
                    out_events.append(event)
                await sender
        except Exception as exc:
            out.error = exc
        dropper.cancel()
        out.consumed = emu.consumed_audio_digests()
    assert out.reconnects(), "the connection was not dropped while speaking"
    assert out.error is None, out.error
    said = "".join(e.text for e in out_events if isinstance(e, s2st.OutputTranscription))
    assert "".join(said.split()) == "".join(expected.split()), (
        f"finish() closed before the regenerated output arrived: got {said!r}"
    )


def _audio_s(events: list[s2st.Event]) -> float:
    return sum(e.duration_s for e in events if isinstance(e, s2st.AudioChunk) and e.voiced)


# --------------------------------------------------------------------------------- case 4
@pytest.mark.timeout(60)
async def test_case4_stall_after_setup_is_detected_and_resumed() -> None:
    """The proxy stops forwarding both ways just after setupComplete, for longer than the
    session lasts. Default keepalive; receive_timeout_s=2: the silence is detected, the session
    resumes on a new connection (the server sees the old one go) and nothing is lost."""
    frames = speech_frames(4, 6.0)
    schedule = ProxySchedule().add(TcpFault("stall", "c2s", 3000, duration_s=20.0), connection=0)
    async with (
        _emulator(resumption_update_every_messages=5) as emu,
        TcpFaultProxy(emu.port, schedule) as proxy,
    ):
        transport = s2st.TransportOptions(receive_timeout_s=2.0)
        started = time.monotonic()
        out = await _run(
            emu, proxy, "vertex", frames, speed=2.0, transport=transport, finish_timeout_s=10.0
        )
    assert proxy.fired and proxy.fired[0].label.startswith("stall"), proxy.fired
    assert_no_loss(out)
    assert out.reconnects(), "the stall was never detected"
    assert out.ended_at - started < 18.0, "the session waited for the stall to end"
    assert out.duplicated == 0


@pytest.mark.timeout(60)
async def test_case4_stall_with_old_socket_open_retries_outlast_it() -> None:
    """Same stall, but the server's side of the old connection stays open for 12 s: every
    resume meanwhile is refused with 1011 (PROTOCOL.md §6.2). A time-based retry budget of
    30 s outlasts it; the session resumes and loses nothing."""
    frames = speech_frames(5, 6.0)
    stall = TcpFault("stall", "c2s", 3000, duration_s=12.0, hold_open=True)
    schedule = ProxySchedule().add(stall, connection=0)
    async with (
        _emulator(resumption_update_every_messages=5) as emu,
        TcpFaultProxy(emu.port, schedule) as proxy,
    ):
        # Short keepalive as well: the stall is noticed either way.
        transport = s2st.TransportOptions(
            receive_timeout_s=2.0, ping_interval_s=0.5, ping_timeout_s=1.5
        )
        policy = s2st.ReconnectPolicy(
            initial_backoff_s=0.1, max_backoff_s=1.0, max_attempts=None, give_up_after_s=30.0
        )
        out = await _run(
            emu,
            proxy,
            "vertex",
            frames,
            speed=2.0,
            transport=transport,
            policy=policy,
            finish_timeout_s=25.0,
        )
        refused = [c for c in emu.connections[1:] if c.close_code == 1011]
    assert refused, "no resume was refused while the old socket was open"
    assert_no_loss(out)
    assert out.reconnects()
    assert out.duplicated == 0


# --------------------------------------------------------------------------------- case 5
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["rst", "silent"])
async def test_case5_unreachable_service_raises_with_unconfirmed_audio(mode: RefuseMode) -> None:
    """The first connection is reset mid-stream and every reconnect is refused (reset at once,
    or accepted and never answered). Within the retry budget (give_up_after_s=4) the session
    ends with a typed error that carries the audio the server never confirmed (the last
    frames sent, all it never consumed among them); the stats agree to the frame; never a
    normal end."""
    frames = speech_frames(6, 6.0)
    schedule = ProxySchedule(refuse_from=1, refuse_from_mode=mode)
    schedule.add(TcpFault("reset", "c2s", 25 * 4400), connection=0)
    async with (
        _emulator(resumption_update_every_messages=5) as emu,
        TcpFaultProxy(emu.port, schedule) as proxy,
    ):
        transport = s2st.TransportOptions(open_timeout_s=1.0, receive_timeout_s=2.0)
        policy = s2st.ReconnectPolicy(
            initial_backoff_s=0.1, max_backoff_s=0.5, max_attempts=None, give_up_after_s=4.0
        )
        out = await _run(
            emu,
            proxy,
            "vertex",
            frames,
            speed=4.0,
            transport=transport,
            policy=policy,
            finish_timeout_s=3.0,
        )
    outage = [f.t for f in proxy.fired if f.connection >= 1]
    assert outage, proxy.fired
    error = assert_typed(out)
    assert_unconfirmed_is_what_was_lost(out, error)
    gave_up_s = out.ended_at - outage[0]
    assert 3.0 <= gave_up_s <= 4.0 + 6.0, (
        f"gave up {gave_up_s:.1f} s into the outage; the budget is give_up_after_s=4"
    )


# --------------------------------------------------------------------------------- case 6
@pytest.mark.timeout(60)
async def test_case6_no_credential_in_the_exception_chain_of_a_refused_upgrade() -> None:
    """A wrong bearer token; the 401 body echoes the request (Authorization included). The
    AuthenticationError, its message, repr, args, attributes and every exception behind it
    (``__cause__``, ``__context__``, even when suppressed) must not hold the token, and no
    log record either."""
    wrong = "s2st-wrong-bearer-7c1d2e3f4a5b6c7d"
    async with (
        _emulator() as emu,
        TcpFaultProxy(emu.port, echo_request_on_401=True) as proxy,
    ):
        client = s2st.S2STClient(
            backend="vertex",
            project="s2st-emulator",
            location="us-central1",
            access_token=wrong,
            base_url=proxy.base_url,
        )
        with SecretWatch((wrong,)) as watch:
            with pytest.raises(s2st.AuthenticationError) as info:
                async with client.connect("es"):
                    pass
    assert [f.label for f in proxy.fired] == ["echo 401"]
    error = info.value
    assert error.status_code == 401
    assert "Unauthorized request" in error.body  # the echoed body did reach the client
    leaks = leaks_in(error, (wrong,))
    assert not leaks, f"the bearer token is reachable through {leaks}"
    assert not watch.leaks, watch.leaks
