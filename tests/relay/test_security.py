"""Every refusal closes with its documented code while another session keeps translating.

One relay (real uvicorn on 127.0.0.1, real emulator) serves a good session streaming the
hello sample; meanwhile bad clients try everything the relay must refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from s2st.relay import CloseCode, Relay, RelayConfig, issue_token
from s2st.relay.protocol import ProtocolViolation

from .helpers import (
    SECRET,
    UNIT_S,
    Received,
    RelayServer,
    read_all,
    running_relay,
    sample_pcm,
    stream_pcm,
    translate_once,
)

LIMITS: dict[str, Any] = {
    "start_timeout_s": 1.5 * UNIT_S,
    "max_frame_bytes": 32 * 1024,
    "max_backlog_bytes": 64 * 1024,
    "max_sessions_per_token": 2,
    "max_bytes_per_s": 64_000.0,
    "burst_bytes": 96 * 1024,
    "allowed_origins": ("https://app.example",),
}


def token(**kwargs: Any) -> str:
    kwargs.setdefault("subject", "tester")
    return issue_token(SECRET, **kwargs)


async def refused(
    rs: RelayServer,
    start: dict[str, Any] | None,
    *,
    origin: str | None = None,
    then: Any = None,
) -> Received:
    """Open a socket, send ``start`` (unless None), run ``then(ws)``, read to the close."""
    headers = {"Origin": origin} if origin else None
    async with connect(rs.ws, additional_headers=headers) as ws:
        with contextlib.suppress(ConnectionClosed):  # the relay may refuse before we finish
            if start is not None:
                await ws.send(json.dumps({"type": "start", "version": 1, **start}))
            if then is not None:
                await then(ws)
        return await read_all(ws, Received(), timeout_s=15 * UNIT_S)


def assert_refused(out: Received, code: CloseCode) -> None:
    assert out.close_code == code, (out.close_code, out.close_reason, out.messages)
    assert out.close_reason == code.label
    errors = [m for m in out.messages if m["type"] == "error"]
    assert errors and errors[-1]["code"] == code and errors[-1]["error"] == code.label
    assert not out.audio


# One relay, a good session and every kind of refusal beside it: long, because the point is
# that they run at the same time.
async def test_refusals_leave_other_sessions_working(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_relay(**LIMITS) as rs:
        good = asyncio.create_task(
            translate_once(rs, token=token(subject="good"), origin="https://app.example", speed=1.5)
        )
        expired = token(now=time.time() - 3600, ttl_s=60)
        forged = issue_token("some-other-secret-0123456789", subject="tester")
        es_only = token(languages=["es"])

        async def oversize(ws: ClientConnection) -> None:
            await ws.send(bytes(40 * 1024))

        async def too_fast(ws: ClientConnection) -> None:
            for _ in range(8):  # 256 kB at once: far over the 96 kB burst
                await ws.send(bytes(30 * 1024))

        async def wait_only(ws: ClientConnection) -> None:
            await asyncio.sleep(0)

        cases: list[tuple[CloseCode, Any]] = [
            (CloseCode.UNAUTHORIZED, refused(rs, {"target_language": "es"})),
            (CloseCode.UNAUTHORIZED, refused(rs, {"target_language": "es", "token": forged})),
            (CloseCode.UNAUTHORIZED, refused(rs, {"target_language": "es", "token": "s2st1.x.y"})),
            (CloseCode.TOKEN_EXPIRED, refused(rs, {"target_language": "es", "token": expired})),
            (
                CloseCode.FORBIDDEN,
                refused(
                    rs, {"target_language": "es", "token": token()}, origin="https://evil.example"
                ),
            ),
            (CloseCode.FORBIDDEN, refused(rs, {"target_language": "de", "token": es_only})),
            (
                CloseCode.FORBIDDEN,
                refused(rs, {"target_language": "es", "token": token(), "room": "main"}),
            ),
            (
                CloseCode.FORBIDDEN,
                refused(rs, {"target_language": "es", "token": token(scope="view")}),
            ),
            (CloseCode.BAD_REQUEST, refused(rs, {"target_language": "xx-nope", "token": token()})),
            (CloseCode.BAD_REQUEST, refused(rs, {"target_language": "es", "version": 99})),
            (
                CloseCode.FRAME_TOO_LARGE,
                refused(rs, {"target_language": "es", "token": token()}, then=oversize),
            ),
            (
                CloseCode.RATE_LIMITED,
                refused(rs, {"target_language": "es", "token": token()}, then=too_fast),
            ),
            (CloseCode.TIMEOUT, refused(rs, None, then=wait_only)),
        ]
        results = await asyncio.gather(*(c for _, c in cases))
        for (code, _), out in zip(cases, results, strict=True):
            assert_refused(out, code)

        out = await good
        assert out.close_code == 1000, (out.close_code, out.close_reason)
        assert "Hola" in out.texts("translation")
        assert out.voiced_samples > 24000  # more than a second of translated speech
        assert out.types()[-1] == "end"
        assert rs.relay.active_sessions == 0
    secrets = [expired, forged, es_only, SECRET]
    server_side = [r for r in caplog.records if r.name.startswith(("s2st", "uvicorn"))]
    assert any("refused" in r.getMessage() for r in server_side)
    for record in server_side:  # the test's own websockets client logs what it sends
        text = record.getMessage()
        assert not any(s in text for s in secrets), text
        assert "s2st1." not in text


async def _ready(ws: ClientConnection) -> dict[str, Any]:
    msg = json.loads(await asyncio.wait_for(ws.recv(), 10 * UNIT_S))
    assert msg["type"] == "ready", msg
    return msg


async def test_too_many_sessions_per_token() -> None:
    async with running_relay(**LIMITS) as rs:
        shared = token()
        start = json.dumps({"type": "start", "target_language": "es", "token": shared})
        async with connect(rs.ws) as a, connect(rs.ws) as b:
            await a.send(start)
            await b.send(start)
            await _ready(a)
            await _ready(b)
            out = await refused(rs, {"target_language": "es", "token": shared})
            assert_refused(out, CloseCode.TOO_MANY_SESSIONS)
            # another token is not affected
            async with connect(rs.ws) as c:
                await c.send(
                    json.dumps({"type": "start", "target_language": "es", "token": token()})
                )
                await _ready(c)
            await a.send(json.dumps({"type": "ping", "t": 1.0}))
            while (msg := await asyncio.wait_for(a.recv(), 5 * UNIT_S)) and isinstance(msg, bytes):
                pass
            assert json.loads(msg) == {"type": "pong", "t": 1.0}
        # once one closes, the token may open a session again
        async with connect(rs.ws) as d:
            await d.send(start)
            for _ in range(100):
                if rs.relay.active_sessions == 0:
                    break
                await asyncio.sleep(0.05)
            await _ready(d)


async def test_a_slow_client_is_closed_and_the_others_go_on() -> None:
    async with running_relay(send_buffer_bytes=8192, **LIMITS) as rs:
        good = asyncio.create_task(translate_once(rs, token=token(subject="good"), speed=1.5))
        # A browser that never reads: a tiny receive buffer, and websockets stops reading the
        # socket after max_queue frames. The relay's backlog for it then grows past the limit.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", rs.port))
        async with connect(rs.ws, sock=sock, max_queue=1) as slow:
            await slow.send(
                json.dumps({"type": "start", "target_language": "es", "token": token()})
            )
            with contextlib.suppress(ConnectionClosed):  # it may be closed while sending
                await stream_pcm(slow, sample_pcm() * 2, speed=1.5)
            for _ in range(int(200 * UNIT_S)):
                if rs.relay.closes[CloseCode.SLOW_CLIENT]:
                    break
                await asyncio.sleep(0.05)
            assert rs.relay.closes[CloseCode.SLOW_CLIENT] == 1
        out = await good
        assert out.close_code == 1000
        assert "Hola" in out.texts("translation")


async def test_draining_refuses_new_sessions_and_health_says_so() -> None:
    import urllib.request

    async with running_relay(**LIMITS) as rs:

        def health() -> tuple[int, dict[str, Any]]:
            try:
                with urllib.request.urlopen(rs.http + "/healthz", timeout=5) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        assert (await asyncio.to_thread(health))[0] == 200
        rs.relay.drain()
        status, body = await asyncio.to_thread(health)
        assert (status, body["status"]) == (503, "draining")
        out = await refused(rs, {"target_language": "es", "token": token()})
        assert_refused(out, CloseCode.UNAVAILABLE)


def test_anonymous_access_needs_dev_mode_and_loopback() -> None:
    from s2st import S2STClient
    from s2st.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="secret"):
        RelayConfig()
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    dev = Relay(client, RelayConfig(dev_mode=True))  # its checks are its AdmissionPolicy
    assert dev.admission.authenticate(None, "127.0.0.1") is None
    assert dev.admission.authenticate(None, "::1") is None
    for peer in ("10.0.0.7", "192.168.1.2", None, "example.com"):
        with pytest.raises(ProtocolViolation) as info:
            dev.admission.authenticate(None, peer)
        assert info.value.code is CloseCode.UNAUTHORIZED
    prod = Relay(client, RelayConfig(secret=SECRET))
    with pytest.raises(ProtocolViolation):
        prod.admission.authenticate(None, "127.0.0.1")
    # Origins: own origin and the allow-list; dev mode adds loopback origins only
    prod.admission.check_origin("https://relay.example", "relay.example")
    prod.admission.check_origin(None, "relay.example")  # not a browser: the token still applies
    for origin in ("http://localhost:3000", "https://relay.example.evil", "null"):
        with pytest.raises(ProtocolViolation):
            prod.admission.check_origin(origin, "relay.example")
    dev.admission.check_origin("http://localhost:3000", "127.0.0.1:8000")


async def test_idle_browsers_and_long_sessions_are_closed() -> None:
    async with running_relay(idle_timeout_s=1.0 * UNIT_S) as rs:
        idle = await refused(rs, {"target_language": "es", "token": token()})
        assert_refused(idle, CloseCode.TIMEOUT)
        assert idle.messages[0]["type"] == "ready"  # it was admitted, then went idle

        async def keep_talking(ws: ClientConnection) -> None:
            await stream_pcm(ws, bytes(32000 * 4), speed=1.0)  # 4 s of silence, never idle

        short = token(max_session_s=1.5 * UNIT_S)
        out = await refused(rs, {"target_language": "es", "token": short}, then=keep_talking)
        assert_refused(out, CloseCode.SESSION_TOO_LONG)


async def test_upstream_failures_reach_the_browser_without_their_details() -> None:
    from s2st.emulator import Fault, FaultPlan

    reason = "Invalid JSON payload received. projects/private-project-123 key=AIzaSyA-secret"
    faults = FaultPlan({0: Fault.close(1007, reason, at_message=3)})
    async with running_relay(emulator={"faults": faults}) as rs:

        async def talk(ws: ClientConnection) -> None:
            await stream_pcm(ws, sample_pcm(), speed=3.0)

        out = await refused(rs, {"target_language": "es", "token": token()}, then=talk)
    assert out.close_code == CloseCode.UPSTREAM_ERROR
    error = out.messages[-1]
    assert error["type"] == "error" and error["code"] == CloseCode.UPSTREAM_ERROR
    assert "private-project" not in json.dumps(out.messages) and "AIza" not in json.dumps(
        out.messages
    )
