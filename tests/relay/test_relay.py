"""The relay end to end: upstream reconnection, the served pages, and the `s2st relay` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from s2st.emulator import Fault, FaultPlan, load_scenario
from s2st.relay import issue_token

from .helpers import (
    SECRET,
    UNIT_S,
    running_relay,
    sample_pcm,
    silence,
    stop_and_read_translation,
    stream_pcm,
    translate_once,
)


async def test_an_upstream_reconnection_is_only_an_informational_event() -> None:
    faults = FaultPlan({0: Fault.drop(at_message=15)})  # the link dies 1.5 s into the speech
    async with running_relay(emulator={"faults": faults}) as rs:
        out = await translate_once(rs, token=issue_token(SECRET, subject="u"), speed=1.5)
        assert len(rs.emulator.connections) >= 2  # the session really reconnected upstream
    assert out.close_code == 1000
    assert "reconnected" in out.types()
    assert "error" not in out.types()
    assert out.texts("translation").startswith("Hola, y bienvenidos")
    assert out.texts("translation").endswith("tiempo.")
    expected = load_scenario("hello").utterances[0].translations["es"].audio
    expected_voiced = int(np.count_nonzero(np.abs(expected.astype(np.int32)) > 128))
    assert out.voiced_samples >= 0.95 * expected_voiced  # no audio lost across the reconnection


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


async def test_pages_and_config_hold_no_credentials() -> None:
    async with running_relay() as rs:
        pages = {}
        for path in (
            "/",
            "/captions",
            "/config",
            "/healthz",
            "/static/relay.js",
            "/static/capture-worklet.js",
            "/static/captions.js",
            "/static/relay.css",
            "/static/captions.css",
        ):
            status, headers, body = await asyncio.to_thread(get, rs.http + path)
            assert status == 200, path
            pages[path] = (headers, body)
        assert (await asyncio.to_thread(get, rs.http + "/static/..%2Fapp.py"))[0] == 404
        assert (await asyncio.to_thread(get, rs.http + "/static/index.html"))[0] == 404
    for path, (_headers, body) in pages.items():
        assert b"emulator-token" not in body, path  # the client's credential stays server-side
        assert SECRET.encode() not in body, path
    csp = pages["/"][0]["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors *" in pages["/captions"][0]["content-security-policy"]
    config = json.loads(pages["/config"][1])
    assert config["version"] == 1 and config["token_required"] is True
    assert {"code": "es", "name": "Spanish"} in config["languages"]
    html = pages["/"][1].decode()
    for testid in ('data-testid="language"', 'data-testid="start"', 'data-testid="latency"'):
        assert testid in html


def _relay_command(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k != "S2ST_RELAY_SECRET"}
    environ.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "s2st.cli", "relay", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def test_dev_mode_refuses_a_network_bind() -> None:
    proc = _relay_command("--emulator", "--host", "0.0.0.0", "--port", "0")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "loopback" in err


def test_production_mode_needs_a_secret() -> None:
    proc = _relay_command("--port", "0")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "S2ST_RELAY_SECRET" in err


async def test_s2st_relay_emulator_serves_and_drains_on_sigterm() -> None:
    proc = await asyncio.to_thread(
        _relay_command, "--emulator", "--port", "0", "--drain-timeout", "30"
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30 * UNIT_S)
        assert line.startswith("s2st relay listening on http://127.0.0.1:"), line
        base = line.split()[-1].rstrip("/")
        status, _, body = await asyncio.to_thread(get, base + "/config")
        assert status == 200 and json.loads(body)["token_required"] is False  # dev mode
        ws_url = base.replace("http", "ws") + "/ws"
        async with connect(ws_url) as ws:
            await ws.send(json.dumps({"type": "start", "target_language": "es"}))
            assert json.loads(await ws.recv())["type"] == "ready"
            host, port = base.rsplit("/", 1)[-1].split(":")
            viewer_r, viewer_w = await asyncio.open_connection(host, int(port))
            viewer_w.write(b"GET /captions/events?room=main HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b" 200 " in await viewer_r.readline()  # a caption viewer stays connected
            proc.send_signal(signal.SIGTERM)  # drain: this session goes on
            for _ in range(100):
                if (await asyncio.to_thread(get, base + "/healthz"))[0] == 503:
                    break
                await asyncio.sleep(0.1)
            assert (await asyncio.to_thread(get, base + "/healthz"))[0] == 503
            async with connect(ws_url) as refused:
                with contextlib.suppress(ConnectionClosed):  # refused before the start
                    await refused.send(json.dumps({"type": "start", "target_language": "es"}))
                    async for _ in refused:
                        pass
                assert refused.close_code == 4503
            await stream_pcm(ws, sample_pcm() + silence(1500), speed=3)
            translation = await stop_and_read_translation(ws)
            assert ws.close_code == 1000
            assert "tiempo" in translation
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0
        await asyncio.wait_for(viewer_r.read(), 10 * UNIT_S)  # its stream was ended, not cut
        viewer_w.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_sessions": 0},
        {"allowed_origins": "https://a"},
        {"secret": "short"},
        {"languages": []},
        {"idle_timeout_s": 0},
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    from s2st.errors import ConfigurationError
    from s2st.relay import RelayConfig

    kwargs.setdefault("secret", SECRET)
    with pytest.raises(ConfigurationError):
        RelayConfig(**kwargs)


async def test_a_48khz_browser_is_resampled_and_its_rate_limit_scaled() -> None:
    pcm16k = np.frombuffer(sample_pcm() + silence(1500), dtype="<i2")
    pcm48k = np.repeat(pcm16k, 3).astype("<i2").tobytes()  # 96 kB/s: over the 16 kHz limit
    async with running_relay() as rs, connect(rs.ws, max_size=None) as ws:
        start = {"type": "start", "target_language": "es", "sample_rate": 48000}
        await ws.send(json.dumps({**start, "token": issue_token(SECRET, subject="u")}))
        assert json.loads(await ws.recv())["input_sample_rate"] == 48000
        step = 9600  # 100 ms at 48 kHz
        for i in range(0, len(pcm48k), step):
            await ws.send(pcm48k[i : i + step])
            await asyncio.sleep(0.1 / 1.5)
        translation = await stop_and_read_translation(ws)
        assert ws.close_code == 1000
    assert translation.endswith("tiempo.")


def test_a_bad_port_is_a_usage_error_not_a_traceback() -> None:
    proc = _relay_command("--emulator", "--port", "99999")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "99999 is not a port" in err and "Traceback" not in err
