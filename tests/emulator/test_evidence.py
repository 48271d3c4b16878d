"""The emulator's defaults follow what the real service was seen doing (EVIDENCE.md).

One test per EVIDENCE row the emulator implements; the row number is in each test's name.
Driven by plain ``websockets`` clients on 127.0.0.1 (no s2st session involved).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import time
import uuid
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect

from s2st.emulator import Emulator, EmulatorConfig, Engine, Fault, Reply, load_scenario
from s2st.emulator.wire import CLOSE_DEADLINE, CLOSE_OVERSTAY, CLOSE_QUOTA

from .helpers import (
    API_KEY,
    BEARER,
    audio_msg,
    expect_close,
    legacy_setup,
    recv_json,
    stream,
    tone,
    transcripts,
)

LT_MODEL = "gemini-3.5-live-translate-preview"
LT_VERTEX = f"projects/p/locations/us-central1/publishers/google/models/{LT_MODEL}"
PART = 2400  # samples in one 100 ms part at 24 kHz
END = json.dumps({"realtimeInput": {"audioStreamEnd": True}})


def lt_setup(model: str = f"models/{LT_MODEL}", target: str = "es", **extra: Any) -> dict[str, Any]:
    """A live-translate setup as working clients send it (EVIDENCE.md rows 1, 10)."""
    setup: dict[str, Any] = {
        "model": model,
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "translationConfig": {"targetLanguageCode": target, "echoTargetLanguage": False},
        },
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    setup.update(extra)
    return {"setup": setup}


async def open_gemini(emu: Emulator, setup: dict[str, Any] | None = None) -> ClientConnection:
    ws = await connect(emu.gemini_url(), additional_headers=API_KEY)
    await ws.send(json.dumps(setup or lt_setup()))
    return ws


async def open_vertex_lt(emu: Emulator, setup: dict[str, Any] | None = None) -> ClientConnection:
    ws = await connect(emu.vertex_url(), additional_headers=BEARER)
    await ws.send(json.dumps(setup or lt_setup(LT_VERTEX)))
    return ws


async def gather(ws: ClientConnection, seconds: float) -> list[tuple[float, dict[str, Any]]]:
    """All messages that arrive within ``seconds``, with their arrival time."""
    out: list[tuple[float, dict[str, Any]]] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            break
        out.append((time.monotonic(), json.loads(raw)))
    return out


def parts(msg: dict[str, Any]) -> list[np.ndarray]:
    """The 24 kHz audio parts of one message."""
    return [
        np.frombuffer(base64.b64decode(p["inlineData"]["data"]), "<i2")
        for p in msg.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]


def voiced(pcm: np.ndarray) -> bool:
    return bool(pcm.size and np.max(np.abs(pcm.astype(np.int32))) > 128)  # SILENCE_PEAK


def content_keys(msgs: list[dict[str, Any]]) -> set[str]:
    return {k for m in msgs for k in m.get("serverContent", {})}


# -- rows 1, 2, 10, 11: setup validation ---------------------------------------------------
UNKNOWN_CASES = [
    ("row 2 unknown at setup", {"x": 1}, None, "Unknown name \"x\" at 'setup': Cannot find field."),
    (
        "row 1 translationConfig at setup",
        {"translationConfig": {"targetLanguageCode": "es"}},
        None,
        "Unknown name \"translationConfig\" at 'setup': Cannot find field.",
    ),
    (
        "row 1 inputAudioTranscription in generationConfig",
        {},
        {"inputAudioTranscription": {}},
        "Unknown name \"inputAudioTranscription\" at 'setup.generation_config': Cannot find field.",
    ),
    (
        "row 2 unknown in generation_config, snake_case",
        {},
        {"not_a_field": True},
        "Unknown name \"not_a_field\" at 'setup.generation_config': Cannot find field.",
    ),
]


@pytest.mark.parametrize(
    ("name", "top", "gen", "tail"), UNKNOWN_CASES, ids=[c[0] for c in UNKNOWN_CASES]
)
async def test_rows_1_2_unknown_or_misplaced_setup_fields_close_1007(
    name: str, top: dict[str, Any], gen: dict[str, Any] | None, tail: str
) -> None:
    setup = lt_setup(**top)
    setup["setup"]["generationConfig"].update(gen or {})
    async with Emulator(speed=math.inf) as emu:
        code, reason = await expect_close(await open_gemini(emu, setup))
    assert code == 1007, name
    assert reason == "Invalid JSON payload received. " + tail
    assert len(reason.encode()) <= 123


async def test_rows_1_2_long_unknown_name_reason_cut_at_123_bytes() -> None:
    setup = lt_setup(**{"y" * 200: 1})
    async with Emulator(speed=math.inf) as emu:
        code, reason = await expect_close(await open_gemini(emu, setup))
    assert code == 1007 and len(reason.encode()) == 123
    assert reason.startswith('Invalid JSON payload received. Unknown name "yyy')


async def test_rows_1_10_11_known_fields_in_both_spellings_accepted() -> None:
    """Every real field passes, camelCase or snake_case: resumption, compression, speechConfig
    (accepted and ignored), VAD, the legacy switch; strict_setup=False lets anything through."""
    camel = lt_setup(
        sessionResumption={},
        contextWindowCompression={"slidingWindow": {}},
        realtimeInputConfig={"automaticActivityDetection": {"disabled": False}},
        systemInstruction={"parts": [{"text": "translate"}]},
    )
    camel["setup"]["generationConfig"]["speechConfig"] = {"languageCode": "es"}
    camel["setup"]["generationConfig"]["temperature"] = 0.5
    snake = legacy_setup(
        session_resumption={},
        context_window_compression={"sliding_window": {}},
        proactivity={"proactive_audio": False},
    )
    snake["setup"]["generation_config"]["thinking_config"] = {"thinking_budget": 0}
    async with Emulator(speed=math.inf) as emu:
        for ws in (await open_gemini(emu, camel), await open_vertex_lt(emu, snake)):
            assert "setupComplete" in await recv_json(ws)
            await ws.close()
    async with Emulator(speed=math.inf, strict_setup=False) as emu:
        ws = await open_gemini(emu, lt_setup(anything={"goes": 1}))
        assert "setupComplete" in await recv_json(ws)
        await ws.close()


# -- row 3: setupComplete ------------------------------------------------------------------
async def test_row_3_setup_complete_session_id_on_vertex_only() -> None:
    async with Emulator(speed=math.inf) as emu:
        ws = await open_vertex_lt(emu)
        body = (await recv_json(ws))["setupComplete"]
        await ws.close()
        assert set(body) == {"sessionId"}
        assert uuid.UUID(body["sessionId"]).version == 4
        assert emu.connections[0].server_session_id == body["sessionId"]
        ws = await open_gemini(emu)
        assert await recv_json(ws) == {"setupComplete": {}}
        await ws.close()
    async with Emulator(speed=math.inf, vertex_session_id=False) as emu:
        ws = await open_vertex_lt(emu)
        assert await recv_json(ws) == {"setupComplete": {}}
        await ws.close()


# -- row 4: binary frames ------------------------------------------------------------------
async def test_row_4_binary_frames_by_default_on_both_backends() -> None:
    async with Emulator(speed=math.inf) as emu:
        for ws in (await open_gemini(emu), await open_vertex_lt(emu)):
            assert isinstance(await ws.recv(), bytes)
            await ws.close()


# -- row 5: transcripts --------------------------------------------------------------------
@pytest.mark.parametrize("target", ["es", "cmn-CN"])
async def test_row_5_transcripts_are_deltas_with_language_code(target: str) -> None:
    sc = load_scenario("hello")
    pcm = np.concatenate([sc.source_audio, np.zeros(12000, np.int16)])
    async with Emulator(speed=math.inf) as emu:
        ws = await open_gemini(emu, lt_setup(target=target))
        await recv_json(ws)
        await stream(ws, pcm, speedup=20)
        msgs = [m for _, m in await gather(ws, 1.0)]
        await ws.close()
    ins = transcripts(msgs, "inputTranscription")
    outs = transcripts(msgs, "outputTranscription")
    assert len(ins) > 5 and len(outs) > 5  # deltas, word by word
    assert "".join(i["text"] for i in ins) == sc.utterances[0].text
    assert {i["languageCode"] for i in ins} == {"en"}  # the scenario's source language
    assert {o["languageCode"] for o in outs} == {target}  # the target as the client sent it
    assert all("finished" not in t for t in ins + outs)


async def test_row_5_loopback_input_transcript_has_no_language_code() -> None:
    async with Emulator(speed=math.inf, engine="loopback") as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        await stream(ws, tone(0.5), speedup=math.inf)
        msgs = [m for _, m in await gather(ws, 0.5)]
        await ws.close()
    ins = transcripts(msgs, "inputTranscription")
    outs = transcripts(msgs, "outputTranscription")
    assert ins == [{"text": "[emulator: speech 0.50 s]"}]  # language unknown: omitted
    assert outs[0]["languageCode"] == "es"


# -- row 6: no turn markers ----------------------------------------------------------------
async def test_row_6_no_turn_markers_by_default() -> None:
    async with Emulator(speed=math.inf) as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        await stream(ws, tone(0.5), speedup=math.inf)
        await ws.send(END)
        msgs = [m for _, m in await gather(ws, 1.0)]
        await ws.close()
    keys = content_keys(msgs)
    assert {"inputTranscription", "outputTranscription", "modelTurn"} <= keys
    assert not keys & {"turnComplete", "generationComplete", "interrupted"}


async def test_row_6_turn_markers_option() -> None:
    async with Emulator(speed=math.inf, turn_markers=True) as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        await stream(ws, tone(0.5), speedup=math.inf)
        msgs = [m for _, m in await gather(ws, 1.0)]
        await ws.close()
    kinds = [k for m in msgs for k in m.get("serverContent", {}) if k != "modelTurn"]
    assert kinds[-2:] == ["generationComplete", "turnComplete"]


async def test_row_6_barge_in_sends_interrupted_only_without_turn_markers() -> None:
    setup = lt_setup(realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
    async with Emulator(speed=1.0, engine="loopback") as emu:
        ws = await open_gemini(emu, setup)
        await recv_json(ws)
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await stream(ws, tone(2.0, pre_s=0, post_s=0), speedup=math.inf)
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        await gather(ws, 0.3)  # 2 s of loopback audio queued, 0.3 s of it played
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        msgs = [m for _, m in await gather(ws, 0.5)]
        await ws.close()
    keys = content_keys(msgs)
    assert "interrupted" in keys and "turnComplete" not in keys
    after = msgs[
        next(i for i, m in enumerate(msgs) if "interrupted" in m.get("serverContent", {})) :
    ]
    assert not any(voiced(p) for m in after for p in parts(m))  # the queued speech was dropped


# -- row 7: output never stops -------------------------------------------------------------
async def test_row_7_continuous_output_at_real_time() -> None:
    async with Emulator(usage_every_s=None) as emu:  # speed 1.0, part_ms 100, stream_silence
        ws = await open_gemini(emu)
        await recv_json(ws)
        before = [m for _, m in await gather(ws, 0.4)]
        assert not any(parts(m) for m in before)  # nothing streams before the first audio
        await ws.send(audio_msg(np.zeros(3200, np.int16)))
        msgs = await gather(ws, 2.5)
        await ws.close()
    audio = [(t, p) for t, m in msgs for p in parts(m)]
    assert audio and not any(voiced(p) for _, p in audio)  # digital silence, 100 ms parts
    assert all(p.size == PART and not p.any() for _, p in audio)
    # From the first part on, the samples received keep pace with the wall clock.
    elapsed = msgs[-1][0] - audio[0][0]
    received_s = sum(p.size for _, p in audio) / 24000
    assert elapsed > 2.0
    assert 0.75 * elapsed <= received_s <= elapsed + 0.45


async def test_row_7_silence_streams_after_audio_stream_end() -> None:
    async with Emulator(speed=2.0, engine="loopback", usage_every_s=None) as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        await stream(ws, tone(0.3, post_s=0), speedup=math.inf)
        await ws.send(END)
        msgs = await gather(ws, 1.6)
        await ws.close()
        rec = emu.connections[0]
    audio = [(t, p) for t, m in msgs for p in parts(m)]
    voiced_at = [t for t, p in audio if voiced(p)]
    assert voiced_at  # the loopback of the tone
    silent_after = [p for t, p in audio if t > voiced_at[-1]]
    assert len(silent_after) >= 10  # >= 0.5 s of silence at 2x after the speech ended
    assert rec.silence_frames_sent >= len(silent_after)


async def test_row_7_no_silence_options() -> None:
    for overrides in ({"stream_silence": False}, {"speed": math.inf}):
        async with Emulator(usage_every_s=None, **overrides) as emu:
            assert emu.config.silence_streaming is False
            ws = await open_gemini(emu)
            await recv_json(ws)
            await ws.send(audio_msg(np.zeros(3200, np.int16)))
            msgs = await gather(ws, 0.5)
            await ws.close()
        assert not any(parts(m) for _, m in msgs), overrides


# -- row 8: usage --------------------------------------------------------------------------
@pytest.mark.parametrize(("backend", "name"), [("vertex", "candidates"), ("gemini", "response")])
async def test_row_8_usage_repeatedly_beside_empty_server_content(backend: str, name: str) -> None:
    async with Emulator(speed=math.inf, usage_every_s=0.2) as emu:
        ws = await (open_vertex_lt(emu) if backend == "vertex" else open_gemini(emu))
        await recv_json(ws)
        await stream(ws, tone(0.3), speedup=math.inf)
        msgs = [m for _, m in await gather(ws, 0.9)]
        await ws.close()
    usage = [m for m in msgs if "usageMetadata" in m]
    assert len(usage) >= 3
    assert all(
        set(m) == {"serverContent", "usageMetadata"} and m["serverContent"] == {} for m in usage
    )
    meta = usage[-1]["usageMetadata"]
    assert meta[f"{name}TokenCount"] > 0 and meta[f"{name}TokensDetails"][0]["modality"] == "AUDIO"
    other = "response" if name == "candidates" else "candidates"
    assert f"{other}TokenCount" not in meta
    assert meta["totalTokenCount"] == meta["promptTokenCount"] + meta[f"{name}TokenCount"]


# -- row 9: resumption handles -------------------------------------------------------------
@pytest.mark.parametrize("backend", ["vertex", "gemini"])
async def test_row_9_resumable_handles_every_period_while_audio_flows(backend: str) -> None:
    resumption = {"transparent": True} if backend == "vertex" else {}
    async with Emulator(speed=math.inf, resumption_update_every_s=0.3, usage_every_s=None) as emu:
        if backend == "vertex":
            ws = await open_vertex_lt(emu, lt_setup(LT_VERTEX, sessionResumption=resumption))
        else:
            ws = await open_gemini(emu, lt_setup(sessionResumption=resumption))
        await recv_json(ws)
        reader = asyncio.ensure_future(gather(ws, 2.0))
        # 1.8 s of continuous speech sent in real time: an utterance stays open throughout
        await stream(ws, tone(1.8, pre_s=0, post_s=0), speedup=1.0)
        msgs = await reader
        await ws.close()
    ups = [(t, m["sessionResumptionUpdate"]) for t, m in msgs if "sessionResumptionUpdate" in m]
    assert len(ups) >= 4
    assert all(u["resumable"] is True and u["newHandle"] for _, u in ups)
    gaps = np.diff([t for t, _ in ups])
    assert 0.15 < float(np.median(gaps)) < 0.6
    if backend == "vertex":
        indices = [int(u["lastConsumedClientMessageIndex"]) for _, u in ups]
        assert indices == sorted(indices) and indices[-1] > 5
    else:  # the Gemini API has no lastConsumedClientMessageIndex
        assert all(set(u) == {"newHandle", "resumable"} for _, u in ups)


async def test_row_9_handles_only_when_idle_option() -> None:
    async with Emulator(
        speed=math.inf, resumption_update_every_s=0.2, handles_only_when_idle=True
    ) as emu:
        ws = await open_gemini(emu, lt_setup(sessionResumption={}))
        await recv_json(ws)
        reader = asyncio.ensure_future(gather(ws, 1.0))
        await stream(ws, tone(0.9, pre_s=0, post_s=0), speedup=1.0)
        msgs = await reader
        await ws.close()
    ups = [m["sessionResumptionUpdate"] for _, m in msgs if "sessionResumptionUpdate" in m]
    assert ups[0]["resumable"] is True  # after setupComplete, nothing open yet
    assert {"resumable": False} in ups[1:]


# One scenario told in order (issue, resume, compare); split, its steps would lose their order.
async def test_row_9_mid_utterance_resume_loses_no_output_and_no_audio_twice() -> None:
    """A handle issued while the translation is still queued and the next utterance is still
    being heard (the scripted engine answers an utterance once it has heard it whole): the
    resumed connection first sends what was queued, the engine carries on, and no audio is
    consumed twice."""
    hello, station = load_scenario("hello"), load_scenario("station")
    utterances = [*hello.utterances, *station.utterances]
    # what the client hears, silence aside: the translations' voiced 100 ms parts, in order
    expected = np.concatenate(
        [
            p
            for u in utterances
            for a in [u.translations["es"].audio]
            for p in (a[i : i + PART] for i in range(0, a.size, PART))
            if voiced(p)
        ]
    )
    gap = np.zeros(12000, np.int16)
    pcm = np.concatenate([hello.source_audio, gap, station.source_audio, gap])
    chunks = [pcm[i : i + 1600] for i in range(0, pcm.size, 1600)]
    resumption = {"transparent": True}
    async with Emulator(speed=2.0, resumption_update_every_s=0.25, usage_every_s=None) as emu:
        ws = await open_vertex_lt(emu, lt_setup(LT_VERTEX, sessionResumption=resumption))
        await recv_json(ws)

        async def send() -> None:
            for c in chunks:
                await ws.send(audio_msg(c))
                await asyncio.sleep(0.025)  # 4x real time: the translation queues up

        sender = asyncio.ensure_future(send())
        before: list[np.ndarray] = []  # output received before the chosen handle
        while True:
            msg = await recv_json(ws)
            before += [p for p in parts(msg) if voiced(p)]
            upd = msg.get("sessionResumptionUpdate")
            if upd and before:
                break
        sender.cancel()
        handle, index = upd["newHandle"], int(upd["lastConsumedClientMessageIndex"])
        emu.inject(Fault.drop(at_s=0), connection=0)
        await expect_close(ws)
        assert 0 < index < len(chunks) - 10  # mid-utterance: most input still to come
        ws2 = await open_vertex_lt(
            emu, lt_setup(LT_VERTEX, sessionResumption={"handle": handle, "transparent": True})
        )
        await recv_json(ws2)
        queued = [p for _, m in await gather(ws2, 0.3) for p in parts(m) if voiced(p)]
        assert queued  # the output queued at handle time comes first, before any new input
        for c in chunks[index:]:  # replay what the handle did not cover
            await ws2.send(audio_msg(c))
        after = list(queued)
        total = sum(p.size for p in before + after)
        deadline = time.monotonic() + 20
        while total < expected.size and time.monotonic() < deadline:
            msg = await recv_json(ws2)
            new = [p for p in parts(msg) if voiced(p)]
            after += new
            total += sum(p.size for p in new)
        await ws2.close()
        rec1 = await emu.wait_for_close(1)
    got = np.concatenate(before + after)
    assert got.tobytes() == expected.tobytes()
    digests = [hashlib.sha1(c.astype("<i2").tobytes()).hexdigest() for c in chunks]
    assert emu.consumed_audio_digests() == digests  # every chunk once, in order
    assert rec1.resumed_from_handle == handle


# -- rows 17, 18: the connection cap -------------------------------------------------------
def test_rows_17_18_default_cap_and_reasons() -> None:
    cfg = EmulatorConfig()
    assert (cfg.connection_lifetime_s, cfg.go_away_before_s, cfg.cap_close) == (600, 50, "overstay")
    from s2st.emulator._state import _duration

    assert _duration(cfg.go_away_before_s) == "50s"
    assert CLOSE_OVERSTAY.endswith("once the session durat") and len(CLOSE_OVERSTAY.encode()) == 123
    assert CLOSE_DEADLINE == "Deadline expired before operation could complete."


async def test_row_18_go_away_then_1008_for_an_overstaying_client() -> None:
    async with Emulator(connection_lifetime_s=0.8, go_away_before_s=0.4, usage_every_s=None) as emu:
        ws = await open_gemini(emu)
        t0 = time.monotonic()
        await recv_json(ws)
        msg = await recv_json(ws)
        t_go = time.monotonic() - t0
        assert msg == {"goAway": {"timeLeft": "0.400s"}}
        assert 0.25 < t_go < 0.7
        code, reason = await expect_close(ws)
        assert 0.7 < time.monotonic() - t0 < 1.5
    assert (code, reason) == (1008, CLOSE_OVERSTAY)
    assert reason == (
        "Connection aborted because the client failed to close the connection after receiving "
        "a GoAway signal once the session durat"
    )


async def test_row_17_deadline_variant_closes_1011() -> None:
    async with Emulator(
        connection_lifetime_s=0.5, go_away_before_s=0.2, cap_close="deadline", usage_every_s=None
    ) as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        assert await recv_json(ws) == {"goAway": {"timeLeft": "0.200s"}}
        assert await expect_close(ws) == (1011, CLOSE_DEADLINE)


# -- rows 19, 20: refusals -----------------------------------------------------------------
async def test_row_19_quota_exhausted_at_setup_and_mid_stream() -> None:
    assert CLOSE_QUOTA.startswith("You exceeded your current quota, please check your plan")
    assert len(CLOSE_QUOTA.encode()) == 123
    async with Emulator(speed=math.inf, quota_exhausted=True) as emu:
        for ws in (await open_gemini(emu), await open_vertex_lt(emu)):
            assert await expect_close(ws) == (1011, CLOSE_QUOTA)
    async with Emulator(speed=math.inf) as emu:
        emu.inject(Fault.quota(at_s=0.2), connection=0)
        ws = await open_gemini(emu)
        assert "setupComplete" in await recv_json(ws)
        t0 = time.monotonic()
        assert await expect_close(ws) == (1011, CLOSE_QUOTA)
        assert time.monotonic() - t0 > 0.1


@pytest.mark.parametrize("backend", ["vertex", "gemini"])
async def test_row_20_unsupported_model_closes_1007_with_the_model_id(backend: str) -> None:
    retired = "gemini-live-2.5-flash-preview-native-audio-09-2025"
    async with Emulator(speed=math.inf, unsupported_models=(retired,)) as emu:
        if backend == "vertex":
            ws = await open_vertex_lt(emu, lt_setup(LT_VERTEX.replace(LT_MODEL, retired)))
        else:
            ws = await open_gemini(emu, lt_setup(f"models/{retired}"))
        assert await expect_close(ws) == (1007, f"{retired} is not supported in the live api.")


# -- row 22 -----------------------------------------------------------------------------------
async def test_row_22_resume_while_the_old_socket_is_open_closes_1011() -> None:
    async with Emulator(speed=math.inf) as emu:
        ws = await open_gemini(emu, lt_setup(sessionResumption={}))
        await recv_json(ws)
        handle = (await recv_json(ws))["sessionResumptionUpdate"]["newHandle"]
        ws2 = await open_gemini(emu, lt_setup(sessionResumption={"handle": handle}))
        assert (await expect_close(ws2))[0] == 1011
        await ws.close()


# -- the engine interface ------------------------------------------------------------------
class _BackgroundEngine(Engine):
    """Answers from "worker threads": its output only comes out of poll()."""

    closed = 0

    def __init__(self) -> None:
        super().__init__(target_language="es")
        self.source_language = "de"
        self.fed = 0
        self.ready: list[Reply] = []

    def feed(self, pcm16k: np.ndarray) -> list[Reply]:
        self.fed += 1
        if self.fed == 3:
            audio = base64.b64encode(np.full(PART, 1000, "<i2").tobytes()).decode()
            self.ready = [
                Reply("input_text", text="hallo"),
                Reply("audio", audio_b64=audio, audio_s=0.1),
            ]
        return []

    def poll(self) -> list[Reply]:
        out, self.ready = self.ready, []
        return out

    def close(self) -> None:
        type(self).closed += 1


async def test_engine_poll_output_source_language_and_close() -> None:
    async with Emulator(engine=lambda info: _BackgroundEngine(), usage_every_s=None) as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        for _ in range(3):
            await ws.send(audio_msg(np.zeros(1600, np.int16)))
        msgs = [m for _, m in await gather(ws, 0.8)]
        await ws.close()
        await emu.wait_for_close(0)
    assert {"inputTranscription": {"text": "hallo", "languageCode": "de"}} in [
        m.get("serverContent") for m in msgs
    ]
    assert any(voiced(p) for m in msgs for p in parts(m))
    assert _BackgroundEngine.closed == 1  # the session ended (no resumption): closed once


# -- the preset and the CLI ----------------------------------------------------------------
def test_optimistic_preset() -> None:
    cfg = EmulatorConfig.optimistic(speed=math.inf)
    assert cfg.turn_markers and not cfg.stream_silence and cfg.handles_only_when_idle
    assert cfg.speed == math.inf and cfg.usage_every_s is None and cfg.cap_close == "deadline"
    assert cfg.resumption_update_every_s is None and cfg.resumption_update_every_messages == 20
    assert EmulatorConfig.optimistic().speed == 4.0
    from s2st.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        EmulatorConfig.optimistic(no_such_field=1)
    with pytest.raises(ConfigurationError):
        EmulatorConfig(cap_close="never")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        EmulatorConfig(resumption_update_every_s=0)
    with pytest.raises(ConfigurationError):
        EmulatorConfig(unsupported_models="gemini-x")  # type: ignore[arg-type]


def test_cli_flags_build_the_config() -> None:
    from s2st.emulator.cli import _parser, build_config

    cfg = build_config(_parser().parse_args([]))
    assert cfg == EmulatorConfig()
    args = _parser().parse_args(
        [
            "--speed", "2", "--no-silence", "--turn-markers", "--cap-close", "deadline",
            "--lifetime", "30", "--go-away-before", "60", "--resumption-every", "0.5",
            "--handles-only-when-idle", "--quota-exhausted", "--unsupported-model", "m1",
        ]
    )  # fmt: skip
    cfg = build_config(args)
    assert (cfg.speed, cfg.stream_silence, cfg.turn_markers, cfg.cap_close) == (
        2.0,
        False,
        True,
        "deadline",
    )
    assert (cfg.connection_lifetime_s, cfg.go_away_before_s) == (30.0, 30.0)
    assert cfg.resumption_update_every_s == 0.5 and cfg.handles_only_when_idle
    assert cfg.quota_exhausted and cfg.unsupported_models == ("m1",)
    assert build_config(_parser().parse_args(["--optimistic"])) == EmulatorConfig.optimistic()


async def test_closed_connection_stops_streaming() -> None:
    async with Emulator(usage_every_s=None) as emu:
        ws = await open_gemini(emu)
        await recv_json(ws)
        await ws.send(audio_msg(np.zeros(1600, np.int16)))
        await gather(ws, 0.3)
        await ws.close()
        rec = await emu.wait_for_close(0)
        sent = rec.frames_sent
        await asyncio.sleep(0.3)
        assert rec.frames_sent == sent and rec.silence_frames_sent > 0
