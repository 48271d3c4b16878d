"""WebSocket close codes and HTTP handshake statuses to typed errors (private; public as
[`s2st.errors.error_from_close()`][s2st.errors.error_from_close] and
[`s2st.errors.error_from_handshake()`][s2st.errors.error_from_handshake]).

The one place where a close code and its reason, or an upgrade's HTTP status, become an
[`s2st.errors`][s2st.errors] class with a message that says what to do next (PROTOCOL.md §6).
Pure code: no I/O, only ``re``.
"""

from __future__ import annotations

import re

from ._error_tree import (
    AbnormalClosureError,
    AuthenticationError,
    ConnectionClosedError,
    DeadlineExpiredError,
    EndpointNotFoundError,
    HandshakeError,
    InvalidArgumentError,
    ModelAccessDeniedError,
    QuotaExceededError,
    ServerError,
    SessionDurationLimitError,
    UnknownSetupFieldError,
    UnsupportedModelError,
)

__all__ = ["error_from_close", "error_from_handshake"]

_ACCESS_HINT = (
    "The model was not found or your Google Cloud project is not allow-listed for it. "
    "Speech-to-speech translation is a private experimental model: request access for the "
    "project, check the model id (both 'gemini-2.5-flash-s2st-11-2025-exp' and "
    "'gemini-2.5-flash-s2st-exp-11-2025' are accepted), the location and the API version."
)

# Reasons are matched by meaning (EVIDENCE.md rows 2, 17-21; PROTOCOL.md §6.2). The server
# cuts reasons at 123 bytes, so the patterns use the start of each known reason.
_GOAWAY_OVERSTAY = re.compile(r"(?i)goaway|session durat")
_MODEL_ACCESS = re.compile(
    r"(?i)publisher model|not accessible|is not found|not found for api version"
    r"|not supported for bidigeneratecontent|permission|access (?:denied|to)|allow-?list"
    r"|\bdenied\b|forbidden"
)
_UNKNOWN_FIELD = re.compile(r"Unknown name \"(?P<field>[^\"]+)\"(?: at '(?P<location>[^']+)')?")
_NOT_LIVE_MODEL = re.compile(
    r"(?i)(?:^|\s)[`'\"]?(?P<model>[^\s`'\"]+)[`'\"]? is not supported in the live api"
)
_QUOTA = re.compile(r"(?i)quota|resource[_ ]exhausted")
_DEADLINE = re.compile(r"(?i)deadline expired")

#: Models to suggest when the server says a model is not a Live model (kept in step with
#: s2st.config, which imports s2st.errors and so this module: it cannot be imported here).
_LIVE_TRANSLATE_MODEL = "gemini-3.5-live-translate-preview"
_S2ST_MODEL = "gemini-2.5-flash-s2st-11-2025-exp"


def _why(reason: str) -> str:
    return reason or "no reason given"


def _close_1007(reason: str) -> InvalidArgumentError:
    field = _UNKNOWN_FIELD.search(reason)
    if field is not None:
        name, where = field.group("field"), field.group("location")
        return UnknownSetupFieldError(
            1007,
            reason,
            f"the server does not know the setup field {name!r}"
            + (f" at {where!r}" if where else "")
            + " (1007): this model or endpoint does not accept it. Check the setup dialect for"
            " the model (dialect='live_translate' sends translationConfig, dialect='s2st' the"
            " S2ST switch), the API version, and any proxy that rewrites the setup; retrying"
            f" unchanged will fail again. Server said: {reason}",
            field=name,
            location=where,
        )
    model = _NOT_LIVE_MODEL.search(reason)
    if model is not None:
        name = model.group("model")
        return UnsupportedModelError(
            1007,
            reason,
            f"the model {name!r} is not supported by the Live API (1007): it is retired or"
            f" not a Live model. Use the live-translate model {_LIVE_TRANSLATE_MODEL!r}, or the"
            f" S2ST model {_S2ST_MODEL!r} if your project is allow-listed for it.",
            model=name,
        )
    return InvalidArgumentError(
        1007,
        reason,
        f"the server rejected the request (1007 invalid argument): {_why(reason)}."
        " Check the setup options, the audio MIME type and the target language; retrying"
        " unchanged will fail again.",
    )


def _close_1008(reason: str) -> ConnectionClosedError:
    if _GOAWAY_OVERSTAY.search(reason):
        return SessionDurationLimitError(
            1008,
            reason,
            "the connection reached the server's session duration cap and was closed after a"
            " goAway (1008; not an access problem). The session will reconnect and resume"
            f" with its resumption handle. Server said: {reason}",
        )
    if _MODEL_ACCESS.search(reason):
        return ModelAccessDeniedError(1008, reason, f"{_ACCESS_HINT} (1008: {reason})")
    # A policy violation we do not recognise: not retryable, since the one transient 1008
    # known (the goAway overstay) is handled above and reconnecting unchanged would repeat
    # whatever the server objected to. No allow-list hint: nothing says it is about access.
    return ConnectionClosedError(
        1008,
        reason,
        f"the server closed the connection for a policy violation (1008): {_why(reason)}."
        " Retrying unchanged is unlikely to help; if it happens at connect, check the model"
        " id and location.",
    )


def _close_1011(reason: str) -> ServerError:
    if _QUOTA.search(reason):
        return QuotaExceededError(
            1011,
            reason,
            f"the quota of the project or API key is used up (1011: {reason}). Reconnecting"
            f" waits at least {QuotaExceededError.min_backoff_s:g} s; if it persists, raise"
            " the quota or run fewer concurrent sessions.",
        )
    if _DEADLINE.search(reason):
        return DeadlineExpiredError(
            1011,
            reason,
            f"the connection reached the server's connection time cap (1011: {reason}). This"
            " is expected on long sessions: the session reconnects and resumes with its"
            " resumption handle.",
        )
    return ServerError(
        1011,
        reason,
        f"the server closed the connection (1011 server error): {_why(reason)}."
        " This is usually transient (internal error, overload or the connection time cap);"
        " reconnect with backoff, resuming the session if you have a handle.",
    )


# One table of close codes (the docstring lists it); splitting it would hide the table.
def error_from_close(code: int | None, reason: str = "") -> ConnectionClosedError | None:
    """Map a WebSocket close code and reason to a typed error (PROTOCOL.md §6.2).

    The reason decides within a code (EVIDENCE.md rows 2, 17-21):

    * 1007: ``Unknown name "x" at '...'`` -> [`UnknownSetupFieldError`][s2st.errors.UnknownSetupFieldError];
      ``<model> is not supported in the live api.`` -> [`UnsupportedModelError`][s2st.errors.UnsupportedModelError];
      anything else -> [`InvalidArgumentError`][s2st.errors.InvalidArgumentError]. None is retryable.
    * 1008: a goAway overstay -> [`SessionDurationLimitError`][s2st.errors.SessionDurationLimitError] (retryable); a reason
      about model access (``Publisher Model ... not accessible``, ``models/x is not found
      ... bidiGenerateContent``, permission, access, "denied" or "forbidden" wording) ->
      [`ModelAccessDeniedError`][s2st.errors.ModelAccessDeniedError]; any other reason, or none -> a plain, not retryable
      [`ConnectionClosedError`][s2st.errors.ConnectionClosedError] (policy violation).
    * 1011: quota -> [`QuotaExceededError`][s2st.errors.QuotaExceededError] (``min_backoff_s`` 10 s); ``Deadline
      expired`` -> [`DeadlineExpiredError`][s2st.errors.DeadlineExpiredError]; else [`ServerError`][s2st.errors.ServerError]. All retryable.

    Returns ``None`` for a normal close (1000, or 1001 "going away"). ``code=None`` means no
    close frame was received and is treated as 1006.
    """
    if code is None:
        code = 1006
    if code in (1000, 1001):
        return None
    if code == 1007:
        return _close_1007(reason)
    if code == 1008:
        return _close_1008(reason)
    if code == 1011:
        return _close_1011(reason)
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
        f"connection closed with code {code}: {_why(reason)}; {hint}.",
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
