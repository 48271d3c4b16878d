"""FanOut: one input, several target languages, against the bundled emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

import s2st
import s2st.audio
from s2st import S2STClient
from s2st.emulator import Emulator, Fault, load_scenario, sample_path
from s2st.fanout import FanOut, LanguageEvent, SessionFailed

from .session_helpers import UNIT_S, leaked_tasks

FAST = 20.0


async def collect_fan(fan: FanOut, *, timeout_s: float = 20.0) -> list[LanguageEvent]:
    items: list[LanguageEvent] = []

    async def run() -> None:
        async for item in fan:
            items.append(item)

    await asyncio.wait_for(run(), timeout_s * UNIT_S)
    return items


def texts(items: list[LanguageEvent], language: str, cls: type[Any]) -> str:
    return "".join(
        e.event.text for e in items if e.language == language and isinstance(e.event, cls)
    )


def connection_for(emu: Emulator, language: str) -> int:
    for i, record in enumerate(emu.connections):
        assert record.setup is not None
        if record.setup["generation_config"]["speech_config"]["language_code"] == language:
            return i
    raise AssertionError(f"no connection for {language}")


async def test_fan_out_hello_to_three_languages() -> None:
    scenario = load_scenario("hello")
    expected = {lang: t.text for lang, t in scenario.utterances[0].translations.items()}
    async with Emulator(turn_markers=True) as emu:  # checks a turn marker per language
        client = S2STClient.for_emulator(emu)
        async with FanOut(client, ["es", "German", "cmn"]) as fan:
            assert list(fan.sessions) == ["es", "de", "cmn"]
            fan.start_stream(sample_path("hello"), speed=FAST)
            items = await collect_fan(fan)
        assert fan.closed and not fan.failed
        assert len(emu.connections) == 3
        audio = [b"".join(record.audio) for record in emu.connections]
    for lang in ("es", "de", "cmn"):
        assert texts(items, lang, s2st.OutputTranscription) == expected[lang]
        source = texts(items, lang, s2st.InputTranscription).lower()
        assert "welcome to the speech translation demo" in source
        chunks = [
            e.event for e in items if e.language == lang and isinstance(e.event, s2st.AudioChunk)
        ]
        assert sum(c.duration_s for c in chunks) > 1.0
        assert any(isinstance(e.event, s2st.TurnComplete) for e in items if e.language == lang)
    # Every language's session got exactly the same input bytes.
    assert len(audio[0]) > 16_000 * 2 * 4
    assert audio[0] == audio[1] == audio[2]
    lang, event = items[0]  # a LanguageEvent unpacks like a tuple
    assert isinstance(event, s2st.SetupComplete) and lang in fan.sessions
    assert not leaked_tasks()


async def test_send_audio_converts_once_for_all_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    class Counting(s2st.audio.AudioConverter):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(s2st.audio, "AudioConverter", Counting)
    rate = 48_000
    t = np.arange(rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 500 * t)], axis=1) * 0.3
    stereo = np.ascontiguousarray(stereo.astype(np.float32))
    async with Emulator(engine="loopback") as emu:
        client = S2STClient.for_emulator(emu)
        async with FanOut(client, ["es", "de", "fr"], trailing_silence_ms=0) as fan:
            await fan.send_audio(stereo[: rate // 2], sample_rate=rate)
            await fan.send_audio(stereo[rate // 2 :], sample_rate=rate)
            await fan.end_audio()
            await asyncio.sleep(0.2 * UNIT_S)
        audio = [b"".join(record.audio) for record in emu.connections]
    # One resampler for the three languages: the sessions got 16 kHz bytes and made none of
    # their own (a session that converted would have built a Counting converter too).
    assert len(made) == 1
    assert audio[0] == audio[1] == audio[2]
    # One second in, one second out (the resampler tail is flushed at end_audio).
    assert abs(len(audio[0]) - 16_000 * 2) <= 2 * 2


async def test_one_failed_language_fails_fast_and_closes_all() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        fan = FanOut(client, ["es", "de"])
        items: list[LanguageEvent] = []
        with pytest.raises(s2st.ModelAccessDeniedError):
            async with fan:
                emu.inject(Fault.close(1008, "denied"), connection=connection_for(emu, "de"))
                fan.start_stream(sample_path("hello"), speed=FAST)
                async for item in fan:
                    items.append(item)
        assert set(fan.failed) == {"de"}
        assert all(s.closed for s in fan.sessions.values())
        with pytest.raises(s2st.SessionClosedError):
            await fan.send_audio(b"\x00\x00" * 160)
    assert not leaked_tasks()


async def test_fail_fast_false_keeps_other_languages_running() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with FanOut(client, ["es", "de"], fail_fast=False) as fan:
            emu.inject(Fault.close(1008, "denied"), connection=connection_for(emu, "de"))
            fan.start_stream(sample_path("hello"), speed=FAST)
            items = await collect_fan(fan)
    markers = [e for e in items if isinstance(e.event, SessionFailed)]
    assert len(markers) == 1 and markers[0].language == "de"
    marker = markers[0].event
    assert isinstance(marker, SessionFailed)
    assert isinstance(marker.error, s2st.ModelAccessDeniedError)
    assert "tiempo" in texts(items, "es", s2st.OutputTranscription)
    assert set(fan.failed) == {"de"}
    assert not leaked_tasks()


async def test_fail_fast_false_open_failure_of_one_language() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        # An unknown model on one language only fails that language's setup (1008).
        fan = FanOut(client, ["es", "de"], fail_fast=False)
        bad = client.connect("de", model="not-allowed-model")
        fan.sessions["de"] = bad
        async with fan:
            first = await fan.receive(timeout_s=5 * UNIT_S)
            assert first.language == "de" and isinstance(first.event, SessionFailed)
            await fan.send_audio(np.zeros(1600, dtype=np.int16))
            await fan.finish(timeout_s=5, idle_s=0.5)
        rest = await collect_fan(fan)
    assert any(isinstance(e.event, s2st.SetupComplete) and e.language == "es" for e in rest)
    assert isinstance(fan.failed["de"], s2st.ModelAccessDeniedError)


async def test_open_failure_with_fail_fast_raises_and_closes() -> None:
    async with Emulator(allowed_models=("other",)) as emu:
        client = S2STClient.for_emulator(emu)
        fan = FanOut(client, ["es", "de"])
        with pytest.raises(s2st.ModelAccessDeniedError):
            await fan.open()
        assert fan.closed and all(s.closed for s in fan.sessions.values())
    assert not leaked_tasks()


@pytest.mark.parametrize(
    ("languages", "error"),
    [
        ([], s2st.ConfigurationError),
        ("es", s2st.ConfigurationError),
        (["es", "Spanish"], s2st.ConfigurationError),
        (["es", "klingon"], s2st.UnsupportedLanguageError),
    ],
)
def test_bad_languages_rejected_before_connecting(languages: Any, error: type[Exception]) -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    with pytest.raises(error):
        FanOut(client, languages)


@pytest.mark.parametrize("value", [0, -1, 2.5, True, None])
def test_bad_max_pending_events_rejected(value: Any) -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    with pytest.raises(s2st.ConfigurationError, match="max_pending_events must be an int >= 1"):
        FanOut(client, ["es"], max_pending_events=value)


async def test_misuse_is_typed() -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    fan = FanOut(client, ["es"])
    with pytest.raises(s2st.SessionClosedError):
        await fan.send_audio(b"\x00\x00")
    with pytest.raises(s2st.SessionClosedError):
        await fan.receive()
    async with Emulator() as emu:
        async with FanOut(S2STClient.for_emulator(emu), ["es"]) as fan:
            with pytest.raises(s2st.AudioFormatError):
                await fan.send_audio(b"\x00")
            with pytest.raises(s2st.AudioFormatError):
                await fan.send_audio(np.array([np.nan], dtype=np.float32), sample_rate=8000)
            assert isinstance((await fan.receive(timeout_s=5)).event, s2st.SetupComplete)

            async def drain() -> None:
                async for _ in fan:
                    pass

            reader = asyncio.create_task(drain())
            await asyncio.sleep(0.1)
            with pytest.raises(s2st.ConcurrencyError):
                await fan.receive()
            reader.cancel()
        with pytest.raises(s2st.SessionClosedError):
            await fan.open()
    assert not leaked_tasks()
