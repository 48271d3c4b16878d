"""s2st: real-time speech-to-speech translation over Google's Live API.

Quick start::

    import s2st

    client = s2st.S2STClient()  # Vertex AI with Application Default Credentials
    async with client.connect(target_language="cmn") as session:
        await session.stream("speech.wav")
        async for event in session:
            ...

The heavy parts (the WebSocket session, google-auth, audio files and devices, the emulator)
are imported on first use, so ``import s2st`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import (
    DEFAULT_MODEL,
    LIVE_TRANSLATE_MODEL,
    ActivityDetection,
    ContextWindowCompressionConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    TranslationConfig,
)
from .errors import (
    AbnormalClosureError,
    AudioFormatError,
    AuthenticationError,
    ConcurrencyError,
    ConfigurationError,
    ConnectionClosedError,
    EndpointNotFoundError,
    HandshakeError,
    InvalidArgumentError,
    ModelAccessDeniedError,
    ProtocolError,
    S2STError,
    ServerError,
    SessionClosedError,
    SetupTimeoutError,
    TransportError,
    UnsupportedLanguageError,
)
from .events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    Interrupted,
    OutputTranscription,
    Reconnected,
    SessionResumptionUpdate,
    SetupComplete,
    TurnComplete,
    UnknownEvent,
    UsageMetadata,
)
from .languages import SUPPORTED_LANGUAGES, normalize_language
from .reconnect import ReconnectPolicy

if TYPE_CHECKING:
    from ._transport import TransportOptions
    from .auth import ApiKey, EphemeralToken, GoogleCredentials, StaticToken
    from .client import S2STClient
    from .session import S2STSession

# Imported on first use: they pull in websockets and (for auth) google-auth.
_LAZY = {
    "ApiKey": "auth",
    "EphemeralToken": "auth",
    "GoogleCredentials": "auth",
    "S2STClient": "client",
    "S2STSession": "session",
    "StaticToken": "auth",
    "TransportOptions": "_transport",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 's2st' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MODEL",
    "LIVE_TRANSLATE_MODEL",
    "SUPPORTED_LANGUAGES",
    "AbnormalClosureError",
    "ActivityDetection",
    "ApiKey",
    "AudioChunk",
    "AudioFormatError",
    "AuthenticationError",
    "ConcurrencyError",
    "ConfigurationError",
    "ConnectionClosedError",
    "ContextWindowCompressionConfig",
    "EndpointNotFoundError",
    "EphemeralToken",
    "Event",
    "GenerationComplete",
    "GoAway",
    "GoogleCredentials",
    "HandshakeError",
    "InputTranscription",
    "Interrupted",
    "InvalidArgumentError",
    "ModelAccessDeniedError",
    "OutputTranscription",
    "ProtocolError",
    "RealtimeInputConfig",
    "ReconnectPolicy",
    "Reconnected",
    "S2STClient",
    "S2STError",
    "S2STSession",
    "ServerError",
    "SessionClosedError",
    "SessionResumptionConfig",
    "SessionResumptionUpdate",
    "SetupComplete",
    "SetupTimeoutError",
    "StaticToken",
    "TranslationConfig",
    "TransportError",
    "TransportOptions",
    "TurnComplete",
    "UnknownEvent",
    "UnsupportedLanguageError",
    "UsageMetadata",
    "__version__",
    "normalize_language",
]
