"""``Relay``: the ASGI application (Starlette) that keeps the service credentials server-side.

Routes (relative, so the relay can be mounted under any prefix)::

    GET  /                  the translation page (?to=es&autostart=1&room=main)
    GET  /captions          the caption overlay page (?room=main), for OBS or an iframe
    GET  /static/<asset>    the page's scripts and styles (package data, no CDN)
    GET  /config            languages and limits for the page (no secrets)
    GET  /healthz           200 {"status": "ok"}; 503 {"status": "draining"} while draining
    GET  /captions/events   server-sent caption events of a room (?room=...&token=...)
    WS   /ws                browser sessions (protocol: `s2st.relay.protocol`)
    WS   /twilio            Twilio Media Streams phone calls (`s2st.relay.twilio`)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from s2st import S2STClient
from s2st.errors import redact
from s2st.languages import language_name

from .admission import Admission, AdmissionPolicy
from .browser import run_browser
from .config import RelayConfig
from .protocol import PROTOCOL_VERSION, CloseCode, ProtocolViolation, valid_room
from .rooms import RoomHub

__all__ = ["Admission", "Relay"]

logger = logging.getLogger("s2st.relay")

_ASSETS = {
    "relay.js": "text/javascript; charset=utf-8",
    "capture-worklet.js": "text/javascript; charset=utf-8",
    "captions.js": "text/javascript; charset=utf-8",
    "relay.css": "text/css; charset=utf-8",
    "captions.css": "text/css; charset=utf-8",
}
_TOKEN_SHAPE = re.compile(r"s2st1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; media-src 'self' blob:; worker-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
_OVERLAY_CSP = _PAGE_CSP.replace("frame-ancestors 'self'", "frame-ancestors *")
_HEARTBEAT_S = 15.0


class _RedactTokens(logging.Filter):
    """Keep relay tokens (and credentials) out of server logs: uvicorn's access log prints
    query strings, where EventSource clients carry their token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(_TOKEN_SHAPE.sub("<redacted>", message))
        if clean != message:
            record.msg, record.args = clean, ()
        return True


class Relay:
    """The relay as an ASGI application. Run it alone with ``s2st relay`` or mount it::

        relay = Relay(S2STClient(), RelayConfig(secret=SECRET, allowed_origins=["https://app"]))
        app.mount("/relay", relay)            # FastAPI / Starlette

    It holds the [`S2STClient`][s2st.client.S2STClient] (and so the credentials); each browser WebSocket
    gets one upstream session. Limits and options are in [`RelayConfig`][s2st.relay.RelayConfig].

    Args:
        client: the client sessions are opened with.
        config: limits and options (required: there is no insecure default).
        hub: the caption rooms (one per process by default).
    """

    def __init__(self, client: S2STClient, config: RelayConfig, *, hub: RoomHub | None = None):
        self.client = client
        self.config = config
        self.hub = hub or RoomHub()
        self.closes: Counter[int] = Counter()
        self.admission = AdmissionPolicy(config, self.hub)
        if config.dev_mode:
            logger.warning(
                "s2st relay in DEVELOPMENT mode: anonymous sessions are accepted from loopback "
                "peers; never expose it on a network"
            )
        for name in ("uvicorn.access", "uvicorn.error", "s2st.relay"):
            log = logging.getLogger(name)
            if not any(isinstance(f, _RedactTokens) for f in log.filters):
                log.addFilter(_RedactTokens())
        self.app = Starlette(
            routes=[
                Route("/", self._page),
                Route("/captions", self._overlay),
                Route("/static/{name}", self._asset),
                Route("/config", self._config),
                Route("/healthz", self._health),
                Route("/captions/events", self._caption_events),
                WebSocketRoute("/ws", self._ws),
                WebSocketRoute("/twilio", self._twilio),
            ],
            lifespan=self._lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        self.shutdown()

    # ------------------------------------------------------------------ state
    @property
    def active_sessions(self) -> int:
        """Sessions open now (browsers and phone calls)."""
        return self.admission.active

    def drain(self) -> None:
        """Refuse new sessions (4503; ``/healthz`` answers 503) and let open ones finish."""
        self.admission.draining = True
        logger.info("draining: %d sessions still open", self.admission.active)

    def shutdown(self) -> None:
        """End every caption viewer stream (call it last, after draining): servers wait for
        open HTTP responses before they exit, and a caption stream never ends by itself."""
        self.hub.close()

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no session is open; False if ``timeout_s`` passed first."""
        return await self.admission.wait_idle(timeout_s)

    def count_close(self, code: CloseCode) -> None:
        """Record how a session ended (``closes[code]``, for tests and monitoring)."""
        self.closes[int(code)] += 1

    # ------------------------------------------------------------------ HTTP
    def _static(self, name: str) -> bytes:
        return (resources.files("s2st.relay") / "static" / name).read_bytes()

    async def _page(self, request: Request) -> Response:
        return Response(
            self._static("index.html"),
            media_type="text/html; charset=utf-8",
            headers=_security_headers(_PAGE_CSP),
        )

    async def _overlay(self, request: Request) -> Response:
        return Response(
            self._static("captions.html"),
            media_type="text/html; charset=utf-8",
            headers=_security_headers(_OVERLAY_CSP),
        )

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:  # a fixed list: no path ever reaches the file system
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(
            self._static(name),
            media_type=_ASSETS[name],
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def _config(self, request: Request) -> Response:
        cfg = self.config
        languages = [{"code": c, "name": language_name(c)} for c in cfg.offered_languages]
        return JSONResponse(
            {
                "version": PROTOCOL_VERSION,
                "languages": languages,
                "default_language": cfg.default_language,
                "token_required": not cfg.dev_mode,
                "token_url": cfg.token_url,
                "input_sample_rate": 16000,
                "output_sample_rate": 24000,
                "max_frame_bytes": cfg.max_frame_bytes,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def _health(self, request: Request) -> Response:
        body = {
            "status": "draining" if self.admission.draining else "ok",
            "sessions": self.admission.active,
            **self.hub.stats(),
        }
        return JSONResponse(body, status_code=503 if self.admission.draining else 200)

    async def _caption_events(self, request: Request) -> Response:
        room = request.query_params.get("room")
        if not valid_room(room):
            return JSONResponse({"error": "room names are 1-64 of [A-Za-z0-9._-]"}, 400)
        assert room is not None
        if not self.config.public_captions:
            peer = request.client.host if request.client else None
            try:
                claims = self.admission.authenticate(
                    request.query_params.get("token"), peer, scope="view"
                )
                self.admission.check_room(room, claims, publish=False)
            except ProtocolViolation as v:
                status = 403 if v.code is CloseCode.FORBIDDEN else 401
                return JSONResponse({"error": v.code.label, "message": v.message}, status)
        try:
            last_id = int(request.headers.get("last-event-id", "0"))
        except ValueError:
            last_id = 0
        return StreamingResponse(
            self._sse(room, last_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _sse(self, room: str, last_id: int) -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        captions = self.hub.follow(room, last_id=last_id).__aiter__()
        pending: asyncio.Task[Any] | None = None
        try:
            while not self.hub.closed:
                if pending is None:
                    pending = asyncio.ensure_future(captions.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=_HEARTBEAT_S)
                if not done:
                    yield ": keepalive\n\n"
                    continue
                pending = None
                try:
                    caption = done.pop().result()
                except StopAsyncIteration:
                    return
                data = json.dumps(caption.data, separators=(",", ":"), ensure_ascii=False)
                yield f"id: {caption.id}\nevent: caption\ndata: {data}\n\n"
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await captions.aclose()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ WebSockets
    async def _ws(self, ws: WebSocket) -> None:
        await run_browser(self, ws)

    async def _twilio(self, ws: WebSocket) -> None:
        from .twilio import run_twilio

        await run_twilio(self, ws)


def _security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
