"""The emulator's defaults follow what the real service was seen doing (EVIDENCE.md).

One test per EVIDENCE row the emulator implements; the row number is in each test's name.
Rows 1-8 here; row 9 and later in test_evidence_sessions.py.
Driven by plain ``websockets`` clients on 127.0.0.1 (no s2st session involved).
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import numpy as np
import pytest

from s2st.emulator import Emulator, load_scenario

from .evidence import (
    END,
    PART,
    content_keys,
    gather,
    lt_setup,
    open_gemini,
    open_vertex_lt,
    parts,
    voiced,
)
from .helpers import (
    audio_msg,
    expect_close,
    legacy_setup,
    recv_json,
    stream,
    tone,
    transcripts,
)

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
