"""Short-lived signed tokens that an application's backend issues to its browsers.

A token is ``s2st1.<payload>.<signature>``: the payload is base64url (no padding) of a compact
JSON object of claims, the signature is base64url of HMAC-SHA256 over ``s2st1.<payload>`` with
the server secret. Only the standard library is used (`hmac`, `hashlib`,
`base64`, `json`); signatures are compared in constant time
(`hmac.compare_digest()`).

The application backend (which knows who the user is) issues a token::

    from s2st.relay import issue_token
    token = issue_token(SECRET, subject="user-42", ttl_s=60, languages=["es", "de"])

and the relay verifies it with the same secret ([`verify_token()`][s2st.relay.verify_token]). Tokens are bearer
credentials: they never appear in a log line, a ``repr`` or an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from s2st._validate import check_optional_number, is_number
from s2st.errors import ConfigurationError, S2STError

__all__ = [
    "MIN_SECRET_BYTES",
    "TOKEN_PREFIX",
    "TokenClaims",
    "TokenError",
    "issue_token",
    "verify_token",
]

#: Version tag of the token format (the first dot-separated part).
TOKEN_PREFIX = "s2st1"
#: The shortest accepted server secret (bytes after UTF-8 encoding): 128 bits.
MIN_SECRET_BYTES = 16
#: Tokens longer than this are refused before any decoding (bytes).
MAX_TOKEN_CHARS = 4096
#: The longest accepted time to live: tokens are meant to be short-lived.
MAX_TTL_S = 24 * 3600.0

TokenProblem = Literal["missing", "malformed", "forged", "expired", "not_yet_valid"]
Scope = Literal["speak", "view"]


class TokenError(S2STError, ValueError):
    """A relay token was refused.

    Attributes:
        problem: ``"missing"``, ``"malformed"``, ``"forged"`` (bad signature, or signed with
            another secret), ``"expired"`` or ``"not_yet_valid"``.
    """

    def __init__(self, problem: TokenProblem, message: str) -> None:
        self.problem: TokenProblem = problem
        super().__init__(message)


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token grants.

    Attributes:
        subject: who the token was issued to (the application's user id; logged).
        expires_at: UNIX time after which the token is refused.
        issued_at: UNIX time of issue.
        languages: target languages the holder may ask for; ``None`` allows all.
        max_session_s: longest session the holder may hold open; ``None`` leaves the relay's
            own limit.
        rooms: caption rooms the holder may publish to (``scope="speak"``) or read
            (``scope="view"``); ``None`` allows none for speakers and all for viewers.
        scope: ``"speak"`` (open translation sessions) or ``"view"`` (read captions only).
        token_id: a random id, unique per token (the per-token session limit counts it).
    """

    subject: str
    expires_at: float
    issued_at: float
    languages: tuple[str, ...] | None = None
    max_session_s: float | None = None
    rooms: tuple[str, ...] | None = None
    scope: Scope = "speak"
    token_id: str = ""


def _secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"the relay secret must be at least {MIN_SECRET_BYTES} bytes; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _sign(key: bytes, signed_part: str) -> bytes:
    return hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest()


def _str_tuple(name: str, values: Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise ConfigurationError(f"{name} must be a list of strings, not one string")
    out = list(values)
    if not all(isinstance(v, str) and v for v in out):
        raise ConfigurationError(f"{name} must hold non-empty strings, got {out!r}")
    return out


def issue_token(
    secret: str | bytes,
    *,
    subject: str,
    ttl_s: float = 60.0,
    languages: Iterable[str] | None = None,
    max_session_s: float | None = None,
    rooms: Iterable[str] | None = None,
    scope: Scope = "speak",
    now: float | None = None,
) -> str:
    """Issue a signed token for one browser (call it from your own backend, never a page).

    Args:
        secret: the relay's server secret (at least 16 bytes; the same value the relay has).
        subject: who the token is for (your user id). It is logged by the relay; do not put
            personal data in it.
        ttl_s: seconds until the token expires (it only needs to live until the browser
            connects: a session that started stays open past the expiry, up to
            ``max_session_s``). At most 24 hours.
        languages: target languages allowed (codes as the relay's ``/config`` lists them);
            ``None`` allows every language the relay offers.
        max_session_s: cap on the session length for this holder; ``None`` keeps the relay's.
        rooms: caption rooms to publish to (``scope="speak"``) or read (``scope="view"``).
        scope: ``"speak"`` to open translation sessions, ``"view"`` to read captions.
        now: the issue time (UNIX seconds; default the current time), for tests.

    Returns:
        The token string (URL-safe characters and dots only).

    Raises:
        ConfigurationError: a short secret, an empty subject, a non-positive or too long
            ``ttl_s``, or malformed lists.
    """
    key = _secret_bytes(secret)
    if not isinstance(subject, str) or not subject or len(subject) > 256:
        raise ConfigurationError("subject must be a non-empty string of at most 256 characters")
    if not (is_number(ttl_s) and 0 < ttl_s <= MAX_TTL_S):
        raise ConfigurationError(f"ttl_s must be a number in (0, {MAX_TTL_S:.0f}], got {ttl_s!r}")
    check_optional_number("max_session_s", max_session_s, positive=True)
    if scope not in ("speak", "view"):
        raise ConfigurationError(f"scope must be 'speak' or 'view', got {scope!r}")
    issued = time.time() if now is None else float(now)
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": round(issued, 3),
        "exp": round(issued + float(ttl_s), 3),
        "jti": _secrets.token_urlsafe(12),
        "scp": scope,
    }
    if (langs := _str_tuple("languages", languages)) is not None:
        claims["lng"] = langs
    if (room_list := _str_tuple("rooms", rooms)) is not None:
        claims["rms"] = room_list
    if max_session_s is not None:
        claims["msl"] = float(max_session_s)
    payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=True).encode())
    signed_part = f"{TOKEN_PREFIX}.{payload}"
    return f"{signed_part}.{_b64(_sign(key, signed_part))}"


def verify_token(
    token: str | None,
    secret: str | bytes,
    *,
    now: float | None = None,
    leeway_s: float = 5.0,
    clock: Callable[[], float] = time.time,
) -> TokenClaims:
    """Check a token's signature and expiry and return its claims.

    Args:
        token: the token the browser sent (``None`` or ``""`` counts as missing).
        secret: the relay's server secret.
        now: the time to check against (UNIX seconds); default ``clock()``.
        leeway_s: tolerated clock difference between the issuer and the relay.
        clock: the time source when ``now`` is not given.

    Raises:
        TokenError: ``problem`` says why (missing, malformed, forged, expired, not yet valid).
            The message never contains the token.
        ConfigurationError: the secret is too short.
    """
    key = _secret_bytes(secret)
    if not token:
        raise TokenError("missing", "no token was sent; ask your backend for one")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed", "the token is not a string of a sane length")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenError("malformed", f"the token is not an {TOKEN_PREFIX} token")
    try:
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise TokenError("malformed", "the token signature is not base64url") from None
    expected = _sign(key, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(signature, expected):
        raise TokenError("forged", "the token signature does not match this relay's secret")
    try:
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        raise TokenError("malformed", "the token payload is not base64url JSON") from None
    parsed = _parse_claims(claims)
    t = clock() if now is None else now
    if t > parsed.expires_at + leeway_s:
        raise TokenError("expired", "the token has expired; ask your backend for a new one")
    if t < parsed.issued_at - leeway_s:
        raise TokenError("not_yet_valid", "the token is not valid yet (check the clocks)")
    return parsed


def _parse_claims(claims: Any) -> TokenClaims:
    """Claims of a correctly signed token (our own issuer wrote them, but check the shapes)."""
    bad = TokenError("malformed", "the token claims are malformed")
    if not isinstance(claims, dict):
        raise bad
    sub, exp, iat = claims.get("sub"), claims.get("exp"), claims.get("iat")
    langs, rooms, msl = claims.get("lng"), claims.get("rms"), claims.get("msl")
    scope, jti = claims.get("scp", "speak"), claims.get("jti", "")
    numbers_ok = all(is_number(v) for v in (exp, iat)) and (msl is None or is_number(msl))
    lists_ok = all(
        v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in (langs, rooms)
    )
    if not (
        isinstance(sub, str)
        and sub
        and numbers_ok
        and lists_ok
        and scope in ("speak", "view")
        and isinstance(jti, str)
    ):
        raise bad
    return TokenClaims(
        subject=sub,
        expires_at=float(exp),  # type: ignore[arg-type]
        issued_at=float(iat),  # type: ignore[arg-type]
        languages=tuple(langs) if langs is not None else None,
        max_session_s=float(msl) if msl is not None and msl > 0 else None,
        rooms=tuple(rooms) if rooms is not None else None,
        scope=scope,
        token_id=jti,
    )
