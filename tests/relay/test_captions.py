"""Captions for viewers: a speaker publishes to a room, viewers read it as server-sent events."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from s2st.relay import RoomHub, issue_token

from .helpers import SECRET, UNIT_S, RelayServer, running_relay, translate_once


async def sse(
    rs: RelayServer, query: str, *, last_id: int | None = None, until: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """GET /captions/events?QUERY with a raw socket; read events until one contains ``until``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", rs.port)
    extra = f"Last-Event-ID: {last_id}\r\n" if last_id is not None else ""
    writer.write(
        f"GET /captions/events?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    status = int((await reader.readline()).split()[1])
    events: list[dict[str, Any]] = []
    try:
        if status != 200 or until is None:
            return status, events
        text = ""
        while until not in "".join(e["data"].get("text", "") for e in events):
            line = (await asyncio.wait_for(reader.readline(), 30 * UNIT_S)).decode()
            if line.startswith("id: "):
                current: dict[str, Any] = {"id": int(line[4:])}
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
                events.append(current)
            text += line
        return status, events
    finally:
        writer.close()


async def test_viewers_read_a_speakers_captions() -> None:
    async with running_relay() as rs:
        view = issue_token(SECRET, subject="viewer", scope="view", rooms=["main"])
        speak = issue_token(SECRET, subject="speaker", rooms=["main"])
        viewers = [
            asyncio.create_task(sse(rs, f"room=main&token={view}", until="tiempo"))
            for _ in range(3)
        ]
        await asyncio.sleep(0.3)
        out = await translate_once(rs, token=speak, room="main")
        assert out.close_code == 1000
        for task in viewers:
            status, events = await asyncio.wait_for(task, 30 * UNIT_S)
            assert status == 200
            translation = "".join(
                e["data"]["text"] for e in events if e["data"]["type"] == "translation"
            )
            assert translation.startswith("Hola, y bienvenidos")
            assert {e["data"]["speaker"] for e in events} == {out.messages[0]["session"]}
            ids = [e["id"] for e in events]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)
        # a viewer reconnecting with Last-Event-ID gets what it missed from the room history
        status, late = await sse(rs, f"room=main&token={view}", last_id=ids[5], until="tiempo")
        assert status == 200 and late[0]["id"] == ids[5] + 1


async def test_caption_rooms_need_a_viewer_token_unless_public(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with running_relay() as rs:
        speak = issue_token(SECRET, subject="speaker", rooms=["main"])
        other_room = issue_token(SECRET, subject="v", scope="view", rooms=["other"])
        assert (await sse(rs, "room=main"))[0] == 401
        assert (await sse(rs, f"room=main&token={speak}"))[0] == 403  # a speak token cannot view
        assert (await sse(rs, f"room=main&token={other_room}"))[0] == 403
        assert (await sse(rs, "room=bad%20name"))[0] == 400
    async with running_relay(public_captions=True) as rs:
        assert (await sse(rs, "room=main"))[0] == 200
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/captions/events?room=main&token=<redacted>" in line for line in access), access
    assert not any(speak in line or other_room in line for line in access)


async def test_room_hub_drops_a_viewer_that_falls_behind() -> None:
    hub = RoomHub(history=10, max_queue=5)
    slow = hub.follow("r").__aiter__()
    first = asyncio.ensure_future(slow.__anext__())
    await asyncio.sleep(0)
    for i in range(20):
        hub.publish("r", {"type": "translation", "text": str(i)})
    assert (await first).id == 1
    got = [c.id async for c in slow]  # ends: it was dropped once 5 behind
    assert got == [2, 3, 4, 5]
    late = hub.follow("r", last_id=15).__aiter__()
    assert (await late.__anext__()).id == 16  # history replays what a reconnect missed
    hub.close()
