"""The emulator's output side and fault injection (private): the sender task that paces
output bursts and applies delay/burst faults, the timer task (usage, goAway, lifetime, timed
faults), resumption updates and barge-in. A mixin of `s2st.emulator.server.Emulator`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

from ._state import _closing, _ConnState, _duration, _Handle, _is_output
from .config import EmulatorConfig
from .engines import Reply
from .faults import Fault
from .wire import CLOSE_DEADLINE, encode_frame, truncate_reason

logger = logging.getLogger("s2st.emulator")


class OutputMixin:
    """Output, timers and faults of `s2st.emulator.server.Emulator`."""

    config: EmulatorConfig
    _handles: dict[str, _Handle]
    _tasks: set[asyncio.Task[None]]

    async def _close(self, st: _ConnState, code: int, reason: str) -> None:
        """Close with ``code`` after the replies already queued went out."""
        if st.closing:
            return
        st.closing = True
        reason = truncate_reason(reason)
        st.record.close_code, st.record.close_reason = code, reason
        st.out.put_nowait(None)  # the sender stops after flushing what is queued
        if st.sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(st.sender), 2.0)
        await st.ws.close(code, reason)

    def _send(self, st: _ConnState, message: dict[str, Any], audio_s: float = 0.0) -> None:
        if st.closing:
            return
        st.out.put_nowait((encode_frame(message, binary=self.config.binary_frames), audio_s))

    async def _sender(self, st: _ConnState) -> None:
        clock = time.monotonic()
        while True:
            item = await st.out.get()
            if item is None:
                return
            now = time.monotonic()
            if st.hold_until > now:
                # burst fault: hold everything, then release all that queued up at once
                await asyncio.sleep(st.hold_until - now)
                st.hold_until = 0.0
                batch: list[tuple[str | bytes, float] | None] = [item]
                while not st.out.empty():
                    batch.append(st.out.get_nowait())
                for queued in batch:
                    if queued is None:
                        return
                    await self._write(st, queued[0])
                clock = time.monotonic()
                continue
            frame, audio_s = item
            await self._write(st, frame)
            if audio_s > 0 and not math.isinf(self.config.speed):
                clock = max(clock, time.monotonic()) + audio_s / self.config.speed
                ahead = clock - time.monotonic()
                if ahead > 0.01:
                    await asyncio.sleep(ahead)

    async def _write(self, st: _ConnState, frame: str | bytes) -> None:
        if st.delay != (0.0, 0.0):
            ms, jitter = st.delay
            await asyncio.sleep((ms + st.rng.uniform(0.0, jitter)) / 1000.0)
        if st.stalled:
            return  # a stalled server sends nothing more
        await st.ws.send(frame)
        st.record.frames_sent += 1

    # -- setup -----------------------------------------------------------------------------

    def _barge_in(self, st: _ConnState) -> None:
        """New activity while translated output is still queued (PROTOCOL.md §5.2, default
        ``START_OF_ACTIVITY_INTERRUPTS``): drop the queued output, then send ``interrupted``
        and ``turnComplete`` (no ``generationComplete`` after an interruption)."""
        kept: list[tuple[str | bytes, float] | None] = []
        dropped = 0
        while not st.out.empty():
            item = st.out.get_nowait()
            if item is not None and _is_output(item[0]):
                dropped += 1
            else:
                kept.append(item)
        for item in kept:
            st.out.put_nowait(item)
        if dropped:
            logger.debug("connection %d: barge-in dropped %d frames", st.record.index, dropped)
            self._send(st, {"serverContent": {"interrupted": True}})
            self._send(st, {"serverContent": {"turnComplete": True}})

    def _emit(self, st: _ConnState, replies: list[Reply]) -> None:
        assert st.setup is not None
        pending: dict[str, Any] = {}
        audio_s = 0.0
        combine = (
            self.config.combine_probability > 0
            and st.rng.random() < self.config.combine_probability
        )

        def flush() -> None:
            nonlocal pending, audio_s
            if pending:
                self._send(st, {"serverContent": pending}, audio_s)
            pending, audio_s = {}, 0.0

        for r in replies:
            if r.kind == "input_text" and not st.setup.input_transcription:
                continue
            if r.kind == "output_text" and not st.setup.output_transcription:
                continue
            key = {
                "input_text": "inputTranscription",
                "output_text": "outputTranscription",
                "audio": "modelTurn",
            }.get(r.kind)
            if key is None:
                flush()
                if r.kind == "generation_complete":
                    self._send(st, {"serverContent": {"generationComplete": True}})
                else:
                    self._send(
                        st,
                        {"serverContent": {"turnComplete": True}, "usageMetadata": self._usage(st)},
                    )
                    if st.setup.resumption:
                        self._resumption_update(st)
                continue
            if key in pending or not combine:
                flush()
            if key == "modelTurn":
                pending[key] = {
                    "parts": [
                        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": r.audio_b64}}
                    ]
                }
                audio_s = r.audio_s
            else:
                pending[key] = {"text": r.text}
        flush()

    def _usage(self, st: _ConnState) -> dict[str, Any]:
        assert st.session is not None
        eng = st.session.engine
        prompt, response = int(eng.input_s * 25), int(eng.output_s * 25)
        resp_name = "candidates" if st.endpoint.backend == "vertex" else "response"
        return {
            "promptTokenCount": prompt,
            f"{resp_name}TokenCount": response,
            "totalTokenCount": prompt + response,
            "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": prompt}],
            f"{resp_name}TokensDetails": [{"modality": "AUDIO", "tokenCount": response}],
        }

    def _resumption_update(self, st: _ConnState) -> None:
        assert st.session is not None and st.setup is not None
        st.since_update = 0
        msg: dict[str, Any]
        if not st.session.engine.idle:
            msg = {"resumable": False}
        else:
            st.handle_counter += 1
            handle = f"emu-{st.record.index}-{st.handle_counter}-{st.rng.getrandbits(48):012x}"
            rec = st.record
            self._handles[handle] = _Handle(
                st.session,
                st.session.engine.snapshot(),
                rec.consumed_audio_digests,
                [*rec.base_audio, *rec.audio],
                time.monotonic(),
            )
            rec.handles_issued.append(handle)
            rec.consumed_through = st.last_index
            msg = {"newHandle": handle, "resumable": True}
            if st.setup.transparent:
                msg["lastConsumedClientMessageIndex"] = str(st.last_index)
        self._send(st, {"sessionResumptionUpdate": msg})

    # -- timers and faults -----------------------------------------------------------------
    async def _timer(self, st: _ConnState) -> None:
        cfg = self.config
        assert st.setup_done_at is not None
        start = st.setup_done_at
        next_usage = cfg.usage_every_s
        life = cfg.connection_lifetime_s
        go_away_at = None if life is None else max(0.0, life - cfg.go_away_before_s)
        while not st.closing:
            now = time.monotonic() - start
            due = [f for f in st.faults if f.trigger_s is not None and f.trigger_s <= now]
            for f in due:
                st.faults.remove(f)
                await self._fire(st, f)
            if _closing(st):  # a fault closed it: stop now, not after the next long wait
                return
            if go_away_at is not None and now >= go_away_at:
                go_away_at = None
                assert life is not None
                left = min(cfg.go_away_before_s, life)
                self._send(st, {"goAway": {"timeLeft": _duration(left)}})
            if life is not None and now >= life:
                await self._close(st, 1011, CLOSE_DEADLINE)
                return
            if next_usage is not None and now >= next_usage:
                self._send(st, {"usageMetadata": self._usage(st)})
                next_usage = now + (cfg.usage_every_s or 0.0)
            times = [f.trigger_s for f in st.faults if f.trigger_s is not None]
            times += [t for t in (go_away_at, life, next_usage) if t is not None]
            wait = max(0.0, min(times) - now) if times else 3600.0
            st.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(st.wake.wait(), wait)

    async def _fire(self, st: _ConnState, fault: Fault) -> None:
        logger.info("connection %d: fault %s", st.record.index, fault.kind)
        st.record.faults_fired.append(fault.kind)
        if fault.kind == "close":
            await self._close(st, fault.code, fault.reason)
        elif fault.kind == "drop":
            st.closing = True
            st.record.close_code, st.record.close_reason = 1006, "dropped (fault injection)"
            st.ws.transport.abort()
        elif fault.kind == "go_away":
            self._send(st, {"goAway": {"timeLeft": _duration(fault.time_left_s)}})
            self._spawn(self._deadline(st, fault.time_left_s))
        elif fault.kind == "delay":
            st.delay = (fault.ms, fault.jitter_ms)
        elif fault.kind == "burst":
            st.hold_until = time.monotonic() + fault.hold_s
        elif fault.kind == "slow_reads":
            st.read_pause_s = fault.ms / 1000.0
        elif fault.kind == "malformed":
            frames: dict[str, str] = {
                "not_json": "{this is not json",
                "not_object": "[1, 2, 3]",
                "unknown_field": '{"emulatorUnknownField": {"x": 1}}',
                "bad_base64": '{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "!!not base64!!"}}]}}}',
            }
            text = frames[fault.malformed]
            st.out.put_nowait((text.encode() if self.config.binary_frames else text, 0.0))
        elif fault.kind == "stall_close":
            st.stalled = st.closing = True
            st.record.close_code, st.record.close_reason = 1006, "stalled (fault injection)"
            st.ws.transport.pause_reading()
            self._spawn(self._abort_later(st, fault.hold_s))

    async def _deadline(self, st: _ConnState, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self._close(st, 1011, CLOSE_DEADLINE)

    async def _abort_later(self, st: _ConnState, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        st.ws.transport.abort()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
