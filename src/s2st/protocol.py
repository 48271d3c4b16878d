"""The sans-I/O protocol core: client messages out, typed events in. No sockets, no asyncio.

Three layers, each usable on its own:

* [`parse_server_frame()`][s2st.protocol.parse_server_frame] turns one server frame (text or binary, UTF-8 JSON) into a list of
  events. Every field of every message becomes an event; fields we do not model become
  [`UnknownEvent`][s2st.events.UnknownEvent]. Anything that is not a JSON object of the documented
  shapes raises [`ProtocolError`][s2st.errors.ProtocolError] and nothing else.
* Encoders ([`encode_setup()`][s2st.protocol.encode_setup], [`AudioEncoder`][s2st.protocol.AudioEncoder], [`encode_audio_stream_end()`][s2st.protocol.encode_audio_stream_end],
  [`encode_activity_start()`][s2st.protocol.encode_activity_start], [`encode_activity_end()`][s2st.protocol.encode_activity_end]) build the UTF-8 JSON payload of
  each client message. They are meant to be sent as *text* frames, as every SDK does (§3).
* [`ClientProtocol`][s2st.protocol.ClientProtocol] keeps the connection state (a small transition table), numbers the
  client messages of the current connection and keeps the replay buffer of messages the
  server has not yet confirmed (``lastConsumedClientMessageIndex``, §5.5), ready for a
  resumed connection.

Message numbering (PROTOCOL.md §5.5 marks the base as unconfirmed ❓): on each connection the
``setup`` message has index 0 and each later client message the next integer.
``lastConsumedClientMessageIndex == n`` means messages ``0..n`` of the current connection are
in the server's state. This is the convention of the bundled emulator.
"""

from __future__ import annotations

import binascii
import enum
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._parse import (  # re-exported: the parsing half of the protocol core
    _parse_audio_only,
    parse_duration,
    parse_server_frame,
    sample_rate_from_mime,
)
from .errors import AudioFormatError, ConfigurationError, ProtocolError, SessionClosedError
from .events import (
    AudioChunk,
    Event,
    SessionResumptionUpdate,
    SetupComplete,
)

__all__ = [
    "DEFAULT_REPLAY_WINDOW_S",
    "MAX_UNINDEXED_OVERLAP_MS",
    "AudioEncoder",
    "Casing",
    "ClientProtocol",
    "ConnectionState",
    "ReplayBuffer",
    "SentMessage",
    "encode_activity_end",
    "encode_activity_start",
    "encode_audio",
    "encode_audio_stream_end",
    "encode_setup",
    "parse_duration",
    "parse_server_frame",
    "sample_rate_from_mime",
]

logger = logging.getLogger("s2st.protocol")

Casing = Literal["snake", "camel"]
"""Key casing of client messages: ``"snake"`` as Google's S2ST sample, ``"camel"`` as the docs."""

_INT16 = np.dtype("<i2")

#: Servers that send no ``lastConsumedClientMessageIndex`` (the Gemini API): messages sent
#: within this many seconds before a resumable handle stay replayable (the window's floor).
DEFAULT_REPLAY_WINDOW_S = 2.0

#: The cap of that window, in milliseconds: the most input a resume on such a server can replay
#: that the server had already consumed (the honest price of an index the server does not give).
MAX_UNINDEXED_OVERLAP_MS = 30_000

_LAG_MEMORY_S = 30.0  # observed delays widen the window for this long

# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_setup(message: dict[str, Any]) -> bytes:
    """Encode a complete ``{"setup": {...}}`` message (see ``TranslationConfig.build_setup``).

    Raises:
        ConfigurationError: not a dict with exactly the key ``"setup"`` holding a dict, or a
            value that JSON cannot represent.
    """
    if (
        not isinstance(message, dict)
        or set(message) != {"setup"}
        or not isinstance(message["setup"], dict)
    ):
        raise ConfigurationError("a setup message must be a dict with exactly one key, 'setup'")
    try:
        # allow_nan=False: NaN/Infinity are not JSON and the server would reject the setup.
        return json.dumps(
            message, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the setup message is not JSON-serialisable: {exc}") from None


_REALTIME_KEY: dict[Casing, str] = {"snake": "realtime_input", "camel": "realtimeInput"}
_MIME_KEY: dict[Casing, str] = {"snake": "mime_type", "camel": "mimeType"}


class AudioEncoder:
    """Build ``realtimeInput.audio`` messages from 16-bit PCM bytes with a prebuilt template.

    The JSON around the base64 text never changes for a given rate and casing, so each message
    is ``prefix + base64 + suffix``: several times cheaper than ``json.dumps`` of a dict.
    """

    __slots__ = ("_prefix", "_suffix", "casing", "mime_type", "sample_rate")

    def __init__(self, *, sample_rate: int = 16_000, casing: Casing = "snake") -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ConfigurationError(f"sample_rate must be a positive int, got {sample_rate!r}")
        if casing not in _REALTIME_KEY:
            raise ConfigurationError(f"casing must be 'snake' or 'camel', got {casing!r}")
        self.sample_rate = sample_rate
        self.casing: Casing = casing
        self.mime_type = f"audio/pcm;rate={sample_rate}"
        self._prefix = (
            f'{{"{_REALTIME_KEY[casing]}":{{"audio":{{"{_MIME_KEY[casing]}":"{self.mime_type}",'
            '"data":"'
        ).encode("ascii")
        self._suffix = b'"}}}'

    def encode(self, pcm: bytes | bytearray | memoryview) -> bytes:
        """Return the UTF-8 JSON payload for one chunk of little-endian int16 mono PCM."""
        return b"".join((self._prefix, binascii.b2a_base64(pcm, newline=False), self._suffix))

    def decode(self, frame: bytes) -> bytes:
        """The PCM inside a payload made by [`encode()`][s2st.protocol.AudioEncoder.encode] (the inverse)."""
        return binascii.a2b_base64(frame[len(self._prefix) : len(frame) - len(self._suffix)])


def encode_audio(
    pcm: bytes | bytearray | memoryview, *, sample_rate: int = 16_000, casing: Casing = "snake"
) -> bytes:
    """One-off form of [`AudioEncoder.encode()`][s2st.protocol.AudioEncoder.encode]."""
    return AudioEncoder(sample_rate=sample_rate, casing=casing).encode(pcm)


def encode_audio_stream_end(*, casing: Casing = "snake") -> bytes:
    """``realtimeInput.audioStreamEnd``: the microphone paused; flush cached audio (§4.2)."""
    key = "audio_stream_end" if casing == "snake" else "audioStreamEnd"
    return _dumps({_REALTIME_KEY[casing]: {key: True}})


def encode_activity_start(*, casing: Casing = "snake") -> bytes:
    """``realtimeInput.activityStart`` (only with automatic activity detection disabled)."""
    key = "activity_start" if casing == "snake" else "activityStart"
    return _dumps({_REALTIME_KEY[casing]: {key: {}}})


def encode_activity_end(*, casing: Casing = "snake") -> bytes:
    """``realtimeInput.activityEnd`` (only with automatic activity detection disabled)."""
    key = "activity_end" if casing == "snake" else "activityEnd"
    return _dumps({_REALTIME_KEY[casing]: {key: {}}})


# --------------------------------------------------------------------------------------------
# State and resumption bookkeeping
# --------------------------------------------------------------------------------------------


class ConnectionState(enum.Enum):
    """Where a [`ClientProtocol`][s2st.protocol.ClientProtocol] stands on its current connection."""

    IDLE = "idle"  # no connection (before the first, or between two)
    SETUP_SENT = "setup_sent"  # setup written, waiting for setupComplete
    ACTIVE = "active"  # setupComplete received; client messages may flow
    CLOSED = "closed"  # closed for good


_TRANSITIONS: dict[tuple[ConnectionState, str], ConnectionState] = {
    (ConnectionState.IDLE, "setup"): ConnectionState.SETUP_SENT,
    (ConnectionState.SETUP_SENT, "setup_complete"): ConnectionState.ACTIVE,
    (ConnectionState.SETUP_SENT, "lost"): ConnectionState.IDLE,
    (ConnectionState.ACTIVE, "lost"): ConnectionState.IDLE,
    (ConnectionState.IDLE, "lost"): ConnectionState.IDLE,
    (ConnectionState.IDLE, "close"): ConnectionState.CLOSED,
    (ConnectionState.SETUP_SENT, "close"): ConnectionState.CLOSED,
    (ConnectionState.ACTIVE, "close"): ConnectionState.CLOSED,
    (ConnectionState.CLOSED, "close"): ConnectionState.CLOSED,
    (ConnectionState.CLOSED, "lost"): ConnectionState.CLOSED,
}


_UNSENT = 2**62  # index of a message held while no connection is active


@dataclass(slots=True)
class SentMessage:
    """A client message kept until the server confirms it consumed it.

    Attributes:
        index: its index on the current connection; a placeholder larger than any real index
            while it waits to be sent (held between connections, or unconfirmed when the last
            connection was lost), so that no ``lastConsumedClientMessageIndex`` confirms it.
        frame: the exact payload sent.
        kind: ``"audio"``, ``"audio_stream_end"``, ``"activity_start"`` or ``"activity_end"``.
        audio_ms: milliseconds of audio it carries (0 for control messages).
        sent_at: the protocol clock when it was last handed out to be written (its replay
            included); used to confirm messages on servers that send no index.
        user: ``False`` for audio the client added itself (``end_audio()``'s trailing
            silence): never reported as the user's unconfirmed audio.
    """

    index: int
    frame: bytes
    kind: str
    audio_ms: float = 0.0
    sent_at: float = 0.0
    user: bool = True


class ReplayBuffer:
    """Client messages sent but not yet confirmed by ``lastConsumedClientMessageIndex``.

    Bounded by ``max_bytes``: when full, the oldest messages are dropped and counted in
    `dropped_messages` / `dropped_audio_ms` (reported, never silent).
    """

    def __init__(self, *, max_bytes: int | None = 16 * 1024 * 1024) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise ConfigurationError("max_replay_bytes must be positive or None")
        self.max_bytes = max_bytes
        self._items: deque[SentMessage] = deque()
        self._bytes = 0
        self.dropped_messages = 0
        self.dropped_audio_ms = 0.0
        self._overflowing = False

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[SentMessage]:
        return iter(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes of payload held."""
        return self._bytes

    @property
    def audio_ms(self) -> float:
        """Milliseconds of audio held."""
        return sum(m.audio_ms for m in self._items)

    def append(self, message: SentMessage) -> None:
        """Keep ``message``; drop the oldest ones if over ``max_bytes``."""
        self._items.append(message)
        self._bytes += len(message.frame)
        if self.max_bytes is not None and self._bytes > self.max_bytes:
            while self._bytes > self.max_bytes and len(self._items) > 1:
                old = self._items.popleft()
                self._bytes -= len(old.frame)
                self.dropped_messages += 1
                self.dropped_audio_ms += old.audio_ms
            if not self._overflowing:
                # Once per overflow (until the server confirms again), not once per send: a
                # server that never confirms would otherwise log on every message.
                self._overflowing = True
                logger.warning(
                    "replay buffer full (%d bytes): dropping the oldest unconfirmed audio "
                    "(%.0f ms so far); it can no longer be replayed after a reconnection",
                    self.max_bytes,
                    self.dropped_audio_ms,
                )

    def last(self) -> SentMessage | None:
        """The newest message held, or ``None``."""
        return self._items[-1] if self._items else None

    def confirm(self, last_consumed_index: int) -> int:
        """Forget messages with ``index <= last_consumed_index``; return how many."""
        n = 0
        while self._items and self._items[0].index <= last_consumed_index:
            old = self._items.popleft()
            self._bytes -= len(old.frame)
            n += 1
        if n:
            self._overflowing = False
        return n

    def confirm_all(self) -> int:
        """Forget every message sent on the current connection (used when the server state is
        known to include them all); messages still waiting to be sent are kept."""
        return self.confirm(_UNSENT - 1)

    def confirm_sent_before(self, cutoff: float) -> int:
        """Forget the messages sent on the current connection at or before ``cutoff`` (protocol
        clock); return how many. Messages held for the next connection are kept."""
        n = 0
        items = self._items
        while items and items[0].index != _UNSENT and items[0].sent_at <= cutoff:
            old = items.popleft()
            self._bytes -= len(old.frame)
            n += 1
        if n:
            self._overflowing = False
        return n

    def mark_unsent(self) -> None:
        """The connection was lost: every held message must be sent again on the next one."""
        for message in self._items:
            message.index = _UNSENT

    def renumber(self, first_index: int, sent_at: float = 0.0) -> list[SentMessage]:
        """Give the held messages consecutive indices from ``first_index`` (for a replay on a
        new connection), stamp them ``sent_at``, and return them in order."""
        for offset, message in enumerate(self._items):
            message.index = first_index + offset
            message.sent_at = sent_at
        return list(self._items)


class ClientProtocol:
    """Sans-I/O state of one logical translation session across its connections.

    Typical use by an I/O layer::

        proto = ClientProtocol(setup_message, casing="snake", track_consumption=True)
        ws.send(proto.start())                 # new connection -> setup frame
        for frame in ws: events = proto.receive(frame)   # SetupComplete -> ACTIVE
        ws.send(proto.audio(pcm))              # numbered, kept for replay until confirmed
        ...connection lost...
        proto.connection_lost()
        ws2.send(proto.start(resume_handle=proto.resumption_handle))
        ... SetupComplete ...
        for frame in proto.replay(): ws2.send(frame)

    Args:
        setup_message: the ``{"setup": {...}}`` dict for a fresh session (a resumed one gets
            the handle patched in by [`start()`][s2st.protocol.ClientProtocol.start]).
        casing: key casing of realtime messages (match the setup's casing).
        sample_rate: rate of the PCM passed to [`audio()`][s2st.protocol.ClientProtocol.audio].
        track_consumption: keep messages until ``lastConsumedClientMessageIndex`` confirms
            them (Vertex ``transparent`` mode). Without it (the Gemini API sends no index), a
            resumable update confirms only the messages sent more than
            [`replay_window_s`][s2st.protocol.ClientProtocol.replay_window_s] before it arrived *and* before a WebSocket ping that the
            server answered ([`ping_sent()`][s2st.protocol.ClientProtocol.ping_sent], [`pong_received()`][s2st.protocol.ClientProtocol.pong_received]): the rest may still
            have been in flight when the server made the handle, so they stay replayable.
        max_replay_bytes: bound of the replay buffer (``None`` = unbounded).
        clock: monotonic clock (seconds) stamping sent messages and updates.
        replay_window_s: the floor of the window for servers that send no index.
        max_replay_window_s: its cap (bounds the input a resume may replay twice).
    """

    def __init__(
        self,
        setup_message: dict[str, Any],
        *,
        casing: Casing = "snake",
        sample_rate: int = 16_000,
        track_consumption: bool = True,
        max_replay_bytes: int | None = 16 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
        replay_window_s: float = DEFAULT_REPLAY_WINDOW_S,
        max_replay_window_s: float = MAX_UNINDEXED_OVERLAP_MS / 1000,
    ) -> None:
        if not 0 < replay_window_s <= max_replay_window_s:
            raise ConfigurationError(
                "replay_window_s must be positive and at most max_replay_window_s, got "
                f"{replay_window_s!r} and {max_replay_window_s!r}"
            )
        encode_setup(setup_message)  # validates the shape early
        self._clock = clock
        self._window_floor_s = replay_window_s
        self._window_cap_s = max_replay_window_s
        self._lags: deque[tuple[float, float]] = deque(maxlen=64)
        self._ping_ack: float | None = None  # send time of the latest answered ping
        self._ping_wanted = False
        self._setup = setup_message
        self.casing: Casing = casing
        self.track_consumption = track_consumption
        self._encoder = AudioEncoder(sample_rate=sample_rate, casing=casing)
        self._bytes_per_ms = sample_rate * 2 / 1000.0
        self.state = ConnectionState.IDLE
        self.connections = 0
        self.next_index = 0
        self.resumption_handle: str | None = None
        self.last_consumed_index: int | None = None
        self.session_id: str | None = None
        self.replay_buffer = ReplayBuffer(max_bytes=max_replay_bytes)
        self.checkpoints = 0  # resumable updates received so far
        self._replay_pending = False

    # -- transitions ----------------------------------------------------------------------
    def _go(self, action: str) -> None:
        try:
            self.state = _TRANSITIONS[(self.state, action)]
        except KeyError:
            if self.state is ConnectionState.CLOSED:
                raise SessionClosedError("the session is closed") from None
            raise ProtocolError(
                f"cannot {action.replace('_', ' ')} while {self.state.value}"
            ) from None

    def start(self, *, resume_handle: str | None = None) -> bytes:
        """Begin a new connection: return the setup frame (message index 0).

        With ``resume_handle`` the setup asks the server to restore that session state.
        """
        self._go("setup")
        self.connections += 1
        self.next_index = 1
        self._ping_ack, self._ping_wanted = None, False
        # On a later connection, or with messages held, new messages must wait until replay()
        # has re-sent the held ones: the server must see them in their original order.
        self._replay_pending = self.connections > 1 or len(self.replay_buffer) > 0
        self.last_consumed_index = None
        message = self._setup
        if resume_handle is not None:
            message = _with_handle(message, resume_handle)
        return encode_setup(message)

    def connection_lost(self) -> None:
        """The current connection ended; unconfirmed messages stay in the replay buffer."""
        self._go("lost")
        # Their old indices mean nothing on the next connection; until replay() renumbers
        # them, no update from the new connection may confirm them.
        self.replay_buffer.mark_unsent()

    def close(self) -> None:
        """The session is over; any further send raises [`SessionClosedError`][s2st.errors.SessionClosedError]."""
        self._go("close")

    # -- client messages ------------------------------------------------------------------
    def _record(
        self, frame: bytes, kind: str, audio_ms: float = 0.0, user: bool = True
    ) -> bytes | None:
        if self.state is ConnectionState.CLOSED:
            raise SessionClosedError(f"the session is closed; cannot send {kind}")
        if self.state is ConnectionState.ACTIVE and not self._replay_pending:
            self.replay_buffer.append(
                SentMessage(self.next_index, frame, kind, audio_ms, self._clock(), user)
            )
            self.next_index += 1
            return frame
        # Between connections, or before replay(): keep it; replay() sends it in order.
        self.replay_buffer.append(SentMessage(_UNSENT, frame, kind, audio_ms, 0.0, user))
        # Held during SETUP_SENT of a first connection too: later messages must queue behind it.
        self._replay_pending = True
        return None

    def audio(self, pcm: bytes | bytearray | memoryview, *, user: bool = True) -> bytes | None:
        """Return the frame to send for one chunk of int16 mono PCM at the configured rate.

        Returns ``None`` when no connection is active: the message is then held and goes out
        with [`replay()`][s2st.protocol.ClientProtocol.replay] once the next connection is set up (nothing is lost). ``user=False``
        marks audio the client adds itself (trailing silence), which
        [`unconfirmed_audio()`][s2st.protocol.ClientProtocol.unconfirmed_audio] does not report.

        Raises:
            AudioFormatError: ``pcm`` has an odd number of bytes (not 16-bit samples).
        """
        nbytes = pcm.nbytes if isinstance(pcm, memoryview) else len(pcm)
        if nbytes % 2:
            raise AudioFormatError(
                f"PCM chunk has an odd number of bytes ({nbytes}); pass whole 16-bit samples"
            )
        return self._record(self._encoder.encode(pcm), "audio", nbytes / self._bytes_per_ms, user)

    def unconfirmed_audio(self, *, sent: bool = True) -> tuple[bytes, float]:
        """The user's audio that no server confirmation covers yet, in order: (PCM bytes at the
        configured rate, milliseconds). Held messages never sent are included; with
        ``sent=False`` only those (after a clean closing handshake the server has read
        everything that was sent)."""
        chunks: list[bytes] = []
        total = 0.0
        for message in self.replay_buffer:
            if message.kind != "audio" or not message.user:
                continue
            if not sent and message.index != _UNSENT:
                continue
            chunks.append(self._encoder.decode(message.frame))
            total += message.audio_ms
        return b"".join(chunks), total

    @property
    def replay_window_s(self) -> float:
        """How long before a resumable update a message must have been sent for the update to
        confirm it, on servers that send no ``lastConsumedClientMessageIndex``: one and a half
        times the largest delay observed in the last `_LAG_MEMORY_S` seconds (see
        [`observe_lag()`][s2st.protocol.ClientProtocol.observe_lag]), at least the floor and at most the cap given to the
        constructor."""
        recent = self._clock() - _LAG_MEMORY_S
        lags = self._lags
        while lags and lags[0][0] < recent:
            lags.popleft()
        lag = max((lag for _, lag in lags), default=0.0)
        return min(self._window_cap_s, max(self._window_floor_s, 1.5 * lag))

    @property
    def ping_wanted(self) -> bool:
        """True when the I/O layer should send a WebSocket ping now and report it with
        [`ping_sent()`][s2st.protocol.ClientProtocol.ping_sent] / [`pong_received()`][s2st.protocol.ClientProtocol.pong_received] (servers without a consumed index only)."""
        return self._ping_wanted and self.state is ConnectionState.ACTIVE

    def ping_sent(self) -> tuple[int, float]:
        """A ping goes out now; returns the token to pass to [`pong_received()`][s2st.protocol.ClientProtocol.pong_received]."""
        self._ping_wanted = False
        return self.connections, self._clock()

    def pong_received(self, token: tuple[int, float]) -> None:
        """The pong of the ping of ``token`` arrived: the server has read every message sent
        before that ping (RFC 6455 frames are in order), so a later handle may cover them."""
        connection, sent_at = token
        if connection != self.connections:
            return  # a pong of an earlier connection proves nothing about this one
        self._ping_ack = sent_at if self._ping_ack is None else max(self._ping_ack, sent_at)
        self.observe_lag(self._clock() - sent_at)

    def observe_lag(self, lag_s: float) -> None:
        """Record a delay that an update may be late by: a round trip, or a gap in the server's
        frames (a server that held its output back sends a handle made that long ago, and
        messages sent meanwhile are not in it)."""
        if lag_s >= 0 and lag_s == lag_s:  # not NaN
            self._lags.append((self._clock(), float(lag_s)))

    def audio_stream_end(self) -> bytes | None:
        """Return the ``audioStreamEnd`` frame."""
        return self._record(encode_audio_stream_end(casing=self.casing), "audio_stream_end")

    def activity_start(self) -> bytes | None:
        """Return the ``activityStart`` frame (manual activity detection)."""
        return self._record(encode_activity_start(casing=self.casing), "activity_start")

    def activity_end(self) -> bytes | None:
        """Return the ``activityEnd`` frame (manual activity detection)."""
        return self._record(encode_activity_end(casing=self.casing), "activity_end")

    def last_message(self) -> SentMessage | None:
        """The most recent message not yet confirmed by the server (``None`` if all are)."""
        return self.replay_buffer.last()

    def replay(self) -> list[SentMessage]:
        """After ``setupComplete`` on a new connection: renumber the unconfirmed messages as the
        next messages of this connection and return them, to be sent in order."""
        if self.state is ConnectionState.CLOSED:
            raise SessionClosedError("the session is closed; cannot replay")
        if self.state is not ConnectionState.ACTIVE:
            raise ProtocolError(f"cannot replay while {self.state.value}")
        self._replay_pending = False
        messages = self.replay_buffer.renumber(self.next_index, self._clock())
        self.next_index += len(messages)
        return messages

    # -- server frames --------------------------------------------------------------------
    def receive(self, frame: str | bytes | bytearray | memoryview) -> list[Event]:
        """Parse a server frame and update the state; return its events."""
        if type(frame) is bytes and frame.find(b'"inlineData"', 0, 96) >= 0:
            # The hot path: an audio-only frame changes no state, so skip the loop below.
            fast = _parse_audio_only(frame)
            if fast is not None:
                return fast
        events = parse_server_frame(frame)
        for event in events:
            if type(event) is AudioChunk:  # the common case, checked first
                continue
            if isinstance(event, SetupComplete):
                self._go("setup_complete")
                self.session_id = event.session_id or self.session_id
            elif isinstance(event, SessionResumptionUpdate):
                self._on_resumption_update(event)
        return events

    def _on_resumption_update(self, update: SessionResumptionUpdate) -> bool:
        """Apply an update; True when it is a new checkpoint (a resumable handle).

        Only resumable updates confirm messages: a resumed connection starts from the latest
        *handle*, so everything after that handle's consumed index must stay replayable, even
        if a later non-resumable update reports a higher index (conservative, §5.5 ❓)."""
        if not (update.resumable and update.new_handle):
            return False
        self.resumption_handle = update.new_handle
        index = update.last_consumed_client_message_index
        if index is not None:
            self.last_consumed_index = index
            self.replay_buffer.confirm(index)
        elif not self.track_consumption:
            # No index (the Gemini API): the handle covers what the server had consumed when
            # it made it, which excludes whatever was still in flight. Confirm only what is
            # older than the window AND provably read: sent before a ping the server answered.
            self._ping_wanted = True
            ack = self._ping_ack
            if ack is not None:
                self.replay_buffer.confirm_sent_before(
                    min(ack, self._clock() - self.replay_window_s)
                )
        self.checkpoints += 1
        return True


def _with_handle(message: dict[str, Any], handle: str) -> dict[str, Any]:
    setup = dict(message["setup"])
    key = "sessionResumption" if "sessionResumption" in setup else "session_resumption"
    resumption = dict(setup.get(key) or {})
    resumption["handle"] = handle
    setup[key] = resumption
    return {"setup": setup}


def frames_of(messages: Iterable[SentMessage]) -> list[bytes]:
    """The payloads of ``messages``, in order."""
    return [m.frame for m in messages]
