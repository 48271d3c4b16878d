"""The classes of the exception tree (private: the public module is [`s2st.errors`][s2st.errors],
which documents the tree and re-exports every class)."""

from __future__ import annotations

from dataclasses import dataclass

from ._redact import redact

#: Longest payload excerpt kept on a [`ProtocolError`][s2st.errors.ProtocolError] (characters).
MAX_PAYLOAD_EXCERPT = 512


class S2STError(Exception):
    """Root of every error raised by ``s2st``.

    Attributes:
        unconfirmed_audio: on the error that ended a session, the user's audio the server never
            confirmed (an [`UnconfirmedAudio`][s2st.errors.UnconfirmedAudio]), so the application can send it again in
            a new session; ``None`` when everything was confirmed or for other errors.
    """

    unconfirmed_audio: UnconfirmedAudio | None = None


class ConfigurationError(S2STError, ValueError):
    """An option or argument is invalid. Raised before any connection is opened."""


class OptionsError(ConfigurationError):
    """Invalid options for [TranslationConfig][s2st.TranslationConfig], an options model or
    [S2STClient.connect][s2st.client.S2STClient.connect]: unknown (with a "did you mean" hint),
    missing or of the wrong type or range. Every problem is listed in the message.

    Attributes:
        problems: the problems as ``(path, message)`` pairs; ``path`` is the dotted option
            name (``realtime_input.automatic_activity_detection.silence_duration_ms``), so
            an outer model can report a nested problem under its full path.
    """

    def __init__(self, model: str, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{path}: {msg}" if path else msg for path, msg in problems)
        super().__init__(f"invalid {model} options: {lines}")


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
        else:
            msg += "."
        msg += " Run `s2st languages` or see s2st.languages.SUPPORTED_LANGUAGES for the full list."
        super().__init__(msg)


class AudioFormatError(S2STError, ValueError):
    """Audio that cannot be converted, is empty, has NaN/inf, or does not match its declared format."""


class ProtocolError(S2STError):
    """A server frame could not be understood (not JSON, not an object, or wrong field shapes).

    Attributes:
        payload: the offending frame, truncated to `MAX_PAYLOAD_EXCERPT` characters.
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
        min_backoff_s: the shortest wait, in seconds, before reconnecting after this error
            (0.0: the reconnect policy's own backoff applies). A reconnect policy waits at
            least this long, whatever its initial and maximum backoff say.
    """

    retryable: bool = False
    min_backoff_s: float = 0.0


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


class UnknownSetupFieldError(InvalidArgumentError):
    """Close 1007 ``Unknown name "x" at 'setup': Cannot find field.`` (EVIDENCE.md rows 1-2).

    The model or endpoint does not know a field of our ``setup``: the wrong setup dialect for
    the model (``translationConfig`` is live-translate only, the S2ST switch legacy only), an
    older server or API version, or a proxy that rewrites the setup.

    Attributes:
        field: the unknown field as the server names it, e.g. ``"translationConfig"``.
        location: where it was found, e.g. ``"setup"`` or ``"setup.generation_config"``
            (``None`` when the reason was cut before it).
    """

    def __init__(
        self, code: int, reason: str, message: str, *, field: str, location: str | None
    ) -> None:
        self.field = field
        self.location = location
        super().__init__(code, reason, message)


class UnsupportedModelError(InvalidArgumentError):
    """Close 1007 ``<model> is not supported in the live api.`` (EVIDENCE.md row 20).

    The model is retired or is not a Live API model. Not retryable: choose another model.

    Attributes:
        model: the model named by the server (as it spelled it).
    """

    def __init__(self, code: int, reason: str, message: str, *, model: str) -> None:
        self.model = model
        super().__init__(code, reason, message)


class ModelAccessDeniedError(ConnectionClosedError):
    """Close 1008 about model access: the model was not found, or the project is not
    allow-listed for it (EVIDENCE.md row 21). Not retryable without an access or model change."""


class SessionDurationLimitError(ConnectionClosedError):
    """Close 1008 after an overstayed ``goAway``: the connection reached its duration cap
    (EVIDENCE.md row 18). Not an access refusal. Retryable: a new connection resumes the
    session with its latest resumption handle."""

    retryable = True


class ServerError(ConnectionClosedError):
    """Close 1011: internal error, deadline expired or overload. Retrying with backoff may help."""

    retryable = True


class DeadlineExpiredError(ServerError):
    """Close 1011 ``Deadline expired before operation could complete.``: the server's cap on
    one connection's lifetime (about 10 minutes, EVIDENCE.md row 17). Retryable: the session
    reconnects and resumes with its handle."""


class QuotaExceededError(ServerError):
    """Close 1011 ``You exceeded your current quota...`` (EVIDENCE.md row 19).

    Retryable only after a long wait: `min_backoff_s` (10 s) is the shortest wait before
    the next attempt, and a reconnect policy honours it even when its own backoff is shorter;
    its bounded ``max_attempts`` still limits how often it tries. If it persists, the project's
    quota or the number of concurrent sessions is the thing to change.
    """

    min_backoff_s = 10.0


class AbnormalClosureError(ConnectionClosedError):
    """Close 1006: the connection was lost without a close frame. Retrying may help."""

    retryable = True


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
    `unconfirmed_audio` holds that audio, to send again in a new session."""
