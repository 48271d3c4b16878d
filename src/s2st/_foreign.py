"""The one place where foreign exceptions become s2st errors (private).

websockets (closing codes, refused upgrades, bad URLs), the OS (connecting) and google-auth
(finding and refreshing credentials) each raise their own exceptions; the functions here turn
one into the matching [`s2st.errors`][s2st.errors] type. They *return* the error: callers
raise it outside the ``except`` block that caught the foreign one, so that neither
``__cause__`` nor ``__context__`` holds it (a websockets ``InvalidStatus`` keeps the HTTP
response, whose body may echo the request with its credentials; a google-auth error may keep
the token endpoint's answer). Messages are redacted with the connection's secrets. The foreign
libraries are imported only when an error is mapped.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .errors import (
    AbnormalClosureError,
    AuthenticationError,
    ConfigurationError,
    ConnectionClosedError,
    S2STError,
    TransportError,
    error_from_close,
    error_from_handshake,
    redact,
)

if TYPE_CHECKING:
    from websockets.exceptions import ConnectionClosed

__all__ = ["close_error", "credentials_error", "open_error"]


def close_error(exc: ConnectionClosed) -> ConnectionClosedError | None:
    """Typed error for a closed connection; ``None`` for a normal close (1000/1001)."""
    rcvd = exc.rcvd
    if rcvd is None:
        return AbnormalClosureError(1006, "", "connection lost without a close frame (1006)")
    return error_from_close(rcvd.code, rcvd.reason)


def open_error(
    exc: BaseException, url: str, *, open_timeout_s: float, secrets: tuple[str, ...]
) -> S2STError:
    """The error for a failure to open ``url``: a refused upgrade (by HTTP status), a bad
    URL, a failed handshake, a timeout or an OS error (these three are retryable)."""
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = response.body.decode("utf-8", "replace") if response.body else ""
        return error_from_handshake(response.status_code, redact(body, *secrets))
    if isinstance(exc, InvalidURI):
        return ConfigurationError(f"invalid WebSocket URL: {redact(str(exc), *secrets)}")
    if isinstance(exc, InvalidHandshake):
        err = TransportError(f"WebSocket handshake failed: {redact(str(exc), *secrets)}")
    elif isinstance(exc, asyncio.TimeoutError):
        err = TransportError(f"timed out after {open_timeout_s} s opening {url}")
    else:
        assert isinstance(exc, OSError)
        err = TransportError(f"could not connect to {url}: {exc.strerror or exc}")
    err.retryable = True
    return err


def credentials_error(exc: BaseException) -> S2STError:
    """The error for google-auth failing to find credentials (``DefaultCredentialsError``:
    a configuration problem) or to refresh them (an authentication problem). Only the
    exception's type is kept: its text may hold the token endpoint's answer."""
    from google.auth.exceptions import DefaultCredentialsError

    if isinstance(exc, DefaultCredentialsError):
        return ConfigurationError(
            "no Google Cloud credentials found. Run `gcloud auth application-default login`, "
            "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or pass "
            "credentials=... / api_key=... to S2STClient."
        )
    return AuthenticationError(
        f"could not refresh Google credentials ({type(exc).__name__}). Re-run "
        "`gcloud auth application-default login` or check the service account.",
        status_code=401,
    )
