"""Credential redaction (private; public as [`s2st.errors.redact()`][s2st.errors.redact]).

Error messages and log lines pass through [`redact()`][s2st.errors.redact] before they show a
server reason, a URL or a header dump, so a token or API key never reaches them.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

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
