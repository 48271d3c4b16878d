"""The emulator's defaults follow what the real service was seen doing (EVIDENCE.md), part 2:
resumption handles (row 9), the connection cap (rows 17, 18), refusals (rows 19, 20, 22), the
engine interface, the optimistic preset and the CLI flags. Rows 1-8 are in test_evidence.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import time

import numpy as np
import pytest

from s2st.emulator import Emulator, EmulatorConfig, Engine, Fault, Reply, load_scenario
from s2st.emulator.wire import CLOSE_DEADLINE, CLOSE_OVERSTAY, CLOSE_QUOTA

from .evidence import (
    LT_MODEL,
    LT_VERTEX,
    PART,
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
    recv_json,
    stream,
    tone,
)


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
