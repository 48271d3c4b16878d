"""The exception tree of ``s2st``.

Every error the library raises on purpose derives from :class:`S2STError`::

    S2STError
    ├── ConfigurationError (ValueError)         bad options, found before any connection opens
    │   └── UnsupportedLanguageError            unknown target language, with suggestions
    ├── AudioFormatError (ValueError)           audio that cannot be converted or is mislabelled
    ├── ProtocolError                           a server frame we cannot make sense of
    ├── SessionClosedError (RuntimeError)       using a session that has been closed
    ├── ConcurrencyError (RuntimeError)         two tasks reading one session at once
    └── TransportError                          anything that ended or prevented a connection
        ├── SetupTimeoutError (TimeoutError)    no ``setupComplete`` in time
        ├── TranslationIncompleteError          finish() ended with audio never confirmed
        ├── HandshakeError                      HTTP status on the WebSocket upgrade
        │   ├── AuthenticationError             401 / 403: missing, bad or expired credentials
        │   └── EndpointNotFoundError           404: wrong host, path, location or API version
        └── ConnectionClosedError               the WebSocket closed with a code (``.code``, ``.reason``)
            ├── InvalidArgumentError            1007: the server rejected a message (not retryable)
            ├── ModelAccessDeniedError          1008: model not found or project not allow-listed
            ├── ServerError                     1011: internal error, deadline, overload (retryable)
            └── AbnormalClosureError            1006: connection lost without a close frame (retryable)

Errors carry data as attributes and say what to do next in their message. They never carry
credentials: tokens and API keys are redacted before they reach a message (see :func:`redact`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AbnormalClosureError",
    "AudioFormatError",
    "AuthenticationError",
    "ConcurrencyError",
    "ConfigurationError",
    "ConnectionClosedError",
    "EndpointNotFoundError",
    "HandshakeError",
    "InvalidArgumentError",
    "ModelAccessDeniedError",
    "ProtocolError",
    "S2STError",
    "ServerError",
    "SessionClosedError",
    "SetupTimeoutError",
    "TranslationIncompleteError",
    "TransportError",
    "UnconfirmedAudio",
    "UnsupportedLanguageError",
    "error_from_close",
    "error_from_handshake",
    "redact",
]

#: Longest payload excerpt kept on a :class:`ProtocolError` (characters).
MAX_PAYLOAD_EXCERPT = 512

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token> / Token <token>
    (re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <redacted>"),
    # key=..., access_token=... in URLs and query strings
    (re.compile(r"(?i)([?&](?:key|access_token|token)=)[^&\s'\"]+"), r"\1<redacted>"),
    # x-goog-api-key: ... header dumps
    (re.compile(r"(?i)(x-goog-api-key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"), r"\1<redacted>"),
    # Google API keys and OAuth access tokens seen bare
    (re.compile(r"AIza[0-9A-Za-z_-]{20,}"), "<redacted>"),
    (re.compile(r"ya29\.[0-9A-Za-z._-]+"), "<redacted>"),
    (re.compile(r"auth_tokens/[0-9A-Za-z._-]+"), "auth_tokens/<redacted>"),
)


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with credentials replaced by ``<redacted>``.

    Known shapes (Bearer headers, ``key=`` query parameters, Google API keys, OAuth access
    tokens, ephemeral ``auth_tokens/...``) are always removed; any extra ``secrets`` given are
    removed verbatim wherever they appear.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class S2STError(Exception):
    """Root of every error raised by ``s2st``.

    Attributes:
        unconfirmed_audio: on the error that ended a session, the user's audio the server never
            confirmed (an :class:`UnconfirmedAudio`), so the application can send it again in
            a new session; ``None`` when everything was confirmed or for other errors.
    """

    unconfirmed_audio: UnconfirmedAudio | None = None


class ConfigurationError(S2STError, ValueError):
    """An option or argument is invalid. Raised before any connection is opened."""


class UnsupportedLanguageError(ConfigurationError):
    """The target language is not in the supported table.

    Attributes:
        language: what the caller passed.
        suggestions: supported codes that look close, best first (may be empty).
    """

    def __init__(self, language: str, suggestions: tuple[str, ...] = (), detail: str = "") -> None:
        self.language = language
        self.suggestions = suggestions
        msg = f"unsupported target language {language!r}"
        if detail:
            msg += f" ({detail})"
        if suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
        msg += " Run `s2st languages` or see s2st.languages.SUPPORTED_LANGUAGES for the full list."
        super().__init__(msg)


class AudioFormatError(S2STError, ValueError):
    """Audio that cannot be converted, is empty, has NaN/inf, or does not match its declared format."""


class ProtocolError(S2STError):
    """A server frame could not be understood (not JSON, not an object, or wrong field shapes).

    Attributes:
        payload: the offending frame, truncated to :data:`MAX_PAYLOAD_EXCERPT` characters.
    """

    def __init__(
        self, message: str, payload: str | bytes | bytearray | memoryview | None = None
    ) -> None:
        excerpt: str | None = None
        if payload is not None:
            if isinstance(payload, (bytes, bytearray, memoryview)):
                raw = bytes(payload[: MAX_PAYLOAD_EXCERPT * 4])
                excerpt = raw.decode("utf-8", errors="replace")
            else:
                excerpt = payload[: MAX_PAYLOAD_EXCERPT * 4]
            # Redact before truncating: a key cut at the boundary would no longer match.
            excerpt = redact(excerpt)
            if len(excerpt) > MAX_PAYLOAD_EXCERPT:
                excerpt = excerpt[:MAX_PAYLOAD_EXCERPT] + "…"
        self.payload = excerpt
        message = redact(message)  # it may quote server values
        super().__init__(message if excerpt is None else f"{message}: {excerpt!r}")


class SessionClosedError(S2STError, RuntimeError):
    """The session is closed (by the user, the server or an error); it cannot send or receive."""


class ConcurrencyError(S2STError, RuntimeError):
    """Two tasks tried to iterate or read one session at the same time."""


class TransportError(S2STError):
    """The connection could not be opened or was lost.

    Attributes:
        retryable: whether reconnecting with the same configuration can succeed.
    """

    retryable: bool = False


class SetupTimeoutError(TransportError, TimeoutError):
    """The server did not answer ``setup`` with ``setupComplete`` in time."""

    retryable = True


class HandshakeError(TransportError):
    """The WebSocket upgrade was refused with an HTTP status.

    Attributes:
        status_code: the HTTP status of the refusal.
        body: the start of the response body, redacted (may be empty).
    """

    def __init__(self, message: str, *, status_code: int, body: str = "") -> None:
        self.status_code = status_code
        self.body = redact(body[:MAX_PAYLOAD_EXCERPT])
        self.retryable = status_code >= 500 or status_code == 429
        super().__init__(redact(message))


class AuthenticationError(HandshakeError):
    """HTTP 401/403 on the upgrade: credentials missing, invalid, expired or without permission."""


class EndpointNotFoundError(HandshakeError):
    """HTTP 404 on the upgrade: wrong host, path, location or API version."""


class ConnectionClosedError(TransportError):
    """The WebSocket closed with an error code.

    Attributes:
        code: the close code (1006 when no close frame was received).
        reason: the close reason sent by the server (at most 123 bytes on the wire), redacted.
    """

    def __init__(self, code: int, reason: str = "", message: str | None = None) -> None:
        self.code = code
        self.reason = redact(reason)
        if message is None:
            message = f"connection closed with code {code}"
            if self.reason:
                message += f": {self.reason}"
        super().__init__(redact(message))


class InvalidArgumentError(ConnectionClosedError):
    """Close 1007: the server rejected a message or the setup. Retrying unchanged fails again."""


class ModelAccessDeniedError(ConnectionClosedError):
    """Close 1008: the model was not found, or the project is not allow-listed for it."""


class ServerError(ConnectionClosedError):
    """Close 1011: internal error, deadline expired or overload. Retrying with backoff may help."""

    retryable = True


class AbnormalClosureError(ConnectionClosedError):
    """Close 1006: the connection was lost without a close frame. Retrying may help."""

    retryable = True


_ACCESS_HINT = (
    "The model was not found or your Google Cloud project is not allow-listed for it. "
    "Speech-to-speech translation is a private experimental model: request access for the "
    "project, check the model id (both 'gemini-2.5-flash-s2st-11-2025-exp' and "
    "'gemini-2.5-flash-s2st-exp-11-2025' are accepted), the location and the API version."
)


def error_from_close(code: int | None, reason: str = "") -> ConnectionClosedError | None:
    """Map a WebSocket close code and reason to a typed error (PROTOCOL.md §6.2).

    Returns ``None`` for a normal close (1000, or 1001 "going away"). ``code=None`` means no
    close frame was received and is treated as 1006.
    """
    if code is None:
        code = 1006
    if code in (1000, 1001):
        return None
    if code == 1007:
        return InvalidArgumentError(
            code,
            reason,
            f"the server rejected the request (1007 invalid argument): {reason or 'no reason given'}."
            " Check the setup options, the audio MIME type and the target language; retrying"
            " unchanged will fail again.",
        )
    if code == 1008:
        return ModelAccessDeniedError(
            code, reason, f"{_ACCESS_HINT} (1008: {reason or 'no reason'})"
        )
    if code == 1011:
        return ServerError(
            code,
            reason,
            f"the server closed the connection (1011 server error): {reason or 'no reason given'}."
            " This is usually transient (internal error, overload or the connection time cap);"
            " reconnect with backoff, resuming the session if you have a handle.",
        )
    if code == 1006:
        return AbnormalClosureError(
            code,
            reason,
            "connection lost without a close frame (1006). Check the network; reconnecting with"
            " backoff usually helps.",
        )
    # Other 1xxx codes (1002 protocol error, 1009 too big, 1012-1014 restarts) are transient
    # server or proxy conditions except the protocol-level ones.
    retryable = code in (1012, 1013, 1014)
    hint = (
        "reconnect with backoff"
        if retryable
        else "retrying unchanged is unlikely to help; report it with the reason if it persists"
    )
    err = ConnectionClosedError(
        code,
        reason,
        f"connection closed with code {code}: {reason or 'no reason given'}; {hint}.",
    )
    err.retryable = retryable
    return err


def error_from_handshake(status_code: int, body: str = "") -> HandshakeError:
    """Map an HTTP status received on the WebSocket upgrade to a typed error (PROTOCOL.md §6.1)."""
    excerpt = body.strip()[:200]
    if status_code in (401, 403):
        return AuthenticationError(
            f"the server refused the credentials (HTTP {status_code}). Check that the access "
            "token or API key is valid, not expired, and allowed to use the Live API"
            + (f": {excerpt}" if excerpt else "."),
            status_code=status_code,
            body=body,
        )
    if status_code == 404:
        return EndpointNotFoundError(
            "the Live API endpoint was not found (HTTP 404). Check the location (use "
            "'global' for the bare host, never 'global-aiplatform'), the API version and the "
            "base URL" + (f": {excerpt}" if excerpt else "."),
            status_code=status_code,
            body=body,
        )
    if status_code == 429 or status_code >= 500:
        hint = "the service is busy or failing; retry later with backoff"
    else:
        hint = "check the endpoint URL, headers and API version"
    return HandshakeError(
        f"the WebSocket upgrade was refused with HTTP {status_code} ({hint})"
        + (f": {excerpt}" if excerpt else "."),
        status_code=status_code,
        body=body,
    )


@dataclass(frozen=True)
class UnconfirmedAudio:
    """Audio a session sent (or held) that the server never confirmed consuming.

    Attributes:
        pcm: the audio, little-endian int16 mono at ``sample_rate``, in the order it was given.
        sample_rate: its rate in Hz (the session's ``input_sample_rate``).
        duration_ms: its length in milliseconds (exactly ``len(pcm) / 2 / sample_rate * 1000``).
    """

    pcm: bytes
    sample_rate: int
    duration_ms: float

    def __repr__(self) -> str:  # the PCM itself is not worth printing
        return (
            f"UnconfirmedAudio(duration_ms={self.duration_ms:.0f}, sample_rate={self.sample_rate})"
        )


class TranslationIncompleteError(TransportError):
    """``finish()`` ran out of time while audio the server never confirmed was outstanding (a
    reconnection still in progress, or a server that stopped confirming). The session ended;
    :attr:`~S2STError.unconfirmed_audio` holds that audio, to send again in a new session."""
