"""Credential providers: they produce the headers of the WebSocket upgrade (PROTOCOL.md §2).

google-auth is imported inside functions (``import s2st`` stays cheap), and every call that can
block (``google.auth.default``, token refresh over HTTP) runs in a worker thread, never on the
event loop. Providers never show a secret in ``repr``/``str``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol, runtime_checkable

from ._foreign import credentials_error
from .errors import AuthenticationError, ConfigurationError

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "ApiKey",
    "CredentialsProvider",
    "EphemeralToken",
    "GoogleCredentials",
    "StaticToken",
]

logger = logging.getLogger("s2st.auth")

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

#: Refresh a token this many seconds before it expires.
REFRESH_MARGIN_S = 300.0


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that can produce the authentication headers for one connection attempt."""

    async def headers(self) -> dict[str, str]:
        """Return the headers to add to the WebSocket upgrade (fresh for each connection)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """The secret strings this provider handles (for redaction in logs and errors)."""
        ...


def _check_secret(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string without surrounding spaces")
    if any(c in value for c in "\r\n"):
        raise ConfigurationError(f"{what} must not contain line breaks")
    return value


class StaticToken:
    """A fixed OAuth2 access token sent as ``Authorization: Bearer``. For tests, the emulator,
    or tokens managed elsewhere (for example ``gcloud auth print-access-token``)."""

    def __init__(self, token: str) -> None:
        self._token = _check_secret(token, "token")

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


class ApiKey:
    """A Gemini API key, sent in the ``x-goog-api-key`` header (never in the URL)."""

    def __init__(self, key: str) -> None:
        self._key = _check_secret(key, "api_key")

    async def headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self._key}

    def secrets(self) -> tuple[str, ...]:
        return (self._key,)

    def __repr__(self) -> str:
        return "ApiKey(<redacted>)"


class EphemeralToken:
    """A Gemini API ephemeral token (``auth_tokens/...``), sent as ``Authorization: Token`` to
    the ``BidiGenerateContentConstrained`` method (§1.1)."""

    def __init__(self, token: str) -> None:
        self._token = _check_secret(token, "ephemeral token")

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self._token}"}

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __repr__(self) -> str:
        return "EphemeralToken(<redacted>)"


class GoogleCredentials:
    """google-auth credentials (Application Default Credentials unless given), scoped to
    ``cloud-platform``, refreshed in a worker thread when missing, invalid or close to expiry.

    Adds ``x-goog-user-project`` when the credentials carry a quota project (§2).

    Args:
        credentials: a ``google.auth.credentials.Credentials``; ``None`` loads ADC on first use.
        quota_project: overrides the quota project of the credentials.
        request_factory: builds the transport request used to refresh (tests inject one).
    """

    def __init__(
        self,
        credentials: Any | None = None,
        *,
        quota_project: str | None = None,
        request_factory: Any | None = None,
    ) -> None:
        self._credentials = credentials
        self._quota_project = quota_project
        self._request_factory = request_factory
        self._lock: asyncio.Lock | None = None
        self.project_id: str | None = None

    def __repr__(self) -> str:
        kind = type(self._credentials).__name__ if self._credentials is not None else "ADC"
        return f"GoogleCredentials({kind})"

    def secrets(self) -> tuple[str, ...]:
        token = getattr(self._credentials, "token", None)
        return (token,) if isinstance(token, str) and token else ()

    def _load_default(self) -> Any:
        try:
            import google.auth
            from google.auth.exceptions import DefaultCredentialsError
        except ImportError as exc:  # pragma: no cover - google-auth is a core dependency
            raise ConfigurationError("google-auth is required for Vertex AI credentials") from exc
        try:
            credentials, project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        except DefaultCredentialsError as exc:
            error = credentials_error(exc)
        else:
            self.project_id = project
            return credentials
        raise error  # outside the except block: no google-auth object in the chain

    def _needs_refresh(self, credentials: Any) -> bool:
        token = getattr(credentials, "token", None)
        if not token:
            return True
        expiry = getattr(credentials, "expiry", None)
        if expiry is None:
            return not bool(getattr(credentials, "valid", True))
        # google-auth keeps expiry as a naive UTC datetime.
        remaining = expiry.timestamp() - _utc_naive_now_ts()
        return bool(remaining < REFRESH_MARGIN_S)

    def _refresh(self, credentials: Any) -> None:
        from google.auth.exceptions import RefreshError, TransportError

        if self._request_factory is not None:
            request = self._request_factory()
        else:
            import google.auth.transport.requests

            request = google.auth.transport.requests.Request()
        try:
            credentials.refresh(request)
        except (RefreshError, TransportError) as exc:
            error = credentials_error(exc)
        else:
            return
        # Raised outside the except block: google-auth's error may carry the token response,
        # and neither __cause__ nor __context__ may hold it.
        raise error

    async def _ensure(self) -> Any:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._credentials is None:
                self._credentials = await asyncio.to_thread(self._load_default)
            credentials = self._credentials
            if self._needs_refresh(credentials):
                logger.debug("refreshing Google access token in a worker thread")
                await asyncio.to_thread(self._refresh, credentials)
            return credentials

    async def headers(self) -> dict[str, str]:
        credentials = await self._ensure()
        token = getattr(credentials, "token", None)
        if not token:
            raise AuthenticationError(
                "Google credentials produced no access token", status_code=401
            )
        headers = {"Authorization": f"Bearer {token}"}
        quota = self._quota_project or getattr(credentials, "quota_project_id", None)
        if quota:
            headers["x-goog-user-project"] = str(quota)
        return headers


def _utc_naive_now_ts() -> float:
    # expiry.timestamp() on a naive datetime assumes local time; compare like with like.
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None).timestamp()
