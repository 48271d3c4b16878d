"""The emulator's output side (private): the sender task, replies, resumption updates and
barge-in. A mixin of `s2st.emulator.server.Emulator`.

One sender task per connection writes two lanes (see ``_ConnState``): control frames and
transcripts at once, translated audio paced at ``speed`` x real time in parts of ``part_ms``.
Once the connection has received audio and nothing is queued, it writes one prebuilt frame
of PCM digital silence per part, until the connection closes (EVIDENCE.md row 7). The output
clock also polls the engine for background output (``Engine.poll``) on every tick.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed

from ._audio import OUT_RATE
from ._state import _ConnState, _Handle, _Item
from .config import EmulatorConfig
from .engines import Reply
from .wire import encode_frame, truncate_reason

logger = logging.getLogger("s2st.emulator")

# After a stall (a slow event loop), the output clock may catch up this much of the backlog
# quickly; anything older is dropped from the schedule, so the stream stays near real time.
_CATCH_UP_S = 0.2
_TOKENS_PER_S = 25  # audio tokens per second (Gemini counts 25 tokens per second of audio)


def silent_frame(config: EmulatorConfig) -> str | bytes:
    """One ``serverContent.modelTurn`` frame holding ``part_ms`` of 24 kHz PCM silence."""
    pcm = bytes(2 * OUT_RATE * config.part_ms // 1000)
    return encode_frame(
        _audio_content(base64.b64encode(pcm).decode("ascii")), binary=config.binary_frames
    )


def _audio_content(data_b64: str) -> dict[str, Any]:
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data_b64}}
    return {"serverContent": {"modelTurn": {"parts": [part]}}}


class OutputMixin:
    """Output and resumption of `s2st.emulator.server.Emulator`."""

    config: EmulatorConfig
    _handles: dict[str, _Handle]
    _tasks: set[asyncio.Task[None]]
    _silence: str | bytes

    async def _close(self, st: _ConnState, code: int, reason: str) -> None:
        """Close with ``code`` after the frames already queued went out (unpaced)."""
        if st.closing:
            return
        st.closing = True
        reason = truncate_reason(reason)
        st.record.close_code, st.record.close_reason = code, reason
        st.stop_sending = True  # the sender writes what is queued, then stops
        st.kick.set()
        if st.sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(st.sender), 2.0)
        await st.ws.close(code, reason)

    def _encode(self, message: dict[str, Any]) -> str | bytes:
        return encode_frame(message, binary=self.config.binary_frames)

    def _send(self, st: _ConnState, message: dict[str, Any], *, output: bool = False) -> None:
        """Queue a frame written at once (control frames, transcripts)."""
        if st.closing:
            return
        st.now.append(_Item(self._encode(message), 0.0, output))
        st.kick.set()

    def _queue(self, st: _ConnState, item: _Item) -> None:
        """Queue a frame on the paced output lane (audio, and what must follow it)."""
        if st.closing:
            return
        st.lane.append(item)
        st.kick.set()

    # -- the sender ------------------------------------------------------------------------
    async def _sender(self, st: _ConnState) -> None:
        try:
            await self._send_loop(st)
        except ConnectionClosed:
            pass  # the peer went away mid-stream; the handler records how

    async def _send_loop(self, st: _ConnState) -> None:
        cfg = self.config
        paced = not math.isinf(cfg.speed)
        tick = cfg.part_ms / 1000.0 / (cfg.speed if paced else 1.0)
        due: float | None = None  # when the next lane item may go (None: at once)
        next_poll = time.monotonic()
        while True:
            st.kick.clear()
            now = time.monotonic()
            if st.hold_until > now:
                # burst fault: hold everything, then release all that queued up at once
                await asyncio.sleep(st.hold_until - now)
                st.hold_until = 0.0
                await self._drain(st)
                due = None
                continue
            while st.now:
                await self._write_item(st, st.now.popleft())
            st.drained.set()
            if st.stop_sending:
                await self._drain(st)
                return
            if now >= next_poll:
                next_poll = now + tick
                self._poll(st)
                if st.now:
                    continue
            if not paced:
                while st.lane and not st.now and not st.stop_sending:
                    await self._write_item(st, st.lane.popleft())
                wake_at = next_poll
            else:
                now = time.monotonic()
                if due is None or now >= due:
                    base = now if due is None else max(due, now - _CATCH_UP_S)
                    if st.lane:
                        item = st.lane.popleft()
                        await self._write_item(st, item)
                        due = base + item.audio_s / cfg.speed
                        continue
                    if st.streaming and cfg.stream_silence and st.setup is not None:
                        await self._write_silence(st)
                        due = base + cfg.part_ms / 1000.0 / cfg.speed
                        continue
                    due = None  # idle and quiet: the next output starts at once
                wake_at = next_poll if due is None else min(next_poll, due)
            timeout = max(0.0, wake_at - time.monotonic())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(st.kick.wait(), timeout)

    async def _drain(self, st: _ConnState) -> None:
        while st.now or st.lane:
            await self._write_item(st, (st.now or st.lane).popleft())

    async def _write_item(self, st: _ConnState, item: _Item) -> None:
        frame = item.frame if item.frame is not None else self._resumption_frame(st)
        await self._write(st, frame)

    async def _write_silence(self, st: _ConnState) -> None:
        await self._write(st, self._silence)
        st.record.silence_frames_sent += 1
        if st.session is not None:
            st.session.output_s += self.config.part_ms / 1000.0

    async def _write(self, st: _ConnState, frame: str | bytes) -> None:
        if st.delay != (0.0, 0.0):
            ms, jitter = st.delay
            await asyncio.sleep((ms + st.rng.uniform(0.0, jitter)) / 1000.0)
        if st.stalled:
            return  # a stalled server sends nothing more
        await st.ws.send(frame)
        st.record.frames_sent += 1

    def _poll(self, st: _ConnState) -> None:
        if st.session is None or st.setup is None or st.closing:
            return
        replies = st.session.engine.poll()
        if replies:
            self._emit(st, replies)

    # -- replies ---------------------------------------------------------------------------
    def _setup_complete(self, st: _ConnState) -> dict[str, Any]:
        """``{}`` on the Gemini API, ``{"sessionId": uuid4}`` on Vertex (EVIDENCE.md row 3)."""
        body: dict[str, str] = {}
        if st.endpoint.backend == "vertex" and self.config.vertex_session_id:
            sid = str(uuid.UUID(int=st.rng.getrandbits(128), version=4))
            st.record.server_session_id = body["sessionId"] = sid
        return {"setupComplete": body}

    def _barge_in(self, st: _ConnState) -> None:
        """New activity while translated output is still queued (PROTOCOL.md §5.2, default
        ``START_OF_ACTIVITY_INTERRUPTS``): drop the queued output and send ``interrupted``
        (with ``turn_markers`` also ``turnComplete``; no ``generationComplete`` after an
        interruption). The silence stream, if any, simply goes on."""
        kept = [item for item in st.lane if not item.output]
        dropped = len(st.lane) - len(kept)
        st.lane.clear()
        st.lane.extend(kept)
        if dropped:
            logger.debug("connection %d: barge-in dropped %d frames", st.record.index, dropped)
            self._send(st, {"serverContent": {"interrupted": True}})
            if self.config.turn_markers:
                self._send(st, {"serverContent": {"turnComplete": True}})

    def _emit(self, st: _ConnState, replies: list[Reply]) -> None:
        assert st.setup is not None and st.session is not None
        pending: dict[str, Any] = {}
        audio_s = 0.0
        combine = (
            self.config.combine_probability > 0
            and st.rng.random() < self.config.combine_probability
        )

        def flush() -> None:
            nonlocal pending, audio_s
            if pending:
                content = {"serverContent": pending}
                if "modelTurn" in pending:
                    self._queue(st, _Item(self._encode(content), audio_s, True))
                else:  # transcripts go out as soon as they are produced
                    self._send(st, content, output=True)
            pending, audio_s = {}, 0.0

        for r in replies:
            st.session.output_s += r.audio_s
            if r.kind in ("generation_complete", "turn_complete"):
                flush()
                self._turn_marker(st, r.kind)
                continue
            if r.kind == "input_text" and not st.setup.input_transcription:
                continue
            if r.kind == "output_text" and not st.setup.output_transcription:
                continue
            key = {
                "input_text": "inputTranscription",
                "output_text": "outputTranscription",
                "audio": "modelTurn",
            }[r.kind]
            if key in pending or not combine:
                flush()
            if key == "modelTurn":
                pending[key] = _audio_content(r.audio_b64)["serverContent"]["modelTurn"]
                audio_s = r.audio_s
            else:
                pending[key] = self._transcript(st, r)
        flush()

    def _transcript(self, st: _ConnState, r: Reply) -> dict[str, str]:
        """A transcript delta with ``languageCode`` (EVIDENCE.md row 5; never ``finished``):
        the source language for input (omitted when unknown), the target code as the client
        sent it for output."""
        assert st.setup is not None and st.session is not None
        out = {"text": r.text}
        if r.kind == "input_text":
            lang = r.language or st.session.engine.source_language
        else:
            lang = st.setup.target_language
        if lang:
            out["languageCode"] = lang
        return out

    def _turn_marker(self, st: _ConnState, kind: str) -> None:
        """Turn markers exist only with ``turn_markers`` (the service never sends them, row 6);
        they follow the turn's audio on the output lane, and so does the per-turn update."""
        if not self.config.turn_markers:
            return
        assert st.setup is not None
        if kind == "generation_complete":
            msg: dict[str, Any] = {"serverContent": {"generationComplete": True}}
            self._queue(st, _Item(self._encode(msg), 0.0, True))
            return
        msg = {"serverContent": {"turnComplete": True}, "usageMetadata": self._usage(st)}
        self._queue(st, _Item(self._encode(msg), 0.0, True))
        if st.setup.resumption:
            self._queue(st, _Item(None))

    def _usage_message(self, st: _ConnState) -> dict[str, Any]:
        if self.config.usage_server_content:
            return {"serverContent": {}, "usageMetadata": self._usage(st)}  # row 8
        return {"usageMetadata": self._usage(st)}

    def _usage(self, st: _ConnState) -> dict[str, Any]:
        """Cumulative per logical session. Output tokens are ``candidates*`` on Vertex and
        ``response*`` on the Gemini API (EVIDENCE.md row 8); streamed silence counts too."""
        assert st.session is not None
        prompt = int(st.session.input_s * _TOKENS_PER_S)
        response = int(st.session.output_s * _TOKENS_PER_S)
        resp_name = "candidates" if st.endpoint.backend == "vertex" else "response"
        return {
            "promptTokenCount": prompt,
            f"{resp_name}TokenCount": response,
            "totalTokenCount": prompt + response,
            "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": prompt}],
            f"{resp_name}TokensDetails": [{"modality": "AUDIO", "tokenCount": response}],
        }

    # -- resumption ------------------------------------------------------------------------
    def _resumption_update(self, st: _ConnState) -> None:
        """Issue a ``sessionResumptionUpdate`` now and queue it to go out at once.

        Its handle captures the output lane as it is now; that output is written after this
        frame, so "everything after the handle" is exactly what a resume resends. (Updates that
        must follow a turn's audio are ``_Item(None)`` on the lane, built when written.)
        """
        st.since_update = 0
        if not st.closing:
            st.now.append(_Item(self._resumption_frame(st)))
            st.kick.set()

    def _resumption_frame(self, st: _ConnState) -> str | bytes:
        """Issue a handle now: it captures the engine state, the consumed audio and the output
        still queued on the lane (resent first by a connection resuming from it), so a
        resume from a mid-utterance handle continues the translation and loses no output.
        With ``handles_only_when_idle``, an open utterance gives ``resumable: false``."""
        assert st.session is not None and st.setup is not None
        session = st.session
        msg: dict[str, Any]
        if self.config.handles_only_when_idle and not session.engine.idle:
            msg = {"resumable": False}
        else:
            st.handle_counter += 1
            handle = f"emu-{st.record.index}-{st.handle_counter}-{st.rng.getrandbits(48):012x}"
            rec = st.record
            self._handles[handle] = _Handle(
                session,
                session.engine.snapshot(),
                rec.consumed_audio_digests,
                [*rec.base_audio, *rec.audio],
                time.monotonic(),
                pending=list(st.lane),
                streaming=st.streaming,
            )
            rec.handles_issued.append(handle)
            rec.consumed_through = st.last_index
            msg = {"newHandle": handle, "resumable": True}
            # Vertex transparent mode only: the Gemini API has no such index (EVIDENCE.md).
            if st.setup.transparent:
                msg["lastConsumedClientMessageIndex"] = str(st.last_index)
        return self._encode({"sessionResumptionUpdate": msg})

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
