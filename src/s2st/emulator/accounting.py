"""What the emulator records, for tests to assert on.

Message indices count every client message on a connection, **setup included**: the setup is
message 0 and the first ``realtimeInput`` is message 1. ``lastConsumedClientMessageIndex`` uses
the same base.

"Consumed" audio: an audio message is consumed by a connection when the engine processed it.
A resumed connection starts from the state of its handle: the audio consumed up to that handle
(``base_digests``) plus what it consumes itself. Audio a dropped connection consumed *after* its
last handle is not part of the resumed session's state (it is lost server-side; the client must
replay it). [`Emulator.consumed_audio_digests()`][s2st.emulator.Emulator.consumed_audio_digests] reports, per logical session in creation
order, the state of its latest connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConnectionRecord", "ReceivedMessage"]


@dataclass(frozen=True)
class ReceivedMessage:
    """One client message: index (setup = 0), kind, a short summary (sizes, never payloads),
    seconds since the connection opened, and for audio the sha1 of the decoded PCM."""

    index: int
    kind: str
    payload_summary: str
    t: float
    digest: str | None = None


@dataclass
class ConnectionRecord:
    """Everything the emulator saw on one connection (``index`` 0 = first accepted).

    ``frames_sent`` counts every server frame written, ``silence_frames_sent`` those that were
    streamed PCM silence; ``server_session_id`` is the Vertex ``setupComplete.sessionId``."""

    index: int
    path: str
    headers: dict[str, str]
    backend: str
    session_id: int | None = None
    setup: dict[str, Any] | None = None
    messages: list[ReceivedMessage] = field(default_factory=list)
    audio: list[bytes] = field(default_factory=list)
    audio_message_indices: list[int] = field(default_factory=list)
    audio_digests: list[str] = field(default_factory=list)
    base_digests: list[str] = field(default_factory=list)
    base_audio: list[bytes] = field(default_factory=list)
    consumed_through: int | None = None
    close_code: int | None = None
    close_reason: str | None = None
    resumed_from_handle: str | None = None
    handles_issued: list[str] = field(default_factory=list)
    frames_sent: int = 0
    silence_frames_sent: int = 0
    server_session_id: str | None = None
    faults_fired: list[str] = field(default_factory=list)
    open: bool = True

    @property
    def consumed_audio_digests(self) -> list[str]:
        """Digests of the session state of this connection: inherited plus consumed here."""
        return [*self.base_digests, *self.audio_digests]

    def kinds(self) -> list[str]:
        """Kinds of the received messages in order (handy in assertions)."""
        return [m.kind for m in self.messages]
