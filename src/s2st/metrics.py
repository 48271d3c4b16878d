"""Latency metrics of a translation session, computed from what the client sees.

Pure code, no asyncio. Feed `LatencyTracker` every chunk of audio as it is sent
(`on_audio_sent()`) and every event as it arrives
(`on_event()`); read `snapshot()` at any time.

Definitions (all times on the tracker's clock, in seconds):

* **time to first audio**: arrival of the first *voiced* translated ``AudioChunk`` (see
  [`voiced`][s2st.events.AudioChunk.voiced]; the server's silence is not translation) minus the
  send time of the first audio message. Time to first transcript / translation: the same for the first
  ``InputTranscription`` / ``OutputTranscription`` fragment with text.
* **speech onsets** (source side): the sent 16-bit PCM is cut into 20 ms frames; a frame is
  speech when its RMS level is at least ``onset_threshold_dbfs``. An onset is the first speech
  frame after at least ``min_pause_s`` of non-speech (or the first ever). Its time is the send
  time of the message that carried it.
* **output segments** (translated side): a translated-audio segment starts at the first voiced
  ``AudioChunk`` after a ``TurnComplete``/``GenerationComplete``/``Interrupted``, after a gap of
  ``output_gap_s`` without voiced audio (silent chunks are part of a gap), or at the first
  voiced chunk of the session.
* **ear-to-voice lag** of output segment *k*: its first chunk's arrival minus the time of the
  earliest onset not yet paired that was sent before that arrival. Segments without such an
  onset are counted in ``unpaired_output_segments`` and get no lag.
* **drift**: last lag minus first lag; ``drift_per_min_s``: least-squares slope of lag over
  measurement time, in seconds of lag per minute of session.
* **realtime factor**: wall time from the first send to the last activity divided by the
  seconds of audio sent (below 1: faster than real time, e.g. 0.125 when streaming at 8x).

Limits: pairing is by order, so a noise burst detected as an onset, or an utterance the service
merges or drops, shifts the pairing of later segments (visible as lags that jump by a whole
utterance). The lag includes the client's own pacing and network time, which is what a
listener experiences. Onsets are detected on the client's audio, not on the service's VAD.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._speech import SpeechOnsets
from ._validate import check_int, check_number, check_optional_number
from .errors import AudioFormatError, ConfigurationError
from .events import (
    AudioChunk,
    Event,
    GenerationComplete,
    InputTranscription,
    Interrupted,
    LatencyMeasurement,
    OutputTranscription,
    Reconnected,
    TurnComplete,
)

__all__ = [
    "LatencyMeasurement",
    "LatencyTracker",
    "SessionMetrics",
    "export_opentelemetry",
]


def _percentile(values: tuple[float, ...], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


@dataclass(frozen=True)
class SessionMetrics:
    """A snapshot of a session's latency and volume figures (see the module docstring).

    ``None`` means "not observed yet". Times are in seconds.
    """

    time_to_first_audio_s: float | None = None
    time_to_first_transcript_s: float | None = None
    time_to_first_translation_s: float | None = None
    ear_to_voice_lag_s: tuple[float, ...] = ()
    measurements: tuple[LatencyMeasurement, ...] = ()
    speech_onsets: int = 0
    output_segments: int = 0
    unpaired_output_segments: int = 0
    reconnects: int = 0
    reconnect_downtime_s: float = 0.0
    input_audio_s: float = 0.0
    output_audio_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def lag_mean_s(self) -> float | None:
        """Mean ear-to-voice lag."""
        lags = self.ear_to_voice_lag_s
        return sum(lags) / len(lags) if lags else None

    @property
    def lag_p50_s(self) -> float | None:
        """Median ear-to-voice lag (linear interpolation)."""
        return _percentile(self.ear_to_voice_lag_s, 50)

    @property
    def lag_p95_s(self) -> float | None:
        """95th percentile of the ear-to-voice lag (linear interpolation)."""
        return _percentile(self.ear_to_voice_lag_s, 95)

    def lag_percentile_s(self, q: float) -> float | None:
        """The ``q``-th percentile (0..100) of the lag.

        Raises:
            ConfigurationError: ``q`` outside 0..100.
        """
        if not 0 <= q <= 100:  # not _validate: the message names the range as "0..100"
            raise ConfigurationError(f"q must be in 0..100, got {q!r}")
        return _percentile(self.ear_to_voice_lag_s, q)

    @property
    def drift_s(self) -> float | None:
        """Last lag minus first lag (``None`` with fewer than two lags)."""
        lags = self.ear_to_voice_lag_s
        return lags[-1] - lags[0] if len(lags) >= 2 else None

    @property
    def drift_per_min_s(self) -> float | None:
        """Least-squares slope of lag against measurement time, seconds per minute."""
        pts = self.measurements
        if len(pts) < 2:
            return None
        x = np.array([m.at_s for m in pts])
        y = np.array([m.lag_s for m in pts])
        if float(np.ptp(x)) == 0.0:
            return None
        slope = float(np.polyfit(x, y, 1)[0])
        return slope * 60.0

    @property
    def realtime_factor(self) -> float | None:
        """``elapsed_s / input_audio_s`` (``None`` before any audio was sent)."""
        return self.elapsed_s / self.input_audio_s if self.input_audio_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the fields and the derived figures."""
        out = asdict(self)
        out["ear_to_voice_lag_s"] = list(self.ear_to_voice_lag_s)
        out["measurements"] = [asdict(m) for m in self.measurements]
        for name in (
            "lag_mean_s",
            "lag_p50_s",
            "lag_p95_s",
            "drift_s",
            "drift_per_min_s",
            "realtime_factor",
        ):
            out[name] = getattr(self, name)
        return out


class LatencyTracker:
    """Measure a session's latency (definitions in the module docstring).

    Args:
        clock: monotonic clock in seconds, used when ``t`` is not passed.
        onset_threshold_dbfs: RMS level (dB full scale) from which a 20 ms frame is speech.
        min_pause_s: non-speech needed before a new onset counts.
        output_gap_s: a gap in voiced translated audio this long starts a new output segment
            (``None``: only turn boundaries do). 1 s: the live-translate model sends no turn
            markers (EVIDENCE.md row 6), so the pause between two translated utterances is the
            boundary; pauses inside one translated sentence are shorter.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        onset_threshold_dbfs: float = -40.0,
        min_pause_s: float = 0.5,
        output_gap_s: float | None = 1.0,
    ) -> None:
        check_number("min_pause_s", min_pause_s, positive=True)
        check_optional_number("output_gap_s", output_gap_s, positive=True)
        self._clock = clock
        self._speech = SpeechOnsets(threshold_dbfs=onset_threshold_dbfs, min_pause_s=min_pause_s)
        self._output_gap_s = output_gap_s
        self._first_send: float | None = None
        self._last_activity: float | None = None
        self._input_s = 0.0
        self._output_s = 0.0
        self._ttfa: float | None = None
        self._ttft: float | None = None
        self._ttftr: float | None = None
        self._boundary = True  # the next AudioChunk starts an output segment
        self._last_audio_t: float | None = None
        self._segments = 0
        self._unpaired = 0
        self._measurements: list[LatencyMeasurement] = []
        self._reconnects = 0
        self._downtime_s = 0.0

    def _now(self, t: float | None) -> float:
        now = self._clock() if t is None else t
        last = self._last_activity
        if last is None or now > last:
            self._last_activity = now
        return now

    def on_audio_sent(
        self, pcm: bytes | bytearray | memoryview, *, sample_rate: int, t: float | None = None
    ) -> None:
        """Record mono int16 little-endian ``pcm`` at ``sample_rate`` sent at ``t``.

        Raises:
            AudioFormatError: an odd byte count or a non-positive sample rate.
        """
        if type(sample_rate) is not int or sample_rate <= 0:  # checked per sent chunk: cheap first
            check_int("sample_rate", sample_rate, positive=True, error=AudioFormatError)
        if len(pcm) % 2:
            raise AudioFormatError(f"{len(pcm)} bytes is not whole int16 samples")
        if not pcm:
            return
        now = self._now(t)
        if self._first_send is None:
            self._first_send = now
        self._input_s += len(pcm) / (2 * sample_rate)
        self._speech.add(pcm, sample_rate, now)

    @property
    def speech_sent_s(self) -> float:
        """Seconds of speech sent so far (20 ms frames at or above the onset threshold)."""
        return self._speech.speech_s

    @property
    def last_speech_sent_t(self) -> float | None:
        """Send time of the last message that carried speech (``None`` before any)."""
        return self._speech.last_speech_t

    def on_audio(
        self, samples: int, sample_rate: int, t: float, voiced: bool = True
    ) -> LatencyMeasurement | None:
        """The hot-path form of ``on_event(AudioChunk)``: ``samples`` of translated audio at
        ``sample_rate`` arrived at ``t``. A silent chunk (``voiced=False``, see
        `AudioChunk.voiced`) counts as output audio but is not translated speech: it
        neither gives the time to first audio nor starts or extends an output segment (the
        live-translate model streams silence between utterances, EVIDENCE.md row 7)."""
        last = self._last_activity
        if last is None or t > last:
            self._last_activity = t
        self._output_s += samples / sample_rate
        if not voiced:
            return None
        if self._ttfa is None and self._first_send is not None:
            self._ttfa = t - self._first_send
        starts = self._boundary
        previous = self._last_audio_t
        if not starts and previous is not None and self._output_gap_s is not None:
            starts = t - previous >= self._output_gap_s
        self._last_audio_t = t
        self._boundary = False
        return self._segment_started(t) if starts else None

    def on_event(self, event: Event, *, t: float | None = None) -> LatencyMeasurement | None:
        """Record an event that arrived at ``t``; return a measurement when it starts an output
        segment whose lag is known (a session can surface it as an event)."""
        if type(event) is AudioChunk:
            return self.on_audio(len(event.data), event.sample_rate, self._now(t), event.voiced)
        now = self._now(t)
        since = now - self._first_send if self._first_send is not None else None
        if isinstance(event, InputTranscription) and event.text:
            if self._ttft is None and since is not None:
                self._ttft = since
        elif isinstance(event, OutputTranscription) and event.text:
            if self._ttftr is None and since is not None:
                self._ttftr = since
        elif isinstance(event, (TurnComplete, GenerationComplete, Interrupted)):
            self._boundary = True
        elif isinstance(event, Reconnected):
            self._reconnects += 1
            self._downtime_s += event.downtime_s
            # The downtime is not a gap in the translation.
            self._last_audio_t = now if self._last_audio_t is not None else None
        return None

    def _segment_started(self, now: float) -> LatencyMeasurement | None:
        index = self._segments
        self._segments += 1
        onset = self._speech.pop_onset(before=now)
        if onset is None:
            self._unpaired += 1
            return None
        assert self._first_send is not None
        m = LatencyMeasurement(segment=index, lag_s=now - onset, at_s=now - self._first_send)
        self._measurements.append(m)
        return m

    def snapshot(self) -> SessionMetrics:
        """The figures so far (an immutable copy)."""
        elapsed = 0.0
        if self._first_send is not None and self._last_activity is not None:
            elapsed = self._last_activity - self._first_send
        return SessionMetrics(
            time_to_first_audio_s=self._ttfa,
            time_to_first_transcript_s=self._ttft,
            time_to_first_translation_s=self._ttftr,
            ear_to_voice_lag_s=tuple(m.lag_s for m in self._measurements),
            measurements=tuple(self._measurements),
            speech_onsets=self._speech.total,
            output_segments=self._segments,
            unpaired_output_segments=self._unpaired,
            reconnects=self._reconnects,
            reconnect_downtime_s=self._downtime_s,
            input_audio_s=self._input_s,
            output_audio_s=self._output_s,
            elapsed_s=elapsed,
        )


def export_opentelemetry(
    metrics: SessionMetrics, meter: Any, *, attributes: dict[str, str] | None = None
) -> None:
    """Record ``metrics`` with an OpenTelemetry ``Meter`` (``opentelemetry-api``).

    Only the meter's public instrument API is used, so this module never imports OpenTelemetry:
    install and configure it yourself (``pip install opentelemetry-sdk``) and pass
    ``metrics.get_meter("s2st")``. Instruments: histograms ``s2st.ear_to_voice_lag``,
    ``s2st.time_to_first_audio`` and ``s2st.reconnect_downtime`` (unit ``s``), counters
    ``s2st.reconnects``, ``s2st.input_audio`` and ``s2st.output_audio`` (unit ``s``).
    Call it once per session (counters add up).
    """
    attrs = dict(attributes or {})
    lag = meter.create_histogram(
        "s2st.ear_to_voice_lag", unit="s", description="Source speech onset to translated audio"
    )
    for value in metrics.ear_to_voice_lag_s:
        lag.record(value, attributes=attrs)
    if metrics.time_to_first_audio_s is not None:
        meter.create_histogram(
            "s2st.time_to_first_audio", unit="s", description="First audio sent to first received"
        ).record(metrics.time_to_first_audio_s, attributes=attrs)
    meter.create_histogram(
        "s2st.reconnect_downtime", unit="s", description="Time without a connection per session"
    ).record(metrics.reconnect_downtime_s, attributes=attrs)
    meter.create_counter("s2st.reconnects", unit="1", description="Reconnections").add(
        metrics.reconnects, attributes=attrs
    )
    meter.create_counter("s2st.input_audio", unit="s", description="Audio sent").add(
        metrics.input_audio_s, attributes=attrs
    )
    meter.create_counter("s2st.output_audio", unit="s", description="Audio received").add(
        metrics.output_audio_s, attributes=attrs
    )
