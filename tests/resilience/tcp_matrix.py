"""One TCP fault-matrix run: scripted speech through :class:`TcpFaultProxy`, checked end to end.

The program is the one of :mod:`tests.resilience.matrix` (bundled scenarios in a seeded order,
1-LSB dithered so every 100 ms frame is unique), streamed at 40x real time through the proxy
into the emulator, with a seeded :func:`random_schedule` of byte-level faults. The emulator's
``consumed_audio_digests`` say which frames reached the server state, and how often.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import s2st
import s2st.protocol
from s2st.emulator import Emulator

from .matrix import FRAME_BYTES, program
from .tcp_proxy import ProxySchedule, TcpFaultProxy, random_schedule

Backend = Literal["vertex", "gemini"]

#: Recognisable credentials: they must never show up in a log record or an exception.
SECRET_TOKEN = "s2st-tcp-matrix-bearer-0f8e7d6c5b4a"
SECRET_API_KEY = "s2st-tcp-matrix-apikey-9a8b7c6d5e4f"
SECRETS = (SECRET_TOKEN, SECRET_API_KEY)

SPEED = 40.0
FRAME_MS = 100.0
#: Time-based retry budget per incident (the schedule refuses at most two reconnects in a
#: row and fires one fault per connection, far inside it).
GIVE_UP_AFTER_S = 12.0
FINISH_TIMEOUT_S = 20.0
#: A session must be closed this long after finish() was called, whatever happened.
CLOSE_BOUND_S = FINISH_TIMEOUT_S + GIVE_UP_AFTER_S + 8.0
RUN_BOUND_S = 90.0


@dataclass
class TcpRunResult:
    seed: int
    backend: Backend
    schedule: str = ""
    faults_fired: int = 0
    connections: int = 0
    reconnects: int = 0
    resumed_connections: int = 0
    frames_sent: int = 0
    lost: int = 0
    duplicated: int = 0
    in_order: bool = True
    error: str | None = None
    foreign: list[str] = field(default_factory=list)
    unreachable: bool = False
    gave_up_after_s: float | None = None
    outage_at: float | None = None
    finish_at: float | None = None
    unconfirmed_ms: float | None = None
    unconfirmed_pcm: bytes | None = field(default=None, repr=False)
    sent_frames: list[bytes] = field(default_factory=list, repr=False)
    stats_unconfirmed_ms: float = 0.0
    close_s: float | None = None
    leaked_tasks: list[str] = field(default_factory=list)
    open_sockets: int = 0
    credential_leaks: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: what happened, for failure reports: emulator connections and client stats
    trace: str = ""


class SecretWatch(logging.Handler):
    """Sees every log record (root at DEBUG while installed) and keeps those that show a
    secret in their message, arguments or exception text."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__(logging.DEBUG)
        self.secrets = secrets
        self.records = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is shown raw
            text = f"{record.msg!r} % {record.args!r}"
        text += repr(record.args) + (record.exc_text or "") + (record.stack_info or "")
        where = f"log {record.name}:{record.levelname}"
        if any(secret in text for secret in self.secrets):
            self.leaks.append(f"{where}: {text[:160]!r}")
        if record.exc_info and record.exc_info[1] is not None:
            for path in leaks_in(record.exc_info[1], self.secrets):
                self.leaks.append(f"{where}: logged exception {path}")

    def __enter__(self) -> SecretWatch:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)


def _walk(obj: Any, path: str, seen: set[int], depth: int) -> Iterator[tuple[str, Any]]:
    """Everything reachable from ``obj`` through exception links, args and attributes."""
    if id(obj) in seen or depth > 8:
        return
    seen.add(id(obj))
    yield path, obj
    if isinstance(obj, (str, bytes, bytearray, int, float, bool)) or obj is None:
        return
    children: list[tuple[str, Any]] = []
    if isinstance(obj, BaseException):
        children += [("__cause__", obj.__cause__), ("__context__", obj.__context__)]
        children += [(f"args[{i}]", a) for i, a in enumerate(obj.args)]
    if isinstance(obj, dict):
        children += [(f"[{k!r}]", v) for k, v in obj.items()]
        children += [(f"key {k!r}", k) for k in obj]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children += [(f"[{i}]", v) for i, v in enumerate(obj)]
    elif hasattr(obj, "raw_items"):  # websockets Headers
        children += [(f"header {k}", v) for k, v in obj.raw_items()]
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        children += [(f".{k}", v) for k, v in vars(obj).items() if not callable(v)]
    for slot in getattr(type(obj), "__slots__", ()):
        if isinstance(slot, str) and hasattr(obj, slot):
            children.append((f".{slot}", getattr(obj, slot)))
    for name, child in children:
        if child is not None and not isinstance(child, (asyncio.AbstractEventLoop, type)):
            yield from _walk(
                child,
                f"{path}{name}" if name.startswith(".") else f"{path}.{name}",
                seen,
                depth + 1,
            )


def leaks_in(exc: BaseException, secrets: tuple[str, ...]) -> list[str]:
    """Where a secret shows in ``exc``: its str/repr, args, attributes, and the same of every
    exception in its ``__cause__`` / ``__context__`` chain (suppressed contexts included)."""
    found = []
    for path, obj in _walk(exc, type(exc).__name__, set(), 0):
        texts: list[str] = []
        if isinstance(obj, str):
            texts.append(obj)
        elif isinstance(obj, (bytes, bytearray)):
            texts.append(bytes(obj).decode("latin-1"))
        else:
            try:
                texts += [str(obj), repr(obj)]
            except Exception:
                continue
        for secret in secrets:
            if any(secret in t for t in texts):
                found.append(f"{path} ({type(obj).__name__})")
    return found


def judge_unconfirmed(
    sent: list[bytes],
    never_consumed: int,
    duration_ms: float | None,
    pcm: bytes | None,
    stats_ms: float,
) -> list[str]:
    """Problems with the unconfirmed audio a session that gave up returns: whole frames, the
    last ones sent, at least every frame the server never consumed, and ``stats`` agreeing
    with it to the frame.

    It may hold more than the emulator failed to consume: audio the server consumed after
    its last resumable update was never confirmed to the client (and could not be)."""
    if duration_ms is None or pcm is None:
        if never_consumed:
            return [
                f"{never_consumed * FRAME_MS:.0f} ms never consumed, and the error has no "
                ".unconfirmed_audio: the user cannot get them back"
            ]
        return []
    problems = []
    frames = duration_ms / FRAME_MS
    n = round(frames)
    if abs(frames - n) > 0.01:
        problems.append(f".unconfirmed_audio is {duration_ms} ms: not whole 100 ms frames")
    elif not never_consumed <= n <= len(sent):
        problems.append(
            f".unconfirmed_audio is {duration_ms:.0f} ms; the server never consumed "
            f"{never_consumed * FRAME_MS:.0f} ms of the {len(sent) * FRAME_MS:.0f} ms sent"
        )
    elif pcm != b"".join(sent[len(sent) - n :]):
        problems.append(f".unconfirmed_audio.pcm is not the last {n} frames sent")
    if abs(stats_ms - duration_ms) >= FRAME_MS / 2:
        problems.append(
            f"stats.unconfirmed_audio_ms_at_close={stats_ms:.0f} ms but .unconfirmed_audio "
            f"is {duration_ms:.0f} ms"
        )
    return problems


def make_client(backend: Backend, base_url: str, **kwargs: Any) -> s2st.S2STClient:
    """A client for ``base_url`` carrying the recognisable secret of its backend."""
    if backend == "vertex":
        return s2st.S2STClient(
            backend="vertex",
            project="s2st-emulator",
            location="us-central1",
            access_token=SECRET_TOKEN,
            base_url=base_url,
            **kwargs,
        )
    return s2st.S2STClient(backend="gemini", api_key=SECRET_API_KEY, base_url=base_url, **kwargs)


def overlap_bound_ms() -> float:
    """``s2st.protocol.MAX_UNINDEXED_OVERLAP_MS`` (0 until the client defines it: then any
    duplicate is a failure)."""
    return float(getattr(s2st.protocol, "MAX_UNINDEXED_OVERLAP_MS", 0.0))


def unconfirmed_of(exc: BaseException) -> tuple[float | None, bytes | None]:
    audio = getattr(exc, "unconfirmed_audio", None)
    if audio is None:
        return None, None
    return float(audio.duration_ms), bytes(audio.pcm)


async def run_once(
    seed: int,
    backend: Backend,
    *,
    utterances: int = 3,
    schedule: ProxySchedule | None = None,
) -> TcpRunResult:
    result = TcpRunResult(seed, backend)
    started = time.monotonic()
    pcm, _, _ = program(seed, utterances)
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    if schedule is None:
        # Offsets in the first third of a connection's traffic (about 4.4 kB per frame each
        # way), so a run chains several connections and faults.
        reach = len(frames) * 4400 // 3
        schedule = random_schedule(seed, max_c2s_byte=reach, max_s2c_byte=reach)
    result.schedule = schedule.describe()
    async with Emulator(
        speed=math.inf,
        seed=seed,
        resumption_update_every_messages=5,
        usage_every_s=0.25,  # the real service is never quiet for long (EVIDENCE.md row 7)
        valid_tokens={SECRET_TOKEN},
        valid_api_keys={SECRET_API_KEY},
    ) as emu:
        async with TcpFaultProxy(emu.port, schedule) as proxy:
            try:
                await asyncio.wait_for(_session(result, frames, proxy), RUN_BOUND_S)
            except asyncio.TimeoutError:
                result.foreign.append(f"the run did not end within {RUN_BOUND_S} s")
            await proxy.wait_client_sockets_closed(5.0)
            result.open_sockets = proxy.open_client_sockets
            result.faults_fired = proxy.faults_fired
            result.connections = proxy.connections
            outage = [
                f.t
                for f in proxy.fired
                if schedule.refuse_from is not None and f.connection >= schedule.refuse_from
            ]
            result.unreachable = bool(outage)
            if outage:
                result.outage_at = outage[0]
                if result.gave_up_after_s is not None:
                    result.gave_up_after_s -= outage[0]
        consumed = emu.consumed_audio_digests()
        result.trace += " emulator: " + ", ".join(
            f"#{c.index} {c.close_code} {'resumed' if c.resumed_from_handle else 'new'} "
            f"{len(c.audio_digests)} frames"
            for c in emu.connections
        )
        result.resumed_connections = sum(
            1 for c in emu.connections if c.resumed_from_handle is not None
        )
    _account(result, frames, consumed)
    result.seconds = time.monotonic() - started
    return result


def _account(result: TcpRunResult, frames: list[bytes], consumed: list[str]) -> None:
    sent = [hashlib.sha1(f).hexdigest() for f in frames[: result.frames_sent]]
    result.sent_frames = frames[: result.frames_sent]
    sent_set = set(sent)
    user = [d for d in consumed if d in sent_set]
    result.duplicated = len(user) - len(set(user))
    result.lost = len(sent_set - set(user))
    first_seen = list(dict.fromkeys(user))
    result.in_order = (user if result.backend == "vertex" else first_seen) == [
        d for d in sent if d in set(user)
    ]


async def _session(result: TcpRunResult, frames: list[bytes], proxy: TcpFaultProxy) -> None:
    transport = s2st.TransportOptions(
        open_timeout_s=1.5,
        close_timeout_s=0.5,
        ping_interval_s=0.5,
        ping_timeout_s=1.0,
        receive_timeout_s=1.0,
    )
    client = make_client(result.backend, proxy.base_url, transport=transport)
    policy = s2st.ReconnectPolicy(
        initial_backoff_s=0.05,
        max_backoff_s=0.5,
        max_attempts=None,
        give_up_after_s=GIVE_UP_AFTER_S,
    )
    session = client.connect("es", reconnect=policy, setup_timeout_s=2.0)
    events: list[s2st.Event] = []
    finish_at: list[float] = []
    error: BaseException | None = None

    async def send() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i, frame in enumerate(frames):
            await asyncio.sleep(max(0.0, t0 + i * FRAME_MS / 1000 / SPEED - loop.time()))
            await session.send_audio(frame)
            result.frames_sent = i + 1
        finish_at.append(time.monotonic())
        await session.finish(timeout_s=FINISH_TIMEOUT_S, idle_s=1.5)

    sender: asyncio.Task[None] | None = None
    try:
        async with session:
            sender = asyncio.create_task(send())
            async for event in session:
                events.append(event)
            await sender
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        error = exc
    if sender is not None and not sender.done():
        sender.cancel()
        await asyncio.wait([sender], timeout=2.0)
    if sender is not None and sender.done() and not sender.cancelled():
        late = sender.exception()
        if late is not None and error is None:
            error = late
        if late is not None and not isinstance(late, s2st.S2STError):
            result.foreign.append(f"sender: {type(late).__module__}.{type(late).__name__}: {late}")
    ended = time.monotonic()
    if finish_at:
        result.finish_at = finish_at[0]
        result.close_s = ended - finish_at[0]
    result.reconnects = sum(isinstance(e, s2st.Reconnected) for e in events)
    result.trace = (
        f"sent {result.frames_sent}, reconnected {result.reconnects}x, close "
        f"{result.close_s if result.close_s is None else round(result.close_s, 1)} s after "
        f"finish, unconfirmed at close {session.stats.unconfirmed_audio_ms_at_close:.0f} ms;"
    )
    result.leaked_tasks = [t.get_name() for t in session.running_tasks()]
    result.stats_unconfirmed_ms = session.stats.unconfirmed_audio_ms_at_close
    if error is not None:
        result.gave_up_after_s = ended
        result.error = f"{type(error).__name__}: {error}"
        if not isinstance(error, s2st.S2STError):
            name = f"{type(error).__module__}.{type(error).__name__}"
            result.foreign.append(f"{name}: {error}")
        result.credential_leaks += leaks_in(error, SECRETS)
        result.unconfirmed_ms, result.unconfirmed_pcm = unconfirmed_of(error)
    result.credential_leaks += [
        where for where in (repr(session), repr(client)) if any(s in where for s in SECRETS)
    ]


def check(result: TcpRunResult) -> list[str]:
    """The problems of one run (empty: it survived)."""
    problems: list[str] = list(result.foreign)
    if result.error is not None and not result.unreachable:
        problems.append(f"ended with {result.error} though the service was reachable")
    if result.unreachable and result.error is not None:
        problems += _check_gave_up(result)
    elif result.lost:
        problems.append(f"{result.lost} frames lost, and no error")
    if result.backend == "vertex" and result.duplicated:
        problems.append(f"{result.duplicated} frames consumed twice (Vertex: 0 allowed)")
    bound = overlap_bound_ms() * max(1, result.resumed_connections)
    if result.backend == "gemini" and result.duplicated * FRAME_MS > bound:
        problems.append(
            f"{result.duplicated * FRAME_MS:.0f} ms consumed twice > {bound:.0f} ms "
            "(MAX_UNINDEXED_OVERLAP_MS per resumed connection)"
        )
    if not result.in_order:
        problems.append("audio consumed out of order")
    if result.close_s is not None and result.close_s > CLOSE_BOUND_S:
        problems.append(f"closed {result.close_s:.1f} s after finish (bound {CLOSE_BOUND_S} s)")
    if result.leaked_tasks:
        problems.append(f"leaked tasks {result.leaked_tasks}")
    if result.open_sockets:
        problems.append(f"{result.open_sockets} client sockets still open at the proxy")
    if result.credential_leaks:
        problems.append(f"credential visible in {result.credential_leaks[:3]}")
    return problems


def _check_gave_up(result: TcpRunResult) -> list[str]:
    problems = []
    lower = GIVE_UP_AFTER_S - 1.0
    if result.finish_at is not None and result.outage_at is not None:
        # finish()'s own deadline may end the retries sooner (with the same typed error).
        lower = min(lower, result.finish_at + FINISH_TIMEOUT_S - result.outage_at - 1.0)
    if result.gave_up_after_s is not None and not (
        lower <= result.gave_up_after_s <= GIVE_UP_AFTER_S + 10.0
    ):
        problems.append(
            f"gave up {result.gave_up_after_s:.1f} s into the outage "
            f"(budget give_up_after_s={GIVE_UP_AFTER_S})"
        )
    problems += judge_unconfirmed(
        result.sent_frames,
        result.lost,
        result.unconfirmed_ms,
        result.unconfirmed_pcm,
        result.stats_unconfirmed_ms,
    )
    return problems
