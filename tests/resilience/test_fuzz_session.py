"""Property-based fuzzing of what users and servers feed a session: only typed errors, no hang.

* audio arrays and bytes through ``session.send_audio`` on one live emulator session per test:
  accepted, or rejected with ``AudioFormatError`` / ``ConfigurationError``; the session keeps
  working after every rejection;
* ``client.connect`` options and target languages: a session object or ``ConfigurationError``
  / ``UnsupportedLanguageError``, before any connection is opened;
* server frames through a whole session (a tiny WebSocket server on 127.0.0.1): iteration ends
  within a bound, normally or with an ``S2STError``, and the session leaves no task behind.

Every example is bounded with ``asyncio.wait_for``. The hypothesis loops run synchronously
against one event loop in a helper thread, so one emulator and one session serve all the
examples of a test (and failing examples still shrink).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from websockets.asyncio.server import ServerConnection, serve

import s2st
from s2st.config import TranslationConfig
from s2st.emulator import Emulator
from s2st.languages import SUPPORTED_LANGUAGES
from tests.session_helpers import tone

T = TypeVar("T")

EXAMPLE_TIMEOUT_S = 5.0
FAST_TRANSPORT = s2st.TransportOptions(close_timeout_s=0.5, ping_interval_s=None)


def fuzz(max_examples: int) -> settings:
    """Modest example counts, no deadline (examples do network round trips), no database, and
    derandomized: CI sees the same examples every run (the checks of both outcomes below
    must not depend on luck)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class LoopThread:
    """An event loop in a daemon thread; ``run`` executes a coroutine there, bounded."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T], timeout_s: float = EXAMPLE_TIMEOUT_S) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(coro, timeout_s)

        future = asyncio.run_coroutine_threadsafe(bounded(), self.loop)
        return future.result(timeout_s + 5)

    def close(self) -> None:
        async def cancel_rest() -> None:
            current = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    try:
        yield runner
    finally:
        runner.close()


# --------------------------------------------------------------------------- audio input


@dataclass
class Live:
    """One emulator and one open session, with a reader task collecting events."""

    emu: Emulator
    session: s2st.S2STSession
    events: list[s2st.Event] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    rejected: int = 0
    accepted: int = 0


async def _open_live() -> Live:
    emu = Emulator(usage_every_s=None)
    await emu.__aenter__()
    client = s2st.S2STClient.for_emulator(emu, transport=FAST_TRANSPORT)
    session = client.connect("es", reconnect=False)
    await session.__aenter__()
    live = Live(emu, session)

    async def read() -> None:
        async for event in session:
            live.events.append(event)

    live.reader = asyncio.create_task(read())
    return live


async def _close_live(live: Live) -> None:
    await live.session.aclose()
    assert live.reader is not None
    await asyncio.wait_for(live.reader, 5)
    await live.emu.__aexit__(None, None, None)


@contextmanager
def live_session() -> Iterator[tuple[LoopThread, Live]]:
    with loop_thread() as runner:
        live = runner.run(_open_live())
        try:
            yield runner, live
        finally:
            runner.run(_close_live(live), 10)


async def _send_and_check(live: Live, audio: Any, kwargs: dict[str, Any]) -> None:
    session = live.session
    try:
        await session.send_audio(audio, **kwargs)
    except (s2st.AudioFormatError, s2st.ConfigurationError) as exc:
        assert str(exc), "typed errors must say what to do"
        live.rejected += 1
        # The session still works after a rejection.
        await session.send_audio(tone(0.02))
    else:
        live.accepted += 1
    assert not session.closed


async def _still_translates(live: Live) -> None:
    """After all the examples a real utterance still comes back as events."""
    mark = len(live.events)
    await live.session.send_audio(bytes(16000))  # 0.5 s of silence closes any open segment
    await live.session.send_audio(tone(0.6))
    await live.session.send_audio(bytes(32000))
    while not any(isinstance(e, s2st.OutputTranscription) for e in live.events[mark:]):
        assert not live.session.closed
        await asyncio.sleep(0.02)


_DTYPES = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.float16,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
    np.bool_,
    np.dtype(">i2"),
    np.dtype(">f4"),
]

_ACCEPTED_DTYPES = [np.int16, np.int32, np.uint8, np.float32, np.float64]

_SAMPLE_RATES = st.sampled_from(["default", "usual", "any"]).flatmap(
    lambda kind: {
        "default": st.none(),
        "usual": st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000]),
        "any": st.one_of(
            st.sampled_from([0, -1, -16000, 1, 999, 16000.0, 44100.0, True, "16000"]),
            st.integers(8000, 192000),
            st.integers(-(10**12), 10**12),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
    }[kind]
)


@st.composite
def _shapes(draw: st.DrawFn, *, odd: bool) -> tuple[int, ...]:
    kind = draw(st.sampled_from(["0d", "1d", "2d", "3d", "empty"] if odd else ["1d", "2d"]))
    if kind == "0d":
        return ()
    if kind == "1d":
        return (draw(st.integers(1, 600)),)
    if kind == "2d":
        return (draw(st.integers(1, 300)), draw(st.integers(1, 8)))
    if kind == "3d":
        return (draw(st.integers(1, 20)), draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return draw(st.sampled_from([(0,), (0, 2), (3, 0)]))


@st.composite
def _audio_arrays(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    mode = draw(st.sampled_from(["usual", "any dtype", "odd shape", "object"]))
    if mode == "object":
        values = draw(st.lists(st.integers(-40000, 40000), min_size=1, max_size=50))
        return np.array(values, dtype=object)
    shape = draw(_shapes(odd=mode == "odd shape"))
    dtypes = _DTYPES if mode == "any dtype" else _ACCEPTED_DTYPES
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    elements: st.SearchStrategy[Any] | None = None
    if dtype.kind == "f":
        # Full range: the largest finite values (overflow when scaled or cast) and both signs
        # of infinity in one array (inf + -inf is NaN) must give typed errors, not warnings.
        huge = float(np.finfo(dtype).max)
        elements = st.one_of(
            st.floats(-1, 1, width=cast(Literal[16, 32, 64], dtype.itemsize * 8)),
            st.sampled_from([np.nan, np.inf, -np.inf, huge, -huge, 0.0]),
        )
    array = draw(hnp.arrays(dtype, shape, elements=elements, fill=st.nothing()))
    view = draw(st.sampled_from(["as is", "strided", "transposed", "column"]))
    if view == "strided" and array.ndim >= 1 and array.shape[0] > 1:
        array = array[::2]
    elif view == "transposed" and array.ndim == 2:
        array = array.T
    elif view == "column" and array.ndim == 2 and array.shape[1] > 1:
        array = array[:, 1]
    return array


def test_fuzz_audio_arrays() -> None:
    with live_session() as (runner, live):

        @fuzz(60)
        @given(audio=_audio_arrays(), sample_rate=_SAMPLE_RATES)
        def check(audio: np.ndarray[Any, Any], sample_rate: Any) -> None:
            runner.run(_send_and_check(live, audio, {"sample_rate": sample_rate}))

        check()
        runner.run(_still_translates(live), 10)
    # Both outcomes were exercised (the strategies are wide enough to hit each).
    assert live.accepted and live.rejected


def test_fuzz_audio_bytes() -> None:
    with live_session() as (runner, live):

        @fuzz(40)
        @given(
            data=st.binary(min_size=0, max_size=4001),
            kind=st.sampled_from([bytes, bytearray, memoryview]),
            sample_rate=_SAMPLE_RATES,
            channels=st.integers(-2, 8),
            whole_frames=st.booleans(),
        )
        def check(
            data: bytes, kind: Any, sample_rate: Any, channels: int, whole_frames: bool
        ) -> None:
            if whole_frames and channels > 0:  # else odd lengths and partial frames are likely
                data = data[: len(data) - len(data) % (2 * channels)]
            kwargs = {"sample_rate": sample_rate, "channels": channels}
            runner.run(_send_and_check(live, kind(data), kwargs))

        check()
        runner.run(_still_translates(live), 10)
    assert live.accepted and live.rejected


# --------------------------------------------------------------------------- connect options

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_NESTED_FIELDS = [
    "disabled",
    "start_of_speech_sensitivity",
    "end_of_speech_sensitivity",
    "prefix_padding_ms",
    "silence_duration_ms",
    "automatic_activity_detection",
    "activity_handling",
    "enabled",
    "handle",
    "transparent",
    "trigger_tokens",
    "target_tokens",
]
_OPTION_VALUES = st.one_of(
    _JSON,
    st.dictionaries(st.sampled_from(_NESTED_FIELDS), _JSON, max_size=3),
    st.sampled_from(
        [
            s2st.LIVE_TRANSLATE_MODEL,
            "auto",
            "s2st",
            "live_translate",
            "Kore",
            16000,
            8000,
            {"automatic_activity_detection": {"disabled": True}},
            {"enabled": False},
        ]
    ),
)
_CONFIG_FIELDS = [name for name in TranslationConfig.model_fields if name != "target_language"]
_OPTION_NAMES = st.sampled_from(
    [*_CONFIG_FIELDS, "bogus", "targetLanguage", "sample_rate", "inputSampleRate", ""]
)
_LANGUAGES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(sorted(SUPPORTED_LANGUAGES)),
    st.sampled_from(["ES", "es-ES", "es_MX", "zh-Hans", "cmn-CN", "Spanish", "German", " de "]),
)
_NOWHERE = "ws://127.0.0.1:9"  # nothing listens there, and nothing may try to connect


@fuzz(60)
@given(language=_LANGUAGES, options=st.dictionaries(_OPTION_NAMES, _OPTION_VALUES, max_size=4))
def test_fuzz_connect_options(language: str, options: dict[str, Any]) -> None:
    client = s2st.S2STClient.for_emulator(_NOWHERE)
    try:
        session = client.connect(language, **options)
    except (s2st.ConfigurationError, s2st.UnsupportedLanguageError) as exc:
        assert str(exc)
        return
    assert isinstance(session, s2st.S2STSession)
    assert session.config.target_language in SUPPORTED_LANGUAGES
    assert not session.closed and session.stats.frames_received == 0
    assert session.running_tasks() == []


@fuzz(60)
@given(language=st.one_of(_LANGUAGES, st.text(min_size=1, max_size=3)))
def test_fuzz_target_language_through_connect(language: str) -> None:
    client = s2st.S2STClient.for_emulator(_NOWHERE)
    try:
        session = client.connect(language)
    except (s2st.UnsupportedLanguageError, s2st.ConfigurationError) as exc:
        assert str(exc)
        with pytest.raises((s2st.UnsupportedLanguageError, s2st.ConfigurationError)):
            s2st.languages.normalize_language(language)
        return
    code = session.config.target_language
    assert code in SUPPORTED_LANGUAGES
    assert code == s2st.languages.normalize_language(language)


# --------------------------------------------------------------------------- server frames

_B64 = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
_MIME = st.one_of(
    st.sampled_from(
        [
            "audio/pcm;rate=24000",
            "audio/pcm;rate=16000",
            "audio/pcm",
            "audio/pcm;rate=0",
            "audio/pcm;rate=-8",
            "audio/pcm;rate=abc",
            "audio/wav",
            "text/plain",
        ]
    ),
    st.text(max_size=10),
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The well-formed value most of the time, anything JSON sometimes."""
    return st.one_of(strategy, strategy, strategy, _JSON)


def _obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


_PART = _obj(
    inlineData=_maybe(_obj(mimeType=_maybe(_MIME), data=_maybe(_B64))),
    text=_maybe(st.text(max_size=10)),
)
_TRANSCRIPTION = _obj(text=_maybe(st.text(max_size=12)), finished=_maybe(st.booleans()))
_SERVER_CONTENT = _obj(
    modelTurn=_maybe(_obj(parts=_maybe(st.lists(_PART, max_size=3)))),
    inputTranscription=_maybe(_TRANSCRIPTION),
    outputTranscription=_maybe(_TRANSCRIPTION),
    turnComplete=_maybe(st.booleans()),
    generationComplete=_maybe(st.booleans()),
    interrupted=_maybe(st.booleans()),
    turnCompleteReason=_maybe(st.text(max_size=8)),
)
_DURATIONS = st.sampled_from(["1s", "0.5s", "0s", "-1s", "1e400s", "abc", "", "10"])
_MESSAGE = _obj(
    serverContent=_maybe(_SERVER_CONTENT),
    goAway=_maybe(_obj(timeLeft=_maybe(_DURATIONS))),
    sessionResumptionUpdate=_maybe(
        _obj(
            newHandle=_maybe(st.text(max_size=8)),
            resumable=_maybe(st.booleans()),
            lastConsumedClientMessageIndex=_maybe(st.integers(-5, 10**12).map(str)),
        )
    ),
    usageMetadata=_maybe(
        _obj(
            promptTokenCount=_maybe(st.integers(-1, 10**6)),
            responseTokenCount=_maybe(st.integers(-1, 10**6)),
            totalTokenCount=_maybe(st.integers(-1, 10**6)),
        )
    ),
    setupComplete=_maybe(st.just({})),
    emulatorUnknownKey=_JSON,
)
_PAYLOAD = st.one_of(
    _MESSAGE.map(json.dumps),
    _MESSAGE.map(json.dumps),
    _JSON.map(json.dumps),
    st.text(max_size=30),
)
_FRAME = st.one_of(
    st.tuples(st.just("text"), _PAYLOAD),
    st.tuples(st.just("binary"), _PAYLOAD.map(str.encode)),
    st.tuples(st.just("binary"), st.binary(max_size=40)),
)
_ENDINGS = st.sampled_from([1000, 1001, 1007, 1008, 1011, 4000, "abort", "never"])


@dataclass
class Script:
    frames: list[tuple[str, Any]]
    ending: int | str


class ScriptedServer:
    """Answers setup with ``setupComplete``, sends the current script, then ends as told."""

    def __init__(self) -> None:
        self.script = Script([], 1000)
        self.connections = 0
        self.port = 0
        self.outcomes: dict[str, int] = {}

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        script = self.script
        try:
            await ws.recv()
            await ws.send('{"setupComplete": {}}')
            for kind, payload in script.frames:
                await ws.send(payload, text=kind == "text")
            if script.ending == "abort":
                ws.transport.abort()
            elif script.ending == "never":
                await ws.wait_closed()
            else:
                assert isinstance(script.ending, int)
                await ws.close(script.ending, "fuzz")
        except Exception:  # the client may leave first: nothing to check on this side
            return

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedServer]:
        async with serve(self.handler, "127.0.0.1", 0, close_timeout=0.5) as server:
            self.port = server.sockets[0].getsockname()[1] if server.sockets else 0
            yield self


async def _run_script(server: ScriptedServer, script: Script) -> None:
    server.script = script
    client = s2st.S2STClient.for_emulator(f"ws://127.0.0.1:{server.port}", transport=FAST_TRANSPORT)
    session = client.connect("es", reconnect=False, setup_timeout_s=2)
    events: list[s2st.Event] = []

    async def read() -> None:
        async for event in session:
            events.append(event)

    error: BaseException | None = None
    async with session:
        reader = asyncio.create_task(read())
        # The server ends the connection (or sends garbage): iteration ends by itself.
        done, _ = await asyncio.wait({reader}, timeout=2.0 if script.ending != "never" else 0.3)
        if not done:
            assert script.ending == "never", f"iteration did not end after {script.ending}"
        await asyncio.wait_for(session.aclose(), 3)
        try:
            await asyncio.wait_for(reader, 2)
        except s2st.S2STError as exc:
            error = exc
    outcome = "ended" if error is None else type(error).__name__
    server.outcomes[outcome] = server.outcomes.get(outcome, 0) + 1
    assert session.closed
    assert session.running_tasks() == []
    assert isinstance(events[0], s2st.SetupComplete)
    if script.ending in (1007, 1008, 1011) and error is None:
        # A close with an error code ends the iteration with the typed error, unless the
        # frames before it already ended the session with another typed error.
        assert any(kind for kind, _ in script.frames), "the error close was swallowed"
    if isinstance(error, s2st.ConnectionClosedError) and error.code in (1007, 1008, 1011):
        assert error.code == script.ending


def test_fuzz_server_frames() -> None:
    server = ScriptedServer()
    with loop_thread() as runner:
        ctx = server.running()
        runner.run(ctx.__aenter__())
        try:

            @fuzz(50)
            @given(frames=st.lists(_FRAME, max_size=6), ending=_ENDINGS)
            def check(frames: list[tuple[str, Any]], ending: int | str) -> None:
                runner.run(_run_script(server, Script(frames, ending)), 10)

            check()
        finally:
            runner.run(ctx.__aexit__(None, None, None))
    assert server.connections >= 50
    # The frames exercised both clean ends and typed failures.
    assert server.outcomes.get("ended") and server.outcomes.get("ProtocolError"), server.outcomes


@pytest.mark.parametrize("failure", ["garbage", "close 1011", "abort"])
async def test_reconnection_against_a_broken_server_gives_up(failure: str) -> None:
    """The first connection works, then breaks; every reconnection attempt fails in the
    handshake. The session gives up with a typed error, bounded in time."""
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()
        if connections == 1:
            await ws.send('{"setupComplete": {}}')
            await ws.send('{"serverContent": {"inputTranscription": {"text": "hi"}}}')
            await ws.close(1011, "first connection breaks")
            return
        if failure == "garbage":
            await ws.send("{this is not json")
            await ws.wait_closed()
        elif failure == "close 1011":
            await ws.close(1011, "still broken")
        else:
            ws.transport.abort()

    policy = s2st.ReconnectPolicy(max_attempts=3, initial_backoff_s=0.01)
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = s2st.S2STClient.for_emulator(f"ws://127.0.0.1:{port}", transport=FAST_TRANSPORT)
        events: list[s2st.Event] = []
        session = client.connect("es", reconnect=policy, setup_timeout_s=2)

        async def read() -> None:
            async for event in session:
                events.append(event)

        async with session:
            with pytest.raises(s2st.S2STError) as info:
                await asyncio.wait_for(read(), 10)
        assert session.running_tasks() == []
    assert [type(e) for e in events[:2]] == [s2st.SetupComplete, s2st.InputTranscription]
    assert not any(isinstance(e, s2st.Reconnected) for e in events)
    if failure == "garbage":
        # Garbage instead of setupComplete is retried like any failed attempt, then given up.
        assert isinstance(info.value, s2st.ProtocolError)
        assert connections == 1 + policy.max_attempts
    else:
        assert isinstance(info.value, s2st.TransportError) and info.value.retryable
        assert connections == 1 + policy.max_attempts
