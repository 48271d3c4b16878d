"""The emulator's input side (private): the read loop and the handling of each client message
after setup (``realtimeInput`` audio, ``audioStreamEnd``, manual activity). A mixin of
`s2st.emulator.server.Emulator`.

Anything the real service refuses becomes a `WireRejection`, which the read loop turns into
the close the service sends (code 1007 and its reason).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

import numpy as np

from ._audio import IN_RATE, resample
from ._state import _ENDING_FAULTS, _ConnState
from ._timers import TimerMixin
from .accounting import ReceivedMessage
from .engines import Engine, Reply
from .wire import (
    CLOSE_INVALID,
    WireRejection,
    decode_b64,
    get_key,
    get_obj,
    parse_audio_mime,
    parse_client_frame,
)

logger = logging.getLogger("s2st.emulator")

_MESSAGE_KINDS = ("setup", "realtimeInput", "clientContent", "toolResponse")
_REALTIME_FIELDS = ("audio", "mediachunks", "audiostreamend", "activitystart", "activityend")


class InputMixin(TimerMixin):
    """Client messages of `s2st.emulator.server.Emulator`."""

    def _t(self, st: _ConnState) -> float:
        return round(time.monotonic() - st.opened, 6)

    async def _read_loop(self, st: _ConnState) -> None:
        index = 0
        while not st.closing:
            if st.read_pause_s:
                await asyncio.sleep(st.read_pause_s)
            if st.stalled:
                await st.ws.wait_closed()  # reading is paused: the close handshake stalls
                return
            raw = await st.ws.recv()
            if self._is_closing(st):  # also set by stall_close, drop and close faults
                continue
            index += 1
            st.last_index = index
            if await self._message_fault(st, index, raw):
                continue
            try:
                self._on_message(st, index, raw)
            except WireRejection as rej:
                logger.info(
                    "connection %d message %d refused: %d", st.record.index, index, rej.code
                )
                await self._close(st, rej.code, rej.reason)
                return
        # Another task (a timed fault, the lifetime timer) is closing this connection with its
        # own code: let it finish, or the handler would return and websockets close with 1000.
        await st.ws.wait_closed()

    async def _message_fault(self, st: _ConnState, index: int, raw: str | bytes) -> bool:
        """Fire the fault set on message ``index``; True if the message is not processed."""
        fault = next((f for f in st.faults if f.at_message == index), None)
        if fault is None:
            return False
        st.faults.remove(fault)
        if fault.kind in _ENDING_FAULTS:
            # The connection ends on this message: it is never processed.
            st.record.messages.append(
                ReceivedMessage(index, "unprocessed", f"{len(raw)} bytes", self._t(st))
            )
            await self._fire(st, fault)
            return True
        # Faults that only change timing start here; the message is processed as usual.
        await self._fire(st, fault)
        return False

    @staticmethod
    def _is_closing(st: _ConnState) -> bool:
        return st.closing

    def _on_message(self, st: _ConnState, index: int, raw: str | bytes) -> None:
        ri = _realtime_input(parse_client_frame(raw))
        assert st.session is not None and st.setup is not None
        engine = st.session.engine
        replies: list[Reply] = []
        kind = "other"
        summary = f"{len(raw)} bytes"
        digest: str | None = None
        blob = _audio_blob(ri)
        if blob is not None:
            digest, summary = self._on_audio(st, index, blob, replies)
            kind = "audio"
        if get_key(ri, "audioStreamEnd"):
            replies += engine.stream_end()
            kind = "audio_stream_end" if blob is None else kind
        activity = self._on_activity(st, ri, engine, replies)
        if activity is not None and blob is None:
            kind = activity
        st.record.messages.append(ReceivedMessage(index, kind, summary, self._t(st), digest))
        self._emit(st, replies)
        st.since_update += 1
        every = self.config.resumption_update_every_messages
        if st.setup.resumption and every is not None and st.since_update >= every:
            self._resumption_update(st)

    def _on_audio(
        self, st: _ConnState, index: int, blob: dict[str, Any], replies: list[Reply]
    ) -> tuple[str, str]:
        """Feed one audio blob to the engine; return its sha1 and the message summary."""
        assert st.session is not None
        rate = parse_audio_mime(get_key(blob, "mimeType"))
        pcm_bytes = decode_b64(get_key(blob, "data", ""))
        if len(pcm_bytes) % 2:
            raise WireRejection(1007, f"{CLOSE_INVALID} Audio data must be whole int16 samples.")
        pcm = np.frombuffer(pcm_bytes, dtype="<i2").astype(np.int16)
        st.session.input_s += pcm.size / rate
        replies += st.session.engine.feed(resample(pcm, rate, IN_RATE))
        if not st.streaming:
            st.streaming = True  # from now on output never stops (EVIDENCE.md row 7)
            st.kick.set()
        digest = hashlib.sha1(pcm_bytes).hexdigest()
        st.record.audio.append(pcm_bytes)
        st.record.audio_message_indices.append(index)
        st.record.audio_digests.append(digest)
        return digest, f"{len(pcm_bytes)} bytes pcm @{rate} Hz"

    def _on_activity(
        self, st: _ConnState, ri: dict[str, Any], engine: Engine, replies: list[Reply]
    ) -> str | None:
        """Handle ``activityStart`` / ``activityEnd``; return the kind of the last one seen."""
        assert st.setup is not None
        kind: str | None = None
        for name, method, k in (
            ("activityStart", engine.activity_start, "activity_start"),
            ("activityEnd", engine.activity_end, "activity_end"),
        ):
            if get_key(ri, name) is not None:
                if not st.setup.manual_activity:
                    raise WireRejection(
                        1007,
                        f"{CLOSE_INVALID} {name} requires automaticActivityDetection.disabled.",
                    )
                if name == "activityStart":
                    self._barge_in(st)
                replies += method()
                kind = k
        return kind


def _realtime_input(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``realtimeInput`` of a client message after setup; refuse anything else."""
    keys = [k for k in _MESSAGE_KINDS if get_key(obj, k) is not None]
    if len(keys) != 1 or len(obj) != 1:
        raise WireRejection(
            1007,
            f"{CLOSE_INVALID} A message carries exactly one of setup, realtimeInput, clientContent, toolResponse.",
        )
    if keys[0] == "setup":
        raise WireRejection(1007, f"{CLOSE_INVALID} setup may be sent only once, first.")
    if keys[0] != "realtimeInput":
        raise WireRejection(
            1007,
            f"{CLOSE_INVALID} Speech-to-speech translation accepts audio input only (realtimeInput).",
        )
    ri = get_obj(obj, "realtimeInput") or {}
    for field_name in ri:
        if field_name.replace("_", "").lower() not in _REALTIME_FIELDS:
            raise WireRejection(
                1007,
                f"{CLOSE_INVALID} Unsupported realtimeInput field {field_name[:32]!r} (audio only).",
            )
    return ri


def _audio_blob(ri: dict[str, Any]) -> dict[str, Any] | None:
    """The audio blob of ``realtimeInput`` (``audio``, or the first of ``mediaChunks``)."""
    blob = get_obj(ri, "audio")
    chunks = get_key(ri, "mediaChunks")
    if blob is None and chunks is not None:
        if not isinstance(chunks, list) or not chunks or not isinstance(chunks[0], dict):
            raise WireRejection(1007, f"{CLOSE_INVALID} mediaChunks must be a list of blobs.")
        blob = chunks[0]  # D-ref: only the first chunk is honoured
    return blob
