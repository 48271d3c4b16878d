"""What the session notes about the output it delivers (sans-I/O, private).

`OutputWatch` sees every event the protocol core lets through, in order, with its arrival
time, and keeps what the session's own decisions need:

* the clock of `finish()`: when voiced output (transcript text, or audio above `SILENCE_PEAK`)
  and translation last arrived (server silence never counts: EVIDENCE.md row 7);
* whether a turn marker came after the input ended, and whether the server sent ``goAway``;
* the latency metrics ([`LatencyTracker`][s2st.metrics.LatencyTracker]), whose new
  measurements become events;
* the one [`SilentOutputWarning`][s2st.events.SilentOutputWarning] when the user sent speech
  and only silence came back.

It makes no I/O and reads no clock: times are given.
"""

from __future__ import annotations

import logging

from .events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    OutputTranscription,
    SilentOutputWarning,
    TurnComplete,
)
from .metrics import LatencyTracker

__all__ = ["OutputWatch"]

logger = logging.getLogger("s2st.session")

_TEXT = (InputTranscription, OutputTranscription)
_MARKERS = (TurnComplete, GenerationComplete)


class OutputWatch:
    """The session's notes about delivered output (see the module docstring)."""

    __slots__ = (
        "_silence_warning_s",
        "done_after_input",
        "go_away",
        "heard_voice",
        "input_ended",
        "last_translation_t",
        "last_voiced_t",
        "quiet_from",
        "tracker",
    )

    def __init__(self, tracker: LatencyTracker, *, silence_warning_s: float | None) -> None:
        self.tracker = tracker
        self._silence_warning_s = silence_warning_s
        self.last_voiced_t = 0.0  # arrival of the last voiced output
        self.last_translation_t = 0.0  # ... of voiced audio or translated text only
        self.quiet_from = 0.0  # the end of the input, or the latest reconnection
        self.heard_voice = False
        self.input_ended = False
        self.done_after_input = False  # a turn marker arrived after the input ended
        self.go_away = False  # the server announced the end of the connection

    def see(self, events: list[Event], arrived: float, out: list[Event]) -> int:
        """Note ``events`` (one frame's, in order) and append them to ``out``, each followed by
        the events it gives rise to (a `LatencyMeasurement`, the silence warning); return how
        many of those were added."""
        added = 0
        tracker = self.tracker
        for event in events:
            out.append(event)
            cls = type(event)
            extra: Event | None = None
            if cls is AudioChunk:
                voiced = event.voiced  # type: ignore[union-attr]
                if voiced:
                    self.last_voiced_t = self.last_translation_t = arrived
                    self.heard_voice = True
                elif not self.heard_voice:
                    extra = self._silence_check()
                measured = tracker.on_audio(len(event.data), event.sample_rate, arrived, voiced)  # type: ignore[union-attr]
            else:
                if cls in _TEXT and event.text:  # type: ignore[union-attr]
                    self.last_voiced_t = arrived
                    self.heard_voice = True
                    if cls is OutputTranscription:
                        self.last_translation_t = arrived
                elif cls in _MARKERS and self.input_ended:
                    self.done_after_input = True
                elif cls is GoAway:
                    self.go_away = True
                measured = tracker.on_event(event, t=arrived)
            if measured is not None:
                out.append(measured)
                added += 1
            if extra is not None:
                out.append(extra)
                added += 1
        return added

    def _silence_check(self) -> SilentOutputWarning | None:
        """Only silence came back so far: warn once if the user has sent enough speech."""
        limit = self._silence_warning_s
        if limit is None:
            return None
        speech = self.tracker.speech_sent_s
        if speech < limit:
            return None
        self._silence_warning_s = None  # once per session
        output = self.tracker.snapshot().output_audio_s
        message = (
            f"{speech:.1f} s of speech sent, but the server returned only silence "
            f"({output:.1f} s) and no transcript. Usually a setup field was lost on the way "
            "(a proxy that drops translationConfig or the S2ST switch), or the wrong target "
            "language or input sample rate; check the setup your server receives."
        )
        logger.warning("%s", message)
        return SilentOutputWarning(speech_sent_s=speech, output_audio_s=output, message=message)

    def arrived(
        self,
        now: float,
        *,
        idle_s: float,
        max_lag_s: float,
        confirmed: bool,
        confirms: bool,
        hidden_t: float = 0.0,
    ) -> bool:
        """`finish()`'s test: has the translation of the input arrived by ``now``?

        ``confirmed``: the server confirmed all of the user's audio; ``confirms``: it confirms
        at all. A turn marker after the input ended is weak evidence (it may close an earlier
        utterance when the server lags): it shortens the wait only once all of the user's
        audio is confirmed. ``hidden_t``: the arrival of the latest output hidden as a repeat
        after a resume (the server is still at work)."""
        quiet = now - max(self.last_voiced_t, self.quiet_from, hidden_t)
        if self.done_after_input and confirms and confirmed and quiet >= 0.5:
            return True
        if quiet < idle_s:
            return False
        speech = self.tracker.last_speech_sent_t
        return speech is None or self.last_translation_t > speech or now - speech >= max_lag_s
