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

from ._version import __version__
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

__all__ = [
    "AbnormalClosureError",
    "AudioChunk",
    "AudioFormatError",
    "AuthenticationError",
    "ConcurrencyError",
    "ConfigurationError",
    "ConnectionClosedError",
    "EndpointNotFoundError",
    "Event",
    "GenerationComplete",
    "GoAway",
    "HandshakeError",
    "InputTranscription",
    "Interrupted",
    "InvalidArgumentError",
    "ModelAccessDeniedError",
    "OutputTranscription",
    "ProtocolError",
    "Reconnected",
    "S2STError",
    "ServerError",
    "SessionClosedError",
    "SessionResumptionUpdate",
    "SetupComplete",
    "SetupTimeoutError",
    "TransportError",
    "TurnComplete",
    "UnknownEvent",
    "UnsupportedLanguageError",
    "UsageMetadata",
    "__version__",
]
