"""The exception tree of ``s2st``.

Every error the library raises on purpose derives from [`S2STError`][s2st.errors.S2STError]::

    S2STError
    ├── ConfigurationError (ValueError)       bad options, before any connection
    │   ├── OptionsError                      invalid options, listed with their paths
    │   └── UnsupportedLanguageError          unknown target language, suggestions
    ├── AudioFormatError (ValueError)         audio that cannot be converted
    ├── ProtocolError                         a server frame we cannot understand
    ├── SessionClosedError (RuntimeError)     using a closed session
    ├── ConcurrencyError (RuntimeError)       two tasks reading one session
    └── TransportError                        a connection ended or never opened
        ├── SetupTimeoutError (TimeoutError)  no ``setupComplete`` in time
        ├── TranslationIncompleteError        finish() with audio never confirmed
        ├── HandshakeError                    HTTP status on the upgrade
        │   ├── AuthenticationError           401 / 403: credentials
        │   └── EndpointNotFoundError         404: host, path, location, version
        └── ConnectionClosedError             closed with ``.code``, ``.reason``
            ├── InvalidArgumentError          1007: request rejected
            │   ├── UnknownSetupFieldError    a setup field unknown here
            │   └── UnsupportedModelError     not a Live model, or retired
            ├── ModelAccessDeniedError        1008: model not found or no access
            ├── SessionDurationLimitError     1008: goAway overstayed (retryable)
            ├── ServerError                   1011: server side (retryable)
            │   ├── DeadlineExpiredError      the connection time cap
            │   └── QuotaExceededError        quota used up (long backoff)
            └── AbnormalClosureError          1006: no close frame (retryable)

Close codes are classified by the reason's meaning, not only by number
([`error_from_close()`][s2st.errors.error_from_close], EVIDENCE.md rows 2, 17-21): a 1008 is an access refusal only when
its reason says so. `TransportError.retryable` says whether reconnecting unchanged can
succeed, and `TransportError.min_backoff_s` the shortest wait before that attempt.

Errors carry data as attributes and say what to do next in their message. They never carry
credentials: tokens and API keys are redacted before they reach a message (see [`redact()`][s2st.errors.redact]).
"""

from __future__ import annotations

from ._close_map import error_from_close, error_from_handshake
from ._error_tree import (
    MAX_PAYLOAD_EXCERPT,  # noqa: F401 (a constant, not in __all__)
    AbnormalClosureError,
    AudioFormatError,
    AuthenticationError,
    ConcurrencyError,
    ConfigurationError,
    ConnectionClosedError,
    DeadlineExpiredError,
    EndpointNotFoundError,
    HandshakeError,
    InvalidArgumentError,
    ModelAccessDeniedError,
    OptionsError,
    ProtocolError,
    QuotaExceededError,
    S2STError,
    ServerError,
    SessionClosedError,
    SessionDurationLimitError,
    SetupTimeoutError,
    TranslationIncompleteError,
    TransportError,
    UnconfirmedAudio,
    UnknownSetupFieldError,
    UnsupportedLanguageError,
    UnsupportedModelError,
)
from ._redact import redact

__all__ = [
    "AbnormalClosureError",
    "AudioFormatError",
    "AuthenticationError",
    "ConcurrencyError",
    "ConfigurationError",
    "ConnectionClosedError",
    "DeadlineExpiredError",
    "EndpointNotFoundError",
    "HandshakeError",
    "InvalidArgumentError",
    "ModelAccessDeniedError",
    "OptionsError",
    "ProtocolError",
    "QuotaExceededError",
    "S2STError",
    "ServerError",
    "SessionClosedError",
    "SessionDurationLimitError",
    "SetupTimeoutError",
    "TranslationIncompleteError",
    "TransportError",
    "UnconfirmedAudio",
    "UnknownSetupFieldError",
    "UnsupportedLanguageError",
    "UnsupportedModelError",
    "error_from_close",
    "error_from_handshake",
    "redact",
]

# The classes are defined in s2st._error_tree (below the close-code map, which builds them);
# they belong to this module for users: reprs, tracebacks, pickling and the docs.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
