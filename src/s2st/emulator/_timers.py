"""The emulator's timer task and fault injection (private). A mixin of
`s2st.emulator.server.Emulator`.

The timer sends ``usageMetadata`` and time-based ``sessionResumptionUpdate`` messages, the
``goAway`` notice and the cap close (EVIDENCE.md rows 8, 9, 17, 18), and fires timed faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ._output import OutputMixin
from ._state import _closing, _ConnState, _duration, _Item
from .faults import Fault
from .wire import CLOSE_DEADLINE, CLOSE_OVERSTAY

logger = logging.getLogger("s2st.emulator")

_MALFORMED: dict[str, str] = {
    "not_json": "{this is not json",
    "not_object": "[1, 2, 3]",
    "unknown_field": '{"emulatorUnknownField": {"x": 1}}',
    "bad_base64": '{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": '
    '"audio/pcm;rate=24000", "data": "!!not base64!!"}}]}}}',
}


class TimerMixin(OutputMixin):
    """Timers and faults of `s2st.emulator.server.Emulator`."""

    async def _timer(self, st: _ConnState) -> None:
        cfg = self.config
        assert st.setup_done_at is not None and st.setup is not None
        start = st.setup_done_at
        # Time-triggered faults (at_s=0 included) act after setupComplete went out.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(st.drained.wait(), 2.0)
        next_usage = cfg.usage_every_s
        every = cfg.resumption_update_every_s if st.setup.resumption else None
        next_update = every
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
                self._send(st, {"goAway": {"timeLeft": _duration(min(cfg.go_away_before_s, life))}})
            if life is not None and now >= life:
                await self._cap_close(st)
                return
            if next_usage is not None and now >= next_usage:
                self._send(st, self._usage_message(st))
                next_usage = now + (cfg.usage_every_s or 0.0)
            if next_update is not None and every is not None and now >= next_update:
                self._resumption_update(st)
                next_update = now + every
            times = [f.trigger_s for f in st.faults if f.trigger_s is not None]
            times += [t for t in (go_away_at, life, next_usage, next_update) if t is not None]
            wait = max(0.0, min(times) - now) if times else 3600.0
            st.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(st.wake.wait(), wait)

    async def _cap_close(self, st: _ConnState) -> None:
        """The session-duration cap: 1008 for a client that overstayed the goAway (row 18),
        or 1011 "Deadline expired..." with ``cap_close="deadline"`` (row 17)."""
        if self.config.cap_close == "overstay":
            await self._close(st, 1008, CLOSE_OVERSTAY)
        else:
            await self._close(st, 1011, CLOSE_DEADLINE)

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
            st.kick.set()
        elif fault.kind == "slow_reads":
            st.read_pause_s = fault.ms / 1000.0
        elif fault.kind == "malformed":
            text = _MALFORMED[fault.malformed]
            st.now.append(_Item(text.encode() if self.config.binary_frames else text))
            st.kick.set()
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
