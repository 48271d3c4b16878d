"""Emulator: scripted scenarios, scenarios API, pytest plugin, threaded runner, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect

from s2st.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorThread,
    ScriptedEngine,
    list_scenarios,
    load_scenario,
    sample_path,
)
from s2st.emulator._audio import read_wav, resample
from s2st.errors import ConfigurationError

from .helpers import (
    BEARER,
    audio_bytes,
    collect,
    legacy_setup,
    open_vertex,
    recv_json,
    stream,
    texts,
)

pytest_plugins = ["pytester"]


def test_scenarios_api() -> None:
    assert list_scenarios() == ["hello", "station"]
    path = sample_path("hello")
    assert path.is_file() and path.suffix == ".wav"
    pcm, rate = read_wav(path)
    assert rate == 16000 and 4.0 < pcm.size / rate < 7.0
    sc = load_scenario("station")
    assert len(sc.utterances) == 2 and sc.languages == ("cmn", "de", "es")
    assert sc.utterances[1].translations["es"].text == "¿Dónde está la estación de tren?"
    with pytest.raises(ConfigurationError, match="available: hello, station"):
        load_scenario("nope")


@pytest.mark.parametrize(("target", "rate"), [("es", 16000), ("cmn-CN", 48000)])
async def test_scripted_hello_detected(target: str, rate: int) -> None:
    sc = load_scenario("hello")
    pcm = np.concatenate([np.zeros(8000, np.int16), sc.source_audio, np.zeros(12000, np.int16)])
    pcm = resample(pcm, 16000, rate)
    async with Emulator(config=EmulatorConfig.optimistic(speed=float("inf"))) as emu:
        async with await open_vertex(emu, legacy_setup(target=target)) as ws:
            await recv_json(ws)
            task = asyncio.ensure_future(collect(ws))
            await stream(ws, pcm, rate=rate, chunk_ms=80, speedup=10)
            msgs = await task
    lang = "cmn" if target.startswith("cmn") else target
    trans = sc.utterances[0].translations[lang]
    assert texts(msgs, "inputTranscription") == sc.utterances[0].text
    assert texts(msgs, "outputTranscription") == trans.text
    # fragments are incremental; the first ones arrive before the audio has all been sent
    assert sum(1 for m in msgs if "inputTranscription" in m.get("serverContent", {})) > 5
    assert audio_bytes(msgs) == trans.audio.astype("<i2").tobytes()


async def test_scripted_two_utterances_and_missing_language() -> None:
    sc = load_scenario("station")
    async with Emulator(config=EmulatorConfig.optimistic(speed=float("inf"))) as emu:
        heard = {}
        for target in ("de", "fr"):
            async with await open_vertex(emu, legacy_setup(target=target)) as ws:
                await recv_json(ws)
                await stream(
                    ws, np.concatenate([sc.source_audio, np.zeros(12000, np.int16)]), speedup=20
                )
                heard[target] = await collect(ws, count=2)
        assert texts(heard["de"], "outputTranscription") == "Guten Morgen.Wo ist der Bahnhof?"
        msgs = heard["fr"]
        # the source is recognised, but there is no French script: never fake a translation
        assert texts(msgs, "inputTranscription") == "Good morning.Where is the train station?"
        assert (
            texts(msgs, "outputTranscription") == "[emulator: no translation — loopback audio]" * 2
        )


async def test_translation_config_dialect_and_loopback_engine() -> None:
    setup = {
        "setup": {
            "model": "projects/p/locations/l/publishers/google/models/gemini-3.5-live-translate-preview",
            "generationConfig": {"translationConfig": {"targetLanguageCode": "es"}},
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
        }
    }
    optimistic = EmulatorConfig.optimistic(engine="loopback", speed=float("inf"))
    async with Emulator(config=optimistic) as emu:
        async with await open_vertex(emu, setup) as ws:
            await recv_json(ws)
            await stream(
                ws,
                np.concatenate([load_scenario("station").source_audio, np.zeros(12000, np.int16)]),
                speedup=20,
            )
            msgs = await collect(ws, count=2)
    assert texts(msgs, "inputTranscription").startswith("[emulator: speech 0.")


async def test_plugin_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(
        """
        import json, pytest
        from websockets.asyncio.client import connect

        @pytest.mark.asyncio
        async def test_default(s2st_emulator):
            async with connect(s2st_emulator.gemini_url(), additional_headers={"x-goog-api-key": "k"}) as ws:
                await ws.send(json.dumps({"setup": {"model": "models/gemini-3.5-live-translate-preview",
                    "generationConfig": {"translationConfig": {"targetLanguageCode": "de"}}}}))
                assert json.loads(await ws.recv()) == {"setupComplete": {}}

        @pytest.mark.asyncio
        async def test_factory(s2st_emulator_factory):
            a = await s2st_emulator_factory(binary_frames=False)
            b = await s2st_emulator_factory()
            assert a.port != b.port and a.config.binary_frames is False
        """
    )
    # the plugin comes from the pytest11 entry point of the installed package
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


async def test_thread_runner() -> None:
    def run() -> tuple[int, bool]:
        with EmulatorThread(connection_lifetime_s=30) as emu:
            port = emu.port

            async def client() -> bool:
                async with connect(emu.vertex_url(), additional_headers=BEARER) as ws:
                    await ws.send(json.dumps(legacy_setup()))
                    return "setupComplete" in json.loads(await ws.recv())

            ok = asyncio.run(client())
        return port, ok

    port, ok = await asyncio.to_thread(run)
    assert port > 0 and ok


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_stops_on_signal(sig: int) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s2st.emulator",
            "--port",
            "0",
            "--lifetime",
            "30",
            "--text-frames",
            "--optimistic",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("s2st emulator listening on ws://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()

        async def client() -> object:
            async with connect(
                url + "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent",
                additional_headers=BEARER,
            ) as ws:
                await ws.send(json.dumps(legacy_setup()))
                return await ws.recv()

        assert asyncio.run(client()) == '{"setupComplete":{}}'
        t0 = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_scripted_prefix_inside_a_longer_utterance_is_not_answered_with_the_script() -> None:
    """Issue 13: "Good morning, where is the train station?" said as one utterance began like
    the "Good morning." script and got "Buenos días." as if that were its translation. A script
    answers only a whole-utterance match; anything else gets the labelled loopback answer."""
    from s2st.emulator.engines import LOOPBACK_OUTPUT_TEXT

    station = load_scenario("station")
    first, second = (u.source_audio for u in station.utterances)
    # No pause between the two sentences: one segment that starts like "Good morning."
    pcm = np.concatenate([first, second[: second.size // 2], np.zeros(16000, np.int16)])
    engine = ScriptedEngine(target_language="es")
    replies = []
    for i in range(0, pcm.size, 1600):
        replies += engine.feed(pcm[i : i + 1600])
    texts = [r.text for r in replies if r.kind == "output_text"]
    assert texts == [LOOPBACK_OUTPUT_TEXT], texts
    assert not any("Buenos" in t for t in texts)
    # The whole "Good morning." alone still gets its script.
    alone = ScriptedEngine(target_language="es")
    replies = []
    padded = np.concatenate([first, np.zeros(16000, np.int16)])
    for i in range(0, padded.size, 1600):
        replies += alone.feed(padded[i : i + 1600])
    assert "".join(r.text for r in replies if r.kind == "output_text") == "Buenos días."
