"""Emulator: paths, auth, setup validation, answers, accounting; driven by plain websockets."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from s2st.emulator import Emulator, EmulatorConfig
from s2st.emulator.wire import truncate_reason

from .helpers import (
    API_KEY,
    BEARER,
    MODEL,
    VERTEX_MODEL,
    audio_bytes,
    audio_msg,
    collect,
    expect_close,
    legacy_setup,
    open_vertex,
    recv_json,
    stream,
    texts,
    tone,
)


@pytest.fixture
async def emu() -> Any:
    async with Emulator(speed=float("inf"), usage_every_s=None) as e:
        yield e


@pytest.fixture
async def optimistic_emu() -> Any:
    """The former optimistic behaviour (turn markers, ``setupComplete: {}`` on Vertex...)."""
    async with Emulator(config=EmulatorConfig.optimistic(speed=float("inf"))) as e:
        yield e


def _gemini_path(version: str = "v1beta", method: str = "BidiGenerateContent") -> str:
    return f"/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent", BEARER),
        ("/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent", BEARER),
        ("//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent", BEARER),
        (_gemini_path("v1"), API_KEY),
        (_gemini_path("v1alpha"), API_KEY),
        ("/" + _gemini_path("v1beta"), API_KEY),
        (_gemini_path("v1beta") + "?key=abc123", {}),
        (
            _gemini_path("v1alpha", "BidiGenerateContentConstrained"),
            {"Authorization": "Token auth_tokens/x"},
        ),
        (_gemini_path("v1alpha", "BidiGenerateContentConstrained") + "?access_token=tok", {}),
    ],
)
async def test_paths_and_auth_accepted(
    optimistic_emu: Emulator, path: str, headers: dict[str, str]
) -> None:
    gemini = "generativelanguage" in path
    model = f"models/{MODEL}" if gemini else VERTEX_MODEL
    async with connect(optimistic_emu.base_url + path, additional_headers=headers) as ws:
        await ws.send(json.dumps(legacy_setup(model)))
        assert await recv_json(ws) == {"setupComplete": {}}
    rec = optimistic_emu.connections[0]
    assert rec.backend == ("gemini" if gemini else "vertex")
    assert "abc123" not in rec.path and "tok" not in rec.path.split("=")[-1]
    assert all("test-key" not in v and "Token auth" not in v for v in rec.headers.values())


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/ws/unknown", BEARER, 404),
        ("/ws/google.cloud.aiplatform.v2.LlmBidiService/BidiGenerateContent", BEARER, 404),
        ("/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent", {}, 401),
        (
            "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent",
            {"Authorization": "Bearer "},
            401,
        ),
        (_gemini_path(), {}, 401),
        (_gemini_path("v1alpha", "BidiGenerateContentConstrained"), {}, 401),
    ],
)
async def test_handshake_rejections(
    emu: Emulator, path: str, headers: dict[str, str], status: int
) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(emu.base_url + path, additional_headers=headers)
    assert info.value.response.status_code == status
    assert emu.connections == []


async def test_valid_tokens_and_api_keys() -> None:
    async with Emulator(valid_tokens={"good"}, valid_api_keys={"goodkey"}) as emu:
        with pytest.raises(InvalidStatus) as info:
            await connect(emu.vertex_url(), additional_headers={"Authorization": "Bearer bad"})
        assert info.value.response.status_code == 401
        async with connect(
            emu.vertex_url(), additional_headers={"Authorization": "Bearer good"}
        ) as ws:
            await ws.send(json.dumps(legacy_setup()))
            assert "setupComplete" in await recv_json(ws)
        ws = await connect(emu.gemini_url(), additional_headers={"x-goog-api-key": "badkey"})
        await ws.send(json.dumps(legacy_setup(f"models/{MODEL}")))
        assert await expect_close(ws) == (1007, "API key not valid. Please pass a valid API key.")


SETUP_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("bare model id on vertex", legacy_setup(MODEL), 1007, "invalid argument"),
    ("gemini form on vertex", legacy_setup(f"models/{MODEL}"), 1007, "invalid argument"),
    (
        "not allow-listed",
        legacy_setup(VERTEX_MODEL.replace(MODEL, "gemini-2.0-flash-live-001")),
        1008,
        "Publisher Model `projects/p/",
    ),
    (
        "no s2st switch",
        {"setup": {"model": VERTEX_MODEL}},
        1007,
        "enable_speech_to_speech_translation",
    ),
    ("unsupported language", legacy_setup(target="xx-YY"), 1007, "Unsupported target language"),
    ("missing language", legacy_setup(target=""), 1007, "target language"),
    (
        "text modality",
        legacy_setup(generationConfig=None)
        | {
            "setup": {
                **legacy_setup()["setup"],
                "generation_config": {
                    "response_modalities": ["AUDIO", "TEXT"],
                    "speech_config": {"language_code": "es"},
                },
            }
        },
        1007,
        "responseModalities",
    ),
    (
        "duplicate casing",
        {"setup": {**legacy_setup()["setup"], "enableSpeechToSpeechTranslation": True}},
        1007,
        "Duplicate",
    ),
]


@pytest.mark.parametrize(
    ("name", "setup", "code", "reason"), SETUP_CASES, ids=[c[0] for c in SETUP_CASES]
)
async def test_setup_validation(
    emu: Emulator, name: str, setup: dict[str, Any], code: int, reason: str
) -> None:
    ws = await open_vertex(emu, setup)
    got_code, got_reason = await expect_close(ws)
    assert got_code == code, name
    assert reason in got_reason
    assert len(got_reason.encode()) <= 123


async def test_gemini_model_rules(emu: Emulator) -> None:
    ws = await connect(emu.gemini_url(), additional_headers=API_KEY)
    await ws.send(json.dumps(legacy_setup(VERTEX_MODEL)))
    assert (await expect_close(ws))[0] == 1007
    ws = await connect(emu.gemini_url(), additional_headers=API_KEY)
    await ws.send(json.dumps(legacy_setup("models/gemini-1.0-pro")))
    code, reason = await expect_close(ws)
    assert code == 1008 and reason.startswith(
        "models/gemini-1.0-pro is not found for API version v1beta"
    )
    ws = await connect(emu.gemini_url(), additional_headers=API_KEY)
    await ws.send(
        json.dumps(legacy_setup(f"models/{MODEL}", session_resumption={"transparent": True}))
    )
    assert (await expect_close(ws))[0] == 1007


def test_reason_truncated_on_utf8_boundary() -> None:
    reason = "é" * 100
    cut = truncate_reason(reason)
    assert len(cut.encode()) <= 123 and cut == "é" * 61


@pytest.mark.parametrize(
    "second",
    [
        "not json",
        "[1, 2]",
        json.dumps(legacy_setup()),
        json.dumps({"clientContent": {"turns": [], "turnComplete": True}}),
        json.dumps({"realtimeInput": {"text": "hello"}}),
        json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/wav", "data": "AAAA"}}}),
        json.dumps(
            {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=96000", "data": "AAAA"}}}
        ),
        json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "AAA*"}}}),
        json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "AA=="}}}),
        json.dumps({"realtimeInput": {"activityStart": {}}}),
        json.dumps({"realtimeInput": {}, "toolResponse": {}}),
    ],
)
async def test_bad_client_messages_close_1007(emu: Emulator, second: str) -> None:
    ws = await open_vertex(emu)
    assert "setupComplete" in await recv_json(ws)
    await ws.send(second)
    assert (await expect_close(ws))[0] == 1007
    rec = await emu.wait_for_close(0)
    assert rec.close_code == 1007


async def test_first_message_must_be_setup(emu: Emulator) -> None:
    ws = await connect(emu.vertex_url(), additional_headers=BEARER)
    await ws.send(audio_msg(np.zeros(160, np.int16)))
    assert (await expect_close(ws))[0] == 1007


@pytest.mark.parametrize("binary", [True, False])
async def test_frame_opcode_configurable(binary: bool) -> None:
    async with Emulator(binary_frames=binary) as emu:
        ws = await open_vertex(emu)
        raw = await ws.recv()
        assert isinstance(raw, bytes) is binary
        await ws.close()


async def test_loopback_tone_and_accounting(optimistic_emu: Emulator) -> None:
    pcm = tone(1.0)
    async with await open_vertex(optimistic_emu) as ws:
        assert "setupComplete" in await recv_json(ws)
        sent = await stream(ws, pcm, speedup=20)
        msgs = await collect(ws)
    assert texts(msgs, "inputTranscription") == "[emulator: speech 1.00 s]"
    assert texts(msgs, "outputTranscription") == "[emulator: no translation — loopback audio]"
    kinds = [next(iter(m["serverContent"])) for m in msgs if "serverContent" in m]
    assert kinds[-2:] == ["generationComplete", "turnComplete"]
    assert all(
        p["inlineData"]["mimeType"] == "audio/pcm;rate=24000"
        for m in msgs
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    )
    out = np.frombuffer(audio_bytes(msgs), "<i2")
    assert abs(out.size / 24000 - 1.0) < 0.15  # the tone, resampled to 24 kHz
    assert np.max(np.abs(out)) > 4000
    turn = next(m for m in msgs if m.get("serverContent", {}).get("turnComplete"))
    assert turn["usageMetadata"]["candidatesTokenCount"] > 0  # Vertex naming
    rec = await optimistic_emu.wait_for_close(0)
    assert rec.kinds() == ["setup"] + ["audio"] * sent
    assert [m.index for m in rec.messages] == list(range(sent + 1))
    assert rec.audio_message_indices == list(range(1, sent + 1))
    assert b"".join(rec.audio) == pcm.astype("<i2").tobytes() == optimistic_emu.all_audio_bytes()
    assert optimistic_emu.consumed_audio_digests() == [
        hashlib.sha1(a).hexdigest() for a in rec.audio
    ]
    assert rec.close_code == 1000


async def test_snake_case_urlsafe_and_rates(optimistic_emu: Emulator) -> None:
    """snake_case keys, URL-safe base64 without padding, 48 kHz input, mediaChunks."""
    pcm48 = tone(0.6, rate=48000)
    async with await open_vertex(optimistic_emu) as ws:
        await recv_json(ws)
        await stream(ws, pcm48, rate=48000, urlsafe=True, camel=False)
        msgs = await collect(ws)
        assert texts(msgs, "inputTranscription") == "[emulator: speech 0.60 s]"
        raw = tone(0.5).astype("<i2").tobytes()
        data = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        await ws.send(
            json.dumps(
                {"realtime_input": {"media_chunks": [{"mime_type": "audio/pcm", "data": data}]}}
            )
        )
        msgs = await collect(ws)
        assert texts(msgs, "inputTranscription") == "[emulator: speech 0.50 s]"
    rec = await optimistic_emu.wait_for_close(0)
    assert rec.audio[-1] == raw


async def test_audio_stream_end_flushes_and_gemini_usage(optimistic_emu: Emulator) -> None:
    async with connect(optimistic_emu.gemini_url(), additional_headers=API_KEY) as ws:
        await ws.send(json.dumps(legacy_setup(f"models/{MODEL}")))
        await recv_json(ws)
        await stream(ws, tone(0.5, post_s=0.0), speedup=float("inf"))
        await ws.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
        msgs = await collect(ws)
    turn = msgs[-1]
    assert "responseTokenCount" in turn["usageMetadata"]
    assert optimistic_emu.connections[0].kinds()[-1] == "audio_stream_end"


async def test_manual_activity(optimistic_emu: Emulator) -> None:
    setup = legacy_setup(realtime_input_config={"automatic_activity_detection": {"disabled": True}})
    async with await open_vertex(optimistic_emu, setup) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await stream(ws, np.zeros(8000, np.int16), speedup=float("inf"))  # silence counts too
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        msgs = await collect(ws)
    assert texts(msgs, "inputTranscription") == "[emulator: speech 0.50 s]"
    assert optimistic_emu.connections[0].kinds()[1] == "activity_start"


async def test_periodic_usage_and_combined_fields() -> None:
    optimistic = EmulatorConfig.optimistic(
        usage_every_s=0.2, combine_probability=1.0, speed=float("inf")
    )
    async with Emulator(config=optimistic) as emu:
        async with await open_vertex(emu) as ws:
            await recv_json(ws)
            msg = await recv_json(ws)
            assert set(msg) == {"usageMetadata"}
            await stream(ws, tone(0.5), speedup=float("inf"))
            msgs = await collect(ws)
    combined = [m for m in msgs if len(m.get("serverContent", {})) > 1]
    assert combined and "inputTranscription" in combined[0]["serverContent"]


async def test_config_validation() -> None:
    from s2st.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        EmulatorConfig(speed=0)
    with pytest.raises(ConfigurationError):
        Emulator(no_such_option=1)
    with pytest.raises(ConfigurationError):
        EmulatorConfig(valid_tokens="abc")  # type: ignore[arg-type]
