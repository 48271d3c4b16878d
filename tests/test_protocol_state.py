"""Tests of the sans-I/O connection state, message numbering and replay buffer (``ClientProtocol``).

Numbering convention under test (protocol module docstring, PROTOCOL.md §5.5): on each connection
``setup`` is message 0 and each later client message the next integer;
``lastConsumedClientMessageIndex == n`` confirms messages ``0..n`` of the current connection.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2st.errors import AudioFormatError, ConfigurationError, ProtocolError, SessionClosedError
from s2st.events import SessionResumptionUpdate, SetupComplete
from s2st.protocol import (
    AudioEncoder,
    ClientProtocol,
    ConnectionState,
    ReplayBuffer,
    SentMessage,
    encode_activity_end,
    encode_activity_start,
    encode_audio_stream_end,
    encode_setup,
    frames_of,
)

IDLE, SETUP_SENT, ACTIVE, CLOSED = (
    ConnectionState.IDLE,
    ConnectionState.SETUP_SENT,
    ConnectionState.ACTIVE,
    ConnectionState.CLOSED,
)
SETUP_SNAKE: dict[str, Any] = {
    "setup": {"model": "projects/p/locations/us-central1/publishers/google/models/m"}
}
SETUP_CAMEL: dict[str, Any] = {
    "setup": {"model": "m", "sessionResumption": {"transparent": True}, "generationConfig": {}}
}
SETUP_COMPLETE = '{"setupComplete": {}}'
PCM_100MS = bytes(3200)  # 16 kHz mono int16: 1600 samples = 100 ms


def update(index: int | None = None, handle: str | None = "h", resumable: bool = True) -> str:
    body: dict[str, Any] = {"resumable": resumable}
    if handle is not None:
        body["newHandle"] = handle
    if index is not None:
        body["lastConsumedClientMessageIndex"] = str(index)
    return json.dumps({"sessionResumptionUpdate": body})


def pcm(n: int) -> bytes:
    """A distinct 2-byte chunk per n, to recognise frames."""
    return np.array([n], dtype="<i2").tobytes()


def active(**kwargs: Any) -> ClientProtocol:
    proto = ClientProtocol(SETUP_SNAKE, **kwargs)
    proto.start()
    proto.receive(SETUP_COMPLETE)
    assert proto.replay() == []
    return proto


def in_state(state: ConnectionState) -> ClientProtocol:
    proto = ClientProtocol(SETUP_SNAKE)
    if state is SETUP_SENT:
        proto.start()
    elif state is ACTIVE:
        proto = active()
    elif state is CLOSED:
        proto.close()
    assert proto.state is state
    return proto


ACTIONS: dict[str, Callable[[ClientProtocol], object]] = {
    "start": lambda p: p.start(),
    "setup_complete": lambda p: p.receive(SETUP_COMPLETE),
    "lost": lambda p: p.connection_lost(),
    "close": lambda p: p.close(),
    "replay": lambda p: p.replay(),
    "audio": lambda p: p.audio(PCM_100MS),
    "audio_stream_end": lambda p: p.audio_stream_end(),
}

# (state, action) -> resulting state, or the error it raises (state then unchanged).
TRANSITIONS: list[tuple[ConnectionState, str, ConnectionState | type[Exception]]] = [
    (IDLE, "start", SETUP_SENT),
    (IDLE, "setup_complete", ProtocolError),
    (IDLE, "lost", IDLE),
    (IDLE, "close", CLOSED),
    (IDLE, "replay", ProtocolError),
    (IDLE, "audio", IDLE),
    (IDLE, "audio_stream_end", IDLE),
    (SETUP_SENT, "start", ProtocolError),
    (SETUP_SENT, "setup_complete", ACTIVE),
    (SETUP_SENT, "lost", IDLE),
    (SETUP_SENT, "close", CLOSED),
    (SETUP_SENT, "replay", ProtocolError),
    (SETUP_SENT, "audio", SETUP_SENT),
    (ACTIVE, "start", ProtocolError),
    (ACTIVE, "setup_complete", ProtocolError),
    (ACTIVE, "lost", IDLE),
    (ACTIVE, "close", CLOSED),
    (ACTIVE, "replay", ACTIVE),
    (ACTIVE, "audio", ACTIVE),
    (CLOSED, "start", SessionClosedError),
    (CLOSED, "setup_complete", SessionClosedError),
    (CLOSED, "lost", CLOSED),
    (CLOSED, "close", CLOSED),
    (CLOSED, "replay", SessionClosedError),
    (CLOSED, "audio", SessionClosedError),
    (CLOSED, "audio_stream_end", SessionClosedError),
]


@pytest.mark.parametrize(
    ("state", "action", "outcome"),
    TRANSITIONS,
    ids=[f"{s.value}-{a}" for s, a, _ in TRANSITIONS],
)
def test_transition_table(
    state: ConnectionState, action: str, outcome: ConnectionState | type[Exception]
) -> None:
    proto = in_state(state)
    if isinstance(outcome, ConnectionState):
        ACTIONS[action](proto)
        assert proto.state is outcome
    else:
        with pytest.raises(outcome) as info:
            ACTIONS[action](proto)
        assert proto.state is state  # a refused action changes nothing
        if outcome is ProtocolError:
            assert state.value in str(info.value)  # says which state refused it


def test_closed_session_messages_name_the_action() -> None:
    proto = in_state(CLOSED)
    with pytest.raises(SessionClosedError, match="cannot send audio"):
        proto.audio(PCM_100MS)
    with pytest.raises(SessionClosedError, match="activity_start"):
        proto.activity_start()
    assert isinstance(SessionClosedError("x"), RuntimeError)


def test_setup_is_index_zero_and_audio_numbered_from_one() -> None:
    proto = ClientProtocol(SETUP_SNAKE)
    assert proto.connections == 0
    frame = proto.start()
    assert frame == encode_setup(SETUP_SNAKE)
    assert json.loads(frame) == SETUP_SNAKE
    assert proto.connections == 1 and proto.next_index == 1
    assert proto.receive('{"setupComplete": {"sessionId": "sid"}}') == [SetupComplete("sid")]
    assert proto.session_id == "sid"
    assert proto.replay() == []
    frames = [proto.audio(pcm(i)) for i in range(3)]
    assert frames == [AudioEncoder().encode(pcm(i)) for i in range(3)]
    assert [m.index for m in proto.replay_buffer] == [1, 2, 3]
    assert [m.kind for m in proto.replay_buffer] == ["audio"] * 3
    assert proto.next_index == 4


def test_session_id_kept_when_a_later_setup_complete_has_none() -> None:
    proto = ClientProtocol(SETUP_SNAKE)
    proto.start()
    proto.receive('{"setupComplete": {"sessionId": "first"}}')
    proto.connection_lost()
    proto.start()
    proto.receive(SETUP_COMPLETE)
    assert proto.session_id == "first"


@pytest.mark.parametrize(
    ("setup", "key", "expected"),
    [
        (SETUP_SNAKE, "session_resumption", {"handle": "H"}),
        (SETUP_CAMEL, "sessionResumption", {"transparent": True, "handle": "H"}),
        (
            {"setup": {"model": "m", "session_resumption": {"transparent": True}}},
            "session_resumption",
            {"transparent": True, "handle": "H"},
        ),
        (
            {"setup": {"model": "m", "sessionResumption": {"handle": "old"}}},
            "sessionResumption",
            {"handle": "H"},
        ),
        (
            {"setup": {"model": "m", "session_resumption": None}},
            "session_resumption",
            {"handle": "H"},
        ),
    ],
)
def test_start_with_resume_handle_patches_a_copy(
    setup: dict[str, Any], key: str, expected: dict[str, Any]
) -> None:
    original = copy.deepcopy(setup)
    proto = ClientProtocol(setup)
    proto.start()
    proto.connection_lost()
    message = json.loads(proto.start(resume_handle="H"))
    assert message["setup"][key] == expected
    other = {"sessionResumption", "session_resumption"} - {key}
    assert not other & set(message["setup"])  # never both spellings (§3)
    assert {k: v for k, v in message["setup"].items() if k != key} == {
        k: v for k, v in setup["setup"].items() if k != key
    }
    assert setup == original  # the caller's dict is untouched
    proto.receive(SETUP_COMPLETE)
    proto.connection_lost()
    assert json.loads(proto.start()) == original  # a fresh start sends the original setup


def test_confirm_by_last_consumed_index() -> None:
    proto = active()
    for i in range(5):
        proto.audio(pcm(i))
    assert proto.receive(update(index=0)) == [SessionResumptionUpdate("h", True, 0)]
    assert [m.index for m in proto.replay_buffer] == [1, 2, 3, 4, 5]  # 0 is the setup
    proto.receive(update(index=3))
    assert proto.last_consumed_index == 3
    assert [m.index for m in proto.replay_buffer] == [4, 5]
    proto.receive(update(index=2))  # stale: nothing to do
    assert [m.index for m in proto.replay_buffer] == [4, 5]
    # A non-resumable update confirms nothing: a resumed connection would start from the
    # last *handle*, so messages after its index must stay replayable.
    proto.receive(update(index=5, resumable=False, handle=None))
    assert [m.index for m in proto.replay_buffer] == [4, 5]
    assert proto.last_consumed_index == 2  # as the latest resumable update said
    proto.receive(update(index=5))
    assert len(proto.replay_buffer) == 0 and proto.replay_buffer.nbytes == 0
    assert proto.checkpoints == 4


def test_int64_index_beyond_32_bits() -> None:
    proto = active()
    proto.audio(pcm(1))
    proto.receive(update(index=123456789012345))
    assert proto.last_consumed_index == 123456789012345
    assert len(proto.replay_buffer) == 0


def test_reconnect_replays_unconfirmed_with_fresh_indices() -> None:
    proto = active()
    sent = [proto.audio(pcm(i)) for i in range(5)]
    proto.receive(update(index=2, handle="H1"))  # 1, 2 consumed
    proto.connection_lost()
    assert proto.state is IDLE
    assert proto.audio(pcm(5)) is None  # held while no connection
    assert proto.activity_start() is None
    setup = json.loads(proto.start(resume_handle=proto.resumption_handle))
    assert setup["setup"]["session_resumption"] == {"handle": "H1"}
    assert proto.last_consumed_index is None and proto.connections == 2
    assert proto.audio(pcm(6)) is None  # SETUP_SENT: held too
    proto.receive(SETUP_COMPLETE)
    assert proto.audio(pcm(7)) is None  # ACTIVE but replay() not called yet: queued behind
    replayed = proto.replay()
    assert frames_of(replayed) == [
        *sent[2:],
        AudioEncoder().encode(pcm(5)),
        encode_activity_start(),
        AudioEncoder().encode(pcm(6)),
        AudioEncoder().encode(pcm(7)),
    ]
    assert [m.index for m in replayed] == [1, 2, 3, 4, 5, 6, 7]
    assert [m.kind for m in replayed][4] == "activity_start"
    after = proto.audio(pcm(8))
    assert after == AudioEncoder().encode(pcm(8))
    assert [m.index for m in proto.replay_buffer][-1] == 8
    proto.receive(update(index=6))
    assert [m.index for m in proto.replay_buffer] == [7, 8]


def test_messages_held_before_the_first_connection_go_out_in_order() -> None:
    proto = ClientProtocol(SETUP_SNAKE)
    assert proto.audio(pcm(1)) is None
    proto.start()
    assert proto.audio(pcm(2)) is None
    proto.receive(SETUP_COMPLETE)
    assert proto.audio(pcm(3)) is None
    assert frames_of(proto.replay()) == [AudioEncoder().encode(pcm(i)) for i in (1, 2, 3)]
    assert [m.index for m in proto.replay_buffer] == [1, 2, 3]
    assert proto.audio(pcm(4)) is not None


def test_message_held_during_first_setup_is_not_overtaken() -> None:
    proto = ClientProtocol(SETUP_SNAKE)
    proto.start()  # nothing held yet
    assert proto.audio(pcm(1)) is None  # held while SETUP_SENT
    proto.receive(SETUP_COMPLETE)
    assert proto.audio(pcm(2)) is None  # must wait behind pcm(1)
    replayed = proto.replay()
    assert frames_of(replayed) == [AudioEncoder().encode(pcm(1)), AudioEncoder().encode(pcm(2))]
    assert [m.index for m in replayed] == [1, 2]


def test_update_in_the_setup_complete_frame_does_not_confirm_messages_awaiting_replay() -> None:
    for track in (True, False):
        proto = active(track_consumption=track)
        proto.audio(pcm(1))
        proto.audio(pcm(2))
        proto.connection_lost()
        proto.audio(pcm(3))
        proto.start(resume_handle="H")
        index = 1 if track else None
        frame = json.dumps(
            {
                "setupComplete": {},
                "sessionResumptionUpdate": {
                    "newHandle": "H2",
                    "resumable": True,
                    **({"lastConsumedClientMessageIndex": str(index)} if index is not None else {}),
                },
            }
        )
        proto.receive(frame)
        assert len(proto.replay_buffer) == 3, track  # old indices 1..2 mean nothing here
        assert frames_of(proto.replay()) == [AudioEncoder().encode(pcm(i)) for i in (1, 2, 3)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_tracking_a_resumable_update_confirms_only_what_is_older_than_the_window() -> None:
    """No index (the Gemini API): messages still in flight when the server made the handle
    must stay replayable (issue 11, case 1: confirm_all() lost 3.3 s per reconnection). A
    message is confirmed when it is older than the window and was sent before a ping that the
    server answered (the pong proves it was read)."""
    clock = FakeClock()
    proto = active(track_consumption=False, clock=clock, replay_window_s=2.0)
    assert proto.replay_window_s == 2.0
    assert not proto.ping_wanted
    proto.audio(pcm(1))  # sent at 100.0
    proto.audio_stream_end()
    clock.now = 101.0
    proto.audio(pcm(2))  # sent at 101.0
    clock.now = 102.5
    proto.receive(update(resumable=False, handle=None))
    assert len(proto.replay_buffer) == 3  # not resumable: nothing confirmed
    proto.receive(update(resumable=True, handle=None))
    assert len(proto.replay_buffer) == 3  # resumable without a handle: nothing confirmed
    proto.receive(update(resumable=True, handle="G"))
    assert len(proto.replay_buffer) == 3  # no ping answered yet: nothing provably read
    assert proto.resumption_handle == "G"
    assert proto.ping_wanted
    token = proto.ping_sent()  # at 102.5
    assert not proto.ping_wanted
    clock.now = 102.6
    proto.pong_received(token)
    proto.receive(update(resumable=True, handle="G1"))
    # Sent at 100.0 <= 102.6 - 2.0: confirmed; the one sent at 101.0 may have been in flight.
    assert [m.frame for m in proto.replay_buffer] == [AudioEncoder().encode(pcm(2))]
    clock.now = 103.5
    proto.audio(pcm(3))  # sent after the ping: not provably read, however old it gets
    clock.now = 110.0
    proto.receive(update(resumable=True, handle="G2"))
    assert [m.frame for m in proto.replay_buffer] == [AudioEncoder().encode(pcm(3))]
    proto.pong_received((proto.connections - 1, 109.0))  # an older connection's pong: ignored
    proto.receive(update(resumable=True, handle="G3"))
    assert len(proto.replay_buffer) == 1
    proto.pong_received(proto.ping_sent())
    proto.receive(update(resumable=True, handle="G4"))
    assert len(proto.replay_buffer) == 0
    proto.audio(pcm(4))
    proto.receive(update(index=5, handle="G5"))  # an index, when sent, still rules
    assert len(proto.replay_buffer) == 0


def test_unindexed_window_follows_the_observed_delays_within_floor_and_cap() -> None:
    clock = FakeClock()
    proto = active(
        track_consumption=False, replay_window_s=2.0, max_replay_window_s=6.0, clock=clock
    )
    assert proto.replay_window_s == 2.0
    proto.observe_lag(0.4)
    assert proto.replay_window_s == 2.0  # floor
    proto.observe_lag(3.0)
    assert proto.replay_window_s == 4.5  # 1.5 x the largest recent delay
    proto.observe_lag(9.0)
    assert proto.replay_window_s == 6.0  # cap
    proto.observe_lag(float("nan"))
    proto.observe_lag(-1.0)
    assert proto.replay_window_s == 6.0
    clock.now += 29.0
    proto.observe_lag(0.5)
    assert proto.replay_window_s == 6.0  # still remembered
    clock.now += 2.0
    assert proto.replay_window_s == 2.0  # forgotten after 30 s


def test_replayed_messages_are_restamped_and_not_confirmed_by_the_first_handle() -> None:
    """After a reconnection on the Gemini API the first handle must not mark the whole replay
    confirmed (issue 11, case 3)."""
    clock = FakeClock()
    proto = active(track_consumption=False, clock=clock)
    for i in range(5):
        clock.now += 0.1
        proto.audio(pcm(i))
    proto.connection_lost()
    clock.now += 10.0  # a long outage: the old send times are far in the past
    proto.start(resume_handle="H")
    proto.receive(SETUP_COMPLETE)
    assert len(proto.replay()) == 5
    token = proto.ping_sent()
    clock.now += 0.5
    proto.pong_received(token)
    proto.receive(update(handle="H2"))
    assert len(proto.replay_buffer) == 5  # replayed 0.5 s ago: within the window
    clock.now += 2.0
    proto.receive(update(handle="H3"))
    assert len(proto.replay_buffer) == 0


@pytest.mark.parametrize("bad", [(0.0, 15.0), (-1.0, 15.0), (3.0, 2.0)])
def test_replay_window_bounds_are_validated(bad: tuple[float, float]) -> None:
    with pytest.raises(ConfigurationError, match="replay_window_s"):
        ClientProtocol(SETUP_SNAKE, replay_window_s=bad[0], max_replay_window_s=bad[1])


def test_unconfirmed_audio_is_the_users_pcm_in_order() -> None:
    proto = active(track_consumption=True)
    chunks = [np.arange(i * 160, (i + 1) * 160, dtype="<i2").tobytes() for i in range(4)]
    for chunk in chunks[:2]:
        proto.audio(chunk)
    proto.audio(bytes(320), user=False)  # end_audio()'s trailing silence: not the user's
    proto.audio_stream_end()
    proto.connection_lost()
    for chunk in chunks[2:]:
        assert proto.audio(chunk) is None  # held between connections: still the user's
    pcm_bytes, ms = proto.unconfirmed_audio()
    assert pcm_bytes == b"".join(chunks)
    assert ms == pytest.approx(40.0)
    proto.start()
    proto.receive(SETUP_COMPLETE)
    proto.replay()
    proto.receive(update(index=3, handle="H"))  # setup 0, then the first two chunks
    assert proto.unconfirmed_audio() == (b"".join(chunks[2:]), pytest.approx(20.0))


def test_with_tracking_an_update_without_index_confirms_nothing() -> None:
    proto = active(track_consumption=True)
    proto.audio(pcm(1))
    proto.receive(update(resumable=True, handle="G"))
    assert len(proto.replay_buffer) == 1
    assert proto.last_consumed_index is None


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([update(handle="A")], "A"),
        ([update(handle="A"), update(handle="B", resumable=False)], "A"),
        (
            [
                update(handle="A"),
                '{"sessionResumptionUpdate": {"newHandle": "", "resumable": true}}',
            ],
            "A",
        ),
        ([update(handle="A"), update(handle=None)], "A"),
        ([update(handle="A"), update(handle="B")], "B"),
        ([update(handle="B", resumable=False)], None),
        (['{"sessionResumptionUpdate": {}}'], None),
    ],
)
def test_resumption_handle_only_from_resumable_updates(
    frames: list[str], expected: str | None
) -> None:
    proto = active()
    for frame in frames:
        proto.receive(frame)
    assert proto.resumption_handle == expected


@pytest.mark.parametrize(
    ("rate", "chunk", "ms"),
    [
        (16_000, bytes(3200), 100.0),
        (16_000, bytes(640), 20.0),
        (24_000, bytes(4800), 100.0),
        (8_000, bytearray(160), 10.0),
        (16_000, memoryview(np.zeros(1600, dtype=np.int16)), 100.0),  # itemsize 2: 3200 bytes
        (16_000, b"", 0.0),
    ],
)
def test_audio_ms_accounting(rate: int, chunk: bytes | bytearray | memoryview, ms: float) -> None:
    proto = active(sample_rate=rate)
    frame = proto.audio(chunk)
    assert frame is not None
    assert json.loads(frame)["realtime_input"]["audio"]["mime_type"] == f"audio/pcm;rate={rate}"
    [message] = proto.replay_buffer
    assert message.audio_ms == pytest.approx(ms)
    proto.audio_stream_end()
    assert proto.replay_buffer.audio_ms == pytest.approx(ms)  # control messages carry 0 ms


@pytest.mark.parametrize("chunk", [b"\x00", bytes(3201), memoryview(bytes(3))])
def test_odd_pcm_is_an_audio_format_error_and_not_recorded(chunk: bytes | memoryview) -> None:
    proto = active()
    with pytest.raises(AudioFormatError, match="odd number of bytes"):
        proto.audio(chunk)
    assert len(proto.replay_buffer) == 0 and proto.next_index == 1
    assert isinstance(AudioFormatError("x"), ValueError)


@pytest.mark.parametrize("casing", ["snake", "camel"])
def test_control_messages_follow_the_casing(casing: Any) -> None:
    proto = active(casing=casing)
    frames = [proto.audio_stream_end(), proto.activity_start(), proto.activity_end()]
    assert frames == [
        encode_audio_stream_end(casing=casing),
        encode_activity_start(casing=casing),
        encode_activity_end(casing=casing),
    ]
    assert [m.kind for m in proto.replay_buffer] == [
        "audio_stream_end",
        "activity_start",
        "activity_end",
    ]
    assert [m.audio_ms for m in proto.replay_buffer] == [0.0, 0.0, 0.0]
    top = "realtime_input" if casing == "snake" else "realtimeInput"
    assert list(json.loads(proto.audio(bytes(2)) or b"{}")) == [top]


def test_bounded_buffer_drops_oldest_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    frame_len = len(AudioEncoder().encode(PCM_100MS))
    proto = active(max_replay_bytes=frame_len * 3)
    with caplog.at_level(logging.WARNING, logger="s2st.protocol"):
        for _ in range(5):
            proto.audio(PCM_100MS)
    buffer = proto.replay_buffer
    assert [m.index for m in buffer] == [3, 4, 5]
    assert buffer.dropped_messages == 2
    assert buffer.dropped_audio_ms == pytest.approx(200.0)
    assert buffer.nbytes == frame_len * 3
    assert buffer.audio_ms == pytest.approx(300.0)
    warnings = [r for r in caplog.records if r.name == "s2st.protocol"]
    # One warning per overflow, not one per send (issue 12: 11,980 lines in a 10-minute stream).
    assert len(warnings) == 1 and "100 ms so far" in warnings[0].getMessage()
    with caplog.at_level(logging.WARNING, logger="s2st.protocol"):
        for _ in range(20):
            proto.audio(PCM_100MS)
        assert len([r for r in caplog.records if r.name == "s2st.protocol"]) == 1
        proto.receive(update(index=23, handle="H"))  # the server confirms again ...
        for _ in range(5):
            proto.audio(PCM_100MS)  # ... and a new overflow is reported once more
    assert len([r for r in caplog.records if r.name == "s2st.protocol"]) == 2


def test_single_message_larger_than_bound_is_kept() -> None:
    buffer = ReplayBuffer(max_bytes=10)
    buffer.append(SentMessage(1, b"x" * 50, "audio", 5.0))
    assert len(buffer) == 1 and buffer.dropped_messages == 0
    buffer.append(SentMessage(2, b"y" * 4, "audio_stream_end"))
    assert [m.index for m in buffer] == [2]
    assert buffer.dropped_messages == 1 and buffer.dropped_audio_ms == 5.0


def test_replay_buffer_unbounded_and_operations() -> None:
    buffer = ReplayBuffer(max_bytes=None)
    for i in range(1, 101):
        buffer.append(SentMessage(i, bytes(1000), "audio", 10.0))
    assert len(buffer) == 100 and buffer.nbytes == 100_000 and buffer.dropped_messages == 0
    assert buffer.confirm(0) == 0
    assert buffer.confirm(40) == 40
    assert buffer.nbytes == 60_000
    renumbered = buffer.renumber(1)
    assert [m.index for m in renumbered] == list(range(1, 61))
    buffer.mark_unsent()
    assert buffer.confirm(10**18) == 0  # unsent messages are never confirmed by an index
    assert buffer.confirm_all() == 0
    buffer.renumber(5)
    assert buffer.confirm_all() == 60
    assert len(buffer) == 0 and buffer.nbytes == 0 and buffer.audio_ms == 0.0


@pytest.mark.parametrize("max_bytes", [0, -1])
def test_replay_buffer_rejects_non_positive_bound(max_bytes: int) -> None:
    with pytest.raises(ConfigurationError, match="max_replay_bytes"):
        ReplayBuffer(max_bytes=max_bytes)
    with pytest.raises(ConfigurationError):
        ClientProtocol(SETUP_SNAKE, max_replay_bytes=max_bytes)


@pytest.mark.parametrize(
    ("setup", "kwargs", "match"),
    [
        ({"model": "m"}, {}, "setup"),
        ({"setup": "m"}, {}, "setup"),
        (SETUP_SNAKE, {"casing": "upper"}, "casing"),
        (SETUP_SNAKE, {"sample_rate": 0}, "sample_rate"),
        (SETUP_SNAKE, {"sample_rate": 16_000.5}, "sample_rate"),
    ],
)
def test_client_protocol_rejects_bad_options(
    setup: Any, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        ClientProtocol(setup, **kwargs)


def test_receive_returns_all_events_and_raises_protocol_error_on_garbage() -> None:
    proto = ClientProtocol(SETUP_SNAKE)
    proto.start()
    events = proto.receive(
        b'{"setupComplete": {}, "sessionResumptionUpdate": {"newHandle": "x", "resumable": true}}'
    )
    assert [e.type for e in events] == ["setup_complete", "session_resumption_update"]
    assert proto.state is ACTIVE and proto.resumption_handle == "x"
    events = proto.receive('{"serverContent": {"turnComplete": true}, "usageMetadata": {}}')
    assert [e.type for e in events] == ["turn_complete", "usage"]
    assert proto.state is ACTIVE
    with pytest.raises(ProtocolError):
        proto.receive(b"\x00garbage")
    assert proto.state is ACTIVE


# --------------------------------------------------------------------------------------------
# Property: against a server that loses unconsumed messages on a drop, replay loses nothing
# and duplicates nothing, whatever the order of sends, updates and drops.
# --------------------------------------------------------------------------------------------


class FakeServer:
    """Keeps the session state as a list of consumed audio payloads (the emulator's model)."""

    def __init__(self) -> None:
        self.state: list[bytes] = []  # consumed into the resumable session state
        self.pending: list[bytes] = []  # received on this connection, not yet consumed
        self.index = 0  # index of the last message received on this connection

    def connect(self) -> None:
        self.pending = []  # lost server-side (PROTOCOL.md §6.4)
        self.index = 0

    def receive(self, frame: bytes) -> None:
        self.index += 1
        self.pending.append(frame)

    def consume(self) -> str:
        self.state.extend(self.pending)
        self.pending = []
        return update(index=self.index, handle=f"h{len(self.state)}")


OPS = st.lists(st.sampled_from(["audio", "audio", "audio", "consume", "drop"]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_replay_never_loses_or_duplicates(ops: list[str]) -> None:
    proto = ClientProtocol(SETUP_SNAKE)
    server = FakeServer()
    sent: list[bytes] = []

    def connect() -> None:
        proto.start(resume_handle=proto.resumption_handle)
        server.connect()
        proto.receive(SETUP_COMPLETE)
        for message in proto.replay():
            server.receive(message.frame)

    connect()
    for n, op in enumerate(ops):
        if op == "audio":
            frame = proto.audio(pcm(n))
            sent.append(AudioEncoder().encode(pcm(n)))
            if frame is not None:
                server.receive(frame)
        elif op == "consume":
            proto.receive(server.consume())
        else:
            proto.connection_lost()
            connect()
    proto.receive(server.consume())
    assert server.state == sent
    assert len(proto.replay_buffer) == 0
