"""The sans-I/O protocol core: client messages out, typed events in. No sockets, no asyncio.

Layers, each usable on its own (and each a module of this package):

* [`parse_server_frame()`][s2st.protocol.parse_server_frame] (``s2st.protocol.parse``, over the
  wire models of ``s2st.protocol.wire``) turns one server frame (text or binary, UTF-8 JSON)
  into a list of events. Every field of every message becomes an event; fields we do not model
  become [`UnknownEvent`][s2st.events.UnknownEvent]. Anything that is not a JSON object of the
  documented shapes raises [`ProtocolError`][s2st.errors.ProtocolError] and nothing else.
* Encoders (``s2st.protocol.encode``: [`encode_setup()`][s2st.protocol.encode_setup],
  [`AudioEncoder`][s2st.protocol.AudioEncoder], [`encode_audio_stream_end()`][s2st.protocol.encode_audio_stream_end],
  [`encode_activity_start()`][s2st.protocol.encode_activity_start],
  [`encode_activity_end()`][s2st.protocol.encode_activity_end]) build the UTF-8 JSON payload of
  each client message. They are meant to be sent as *text* frames, as every SDK does (§3).
* [`ReplayBuffer`][s2st.protocol.ReplayBuffer] (``s2st.protocol.replay``): the client messages
  the server has not confirmed yet.
* [`ClientProtocol`][s2st.protocol.ClientProtocol] (``s2st.protocol.state``) keeps the
  connection state (a small transition table), numbers the client messages of the current
  connection, keeps the replay buffer ready for a resumed connection, and owns all resumption
  state: the handle, the consumed index, the session id and the output ledger
  (``s2st.protocol.ledger``) that hides output repeated after a resume.

Message numbering (PROTOCOL.md §5.5 marks the base as unconfirmed ❓): on each connection the
``setup`` message has index 0 and each later client message the next integer.
``lastConsumedClientMessageIndex == n`` means messages ``0..n`` of the current connection are
in the server's state. This is the convention of the bundled emulator.
"""

from __future__ import annotations

from .encode import (
    AudioEncoder,
    Casing,
    encode_activity_end,
    encode_activity_start,
    encode_audio,
    encode_audio_stream_end,
    encode_setup,
)
from .parse import parse_duration, parse_server_frame, sample_rate_from_mime
from .replay import (
    DEFAULT_REPLAY_WINDOW_S,
    MAX_UNINDEXED_OVERLAP_MS,
    ReplayBuffer,
    SentMessage,
    frames_of,
)
from .state import ClientProtocol, ConnectionState

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
    "frames_of",
    "parse_duration",
    "parse_server_frame",
    "sample_rate_from_mime",
]
