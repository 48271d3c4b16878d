"""Relay tokens: issue/verify round trips and every refusal, as tables (no I/O)."""

from __future__ import annotations

import base64
import json

import pytest

from s2st.errors import ConfigurationError
from s2st.relay import TokenError, issue_token, verify_token

SECRET = "a-test-secret-of-32-bytes-length"
T0 = 1_800_000_000.0


def test_round_trip_keeps_the_claims() -> None:
    token = issue_token(
        SECRET,
        subject="user-42",
        ttl_s=60,
        languages=["es", "de"],
        max_session_s=120,
        rooms=["main"],
        now=T0,
    )
    claims = verify_token(token, SECRET, now=T0 + 30)
    assert claims.subject == "user-42"
    assert claims.languages == ("es", "de")
    assert claims.max_session_s == 120.0
    assert claims.rooms == ("main",)
    assert claims.scope == "speak"
    assert claims.expires_at == T0 + 60
    assert claims.token_id  # random, per token


def test_each_token_is_unique() -> None:
    a = issue_token(SECRET, subject="u", now=T0)
    b = issue_token(SECRET, subject="u", now=T0)
    assert a != b
    assert verify_token(a, SECRET, now=T0).token_id != verify_token(b, SECRET, now=T0).token_id


def _tamper(token: str, **changes: object) -> str:
    prefix, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{raw}.{sig}"


GOOD = issue_token(SECRET, subject="u", ttl_s=60, now=T0)


@pytest.mark.parametrize(
    ("token", "now", "problem"),
    [
        (None, T0, "missing"),
        ("", T0, "missing"),
        ("not-a-token", T0, "malformed"),
        ("s2st1.abc", T0, "malformed"),
        ("jwt1." + GOOD.split(".", 1)[1], T0, "malformed"),
        (GOOD[:-4] + "AAAA", T0, "forged"),
        (GOOD + "!", T0, "malformed"),
        (issue_token("another-secret-of-32-bytes-len!!", subject="u", now=T0), T0, "forged"),
        (_tamper(GOOD, sub="admin"), T0, "forged"),
        (_tamper(GOOD, exp=T0 + 10**6), T0, "forged"),
        (GOOD, T0 + 66, "expired"),  # 60 s ttl + 5 s leeway
        (GOOD, T0 - 10, "not_yet_valid"),
        ("s2st1." + "A" * 5000 + ".x", T0, "malformed"),
    ],
)
def test_refusals(token: str | None, now: float, problem: str) -> None:
    with pytest.raises(TokenError) as info:
        verify_token(token, SECRET, now=now)
    assert info.value.problem == problem
    if token:
        assert token not in str(info.value)


def test_expiry_leeway_is_accepted() -> None:
    assert verify_token(GOOD, SECRET, now=T0 + 64).subject == "u"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subject": ""},
        {"subject": "u", "ttl_s": 0},
        {"subject": "u", "ttl_s": -1},
        {"subject": "u", "ttl_s": 10**9},
        {"subject": "u", "ttl_s": True},
        {"subject": "u", "max_session_s": 0},
        {"subject": "u", "languages": "es"},
        {"subject": "u", "rooms": [""]},
        {"subject": "u", "scope": "admin"},
    ],
)
def test_issue_rejects_bad_input(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        issue_token(SECRET, **kwargs)  # type: ignore[arg-type]


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="16 bytes"):
        issue_token("short", subject="u")
    with pytest.raises(ConfigurationError):
        verify_token(GOOD, "short")


def test_token_error_is_an_s2st_value_error() -> None:
    from s2st.errors import S2STError

    assert issubclass(TokenError, S2STError)
    assert issubclass(TokenError, ValueError)


def test_issuing_tokens_needs_no_web_framework() -> None:
    """A backend that only issues tokens imports neither Starlette nor uvicorn."""
    import subprocess
    import sys

    code = (
        "import sys, s2st.relay as r; r.issue_token('x' * 16, subject='u'); "
        "assert not {'starlette', 'uvicorn'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
