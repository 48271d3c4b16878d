"""The emulator's HTTP upgrade checks (private): the path must be a Live API endpoint and the
request must carry the credential that endpoint takes (a bearer token on Vertex, an API key or
an ephemeral token on the Gemini API), as the real service answers 404 / 401 before the
WebSocket opens.
"""

from __future__ import annotations

import http
from collections.abc import Collection

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .wire import EndpointInfo, match_path

__all__ = ["check_upgrade", "credential"]


def check_upgrade(
    connection: ServerConnection, request: Request, valid_tokens: Collection[str] | None
) -> Response | None:
    """The refusal of an upgrade request (404, 401), or ``None`` to accept it."""
    endpoint, query = match_path(request.path)
    if endpoint is None:
        return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
    cred = credential(endpoint, request.headers, query)
    if cred is None:
        return connection.respond(
            http.HTTPStatus.UNAUTHORIZED,
            "Request is missing required authentication credential.\n",
        )
    kind, value = cred
    if kind == "bearer" and valid_tokens is not None:
        if value not in valid_tokens:
            return connection.respond(
                http.HTTPStatus.UNAUTHORIZED,
                "Request had invalid authentication credentials.\n",
            )
    return None


def credential(
    endpoint: EndpointInfo, headers: Headers, query: dict[str, list[str]]
) -> tuple[str, str] | None:
    """``(kind, value)`` of the request's credential (``bearer``, ``token`` or ``key``)."""
    auth = headers.get("Authorization", "")
    if endpoint.backend == "vertex":
        if auth[:7].lower() == "bearer " and auth[7:].strip():
            return "bearer", auth[7:].strip()
        key = headers.get("x-goog-api-key", "")  # Vertex express mode
        return ("key", key) if key else None
    if endpoint.method == "BidiGenerateContentConstrained":
        if auth[:6].lower() == "token " and auth[6:].strip():
            return "token", auth[6:].strip()
        tok = (query.get("access_token") or [""])[0]
        if tok:
            return "token", tok
    key = headers.get("x-goog-api-key", "") or (query.get("key") or [""])[0]
    return ("key", key) if key else None
