"""End-to-end tests of S2STClient / S2STSession against the bundled emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve

import s2st
from s2st import S2STClient
from s2st.audio import read_audio
from s2st.emulator import Emulator, EmulatorConfig, Fault, sample_path
from s2st.reconnect import ReconnectPolicy

from .session_helpers import UNIT_S, collect, leaked_tasks, of_type, silence, tone

FAST = 20.0  # stream samples at 20x real time


def no_reconnect() -> dict[str, Any]:
    return {"reconnect": False}


# --------------------------------------------------------------------------- happy paths


async def test_vertex_scenario_all_event_types() -> None:
    # Turn markers on: this test checks every event type the parser maps (the live-translate
    # model itself never sends them, EVIDENCE.md row 6).
    async with Emulator(usage_every_s=0.05, turn_markers=True) as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            session.start_stream(sample_path("hello"), speed=FAST)
            events = await collect(session)
        record = emu.connections[0]
    assert isinstance(events[0], s2st.SetupComplete)
    source = "".join(e.text for e in of_type(events, s2st.InputTranscription))
    target = "".join(e.text for e in of_type(events, s2st.OutputTranscription))
    assert "welcome to the speech translation demo" in source.lower()
    assert "tiempo" in target.lower()
    chunks = of_type(events, s2st.AudioChunk)
    assert chunks and all(c.sample_rate == 24_000 and c.data.dtype == np.int16 for c in chunks)
    assert sum(c.duration_s for c in chunks) > 1.0
    assert of_type(events, s2st.TurnComplete) and of_type(events, s2st.GenerationComplete)
    assert of_type(events, s2st.UsageMetadata)
    updates = of_type(events, s2st.SessionResumptionUpdate)
    assert any(u.resumable and u.new_handle for u in updates)
    # What went on the wire: the Vertex path, a Bearer header, the legacy S2ST setup.
    assert record.path == "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    assert record.backend == "vertex"
    assert record.setup is not None
    setup = record.setup
    assert setup["enable_speech_to_speech_translation"] is True
    assert setup["generation_config"]["speech_config"]["language_code"] == "es"
    assert setup["model"] == (
        "projects/s2st-emulator/locations/us-central1/publishers/google/models/"
        "gemini-2.5-flash-s2st-11-2025-exp"
    )
    assert setup["session_resumption"] == {"transparent": True}
    assert "emulator-token" not in str(record.headers)
    assert record.close_code == 1000


async def test_gemini_backend_url_headers_and_audio_stream_end() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu, backend="gemini")
        assert client.url.endswith(
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        )
        async with client.connect("de") as session:
            await session.send_audio(tone(0.6))
            await session.finish(timeout_s=10 * UNIT_S)
            events = await collect(session)
        record = emu.connections[0]
    assert record.backend == "gemini"
    assert record.setup is not None
    assert record.setup["model"] == "models/gemini-2.5-flash-s2st-11-2025-exp"
    assert "transparent" not in record.setup["session_resumption"]
    kinds = [m.kind for m in record.messages]
    assert kinds[0] == "setup" and "audio_stream_end" in kinds
    # Loopback engine: labelled placeholders, never a fake translation.
    assert any("[emulator" in e.text for e in of_type(events, s2st.InputTranscription))
    assert of_type(events, s2st.AudioChunk)


async def test_live_translate_dialect() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("cmn", model=s2st.LIVE_TRANSLATE_MODEL) as session:
            session.start_stream(sample_path("hello"), speed=FAST)
            events = await collect(session)
        setup = emu.connections[0].setup
    assert setup is not None
    # The live-translate dialect sends BCP-47: Mandarin Chinese is "zh" (EVIDENCE.md row 12).
    assert setup["generationConfig"]["translationConfig"]["targetLanguageCode"] == "zh"
    assert "enable_speech_to_speech_translation" not in setup
    assert of_type(events, s2st.OutputTranscription)
    # camelCase realtime messages for this dialect
    assert emu.connections[0].messages[1].kind == "audio"


async def test_iteration_continues_across_turns_and_numpy_input() -> None:
    async with Emulator(turn_markers=True) as emu:  # a turn marker per answered segment
        client = S2STClient.for_emulator(emu)
        async with client.connect("fr") as session:
            for _ in range(2):
                samples = np.frombuffer(tone(0.5), dtype="<i2").astype(np.float32) / 32768
                stereo = np.stack([samples, samples], axis=1)
                await session.send_audio(stereo, sample_rate=16_000)
                await session.send_audio(silence(0.8))
            await session.finish(timeout_s=10 * UNIT_S)
            events = await collect(session)
    assert len(of_type(events, s2st.TurnComplete)) >= 2


# --------------------------------------------------------------------------- errors


async def test_model_not_allow_listed_is_1008() -> None:
    async with Emulator(allowed_models=("some-other-model",)) as emu:
        client = S2STClient.for_emulator(emu)
        with pytest.raises(s2st.ModelAccessDeniedError) as info:
            async with client.connect("es"):
                pass
    assert info.value.code == 1008
    assert "allow-listed" in str(info.value)
    assert not info.value.retryable


async def test_handshake_401_is_authentication_error() -> None:
    async with Emulator(valid_tokens=frozenset({"right"})) as emu:
        client = S2STClient(
            backend="vertex",
            project="p",
            location="us-central1",
            access_token="wrong-secret-token",
            base_url=emu.base_url,
        )
        with pytest.raises(s2st.AuthenticationError) as info:
            async with client.connect("es"):
                pass
    assert info.value.status_code == 401
    assert "wrong-secret-token" not in str(info.value) + repr(info.value)


async def test_handshake_404_is_endpoint_error() -> None:
    async with Emulator() as emu:
        client = S2STClient(
            backend="vertex",
            project="p",
            location="us-central1",
            access_token="t0k3n-value",
            base_url=emu.base_url + "/nothing-here",
        )
        with pytest.raises(s2st.EndpointNotFoundError) as info:
            async with client.connect("es"):
                pass
    assert info.value.status_code == 404


@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (1007, "injected reason", s2st.InvalidArgumentError),
        # 1008 is an access refusal only when its reason says so (EVIDENCE.md rows 18, 21).
        (1008, "injected reason: Publisher Model not accessible", s2st.ModelAccessDeniedError),
        (1008, "injected reason", s2st.ConnectionClosedError),
        (1011, "injected reason", s2st.ServerError),
    ],
)
async def test_close_codes_end_iteration_with_typed_error(
    code: int, reason: str, error: type[Exception]
) -> None:
    async with Emulator() as emu:
        emu.inject(Fault.close(code, reason, at_message=3), connection=0)
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", **no_reconnect()) as session:
            for _ in range(6):
                await session.send_audio(tone(0.1))
            with pytest.raises(error) as info:
                await collect(session)
    assert isinstance(info.value, s2st.ConnectionClosedError)
    assert info.value.code == code
    assert "injected reason" in info.value.reason


async def test_normal_close_1000_ends_iteration_cleanly() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.close(1000, at_message=2), connection=0)
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", **no_reconnect()) as session:
            await session.send_audio(tone(0.1))
            await session.send_audio(tone(0.1))
            events = await collect(session)
    assert isinstance(events[0], s2st.SetupComplete)


async def test_abrupt_drop_is_1006_when_not_reconnecting() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.drop(at_message=2), connection=0)
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", **no_reconnect()) as session:
            await session.send_audio(tone(0.1))
            await session.send_audio(tone(0.1))
            with pytest.raises(s2st.AbnormalClosureError) as info:
                await collect(session)
    assert info.value.code == 1006 and info.value.retryable


async def test_setup_timeout() -> None:
    async def mute(ws: ServerConnection) -> None:
        await ws.recv()
        await asyncio.sleep(5)

    async with serve(mute, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = S2STClient.for_emulator(f"ws://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(s2st.SetupTimeoutError):
            async with client.connect("es", setup_timeout_s=0.3):
                pass
        assert time.monotonic() - started < 3


async def test_connection_refused_is_transport_error() -> None:
    async with Emulator() as emu:
        url = emu.base_url
    client = S2STClient.for_emulator(url)
    with pytest.raises(s2st.TransportError) as info:
        async with client.connect("es"):
            pass
    assert info.value.retryable


async def test_language_validated_before_connecting() -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")  # nothing listens; never contacted
    with pytest.raises(s2st.UnsupportedLanguageError) as info:
        client.connect("mandarn")
    assert "cmn" in info.value.suggestions
    with pytest.raises(s2st.ConfigurationError):
        client.connect("es", voice="Kore")


async def test_send_after_close_raises() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            pass
        with pytest.raises(s2st.SessionClosedError):
            await session.send_audio(tone(0.1))
        with pytest.raises(s2st.SessionClosedError):
            async with session:
                pass


async def test_bad_audio_is_typed_error() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            with pytest.raises(s2st.AudioFormatError):
                await session.send_audio(b"\x00\x01\x02")
            with pytest.raises(s2st.AudioFormatError):
                await session.send_audio(b"")
            with pytest.raises(s2st.AudioFormatError):
                await session.send_audio(np.array([np.nan, 0.1], dtype=np.float32))
            with pytest.raises(s2st.AudioFormatError):
                await session.send_audio("not audio")  # type: ignore[arg-type]


async def test_protocol_error_surfaces_when_not_reconnecting() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.malformed_frame("not_json", at_message=2), connection=0)
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", **no_reconnect()) as session:
            await session.send_audio(tone(0.1))
            await session.send_audio(tone(0.1))
            with pytest.raises(s2st.ProtocolError):
                await collect(session)


# --------------------------------------------------------------------------- concurrency


async def test_two_readers_raise_concurrency_error() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            while True:  # drain what the server sent on its own
                try:
                    await session.receive(timeout_s=0.2)
                except asyncio.TimeoutError:
                    break
            reader = asyncio.create_task(session.receive())
            await asyncio.sleep(0.05)
            assert not reader.done()
            with pytest.raises(s2st.ConcurrencyError):
                await session.receive()
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader


async def test_cancelling_the_consumer_closes_cleanly() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)

        async def consume() -> None:
            async with client.connect("es") as session:
                session.start_stream(sample_path("hello"), speed=1.0)
                async for _ in session:
                    pass

        task = asyncio.create_task(consume())
        await emu.wait_for_connections(1)
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        assert leaked_tasks() == []
        for _ in range(50):
            if not emu.connections[0].open:
                break
            await asyncio.sleep(0.02)
        assert not emu.connections[0].open


async def test_close_is_bounded_when_server_stalls() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.stall_close(hold_s=10, at_message=1), connection=0)
        client = S2STClient.for_emulator(emu, transport=s2st.TransportOptions(close_timeout_s=0.3))
        session = client.connect("es")
        await session.open()
        await session.send_audio(tone(0.1))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await session.aclose()
        assert time.monotonic() - started < 2.0
        assert leaked_tasks() == []


async def test_slow_consumer_backpressure_loses_nothing() -> None:
    # A burst of output, not a silence stream: at 1000x the stream would be a flood of silence.
    async with Emulator(config=EmulatorConfig.optimistic(speed=1000.0)) as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", max_pending_events=4) as session:
            session.start_stream(sample_path("hello"), speed=None)
            events: list[s2st.Event] = []
            async for event in session:
                events.append(event)
                await asyncio.sleep(0.002)  # a slow consumer
    fast_total = await _reference_audio_samples()
    got = sum(len(e.data) for e in of_type(events, s2st.AudioChunk))
    assert got == fast_total


async def _reference_audio_samples() -> int:
    async with Emulator(config=EmulatorConfig.optimistic(speed=1000.0)) as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            session.start_stream(sample_path("hello"), speed=None)
            events = await collect(session)
    return sum(len(e.data) for e in of_type(events, s2st.AudioChunk))


# --------------------------------------------------------------------------- secrets


async def test_secrets_never_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "ya29.super-secret-token-value"
    async with Emulator() as emu:
        client = S2STClient(
            backend="vertex",
            project="p",
            location="us-central1",
            access_token=secret,
            base_url=emu.base_url,
        )
        async with client.connect("es") as session:
            await session.send_audio(tone(0.2))
            await session.finish(timeout_s=5 * UNIT_S)
            await collect(session)
        shown = repr(client) + repr(session) + str(emu.connections[0].headers)
    assert secret not in shown
    assert any(r.name == "s2st.transport.websockets" for r in caplog.records)  # headers logged
    assert any(r.name == "s2st.emulator.websockets" for r in caplog.records)
    assert secret not in caplog.text
    gemini = S2STClient(backend="gemini", api_key="AIzaSyD-very-secret-key-000000000")
    assert "AIza" not in repr(gemini) and "very-secret" not in gemini.url


# --------------------------------------------------------------------------- reconnection


async def test_reconnects_after_1011_with_resumption_and_replay() -> None:
    async with Emulator(resumption_update_every_messages=2) as emu:
        emu.inject(Fault.close(1011, "Internal error occurred.", at_message=7), connection=0)
        client = S2STClient.for_emulator(emu)
        policy = ReconnectPolicy(initial_backoff_s=0.01)
        async with client.connect("es", reconnect=policy) as session:
            chunks = [tone(0.1, freq=300 + 10 * i) for i in range(12)]
            for chunk in chunks:
                await session.send_audio(chunk)
                await asyncio.sleep(0.01)
            await session.finish(timeout_s=5 * UNIT_S, idle_s=1.0)
            events = await collect(session)
        reconnected = of_type(events, s2st.Reconnected)
        assert len(reconnected) == 1 and reconnected[0].resumed
        assert reconnected[0].reason == "closed 1011"
        # exactly-once: every chunk consumed once across the two connections, in order
        import hashlib

        sent = [hashlib.sha1(c).hexdigest() for c in chunks]
        consumed = emu.consumed_audio_digests()
        assert consumed[: len(sent)] == sent
        assert leaked_tasks() == []


async def test_go_away_moves_to_new_connection() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.go_away(5.0, at_message=3), connection=0)
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            for _ in range(6):
                await session.send_audio(tone(0.1))
                await asyncio.sleep(0.02)
            await session.finish(timeout_s=5 * UNIT_S, idle_s=1.0)
            events = await collect(session)
    assert of_type(events, s2st.GoAway)[0].time_left.total_seconds() == pytest.approx(5.0)
    reconnected = of_type(events, s2st.Reconnected)
    assert reconnected and reconnected[0].reason == "go_away"
    assert len(emu.connections) == 2


async def test_timed_close_reports_the_servers_code() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.close(1011, "timed", at_s=0.2), connection=0)
        client = S2STClient.for_emulator(emu)
        policy = ReconnectPolicy(initial_backoff_s=0.01)
        async with client.connect("es", reconnect=policy) as session:
            session.start_stream(sample_path("station"), speed=4.0)
            events = await collect(session)
    reconnected = of_type(events, s2st.Reconnected)
    assert [r.reason for r in reconnected] == ["closed 1011"]
    assert emu.connections[0].close_code == 1011


async def test_unknown_server_field_is_an_event_not_an_error() -> None:
    async with Emulator() as emu:
        emu.inject(Fault.malformed_frame("unknown_field", at_message=2), connection=0)
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", reconnect=False) as session:
            for _ in range(4):
                await session.send_audio(tone(0.1))
            await session.finish(timeout_s=5 * UNIT_S, idle_s=0.5)
            events = await collect(session)
    unknown = of_type(events, s2st.UnknownEvent)
    assert [u.key for u in unknown] == ["emulatorUnknownField"]
    assert unknown[0].payload == {"x": 1}


async def test_stream_accepts_arrays_and_async_iterators() -> None:
    rate = 48_000
    t = np.arange(int(0.6 * rate)) / rate
    burst = (np.sin(2 * np.pi * 440 * t) * 0.4).astype(np.float32)
    stereo = np.stack([burst, burst], axis=1)
    padded = np.concatenate([stereo, np.zeros((rate, 2), dtype=np.float32)])

    async def chunks() -> Any:
        for _ in range(2):
            yield tone(0.6)
            yield silence(1.0)

    async with Emulator(turn_markers=True) as emu:  # a turn marker per answered segment
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            await session.stream(padded, sample_rate=rate, speed=None)
            await session.stream(chunks(), sample_rate=16_000, speed=None)
            await session.finish(timeout_s=10 * UNIT_S, idle_s=1.0)
            events = await collect(session)
        sent_s = sum(len(a) for a in emu.connections[0].audio) / 32_000
    assert len(of_type(events, s2st.TurnComplete)) == 3
    assert sent_s == pytest.approx(1.6 + 3.2 + 1.0, abs=0.15)  # + 1 s of trailing silence


@pytest.mark.parametrize(
    "options",
    [
        {"setup_timeout_s": 0},
        {"setup_timeout_s": "5"},
        {"max_pending_events": 0},
        {"max_pending_events": 2.5},
        {"trailing_silence_ms": -1},
        {"max_replay_bytes": 0},
        {"transport": {"ping_interval_s": 1}},
    ],
)
def test_bad_session_options_are_configuration_errors(options: dict[str, Any]) -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    with pytest.raises(s2st.ConfigurationError):
        client.connect("es", **options)


@pytest.mark.parametrize(
    "options",
    [
        {"open_timeout_s": 0},
        {"close_timeout_s": -1},
        {"ping_interval_s": 0},
        {"ping_timeout_s": "60"},
        {"max_message_bytes": 0},
        {"max_queue_frames": True},
    ],
)
def test_bad_transport_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(s2st.ConfigurationError):
        s2st.TransportOptions(**options)


async def test_server_that_fails_right_after_setup_is_given_up() -> None:
    """Every connection is accepted, then fails before any frame parses: each counts as a
    failed attempt across reconnections, so the session ends instead of looping forever."""
    connections = 0

    async def broken(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()
        await ws.send('{"setupComplete": {}}')
        await ws.send("{garbage")
        await ws.wait_closed()

    async with serve(broken, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = S2STClient.for_emulator(f"ws://127.0.0.1:{port}")
        policy = ReconnectPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05)
        started = time.monotonic()
        async with client.connect("es", reconnect=policy) as session:
            with pytest.raises(s2st.ProtocolError):
                await collect(session, timeout_s=10)
        assert time.monotonic() - started < 5
    assert connections == policy.max_attempts


async def test_manual_activity_and_barge_in_interrupts() -> None:
    manual = s2st.RealtimeInputConfig(
        automatic_activity_detection=s2st.ActivityDetection(disabled=True)
    )
    audio, _ = read_audio(sample_path("hello"))
    # Output paced at real time (still queued later); turn markers on, to end the second read.
    async with Emulator(speed=1.0, turn_markers=True) as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es", realtime_input=manual) as session:
            await session.activity_start()
            await session.send_audio(audio.astype("<i2").tobytes())
            await session.activity_end()
            first_audio = None
            async for event in session:
                if isinstance(event, s2st.AudioChunk):
                    first_audio = event
                    break
            assert first_audio is not None
            await session.activity_start()  # the speaker talks over the translation
            events = []
            async for event in session:
                events.append(event)
                if isinstance(event, s2st.TurnComplete):
                    break
            await session.activity_end()
    assert any(isinstance(e, s2st.Interrupted) for e in events)
    assert not any(isinstance(e, s2st.GenerationComplete) for e in events)
    kinds = [m.kind for m in emu.connections[0].messages]
    assert kinds.count("activity_start") == 2 and kinds.count("activity_end") == 2


async def test_activity_signals_need_manual_detection() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            with pytest.raises(s2st.ConfigurationError, match="disabled"):
                await session.activity_start()


def test_help_shows_docstrings_not_code_comments() -> None:
    """Issue 13: help(S2STSession) showed '# ---- lifecycle' as the help of __aenter__."""
    import pydoc

    text = pydoc.render_doc(s2st.S2STSession)
    assert "# ---" not in text
    for name in ("__aenter__", "__aexit__", "__aiter__", "__anext__", "send_audio", "finish"):
        doc = getattr(s2st.S2STSession, name).__doc__
        assert doc and doc.strip(), name
