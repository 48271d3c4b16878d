"""Conversation: two participants, one session per direction, against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import s2st
from s2st import S2STClient
from s2st.conversation import Conversation, ConversationEvent, Participant
from s2st.emulator import Emulator, Fault, load_scenario, sample_path
from s2st.fanout import SessionFailed

from .session_helpers import UNIT_S, leaked_tasks, tone

FAST = 20.0


async def collect_conv(conv: Conversation, *, timeout_s: float = 20.0) -> list[ConversationEvent]:
    items: list[ConversationEvent] = []

    async def run() -> None:
        async for item in conv:
            items.append(item)

    await asyncio.wait_for(run(), timeout_s * UNIT_S)
    return items


def text_of(items: list[ConversationEvent], speaker: str, cls: type[Any]) -> str:
    return "".join(i.event.text for i in items if i.speaker == speaker and isinstance(i.event, cls))


def language_of(emu: Emulator, index: int) -> str:
    setup = emu.connections[index].setup
    assert setup is not None
    return str(setup["generation_config"]["speech_config"]["language_code"])


async def test_two_directions_tagged_with_speaker_and_listener() -> None:
    hello = load_scenario("hello").utterances[0].translations["es"].text
    station = [u.translations["de"].text for u in load_scenario("station").utterances]
    alice = Participant("alice", language="German")
    bob = Participant("bob", language="es")
    assert alice.language == "de"
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        async with Conversation(client, alice, bob) as conv:
            assert conv.sessions["alice"].config.target_language == "es"
            assert conv.sessions["bob"].config.target_language == "de"
            assert conv.listener_of("alice") == bob
            conv.start_stream("alice", sample_path("hello"), speed=FAST)
            conv.start_stream("bob", sample_path("station"), speed=FAST)
            items = await collect_conv(conv)
        assert sorted(language_of(emu, i) for i in range(2)) == ["de", "es"]
    assert {(i.speaker, i.listener) for i in items} == {("alice", "bob"), ("bob", "alice")}
    # alice's English speech reaches bob in Spanish; bob's reaches alice in German.
    assert text_of(items, "alice", s2st.OutputTranscription) == hello
    assert text_of(items, "bob", s2st.OutputTranscription) == "".join(station)
    assert "welcome" in text_of(items, "alice", s2st.InputTranscription).lower()
    assert "train station" in text_of(items, "bob", s2st.InputTranscription).lower()
    for speaker in ("alice", "bob"):
        audio = [
            i.event for i in items if i.speaker == speaker and isinstance(i.event, s2st.AudioChunk)
        ]
        assert sum(a.duration_s for a in audio) > 0.5
    speaker, listener, event = items[0]
    assert isinstance(event, s2st.SetupComplete) and {speaker, listener} == {"alice", "bob"}
    assert conv.closed and not conv.failed
    assert not leaked_tasks()


async def test_send_audio_per_speaker_and_finish_one_direction_first() -> None:
    async with Emulator(engine="loopback") as emu:
        client = S2STClient.for_emulator(emu)
        conv = Conversation(client, Participant("a", "en"), Participant("b", "fr"))
        async with conv:
            await conv.send_audio("a", tone(0.6) + bytes(16_000))
            await conv.finish("a", timeout_s=10, idle_s=1.0)
            assert conv.sessions["a"].closed and not conv.sessions["b"].closed
            with pytest.raises(s2st.SessionClosedError):
                await conv.send_audio("a", tone(0.1))
            await conv.send_audio("b", tone(0.6) + bytes(16_000))
            await conv.finish(timeout_s=10, idle_s=1.0)
        items = await collect_conv(conv)
    by_speaker = {
        s: [i for i in items if i.speaker == s and isinstance(i.event, s2st.AudioChunk)]
        for s in ("a", "b")
    }
    assert by_speaker["a"] and by_speaker["b"]  # loopback audio came back in each direction
    assert all(i.listener == ("b" if i.speaker == "a" else "a") for i in items)
    assert not leaked_tasks()


async def test_failed_direction_fails_fast() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        conv = Conversation(client, Participant("alice", "de"), Participant("bob", "es"))
        with pytest.raises(s2st.ModelAccessDeniedError):
            async with conv:
                failing = 0 if language_of(emu, 0) == "es" else 1  # alice's direction (to es)
                emu.inject(Fault.close(1008, "denied"), connection=failing)
                conv.start_stream("alice", sample_path("hello"), speed=FAST)
                conv.start_stream("bob", sample_path("station"), speed=FAST)
                await collect_conv(conv)
        assert set(conv.failed) == {"alice"}
    assert not leaked_tasks()


async def test_failed_direction_without_fail_fast_keeps_the_other() -> None:
    async with Emulator() as emu:
        client = S2STClient.for_emulator(emu)
        conv = Conversation(
            client, Participant("alice", "de"), Participant("bob", "es"), fail_fast=False
        )
        async with conv:
            failing = 0 if language_of(emu, 0) == "es" else 1
            emu.inject(Fault.close(1008, "denied"), connection=failing)
            conv.start_stream("alice", sample_path("hello"), speed=FAST)
            conv.start_stream("bob", sample_path("station"), speed=FAST)
            items = await collect_conv(conv)
    markers = [i for i in items if isinstance(i.event, SessionFailed)]
    assert [(m.speaker, m.listener) for m in markers] == [("alice", "bob")]
    assert "Bahnhof" in text_of(items, "bob", s2st.OutputTranscription)
    assert not leaked_tasks()


def test_bad_participants() -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    with pytest.raises(s2st.ConfigurationError):
        Participant("", "en")
    with pytest.raises(s2st.UnsupportedLanguageError):
        Participant("x", "klingon")
    with pytest.raises(s2st.ConfigurationError):
        Conversation(client, Participant("x", "en"), Participant("x", "es"))
    with pytest.raises(s2st.ConfigurationError):
        Conversation(client, Participant("x", "en"), "bob")  # type: ignore[arg-type]
    with pytest.raises(s2st.ConfigurationError, match="max_pending_events"):
        Conversation(client, Participant("x", "en"), Participant("y", "es"), max_pending_events=0)
    conv = Conversation(client, Participant("x", "en"), Participant("y", "es"))
    with pytest.raises(s2st.ConfigurationError):
        conv.start_stream("z", b"")
    with pytest.raises(s2st.ConfigurationError):
        conv.listener_of("z")
