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
    OptionsError,
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
    DeadlineExpiredError,
    EndpointNotFoundError,
    HandshakeError,
    InvalidArgumentError,
    ModelAccessDeniedError,
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
from .events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    Interrupted,
    LatencyMeasurement,
    OutputTranscription,
    Reconnected,
    SessionResumptionUpdate,
    SetupComplete,
    SilentOutputWarning,
    TurnComplete,
    UnknownEvent,
    UsageMetadata,
)
from .languages import SUPPORTED_LANGUAGES, normalize_language
from .reconnect import ReconnectPolicy

if TYPE_CHECKING:
    from ._io.transport import TransportOptions
    from .auth import ApiKey, EphemeralToken, GoogleCredentials, StaticToken
    from .batch import BatchReport, translate_files
    from .client import ConnectOptions, S2STClient
    from .conversation import Conversation, ConversationEvent, Participant
    from .fanout import FanOut, LanguageEvent, SessionFailed
    from .metrics import LatencyTracker, SessionMetrics
    from .segments import Segment, SegmentAggregator
    from .session import S2STSession
    from .stats import SessionStats
    from .translate import (
        TranslationProgress,
        TranslationResult,
        translate_file,
        translate_file_sync,
    )

# Imported on first use: they pull in websockets and (for auth) google-auth.
_LAZY = {
    "ApiKey": "auth",
    "BatchReport": "batch",
    "ConnectOptions": "client",
    "Conversation": "conversation",
    "ConversationEvent": "conversation",
    "EphemeralToken": "auth",
    "FanOut": "fanout",
    "GoogleCredentials": "auth",
    "LanguageEvent": "fanout",
    "LatencyTracker": "metrics",
    "Participant": "conversation",
    "S2STClient": "client",
    "S2STSession": "session",
    "Segment": "segments",
    "SegmentAggregator": "segments",
    "SessionFailed": "fanout",
    "SessionMetrics": "metrics",
    "SessionStats": "stats",
    "StaticToken": "auth",
    "TranslationProgress": "translate",
    "TranslationResult": "translate",
    "TransportOptions": "_io.transport",
    "translate_file": "translate",
    "translate_file_sync": "translate",
    "translate_files": "batch",
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
    "BatchReport",
    "ConcurrencyError",
    "ConfigurationError",
    "ConnectOptions",
    "ConnectionClosedError",
    "ContextWindowCompressionConfig",
    "Conversation",
    "ConversationEvent",
    "DeadlineExpiredError",
    "EndpointNotFoundError",
    "EphemeralToken",
    "Event",
    "FanOut",
    "GenerationComplete",
    "GoAway",
    "GoogleCredentials",
    "HandshakeError",
    "InputTranscription",
    "Interrupted",
    "InvalidArgumentError",
    "LanguageEvent",
    "LatencyMeasurement",
    "LatencyTracker",
    "ModelAccessDeniedError",
    "OptionsError",
    "OutputTranscription",
    "Participant",
    "ProtocolError",
    "QuotaExceededError",
    "RealtimeInputConfig",
    "ReconnectPolicy",
    "Reconnected",
    "S2STClient",
    "S2STError",
    "S2STSession",
    "Segment",
    "SegmentAggregator",
    "ServerError",
    "SessionClosedError",
    "SessionDurationLimitError",
    "SessionFailed",
    "SessionMetrics",
    "SessionResumptionConfig",
    "SessionResumptionUpdate",
    "SessionStats",
    "SetupComplete",
    "SetupTimeoutError",
    "SilentOutputWarning",
    "StaticToken",
    "TranslationConfig",
    "TranslationIncompleteError",
    "TranslationProgress",
    "TranslationResult",
    "TransportError",
    "TransportOptions",
    "TurnComplete",
    "UnconfirmedAudio",
    "UnknownEvent",
    "UnknownSetupFieldError",
    "UnsupportedLanguageError",
    "UnsupportedModelError",
    "UsageMetadata",
    "__version__",
    "normalize_language",
    "translate_file",
    "translate_file_sync",
    "translate_files",
]
