"""finish(), "arrived" and the silent-output warning against a server shaped like EVIDENCE.md.

The server (tests/evidence_server.py, which does not use s2st.emulator) never sends a turn
marker and never goes quiet: it streams PCM silence at real time forever (EVIDENCE.md rows
6-7). The translation has arrived when no *voiced* output came for ``idle_s`` after the input
ended, so finish() must settle a couple of seconds after the last voiced output, not at its
timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

import s2st

from .evidence_server import EvidenceServer
from .session_helpers import UNIT_S, leaked_tasks, silence, tone


def _client(server: EvidenceServer) -> s2st.S2STClient:
    return s2st.S2STClient(backend="gemini", api_key="evidence-key", base_url=server.base_url)


async def _stream(session: s2st.S2STSession, pcm: bytes) -> None:
    step = 3200  # 100 ms at 16 kHz, paced at real time
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(0, len(pcm), step):
        await asyncio.sleep(max(0.0, t0 + i / 32_000 - loop.time()))
        await session.send_audio(pcm[i : i + step])


async def test_finish_settles_after_the_last_voiced_output() -> None:
    async with EvidenceServer(lag_s=0.6) as server:
        client = _client(server)
        events: list[tuple[float, s2st.Event]] = []
        async with client.connect("es", model=s2st.LIVE_TRANSLATE_MODEL) as session:

            async def read() -> None:
                async for event in session:
                    events.append((time.perf_counter(), event))

            reader = asyncio.create_task(read())
            await _stream(session, tone(1.5) + silence(0.3))
            started = time.perf_counter()
            await session.finish(timeout_s=30 * UNIT_S, idle_s=1.5)
            finished = time.perf_counter()
            await reader
        voiced = [t for t, e in events if isinstance(e, s2st.AudioChunk) and e.voiced]
        silent = [e for _, e in events if isinstance(e, s2st.AudioChunk) and not e.voiced]
    assert voiced, "the server's translation never arrived"
    assert silent, "the server streams silence: the test would not test anything"
    assert not any(isinstance(e, (s2st.TurnComplete, s2st.GenerationComplete)) for _, e in events)
    settled = finished - voiced[-1]
    print(
        f"settled {settled:.2f} s after the last voiced output ({finished - started:.2f} s in finish)"
    )
    assert 1.5 <= settled <= 1.5 + 1.5 * UNIT_S
    assert finished - started < 10 * UNIT_S  # never the 30 s timeout
    assert session.stats.unconfirmed_audio_ms_at_close == 0
    assert not leaked_tasks()


async def test_finish_waits_for_a_lagging_translation_of_the_last_words() -> None:
    """The input ends right after the speech and the server is 3 s behind: quiet since the
    input ended is not enough, no voiced output came after the last speech yet."""
    async with EvidenceServer(lag_s=3.0) as server:
        client = _client(server)
        async with client.connect("es", model=s2st.LIVE_TRANSLATE_MODEL) as session:
            await _stream(session, tone(0.5))
            events_task = asyncio.create_task(_collect(session))
            await session.finish(timeout_s=30 * UNIT_S, idle_s=1.0)
            events = await events_task
    voiced = [e for e in events if isinstance(e, s2st.AudioChunk) and e.voiced]
    assert len(voiced) == server.voiced_parts_sent == 5


async def _collect(session: s2st.S2STSession) -> list[s2st.Event]:
    return [event async for event in session]


async def test_silent_server_gets_one_typed_warning(caplog: pytest.LogCaptureFixture) -> None:
    """EVIDENCE.md row 15: a proxy that dropped translationConfig got all-zero audio and no
    error. After silence_warning_s of speech with only silence back, one warning event."""
    async with EvidenceServer(silent=True) as server:
        client = _client(server)
        async with client.connect(
            "es", model=s2st.LIVE_TRANSLATE_MODEL, silence_warning_s=1.0
        ) as session:
            events_task = asyncio.create_task(_collect(session))
            await _stream(session, tone(2.5))
            await session.finish(timeout_s=20 * UNIT_S, idle_s=0.5, max_lag_s=1.0)
            events = await events_task
    warnings = [e for e in events if isinstance(e, s2st.SilentOutputWarning)]
    assert len(warnings) == 1
    assert warnings[0].speech_sent_s >= 1.0
    assert "translationConfig" in warnings[0].message
    assert any("only silence" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert not [e for e in events if isinstance(e, s2st.AudioChunk) and e.voiced]


async def test_no_warning_when_the_server_translates() -> None:
    async with EvidenceServer(lag_s=0.3) as server:
        client = _client(server)
        async with client.connect(
            "es", model=s2st.LIVE_TRANSLATE_MODEL, silence_warning_s=1.0
        ) as session:
            events_task = asyncio.create_task(_collect(session))
            await _stream(session, tone(2.0))
            await session.finish(timeout_s=20 * UNIT_S, idle_s=0.5)
            events = await events_task
    assert not [e for e in events if isinstance(e, s2st.SilentOutputWarning)]
    assert [e for e in events if isinstance(e, s2st.OutputTranscription)]


@pytest.mark.parametrize("bad", [0, -1.0, "5", True])
def test_silence_warning_option_is_validated(bad: object) -> None:
    client = s2st.S2STClient(backend="gemini", api_key="k", base_url="ws://127.0.0.1:9")
    with pytest.raises(s2st.ConfigurationError, match="silence_warning_s"):
        client.connect("es", silence_warning_s=bad)


def test_tone_is_voiced_and_silence_is_not() -> None:
    """The helpers' audio on the client's definition of silence (SILENCE_PEAK)."""
    assert s2st.AudioChunk(np.frombuffer(tone(0.1), dtype="<i2")).voiced
    assert not s2st.AudioChunk(np.frombuffer(silence(0.1), dtype="<i2")).voiced


async def test_emulator_silent_engine_gets_the_warning() -> None:
    """The same failure through the bundled emulator's silent engine (speech heard, only the
    silence stream answered), as an application's tests would use it."""
    from s2st.emulator import Emulator

    async with Emulator(engine="silent", speed=4.0) as emu:
        client = s2st.S2STClient.for_emulator(emu, backend="gemini")
        async with client.connect(
            "es", model=s2st.LIVE_TRANSLATE_MODEL, silence_warning_s=1.0
        ) as session:
            events_task = asyncio.create_task(_collect(session))
            await _stream(session, tone(2.0))
            await session.finish(timeout_s=20 * UNIT_S, idle_s=0.5, max_lag_s=1.0)
            events = await events_task
        assert emu.connections[0].silence_frames_sent > 0
    assert len([e for e in events if isinstance(e, s2st.SilentOutputWarning)]) == 1
    assert not [e for e in events if isinstance(e, s2st.AudioChunk) and e.voiced]
    assert not [
        e for e in events if isinstance(e, (s2st.InputTranscription, s2st.OutputTranscription))
    ]


async def test_translate_file_settles_seconds_after_the_translation_ends(tmp_path: Any) -> None:
    """Issue 10's check: translate_file on a short file against the evidence-shaped emulator
    (no turn markers, silence forever) returns a couple of seconds after the last voiced
    output, and the written WAV ends at most DEFAULT_TAIL_MS after it."""
    from s2st.audio import DEFAULT_TAIL_MS, read_audio
    from s2st.emulator import Emulator, sample_path
    from s2st.translate import translate_file

    arrivals: list[float] = []

    def on_event(event: s2st.Event) -> None:
        if isinstance(event, s2st.AudioChunk) and event.voiced:
            arrivals.append(time.perf_counter())

    async with Emulator() as emu:
        client = s2st.S2STClient.for_emulator(emu, backend="gemini")
        result = await translate_file(
            sample_path("hello"), "es", client=client, model=s2st.LIVE_TRANSLATE_MODEL,
            on_event=on_event,
        )  # fmt: skip
        returned = time.perf_counter()
    settled = returned - arrivals[-1]
    print(f"settled {settled:.2f} s after the last voiced output")
    assert settled <= 2.0 + 1.5 * UNIT_S
    assert "tiempo" in result.translated_text
    path = tmp_path / "out.wav"
    result.write_wav(path)
    audio, rate = read_audio(path)
    voiced = np.nonzero(np.abs(audio.astype(np.int32)) > s2st.events.SILENCE_PEAK)[0]
    tail_ms = (len(audio) - 1 - voiced[-1]) * 1000 / rate
    assert tail_ms <= DEFAULT_TAIL_MS + 1
