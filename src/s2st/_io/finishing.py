"""How a session ends (private): ``finish()``'s wait, and the audio the server never heard.

`Finisher` decides when the translation of the input has arrived (with the session's
[`OutputWatch`][s2st._watch.OutputWatch] and the core's confirmations), and makes sure no
session ends normally while audio the user gave may be unheard: the error it ends with returns
that audio ([`UnconfirmedAudio`][s2st.errors.UnconfirmedAudio]). It owns those decisions' state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from s2st._watch import OutputWatch
from s2st.errors import S2STError, TranslationIncompleteError, UnconfirmedAudio
from s2st.protocol import ClientProtocol, ConnectionState, SentMessage
from s2st.stats import SessionStats

__all__ = ["Finisher"]

logger = logging.getLogger("s2st.session")


class Finisher:
    """The end of one session (see the module docstring)."""

    def __init__(
        self,
        *,
        proto: ClientProtocol,
        watch: OutputWatch,
        stats: SessionStats,
        sample_rate: int,
        last_user_message: Callable[[], SentMessage | None],
    ) -> None:
        self._proto, self._watch, self._stats = proto, watch, stats
        self._rate = sample_rate
        self._last_user_message = last_user_message
        self.finishing = False  # finish() is closing the session
        self._reported = False  # the ending error already returned the unconfirmed audio
        #: the error finish() raises (audio the server never confirmed)
        self.error: TranslationIncompleteError | None = None

    def unconfirmed_audio(self) -> UnconfirmedAudio | None:
        """`S2STSession.unconfirmed_audio()`."""
        pcm, ms = self._proto.unconfirmed_audio()
        return UnconfirmedAudio(pcm, self._rate, ms) if pcm else None

    async def settle(
        self,
        *,
        timeout_s: float,
        idle_s: float,
        confirm_timeout_s: float,
        max_lag_s: float,
        closed: Callable[[], bool],
        reconnecting: Callable[[], bool],
    ) -> None:
        """Wait (polling every 50 ms) until the translation has arrived and the server has
        confirmed the input (or ``confirm_timeout_s`` more passed), within ``timeout_s``."""
        clock = time.perf_counter
        deadline = clock() + timeout_s
        settled_at: float | None = None
        while not closed():
            now = clock()
            if now >= deadline:
                return
            if reconnecting() or not self._arrived(now, idle_s, max_lag_s):
                settled_at = None
            else:
                settled_at = settled_at or now
                # Servers confirm periodically: give the last confirmation a bounded moment.
                if self.input_confirmed() or now - settled_at >= confirm_timeout_s:
                    return
            await asyncio.sleep(min(0.05, max(0.0, deadline - now)))

    def _arrived(self, now: float, idle_s: float, max_lag_s: float) -> bool:
        proto = self._proto
        return self._watch.arrived(
            now,
            idle_s=idle_s,
            max_lag_s=max_lag_s,
            confirmed=self.input_confirmed(),
            confirms=proto.checkpoints > 0,
            hidden_t=proto.hidden_output_t,
        )

    def input_confirmed(self) -> bool:
        """The server confirmed all of the user's audio (or never confirms anything)."""
        if self._proto.checkpoints == 0:
            return True
        marker = self._last_user_message()
        return marker is None or all(m is not marker for m in self._proto.replay_buffer)

    def incomplete(self, what: str) -> TranslationIncompleteError:
        """The error finish() ends with, holding the audio the server never confirmed."""
        unconfirmed = self.unconfirmed_audio()
        ms = unconfirmed.duration_ms if unconfirmed is not None else 0.0
        error = TranslationIncompleteError(
            f"{what}, with {ms:.0f} ms of audio the server never confirmed; the session is "
            "closed. error.unconfirmed_audio holds that audio: send it again in a new session."
        )
        error.unconfirmed_audio = unconfirmed
        self.error = error
        # Before the iteration ends with the error: a reader may look at the stats at once.
        self._stats.unconfirmed_audio_ms_at_close = ms
        self._reported = True
        return error

    def ended(self, error: BaseException | None) -> None:
        """The session ends with ``error``: a typed one returns the unconfirmed audio."""
        if isinstance(error, S2STError):
            error.unconfirmed_audio = audio = self.unconfirmed_audio()
            self._stats.unconfirmed_audio_ms_at_close = audio.duration_ms if audio else 0.0
            self._reported = True

    def unheard_at_close(self, heard_on: int | None) -> TranslationIncompleteError | None:
        """Account for audio the server may not have heard as the session closes (``heard_on``:
        the connection that closed with a completed closing handshake, if any); the error
        finish() ends with when there is some."""
        if self._proto.state is ConnectionState.CLOSED or self._reported:
            return None
        # After a clean closing handshake the server has read all that was written on that
        # connection; anything else may be unheard.
        unconfirmed = self._proto.unconfirmed_audio(heard_on=heard_on)[1]
        clean = heard_on is not None
        self._stats.unconfirmed_audio_ms_at_close = unconfirmed
        if unconfirmed <= 0:
            return None
        logger.warning(
            "closing with %.0f ms of audio the server may not have heard%s",
            unconfirmed,
            "" if clean else " (the connection did not close cleanly)",
        )
        if self.finishing and self.error is None:
            return self.incomplete("the session closed with audio the server never read")
        return None
