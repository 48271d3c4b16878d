"""What a session counts as heard when the server ends it: only a connection whose closing
handshake completed proves the server read what was written on it (each held message records
the connection it was last written on)."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.asyncio.server import ServerConnection, serve

import s2st

CHUNK = bytes(3200)  # 100 ms of 16 kHz silence
CHUNKS = 8


async def _server(ws: ServerConnection, *, clean: bool) -> None:
    await ws.recv()  # setup
    await ws.send(json.dumps({"setupComplete": {}}))
    for _ in range(CHUNKS):
        await ws.recv()
    if clean:
        await ws.close(1000)  # a closing handshake: everything sent before it was read
    else:
        assert ws.transport is not None
        ws.transport.abort()  # no close frame: the client cannot know what was read


@pytest.mark.parametrize("clean", [True, False])
async def test_audio_counts_as_heard_only_after_a_clean_close(
    clean: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await _server(ws, clean=clean)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = s2st.S2STClient(backend="gemini", api_key="k", base_url=f"ws://127.0.0.1:{port}")
        caplog.set_level(logging.WARNING, logger="s2st.session")
        events: list[s2st.Event] = []
        ended: s2st.S2STError | None = None
        async with client.connect("es", reconnect=False) as session:
            for _ in range(CHUNKS):
                await session.send_audio(CHUNK)
            try:
                async for event in session:
                    events.append(event)
            except s2st.S2STError as exc:
                ended = exc
        unheard = session.stats.unconfirmed_audio_ms_at_close
        warned = [r for r in caplog.records if "may not have heard" in r.getMessage()]
        assert session.running_tasks() == []
    if clean:  # a normal end, and nothing to report
        assert ended is None and unheard == 0 and not warned
    else:  # the error hands every chunk back: the server may have read none of them
        assert isinstance(ended, s2st.AbnormalClosureError)
        assert ended.unconfirmed_audio is not None
        assert ended.unconfirmed_audio.duration_ms == pytest.approx(CHUNKS * 100)
        assert unheard == pytest.approx(CHUNKS * 100)
