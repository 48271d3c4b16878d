"""The connection state of a translation session across its connections (sans-I/O).

[`ClientProtocol`][s2st.protocol.ClientProtocol] keeps the connection state (a small transition
table), numbers the client messages of the current connection and keeps the replay buffer of
messages the server has not yet confirmed (``lastConsumedClientMessageIndex``, §5.5), ready for
a resumed connection.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from s2st.errors import AudioFormatError, ConfigurationError, ProtocolError, SessionClosedError
from s2st.events import AudioChunk, Event, SessionResumptionUpdate, SetupComplete

from .encode import (
    AudioEncoder,
    Casing,
    encode_activity_end,
    encode_activity_start,
    encode_audio_stream_end,
    encode_setup,
)
from .ledger import LEDGER_KINDS as _LEDGER_KINDS
from .ledger import OutputLedger
from .parse import parse_audio_only, parse_server_frame, parse_transcripts_only
from .replay import (
    DEFAULT_REPLAY_WINDOW_S,
    MAX_UNINDEXED_OVERLAP_MS,
    UNSENT,
    ReplayBuffer,
    SentMessage,
)

__all__ = ["ClientProtocol", "ConnectionState"]

_LAG_MEMORY_S = 30.0  # observed delays widen the window for this long

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
        self.events_received = 0  # events parsed from server frames
        self.events_hidden = 0  # ... left out by the ledger (output repeated after a resume)
        self.hidden_output_t = 0.0  # arrival of the latest of those
        #: output delivered since the latest checkpoint, and what to hide after a resume; on
        #: servers without an index it remembers the longest replay window's output too
        self.ledger = OutputLedger(
            history_s=None if track_consumption else max_replay_window_s + 1.0
        )
        self._replay_pending = False

    def replace_setup(self, setup_message: dict[str, Any]) -> None:
        """Use ``setup_message`` instead of the constructor's, before the first connection
        (the model resource of Vertex AI is final only once credentials have loaded)."""
        if self.connections:
            raise ProtocolError("the setup can be replaced only before the first connection")
        encode_setup(setup_message)
        self._setup = setup_message

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
                SentMessage(
                    self.next_index, frame, kind, audio_ms, self._clock(), user, self.connections
                )
            )
            self.next_index += 1
            return frame
        # Between connections, or before replay(): keep it; replay() sends it in order.
        self.replay_buffer.append(SentMessage(UNSENT, frame, kind, audio_ms, 0.0, user))
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

    def unconfirmed_audio(self, *, heard_on: int | None = None) -> tuple[bytes, float]:
        """The user's audio that no server confirmation covers yet, in order: (PCM bytes at the
        configured rate, milliseconds). Held messages never sent are included. ``heard_on``:
        the number of a connection whose closing handshake completed (the server read all
        that was written on it): messages last written there are left out."""
        chunks: list[bytes] = []
        total = 0.0
        for message in self.replay_buffer:
            if message.kind != "audio" or not message.user:
                continue
            if heard_on is not None and message.connection == heard_on:
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
        messages = self.replay_buffer.renumber(self.next_index, self._clock(), self.connections)
        self.next_index += len(messages)
        return messages

    # -- server frames --------------------------------------------------------------------
    def receive(
        self, frame: str | bytes | bytearray | memoryview, t: float | None = None
    ) -> list[Event]:
        """Parse a server frame that arrived at ``t`` (the protocol clock; now by default),
        update the state and return the events to deliver.

        The state is the connection's (``setupComplete``), the resumption's (handle, consumed
        index, confirmed messages, checkpoints) and the output ledger's: after a resume, output
        the server generates again for replayed input is left out or trimmed (see
        ``s2st.protocol.ledger``) and counted in ``events_hidden``.
        `events_received` counts every event parsed.
        """
        now = self._clock() if t is None else t
        if type(frame) is bytes:
            # The hot paths: audio-only and transcript-only frames change no connection or
            # resumption state (any other shape fails their strict schemas).
            if frame.find(b'"inlineData"', 0, 96) >= 0:
                fast = parse_audio_only(frame)
            elif frame.find(b'Transcription"', 0, 48) >= 0:
                fast = parse_transcripts_only(frame)
            else:
                fast = None
            if fast is not None:
                self.events_received += len(fast)
                return self._output(fast, now)
        events = parse_server_frame(frame)
        self.events_received += len(events)
        for event in events:
            if type(event) is AudioChunk:  # the common case, checked first
                continue
            if isinstance(event, SetupComplete):
                self._go("setup_complete")
                self.session_id = event.session_id or self.session_id
        return self._output(events, now)

    def _output(self, events: list[Event], now: float) -> list[Event]:
        """The ledger's pass over one frame's events, in order (a checkpoint splits output
        delivered before it from output after it)."""
        ledger = self.ledger
        out: list[Event] | None = None  # made only when an event is hidden or trimmed
        for i, event in enumerate(events):
            cls = type(event)
            kept: Event | None
            if cls is AudioChunk:
                kept = ledger.filter_audio(event, now)  # type: ignore[arg-type]
            elif cls in _LEDGER_KINDS:
                kept = ledger.filter(event, now)
            else:
                kept = event
                if cls is SetupComplete and self.connections > 1:
                    ledger.resume()  # a later connection replays: expect output again
                elif cls is SessionResumptionUpdate and self._on_resumption_update(event, now):  # type: ignore[arg-type]
                    self._checkpoint(now)
            if kept is not event and out is None:
                out = events[:i]
            if kept is None:
                self.events_hidden += 1
                self.hidden_output_t = now  # regenerated output still counts as activity
            elif out is not None:
                out.append(kept)
        return events if out is None else out

    def _checkpoint(self, now: float) -> None:
        if self.track_consumption:
            self.ledger.checkpoint()
        else:  # no index: output of the replay window will come again after a resume
            self.ledger.checkpoint(now=now, keep_after=now - self.replay_window_s)

    def _on_resumption_update(self, update: SessionResumptionUpdate, now: float) -> bool:
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
                self.replay_buffer.confirm_sent_before(min(ack, now - self.replay_window_s))
        self.checkpoints += 1
        return True


def _with_handle(message: dict[str, Any], handle: str) -> dict[str, Any]:
    setup = dict(message["setup"])
    key = "sessionResumption" if "sessionResumption" in setup else "session_resumption"
    resumption = dict(setup.get(key) or {})
    resumption["handle"] = handle
    setup[key] = resumption
    return {"setup": setup}
