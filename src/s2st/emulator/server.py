"""The emulator server: a ``websockets`` asyncio server speaking the Live API S2ST dialect.

One reader task per connection (the ``websockets`` handler), one sender task (the output
clock: paced audio, the silence stream, engine polling, delay/burst faults; ``_output``) and
one timer task (usage, resumption updates, goAway, the cap, timed faults; ``_timers``).
The handling of client messages after setup is in ``_input``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl as ssl_module
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from s2st._logging import redacted_logger
from s2st.errors import ConfigurationError, redact

from ._handshake import check_upgrade, credential
from ._input import InputMixin
from ._output import silent_frame
from ._state import (
    _FROM_START,
    _SECRET_HEADERS,
    _ConnState,
    _Handle,
    _Item,
    _Session,
)
from .accounting import ConnectionRecord, ReceivedMessage
from .config import EmulatorConfig
from .engines import Engine, LoopbackEngine, ScriptedEngine, SilentEngine
from .faults import Fault, FaultPlan
from .wire import (
    CLOSE_INVALID,
    CLOSE_QUOTA,
    SetupInfo,
    WireRejection,
    match_path,
    parse_client_frame,
    validate_setup,
)

__all__ = ["Emulator", "EmulatorFactory"]

logger = logging.getLogger("s2st.emulator")


class Emulator(InputMixin):
    """A local Live API S2ST emulator bound to ``host:port`` (``port=0``: a free port).

    Use it as an async context manager (or call `start()` / `stop()`)::

        async with Emulator(connection_lifetime_s=5) as emu:
            url = emu.vertex_url()    # connect a WebSocket client here

    ``config`` gives an [`EmulatorConfig`][s2st.emulator.EmulatorConfig]; keyword ``config_overrides`` replace its fields.
    ``ssl`` (a server `ssl.SSLContext`) serves ``wss://``; python-genai always connects
    with TLS, so its conformance test uses a self-signed certificate.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: EmulatorConfig | None = None,
        ssl: ssl_module.SSLContext | None = None,
        **config_overrides: Any,
    ) -> None:
        base = config or EmulatorConfig()
        try:
            self.config = replace(base, **config_overrides)
        except TypeError as exc:
            raise ConfigurationError(f"Unknown EmulatorConfig option: {exc}") from exc
        self.host = host
        self._ssl = ssl
        self._requested_port = port
        self.port = 0
        self.connections: list[ConnectionRecord] = []
        self.faults = self.config.faults if self.config.faults is not None else FaultPlan()
        self._server: Server | None = None
        self._sessions: list[_Session] = []
        self._handles: dict[str, _Handle] = {}
        self._live: dict[int, _ConnState] = {}
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._silence = silent_frame(self.config)  # one prebuilt frame, reused
        self._closed_engines: set[int] = set()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> Emulator:
        """Start listening; returns ``self``."""
        if self._server is not None:
            return self
        self._server = await serve(
            self._handler,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            max_size=self.config.max_message_bytes,
            ping_interval=None,
            compression=None,
            close_timeout=self.config.close_timeout_s,
            logger=redacted_logger("s2st.emulator.websockets"),
            ssl=self._ssl,
        )
        sock = next(iter(self._server.sockets))
        self.port = int(sock.getsockname()[1])
        logger.info("emulator listening on %s:%d", self.host, self.port)
        return self

    async def stop(self, *, timeout_s: float = 5.0) -> None:
        """Close every connection (1001) and stop listening, within ``timeout_s``."""
        server, self._server = self._server, None
        if server is None:
            return
        for st in list(self._live.values()):
            if st.stalled:
                st.ws.transport.abort()
        server.close()
        try:
            await asyncio.wait_for(server.wait_closed(), timeout_s)
        except asyncio.TimeoutError:
            for st in list(self._live.values()):
                st.ws.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        self._close_engines([s.engine for s in self._sessions])
        self._close_engines([h.engine for h in self._handles.values()])

    def _close_engines(self, engines: list[Engine]) -> None:
        """``Engine.close()`` once per engine (the session's, and the handles' snapshots)."""
        for engine in engines:
            if id(engine) in self._closed_engines:
                continue
            self._closed_engines.add(id(engine))
            try:
                engine.close()
            except Exception:  # an engine's cleanup must not break the emulator's
                logger.exception("engine close() failed")

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- URLs ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``ws://host:port`` (clients append the standard paths)."""
        return f"{'wss' if self._ssl else 'ws'}://{self.host}:{self.port}"

    @property
    def http_base_url(self) -> str:
        """``http://host:port`` (for google-genai ``http_options.base_url``)."""
        return f"{'https' if self._ssl else 'http'}://{self.host}:{self.port}"

    def vertex_url(self, location: str = "us-central1", version: str = "v1beta1") -> str:
        """Full Vertex URL (``location`` is not part of the path; kept for symmetry)."""
        del location
        return f"{self.base_url}/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"

    def gemini_url(self, version: str = "v1beta", *, constrained: bool = False) -> str:
        """Full Gemini API URL (``constrained``: the ephemeral-token method)."""
        method = "BidiGenerateContentConstrained" if constrained else "BidiGenerateContent"
        return (
            f"{self.base_url}/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
        )

    # -- test helpers ----------------------------------------------------------------------
    def inject(self, fault: Fault, *, connection: int) -> None:
        """Add a fault for connection number ``connection`` (may already be open)."""
        self.faults.add(fault, connection=connection)
        st = self._live.get(connection)
        if st is not None:
            st.faults.append(fault)
            st.wake.set()

    async def wait_for_connections(self, n: int, *, timeout_s: float = 5.0) -> None:
        """Wait until at least ``n`` connections were accepted."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.connections) >= n), timeout_s
            )

    async def wait_for_close(self, connection: int, *, timeout_s: float = 5.0) -> ConnectionRecord:
        """Wait until connection number ``connection`` has ended; return its record."""
        await self.wait_for_connections(connection + 1, timeout_s=timeout_s)
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: not self.connections[connection].open), timeout_s
            )
        return self.connections[connection]

    def consumed_audio_digests(self) -> list[str]:
        """sha1 of each consumed audio message, per logical session (creation order), taken
        from the state of the session's latest connection (see ``accounting``)."""
        out: list[str] = []
        for s in self._sessions:
            if s.current is not None:
                out += s.current.consumed_audio_digests
        return out

    def all_audio_bytes(self) -> bytes:
        """Concatenated PCM (as sent, at the declared rate) of the consumed audio, same order."""
        out: list[bytes] = []
        for s in self._sessions:
            if s.current is not None:
                out += [*s.current.base_audio, *s.current.audio]
        return b"".join(out)

    @property
    def handles(self) -> list[str]:
        """All resumption handles issued so far, in order."""
        return list(self._handles)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- handshake -------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        return check_upgrade(connection, request, self.config.valid_tokens)

    # -- connection ------------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        endpoint, query = match_path(ws.request.path if ws.request else "/")
        assert endpoint is not None  # checked in _process_request
        index = len(self.connections)
        headers = {
            k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v)
            for k, v in (ws.request.headers.raw_items() if ws.request else [])
        }
        record = ConnectionRecord(
            index=index,
            path=redact(ws.request.path if ws.request else ""),
            headers=headers,
            backend=endpoint.backend,
        )
        self.connections.append(record)
        st = _ConnState(
            record=record,
            ws=ws,
            endpoint=endpoint,
            faults=self.faults.for_connection(index),
            rng=random.Random(f"{self.config.seed}:{index}"),
        )
        if endpoint.backend == "gemini" and self.config.valid_api_keys is not None:
            cred = credential(endpoint, ws.request.headers if ws.request else Headers(), query)
            st.api_key_bad = (
                cred is not None and cred[0] == "key" and cred[1] not in self.config.valid_api_keys
            )
        for f in [
            f
            for f in st.faults
            if f.kind in _FROM_START and f.at_s is None and f.at_message is None
        ]:
            st.faults.remove(f)  # trigger-less delay/slow_reads apply from the upgrade on
            await self._fire(st, f)
        self._live[index] = st
        await self._notify()
        sender = st.sender = asyncio.ensure_future(self._sender(st))
        timer: asyncio.Future[None] | None = None
        try:
            if await self._do_setup(st):
                timer = asyncio.ensure_future(self._timer(st))
                await self._read_loop(st)
        except ConnectionClosed:
            pass
        finally:
            await self._finish(st, sender, timer)

    async def _finish(
        self, st: _ConnState, sender: asyncio.Future[None], timer: asyncio.Future[None] | None
    ) -> None:
        tasks = [t for t in (sender, timer) if t is not None]
        for task in tasks:
            task.cancel()
        # Bounded: a task that swallowed its cancellation (websockets' close() can, while it
        # waits for the closing handshake) must not keep this connection "open" forever.
        _, pending = await asyncio.wait(tasks, timeout=2.0)
        for task in pending:
            task.cancel()
        rec = st.record
        if rec.close_code is None:
            rcvd = st.ws.protocol.close_rcvd
            rec.close_code = rcvd.code if rcvd is not None else 1006
            rec.close_reason = rcvd.reason if rcvd is not None else ""
        rec.open = False
        self._live.pop(rec.index, None)
        if st.session is not None and (st.setup is None or not st.setup.resumption):
            self._close_engines([st.session.engine])  # no handle can continue this session
        logger.debug("connection %d ended: %s", rec.index, rec.close_code)
        await self._notify()

    async def _do_setup(self, st: _ConnState) -> bool:
        raw = await st.ws.recv()
        rec = st.record
        try:
            obj = parse_client_frame(raw)
            setup = obj.get("setup")
            if setup is None or len(obj) != 1:
                raise WireRejection(1007, f"{CLOSE_INVALID} The first message must be setup.")
            rec.setup = setup if isinstance(setup, dict) else None
            rec.messages.append(ReceivedMessage(0, "setup", f"{len(raw)} bytes", self._t(st)))
            if st.api_key_bad:
                raise WireRejection(1007, "API key not valid. Please pass a valid API key.")
            info = validate_setup(
                setup,
                st.endpoint,
                allowed_models=self.config.allowed_models,
                require_s2st_flag=self.config.require_s2st_flag,
                unsupported_models=self.config.unsupported_models,
                strict=self.config.strict_setup,
            )
            if self.config.quota_exhausted:
                raise WireRejection(1011, CLOSE_QUOTA)  # EVIDENCE.md row 19
            # A new session's engine may load models (the local engine: seconds from a cold
            # disk): built off the event loop, so that other sessions keep streaming meanwhile.
            engine = None if info.resume_handle is not None else await self._new_engine(info)
            pending = self._attach_session(st, info, engine)
        except WireRejection as rej:
            logger.info("connection %d setup refused: %d", rec.index, rej.code)
            await self._close(st, rej.code, rej.reason)
            return False
        st.setup = info
        st.setup_done_at = time.monotonic()
        self._send(st, self._setup_complete(st))
        for item in pending:  # output still queued when the handle was issued: first
            self._queue(st, item)
        if info.resumption:
            self._resumption_update(st)
        st.drained.clear()  # the timer starts once these frames are out (faults at_s=0)
        return True

    def _attach_session(
        self, st: _ConnState, info: SetupInfo, engine: Engine | None
    ) -> list[_Item]:
        """Start (with ``engine``) or resume the logical session; return the output to resend
        first."""
        if info.resume_handle is not None:
            handle = self._handles.get(info.resume_handle)
            if handle is None or time.monotonic() - handle.issued_at > self.config.handle_ttl_s:
                raise WireRejection(
                    1007, f"{CLOSE_INVALID} Session resumption handle is invalid or expired."
                )
            session = handle.session
            if session.model_id != info.model_id:
                raise WireRejection(
                    1007, f"{CLOSE_INVALID} A resumed session must use the same model."
                )
            if session.current is not None and session.current.open:
                raise WireRejection(1011, "Internal error occurred.")  # PROTOCOL.md §6.2
            old_engine = session.engine
            session.engine = handle.engine.snapshot()
            if old_engine is not handle.engine:
                self._close_engines([old_engine])
            session.engine.target_language = info.target_language
            st.record.base_digests = list(handle.digests)
            st.record.base_audio = list(handle.audio)
            st.record.resumed_from_handle = info.resume_handle
            st.streaming = handle.streaming
            pending = list(handle.pending)
        else:
            assert engine is not None
            session = _Session(len(self._sessions), info.model_id, engine)
            self._sessions.append(session)
            pending = []
        session.current = st.record
        st.session = session
        st.record.session_id = session.id
        return pending

    async def _new_engine(self, info: SetupInfo) -> Engine:
        cfg = self.config
        if callable(cfg.engine) or cfg.engine == "local":  # may load models: a worker thread
            return await asyncio.to_thread(self._make_engine, info)
        return self._make_engine(info)

    def _make_engine(self, info: SetupInfo) -> Engine:
        cfg = self.config
        if callable(cfg.engine):
            return cfg.engine(info)
        common: dict[str, Any] = {
            "target_language": info.target_language,
            "part_ms": cfg.part_ms,
            "manual_activity": info.manual_activity,
            "end_silence_ms": cfg.end_silence_ms,
            "threshold_db": cfg.threshold_db,
        }
        if cfg.engine == "loopback":
            return LoopbackEngine(**common)
        if cfg.engine == "silent":
            return SilentEngine(**common)
        if cfg.engine == "local":
            # The local cascade (VAD, ASR, MT, TTS; extra s2st[local]), imported only when used.
            from s2st.local import local_engine_factory

            return local_engine_factory(part_ms=cfg.part_ms)(info)
        return ScriptedEngine(scenarios=cfg.scenarios, **common)


EmulatorFactory = Callable[..., Awaitable[Emulator]]
"""The type of the ``s2st_emulator_factory`` fixture: ``await factory(**config_overrides)``
returns a started [`Emulator`][s2st.emulator.Emulator]."""
