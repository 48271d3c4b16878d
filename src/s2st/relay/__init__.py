"""A relay for browsers and phones: the service credentials stay on the server.

``s2st.relay`` is an ASGI application (Starlette; install ``s2st[relay]``) that holds an
[`S2STClient`][s2st.client.S2STClient] and gives every browser WebSocket its own upstream session. Browsers
authenticate with short-lived tokens that the application's backend issues with
[`issue_token()`][s2st.relay.issue_token]; the relay also serves a translation page, a caption overlay for viewers
(server-sent events per room) and a Twilio Media Streams endpoint for phone calls.

Run it alone with ``s2st relay --emulator`` (development mode, loopback only), or mount it::

    from s2st import S2STClient
    from s2st.relay import Relay, RelayConfig

    relay = Relay(S2STClient(), RelayConfig(secret=SECRET, allowed_origins=["https://app.example"]))
    app.mount("/relay", relay)

The browser protocol and its close codes are in `s2st.relay.protocol`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import RelayConfig
from .protocol import PROTOCOL_VERSION, CloseCode
from .rooms import Caption, RoomHub
from .tokens import TokenClaims, TokenError, issue_token, verify_token

if TYPE_CHECKING:
    from .app import Admission, Relay

__all__ = [
    "PROTOCOL_VERSION",
    "Admission",
    "Caption",
    "CloseCode",
    "Relay",
    "RelayConfig",
    "RoomHub",
    "TokenClaims",
    "TokenError",
    "issue_token",
    "verify_token",
]


def __getattr__(name: str) -> Any:
    # The ASGI parts need Starlette (s2st[relay]); tokens, config and protocol do not, so a
    # backend that only issues tokens need not install it.
    if name in ("Relay", "Admission"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 's2st.relay' has no attribute {name!r}")
