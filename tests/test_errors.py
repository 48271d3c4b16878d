"""Tests of the exception tree, close-code and handshake mapping, and credential redaction."""

from __future__ import annotations

import builtins
import re

import pytest

from s2st import errors
from s2st.errors import (
    MAX_PAYLOAD_EXCERPT,
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
    UnknownSetupFieldError,
    UnsupportedLanguageError,
    UnsupportedModelError,
    error_from_close,
    error_from_handshake,
    redact,
)

API_KEY = "AIzaSyD-1234567890_abcdefghijklmnopqrs"
ACCESS_TOKEN = "ya29.a0AfB_byC-secret.token_value-42"
EPHEMERAL = "auth_tokens/abc123-DEF_456.xyz"

TREE: list[tuple[type[BaseException], tuple[type[BaseException], ...]]] = [
    (ConfigurationError, (S2STError, ValueError)),
    (OptionsError, (ConfigurationError, S2STError, ValueError)),
    (UnsupportedLanguageError, (ConfigurationError, S2STError, ValueError)),
    (AudioFormatError, (S2STError, ValueError)),
    (ProtocolError, (S2STError,)),
    (SessionClosedError, (S2STError, RuntimeError)),
    (ConcurrencyError, (S2STError, RuntimeError)),
    (TransportError, (S2STError,)),
    (SetupTimeoutError, (TransportError, S2STError, TimeoutError)),
    (TranslationIncompleteError, (TransportError, S2STError)),
    (HandshakeError, (TransportError, S2STError)),
    (AuthenticationError, (HandshakeError, TransportError)),
    (EndpointNotFoundError, (HandshakeError, TransportError)),
    (ConnectionClosedError, (TransportError, S2STError)),
    (InvalidArgumentError, (ConnectionClosedError, TransportError)),
    (UnknownSetupFieldError, (InvalidArgumentError, ConnectionClosedError)),
    (UnsupportedModelError, (InvalidArgumentError, ConnectionClosedError)),
    (ModelAccessDeniedError, (ConnectionClosedError, TransportError)),
    (SessionDurationLimitError, (ConnectionClosedError, TransportError)),
    (ServerError, (ConnectionClosedError, TransportError)),
    (DeadlineExpiredError, (ServerError, ConnectionClosedError)),
    (QuotaExceededError, (ServerError, ConnectionClosedError)),
    (AbnormalClosureError, (ConnectionClosedError, TransportError)),
]


@pytest.mark.parametrize(("cls", "bases"), TREE, ids=[c.__name__ for c, _ in TREE])
def test_tree(cls: type[BaseException], bases: tuple[type[BaseException], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, S2STError)


@pytest.mark.parametrize(
    ("cls", "not_base"),
    [
        (ProtocolError, ValueError),
        (TransportError, TimeoutError),
        (ConnectionClosedError, TimeoutError),
        (ConfigurationError, RuntimeError),
        (SessionClosedError, ValueError),
        (HandshakeError, ConnectionClosedError),
        (SessionDurationLimitError, ModelAccessDeniedError),
        (ModelAccessDeniedError, SessionDurationLimitError),
        (QuotaExceededError, DeadlineExpiredError),
    ],
)
def test_tree_has_no_accidental_mixins(cls: type[BaseException], not_base: type) -> None:
    assert not issubclass(cls, not_base)


def test_every_public_error_is_in_the_tree_and_documented() -> None:
    public = {
        name
        for name in errors.__all__
        if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), Exception)
    }
    assert public == {c.__name__ for c, _ in TREE} | {"S2STError"}
    doc = errors.__doc__ or ""
    for name in public:
        assert name in doc
    assert errors.__all__ == sorted(errors.__all__)


def test_retryable_defaults() -> None:
    assert TransportError.retryable is False
    assert SetupTimeoutError.retryable is True
    assert ServerError.retryable is True
    assert AbnormalClosureError.retryable is True
    assert InvalidArgumentError.retryable is False
    assert ModelAccessDeniedError.retryable is False
    assert SessionDurationLimitError.retryable is True
    assert DeadlineExpiredError.retryable is True
    assert QuotaExceededError.retryable is True
    assert UnsupportedModelError.retryable is False
    assert UnknownSetupFieldError.retryable is False


def test_min_backoff_defaults() -> None:
    # Only the quota error asks the reconnect policy for a long wait.
    assert TransportError.min_backoff_s == 0.0
    assert ServerError.min_backoff_s == 0.0
    assert DeadlineExpiredError.min_backoff_s == 0.0
    assert QuotaExceededError.min_backoff_s == 10.0


_TREE_LINE = re.compile(
    r"^(?P<indent>[ │├└─]*)(?P<name>[A-Za-z0-9]+)(?: \((?P<mixin>[A-Za-z]+)\))?"
)


def _drawn_tree() -> list[tuple[int, str, str | None]]:
    doc = errors.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in block.splitlines():
        assert len(line) <= 88, line
        match = _TREE_LINE.match(line.removeprefix("    "))
        assert match is not None, line
        rows.append((len(match.group("indent")) // 4, match.group("name"), match.group("mixin")))
    return rows


def test_docstring_tree_is_true() -> None:
    """The drawing in the module docstring matches the real class tree, mix-ins included."""
    rows = _drawn_tree()
    assert rows[0] == (0, "S2STError", None)
    parents: dict[int, str] = {}
    for depth, name, mixin in rows:
        cls = getattr(errors, name)
        parents[depth] = name
        if depth:
            parent = getattr(errors, parents[depth - 1])
            assert cls.__bases__[0] is parent, name
        if mixin is not None:
            assert getattr(builtins, mixin) in cls.__bases__, name
        else:
            assert len(cls.__bases__) == 1, name
    assert {name for _, name, _ in rows} == {c.__name__ for c, _ in TREE} | {"S2STError"}


# --------------------------------------------------------------------------------------------
# error_from_close (PROTOCOL.md §6.2)
# --------------------------------------------------------------------------------------------

CLOSE_ROWS: list[
    tuple[int | None, str, type[ConnectionClosedError], bool, int, tuple[str, ...]]
] = [
    (1006, "", AbnormalClosureError, True, 1006, ("1006", "reconnect")),
    (None, "", AbnormalClosureError, True, 1006, ("1006", "reconnect")),
    (
        1007,
        "Request contains an invalid argument.",
        InvalidArgumentError,
        False,
        1007,
        ("1007", "Check the setup", "retrying unchanged will fail", "invalid argument."),
    ),
    (1007, "", InvalidArgumentError, False, 1007, ("no reason given",)),
    (
        1008,
        "models/x is not found for API version v1beta, or is not supported for bidiGenerateContent",
        ModelAccessDeniedError,
        False,
        1008,
        ("allow-listed", "request access", "gemini-2.5-flash-s2st-exp-11-2025", "models/x"),
    ),
    (
        1011,
        "Deadline expired before operation could complete.",
        DeadlineExpiredError,
        True,
        1011,
        ("1011", "connection time cap", "reconnects", "Deadline expired"),
    ),
    (1011, "Internal error occurred.", ServerError, True, 1011, ("1011", "backoff")),
    (1002, "protocol error", ConnectionClosedError, False, 1002, ("1002", "protocol error")),
    (1012, "service restart", ConnectionClosedError, True, 1012, ("1012", "reconnect")),
    (1013, "", ConnectionClosedError, True, 1013, ("1013", "reconnect with backoff")),
    (4000, "custom", ConnectionClosedError, False, 4000, ("4000", "custom", "retrying")),
]


@pytest.mark.parametrize(
    ("code", "reason", "cls", "retryable", "stored_code", "phrases"),
    CLOSE_ROWS,
    ids=[str(r[0]) + ("-" + r[1][:10] if r[1] else "") for r in CLOSE_ROWS],
)
def test_error_from_close(
    code: int | None,
    reason: str,
    cls: type[ConnectionClosedError],
    retryable: bool,
    stored_code: int,
    phrases: tuple[str, ...],
) -> None:
    err = error_from_close(code, reason)
    assert type(err) is cls
    assert err is not None
    assert err.retryable is retryable
    assert err.code == stored_code
    assert err.reason == reason  # kept verbatim (no secret in it)
    for phrase in phrases:
        assert phrase in str(err)


@pytest.mark.parametrize("code", [1000, 1001])
def test_normal_close_is_not_an_error(code: int) -> None:
    assert error_from_close(code) is None
    assert error_from_close(code, "The operation was cancelled.") is None


# Verbatim close reasons seen from the real service (EVIDENCE.md rows 2, 17-21; PROTOCOL.md §6.2).
GOAWAY_OVERSTAY = (
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session durat"
)
QUOTA = "You exceeded your current quota, please check your plan and billing details."
DEADLINE = "Deadline expired before operation could complete."
NOT_LIVE = "gemini-2.0-flash-exp is not supported in the live api."
NOT_LIVE_VERTEX = (
    "projects/p/locations/us-central1/publishers/google/models/gemini-1.5-pro-002 "
    "is not supported in the live api."
)
UNKNOWN_SETUP = (
    "Invalid JSON payload received. Unknown name \"translationConfig\" at 'setup': "
    "Cannot find field."
)
UNKNOWN_GEN = (
    'Invalid JSON payload received. Unknown name "inputAudioTranscription" at '
    "'setup.generation_config': Cannot find field."
)
UNKNOWN_X = "Invalid JSON payload received. Unknown name \"x\" at 'setup': Cannot find field."
PUBLISHER = (
    "Publisher Model `projects/p/locations/us-central1/publishers/google/models/"
    "gemini-2.5-flash-s2st-11-2025-exp` not accessible"
)
PUBLISHER_ALT = (
    "Publisher Model `projects/p/locations/us-central1/publishers/google/models/"
    "gemini-2.5-flash-s2st-exp-11-2025` was not found or your project does not have access to it."
)
MODELS_NOT_FOUND = (
    "models/x is not found for API version v1beta, or is not supported for bidiGenerateContent"
)

# (code, reason, class, retryable, attributes, phrases in the message, phrases NOT in it)
MEANING_ROWS: list[
    tuple[
        int,
        str,
        type[ConnectionClosedError],
        bool,
        dict[str, object],
        tuple[str, ...],
        tuple[str, ...],
    ]
] = [
    (
        1008,
        GOAWAY_OVERSTAY,
        SessionDurationLimitError,
        True,
        {"min_backoff_s": 0.0},
        ("session duration cap", "reconnect", "resumption handle", "not an access problem"),
        ("allow-listed", "request access"),
    ),
    (
        1008,
        PUBLISHER,
        ModelAccessDeniedError,
        False,
        {},
        ("allow-listed", "request access", "not accessible"),
        (),
    ),
    (1008, PUBLISHER_ALT, ModelAccessDeniedError, False, {}, ("allow-listed",), ()),
    (1008, MODELS_NOT_FOUND, ModelAccessDeniedError, False, {}, ("allow-listed", "models/x"), ()),
    (
        1008,
        "Permission denied on resource project p.",
        ModelAccessDeniedError,
        False,
        {},
        ("allow-listed",),
        (),
    ),
    (1008, "denied", ModelAccessDeniedError, False, {}, ("allow-listed",), ()),
    (1008, "Forbidden", ModelAccessDeniedError, False, {}, ("allow-listed",), ()),
    (
        1008,
        "Your request was flagged: policy violation",
        ConnectionClosedError,
        False,
        {},
        ("policy violation (1008)", "flagged"),
        ("allow-listed", "request access"),
    ),
    (
        1008,
        "policy violation",
        ConnectionClosedError,
        False,
        {},
        ("policy violation (1008)", "policy violation.", "Retrying unchanged"),
        ("allow-listed", "request access"),
    ),
    (
        1008,
        "",
        ConnectionClosedError,
        False,
        {},
        ("policy violation (1008)", "no reason given"),
        ("allow-listed", "request access"),
    ),
    (
        1011,
        QUOTA,
        QuotaExceededError,
        True,
        {"min_backoff_s": 10.0},
        ("quota", "at least 10 s", QUOTA),
        (),
    ),
    (
        1011,
        "RESOURCE_EXHAUSTED: too many concurrent sessions",
        QuotaExceededError,
        True,
        {"min_backoff_s": 10.0},
        ("quota",),
        (),
    ),
    (
        1011,
        DEADLINE,
        DeadlineExpiredError,
        True,
        {"min_backoff_s": 0.0},
        ("connection time cap", "reconnects", "resumption handle"),
        (),
    ),
    (
        1007,
        NOT_LIVE,
        UnsupportedModelError,
        False,
        {"model": "gemini-2.0-flash-exp"},
        (
            "'gemini-2.0-flash-exp'",
            "retired or not a Live model",
            "'gemini-3.5-live-translate-preview'",
            "'gemini-2.5-flash-s2st-11-2025-exp'",
        ),
        (),
    ),
    (
        1007,
        NOT_LIVE_VERTEX,
        UnsupportedModelError,
        False,
        {"model": "projects/p/locations/us-central1/publishers/google/models/gemini-1.5-pro-002"},
        ("gemini-1.5-pro-002", "live-translate"),
        (),
    ),
    (
        1007,
        "Model `gemini-1.0-pro` is not supported in the live api.",
        UnsupportedModelError,
        False,
        {"model": "gemini-1.0-pro"},
        ("'gemini-1.0-pro'",),
        (),
    ),
    (
        1007,
        UNKNOWN_SETUP,
        UnknownSetupFieldError,
        False,
        {"field": "translationConfig", "location": "setup"},
        ("'translationConfig'", "at 'setup'", "dialect", "proxy", "API version"),
        (),
    ),
    (
        1007,
        UNKNOWN_GEN,
        UnknownSetupFieldError,
        False,
        {"field": "inputAudioTranscription", "location": "setup.generation_config"},
        ("'inputAudioTranscription'", "'setup.generation_config'"),
        (),
    ),
    (
        1007,
        UNKNOWN_X,
        UnknownSetupFieldError,
        False,
        {"field": "x", "location": "setup"},
        ("setup field 'x'",),
        (),
    ),
    (
        1007,
        'Invalid JSON payload received. Unknown name "someVeryLongFieldName" at \'setup.gen',
        UnknownSetupFieldError,
        False,
        {"field": "someVeryLongFieldName", "location": None},
        ("'someVeryLongFieldName'",),
        ("'someVeryLongFieldName' at",),
    ),
    (
        1007,
        "Request contains an invalid argument.",
        InvalidArgumentError,
        False,
        {},
        ("invalid argument",),
        ("setup field", "Live API"),
    ),
]


@pytest.mark.parametrize(
    ("code", "reason", "cls", "retryable", "attrs", "phrases", "absent"),
    MEANING_ROWS,
    ids=[f"{r[0]}-{r[2].__name__}-{i}" for i, r in enumerate(MEANING_ROWS)],
)
def test_close_reason_meaning(
    code: int,
    reason: str,
    cls: type[ConnectionClosedError],
    retryable: bool,
    attrs: dict[str, object],
    phrases: tuple[str, ...],
    absent: tuple[str, ...],
) -> None:
    err = error_from_close(code, reason)
    assert type(err) is cls
    assert err is not None
    assert (err.code, err.reason, err.retryable) == (code, reason, retryable)
    for name, value in attrs.items():
        assert getattr(err, name) == value, name
    text = str(err)
    for phrase in phrases:
        assert phrase in text, phrase
    for phrase in absent:
        assert phrase not in text, phrase


def test_goaway_overstay_is_never_an_access_refusal() -> None:
    # The reason is cut at 123 bytes on the wire; any cut that keeps "GoAway" still classifies.
    assert len(GOAWAY_OVERSTAY.encode()) == 123
    for end in range(
        len(
            "Connection aborted because the client failed to close the connection "
            "after receiving a GoAway"
        ),
        len(GOAWAY_OVERSTAY) + 1,
    ):
        err = error_from_close(1008, GOAWAY_OVERSTAY[:end])
        assert isinstance(err, SessionDurationLimitError)
        assert not isinstance(err, ModelAccessDeniedError)


def test_unsupported_model_names_the_config_models() -> None:
    from s2st.config import DEFAULT_MODEL, LIVE_TRANSLATE_MODEL

    text = str(error_from_close(1007, NOT_LIVE))
    assert repr(LIVE_TRANSLATE_MODEL) in text and repr(DEFAULT_MODEL) in text


def test_new_errors_are_exported() -> None:
    import s2st

    for cls in (
        DeadlineExpiredError,
        QuotaExceededError,
        SessionDurationLimitError,
        UnknownSetupFieldError,
        UnsupportedModelError,
    ):
        assert cls.__name__ in s2st.__all__
        assert getattr(s2st, cls.__name__) is cls


def test_retryable_is_per_instance() -> None:
    a = error_from_close(1012)
    b = error_from_close(1002)
    assert a is not None and b is not None
    assert a.retryable and not b.retryable
    assert ConnectionClosedError.retryable is False


def test_close_reason_is_redacted() -> None:
    err = error_from_close(1007, f"API key not valid: {API_KEY}")
    assert err is not None
    assert API_KEY not in err.reason and API_KEY not in str(err) and API_KEY not in repr(err)
    assert "<redacted>" in err.reason


def test_connection_closed_default_message() -> None:
    assert str(ConnectionClosedError(1009)) == "connection closed with code 1009"
    assert (
        str(ConnectionClosedError(1009, "too big")) == "connection closed with code 1009: too big"
    )


# --------------------------------------------------------------------------------------------
# error_from_handshake (PROTOCOL.md §6.1)
# --------------------------------------------------------------------------------------------

HANDSHAKE_ROWS: list[tuple[int, type[HandshakeError], bool, tuple[str, ...]]] = [
    (400, HandshakeError, False, ("HTTP 400", "check the endpoint")),
    (401, AuthenticationError, False, ("HTTP 401", "access token or API key")),
    (403, AuthenticationError, False, ("HTTP 403", "allowed to use the Live API")),
    (404, EndpointNotFoundError, False, ("HTTP 404", "location", "global-aiplatform")),
    (429, HandshakeError, True, ("HTTP 429", "retry later")),
    (500, HandshakeError, True, ("HTTP 500", "backoff")),
    (503, HandshakeError, True, ("HTTP 503", "retry later")),
]


@pytest.mark.parametrize(
    ("status", "cls", "retryable", "phrases"),
    HANDSHAKE_ROWS,
    ids=[str(r[0]) for r in HANDSHAKE_ROWS],
)
def test_error_from_handshake(
    status: int, cls: type[HandshakeError], retryable: bool, phrases: tuple[str, ...]
) -> None:
    err = error_from_handshake(status)
    assert type(err) is cls
    assert err.status_code == status
    assert err.retryable is retryable
    assert err.body == ""
    for phrase in phrases:
        assert phrase in str(err)
    with_body = error_from_handshake(status, "  upstream said no  ")
    assert str(with_body).endswith(": upstream said no")
    assert with_body.body == "  upstream said no  "


def test_handshake_body_is_bounded_and_redacted() -> None:
    body = f'{{"error": "bad key {API_KEY}", "token": "{ACCESS_TOKEN}"}}' + "x" * 5000
    err = error_from_handshake(401, body)
    assert len(err.body) <= MAX_PAYLOAD_EXCERPT
    for secret in (API_KEY, ACCESS_TOKEN, "AIza", "ya29"):
        assert secret not in err.body
        assert secret not in str(err)
        assert secret not in repr(err)
    assert len(str(err)) < 600


# --------------------------------------------------------------------------------------------
# redact
# --------------------------------------------------------------------------------------------

REDACT_ROWS: list[tuple[str, str, str]] = [
    ("bearer", f"Authorization: Bearer {ACCESS_TOKEN}", "Authorization: Bearer <redacted>"),
    ("bearer-opaque", "authorization: bearer abcdefgh12345678", "authorization: bearer <redacted>"),
    ("token-scheme", "Token abcdefghijkl", "Token <redacted>"),
    (
        "query-key",
        "wss://host/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=secretvalue123&alt=x",
        "wss://host/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=<redacted>&alt=x",
    ),
    (
        "query-access-token",
        "https://h/p?a=1&access_token=zzz",
        "https://h/p?a=1&access_token=<redacted>",
    ),
    ("goog-header", "x-goog-api-key: my-plain-key-value", "x-goog-api-key: <redacted>"),
    (
        "goog-header-dict",
        "{'x-goog-api-key': 'my-plain-key-value'}",
        "{'x-goog-api-key': '<redacted>'}",
    ),
    ("bare-api-key", f"key was {API_KEY}.", "key was <redacted>."),
    ("bare-access-token", f"tok {ACCESS_TOKEN} end", "tok <redacted> end"),
    ("ephemeral", f"using {EPHEMERAL} now", "using auth_tokens/<redacted> now"),
    ("nothing", "Request contains an invalid argument.", "Request contains an invalid argument."),
    ("short-bearer-kept", "bearer abc", "bearer abc"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [r[1:] for r in REDACT_ROWS], ids=[r[0] for r in REDACT_ROWS]
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(redact(text)) == expected  # idempotent


def test_redact_explicit_secrets() -> None:
    assert (
        redact("user pw hunter22 and hunter22", "hunter22") == "user pw <redacted> and <redacted>"
    )
    # Too short or empty secrets are ignored rather than shredding the text.
    assert redact("a b c", "a", "", None) == "a b c"
    assert redact("project-secret-xyz here", None, "project-secret-xyz") == "<redacted> here"


@pytest.mark.parametrize(
    "make",
    [
        lambda s: ProtocolError(f"bad value {s}", f'{{"x": "{s}"}}'),
        lambda s: ProtocolError(f"bad value {s}", f'{{"x": "{s}"}}'.encode()),
        lambda s: ProtocolError("bad", bytearray(f"{s}".encode())),
        lambda s: ConnectionClosedError(1011, f"reason {s}"),
        lambda s: ConnectionClosedError(4001, "r", f"custom message {s}"),
        lambda s: HandshakeError(f"refused {s}", status_code=400, body=s),
        lambda s: error_from_close(1008, s),
        lambda s: error_from_handshake(403, s),
    ],
)
@pytest.mark.parametrize(
    "secret", [API_KEY, ACCESS_TOKEN, f"Bearer {ACCESS_TOKEN}", f"wss://h/p?key={API_KEY}"]
)
def test_no_secret_survives_str_or_repr(make: object, secret: str) -> None:
    exc = make(secret)  # type: ignore[operator]
    for text in (
        str(exc),
        repr(exc),
        str(getattr(exc, "payload", "")),
        str(getattr(exc, "body", "")),
    ):
        assert "AIza" not in text
        assert "ya29" not in text


# --------------------------------------------------------------------------------------------
# ProtocolError payload
# --------------------------------------------------------------------------------------------


def test_protocol_error_without_payload() -> None:
    err = ProtocolError("server frame is not valid JSON")
    assert err.payload is None
    assert str(err) == "server frame is not valid JSON"


@pytest.mark.parametrize("kind", [str, bytes, bytearray, memoryview])
def test_protocol_error_payload_truncated(kind: type) -> None:
    text = "é" * (MAX_PAYLOAD_EXCERPT * 3)
    payload = (
        text
        if kind is str
        else kind(text.encode())
        if kind is not memoryview
        else memoryview(text.encode())
    )
    err = ProtocolError("bad", payload)
    assert err.payload is not None
    assert err.payload == "é" * MAX_PAYLOAD_EXCERPT + "…"
    assert str(err).startswith("bad: '")


def test_protocol_error_short_payload_kept_whole() -> None:
    err = ProtocolError("bad", b'{"a": 1}')
    assert err.payload == '{"a": 1}'
    assert str(err) == "bad: '{\"a\": 1}'"
    assert ProtocolError("bad", b"\xff\xfe").payload == "\ufffd\ufffd"


def test_protocol_error_redacts_key_across_truncation_boundary() -> None:
    payload = "x" * (MAX_PAYLOAD_EXCERPT - 10) + API_KEY + " " + "y" * 100
    err = ProtocolError("bad", payload)
    assert err.payload is not None
    assert "AIza" not in err.payload
    assert len(err.payload) == MAX_PAYLOAD_EXCERPT + 1


def test_unsupported_language_error_message() -> None:
    err = UnsupportedLanguageError("klingon", ("kn", "ko"), "not in the table")
    assert err.language == "klingon" and err.suggestions == ("kn", "ko")
    text = str(err)
    assert "'klingon'" in text and "not in the table" in text and "did you mean 'kn', 'ko'?" in text
    assert "s2st languages" in text
    plain = str(UnsupportedLanguageError("xx"))
    assert "did you mean" not in plain and "(" not in plain.split("Run")[0]
