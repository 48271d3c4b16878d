"""Typed, immutable events produced from server frames.

One server frame can yield several events (for example an ``inputTranscription``, an
``outputTranscription`` and a ``modelTurn`` in the same ``serverContent``). Events are plain
frozen dataclasses: cheap to build, safe to share between tasks, and easy to match on::

    match event:
        case s2st.InputTranscription(text=text):
            ...
        case s2st.AudioChunk() as chunk:
            player.write(chunk.data)

Every event class has a ``type`` class attribute (a short string such as ``"audio"``) for logs
and serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "AudioChunk",
    "Event",
    "GenerationComplete",
    "GoAway",
    "InputTranscription",
    "Interrupted",
    "LatencyMeasurement",
    "OutputTranscription",
    "Reconnected",
    "SessionResumptionUpdate",
    "SetupComplete",
    "SilentOutputWarning",
    "TurnComplete",
    "UnknownEvent",
    "UsageMetadata",
]

#: Sample rate of the translated speech when the server's MIME type does not say (PROTOCOL.md §7).
DEFAULT_OUTPUT_SAMPLE_RATE = 24_000

#: Peak absolute sample value at or below which audio counts as silence (EVIDENCE.md row 7: the
#: live-translate model streams PCM silence forever; vercel/ai uses the same threshold). 128 of
#: 32767 is -48 dBFS: dither, codec noise and DC offsets of digital silence stay under it, while
#: any audible speech goes far above it.
SILENCE_PEAK = 128


@dataclass(frozen=True, slots=True)
class SetupComplete:
    """The server accepted ``setup``; audio may now be sent.

    Attributes:
        session_id: the server's session id, when it sends one (PROTOCOL.md §5.1).
    """

    type: ClassVar[str] = "setup_complete"
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputTranscription:
    """A fragment of the transcript of the *source* speech (what the speaker said).

    Fragments are deltas: concatenate them in order to get the running transcript
    (PROTOCOL.md §5.2). ``finished`` is rarely set by the server.
    """

    type: ClassVar[str] = "input_transcription"
    text: str
    finished: bool = False
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class OutputTranscription:
    """A fragment of the *translated* text in the target language. Deltas, like
    [`InputTranscription`][s2st.events.InputTranscription]."""

    type: ClassVar[str] = "output_transcription"
    text: str
    finished: bool = False
    language_code: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class AudioChunk:
    """Translated speech: mono signed 16-bit PCM.

    Attributes:
        data: a read-only 1-D ``numpy.int16`` array, a zero-copy view over the decoded bytes.
        sample_rate: samples per second, parsed from the MIME type (24 kHz when absent).
        mime_type: the MIME type as sent by the server.
    """

    type: ClassVar[str] = "audio"
    data: npt.NDArray[np.int16]
    sample_rate: int = DEFAULT_OUTPUT_SAMPLE_RATE
    mime_type: str = "audio/pcm;rate=24000"
    # `voiced`, computed once: the ledger, the finish clock and the metrics all ask.
    _voiced: bool | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.data) / self.sample_rate

    @property
    def pcm(self) -> bytes:
        """The samples as little-endian int16 bytes."""
        return self.data.astype("<i2", copy=False).tobytes()

    @property
    def voiced(self) -> bool:
        """True if any sample's magnitude exceeds `SILENCE_PEAK` (128, about -48 dBFS).

        The server streams PCM silence when it has nothing to say (EVIDENCE.md row 7); such
        chunks are not translation. Computed on the first call (one ``memcmp`` for digital
        silence, else two reductions over the samples, no copy) and remembered, so it costs
        nothing for code that does not ask and nothing more for a second caller.
        """
        voiced = self._voiced
        if voiced is None:
            voiced = chunk_voiced(self.data)
            object.__setattr__(self, "_voiced", voiced)
        return voiced

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AudioChunk):
            return NotImplemented
        return (
            self.sample_rate == other.sample_rate
            and self.mime_type == other.mime_type
            and np.array_equal(self.data, other.data)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"AudioChunk(samples={len(self.data)}, sample_rate={self.sample_rate}, "
            f"duration_s={self.duration_s:.3f})"
        )


_ZEROS: dict[int, bytes] = {}
_max, _min = np.maximum.reduce, np.minimum.reduce


def chunk_voiced(data: npt.NDArray[np.int16]) -> bool:
    """True if the int16 samples ``data`` hold anything louder than `SILENCE_PEAK`.

    Digital silence (all zero, what the live-translate model streams) is recognised by one
    ``memcmp`` of the decoded bytes; other chunks take two numpy reductions."""
    n = data.nbytes
    if not n:
        return False
    base: object = data.base
    if type(base) is bytes and len(base) == n:
        zeros = _ZEROS.get(n)
        if zeros is None:
            zeros = bytes(n)
            if len(_ZEROS) < 32:
                _ZEROS[n] = zeros
        if base == zeros:
            return False
    # The ufuncs' reductions directly: ndarray.max() adds a Python-level wrapper per call.
    return bool(_max(data) > SILENCE_PEAK or _min(data) < -SILENCE_PEAK)


@dataclass(frozen=True, slots=True)
class TurnComplete:
    """The model finished a turn (``serverContent.turnComplete``).

    S2ST is continuous: more events follow as more audio is sent; iteration does not stop here.

    Attributes:
        reason: ``turnCompleteReason`` when the server gives one.
    """

    type: ClassVar[str] = "turn_complete"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SilentOutputWarning:
    """The user sent several seconds of speech and the server answered only with silence.

    Emitted once per session (``silence_warning_s`` of ``connect()``; ``None`` disables it),
    also logged as a WARNING. The real service fails this way without an error when a setup
    field is lost on the way (a proxy that drops ``translationConfig`` got all-zero audio,
    EVIDENCE.md row 15), and also when the input is not speech in a language the model
    hears, or the microphone delivers near-silence at the wrong sample rate.

    Attributes:
        speech_sent_s: seconds of speech (20 ms frames at or above the speech level) sent.
        output_audio_s: seconds of audio received, all of it silence.
        message: what happened and what usually causes it.
    """

    type: ClassVar[str] = "silent_output_warning"
    speech_sent_s: float
    output_audio_s: float
    message: str


@dataclass(frozen=True, slots=True)
class GenerationComplete:
    """The model finished generating for the current input (``serverContent.generationComplete``)."""

    type: ClassVar[str] = "generation_complete"


@dataclass(frozen=True, slots=True)
class Interrupted:
    """Client activity cut the generation short; flush any playback queue."""

    type: ClassVar[str] = "interrupted"


@dataclass(frozen=True, slots=True)
class GoAway:
    """The server will end this connection soon (``goAway.timeLeft``).

    The session reconnects by itself before the deadline when reconnection is enabled.
    """

    type: ClassVar[str] = "go_away"
    time_left: timedelta


@dataclass(frozen=True, slots=True)
class SessionResumptionUpdate:
    """A new resumption state from the server (PROTOCOL.md §5.5).

    Attributes:
        new_handle: handle to resume from; ``None`` when not resumable.
        resumable: whether resuming now would lose nothing.
        last_consumed_client_message_index: index of the last client message included in the
            server state (Vertex ``transparent`` mode only).
    """

    type: ClassVar[str] = "session_resumption_update"
    new_handle: str | None = None
    resumable: bool = False
    last_consumed_client_message_index: int | None = None


@dataclass(frozen=True, slots=True)
class UsageMetadata:
    """Token accounting (``usageMetadata``), normalised across backends.

    ``response_token_count`` is read from ``responseTokenCount`` (Gemini API) or
    ``candidatesTokenCount`` (Vertex). ``raw`` keeps the whole object as sent.
    """

    type: ClassVar[str] = "usage"
    prompt_token_count: int | None = None
    response_token_count: int | None = None
    total_token_count: int | None = None
    cached_content_token_count: int | None = None
    thoughts_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The session moved to a new connection (after ``goAway`` or a lost connection).

    Attributes:
        reason: why (``"go_away"``, ``"closed 1011"``, ``"closed 1006"``, ...).
        resumed: True when server state was restored from a resumption handle; False when a
            fresh session had to be started (context lost).
        attempt: how many connection attempts it took (1 = first try succeeded).
        downtime_s: seconds between losing the old connection and ``setupComplete`` on the new.
        replayed_messages: client messages sent again because the server had not consumed them.
        replayed_audio_ms: milliseconds of audio among the replayed messages.
    """

    type: ClassVar[str] = "reconnected"
    reason: str
    resumed: bool
    attempt: int = 1
    downtime_s: float = 0.0
    replayed_messages: int = 0
    replayed_audio_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class LatencyMeasurement:
    """A new ear-to-voice lag, known when translated output segment ``segment`` began
    (see `s2st.metrics` for the definition and its limits).

    Attributes:
        segment: index of the output segment (0-based).
        lag_s: seconds from when the source speech began to be sent to when its translated
            audio began to arrive.
        at_s: when it was measured, seconds since the first audio was sent.
    """

    type: ClassVar[str] = "latency"
    segment: int
    lag_s: float
    at_s: float


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """A server field that ``s2st`` does not model. Kept verbatim, never an error.

    Attributes:
        key: the field name, dotted from the top of the message (e.g. ``"serverContent.foo"``).
        payload: its JSON value as received.
    """

    type: ClassVar[str] = "unknown"
    key: str
    payload: Any = None


Event: TypeAlias = (
    SetupComplete
    | InputTranscription
    | OutputTranscription
    | AudioChunk
    | TurnComplete
    | GenerationComplete
    | Interrupted
    | GoAway
    | SessionResumptionUpdate
    | UsageMetadata
    | Reconnected
    | LatencyMeasurement
    | SilentOutputWarning
    | UnknownEvent
)
"""Any event yielded by a session."""
