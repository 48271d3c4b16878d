"""WebSocket endpoints of the Live API (PROTOCOL.md §1.1). Pure string building, no I/O."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_GEMINI_API_VERSION",
    "DEFAULT_VERTEX_API_VERSION",
    "gemini_path",
    "gemini_url",
    "is_loopback_url",
    "vertex_host",
    "vertex_path",
    "vertex_url",
]

DEFAULT_VERTEX_API_VERSION = "v1beta1"
DEFAULT_GEMINI_API_VERSION = "v1beta"
_VERTEX_VERSIONS = ("v1", "v1beta1")
_GEMINI_VERSIONS = ("v1", "v1beta", "v1alpha")
_MULTI_REGIONAL = ("us", "eu")


def _check_version(version: str, allowed: tuple[str, ...], backend: str) -> None:
    if version not in allowed:
        raise ConfigurationError(
            f"unsupported {backend} API version {version!r}; use one of {', '.join(allowed)}"
        )


def vertex_path(version: str = DEFAULT_VERTEX_API_VERSION) -> str:
    """``/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent``."""
    _check_version(version, _VERTEX_VERSIONS, "Vertex AI")
    return f"/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"


def gemini_path(version: str = DEFAULT_GEMINI_API_VERSION, *, constrained: bool = False) -> str:
    """The Gemini API method path; ``constrained`` selects the ephemeral-token method."""
    _check_version(version, _GEMINI_VERSIONS, "Gemini API")
    method = "BidiGenerateContentConstrained" if constrained else "BidiGenerateContent"
    return f"/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"


def vertex_host(location: str) -> str:
    """Host for a Vertex location: the bare host for ``global`` (``global-aiplatform`` does not
    exist, §1.1), ``aiplatform.{us|eu}.rep.googleapis.com`` for multi-regions."""
    if not location or not location.replace("-", "").isalnum():
        raise ConfigurationError(f"invalid Vertex AI location {location!r} (e.g. 'us-central1')")
    if location == "global":
        return "aiplatform.googleapis.com"
    if location in _MULTI_REGIONAL:
        return f"aiplatform.{location}.rep.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"


def _join(base_url: str, path: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("ws", "wss", "http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base_url must be a ws://, wss://, http:// or https:// URL with a host, got {base_url!r}"
        )
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    prefix = parts.path.rstrip("/")
    return f"{scheme}://{parts.netloc}{prefix}{path}"


def vertex_url(
    location: str, *, version: str = DEFAULT_VERTEX_API_VERSION, base_url: str | None = None
) -> str:
    """Full WebSocket URL of the Vertex AI Live endpoint (single slash, as the docs show)."""
    path = vertex_path(version)
    if base_url is not None:
        return _join(base_url, path)
    return f"wss://{vertex_host(location)}{path}"


def gemini_url(
    *,
    version: str = DEFAULT_GEMINI_API_VERSION,
    constrained: bool = False,
    base_url: str | None = None,
) -> str:
    """Full WebSocket URL of the Gemini API Live endpoint. Credentials are sent as headers,
    never in the URL, so the URL can be logged."""
    path = gemini_path(version, constrained=constrained)
    return _join(base_url or "wss://generativelanguage.googleapis.com", path)


def is_loopback_url(url: str) -> bool:
    """True for URLs on this machine (127.0.0.0/8, ::1, localhost): no proxy, no TLS needed."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


Backend = Literal["vertex", "gemini"]
