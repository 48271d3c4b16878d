"""Counters a session keeps about itself (cheap enough for the hot path)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

__all__ = ["SessionStats"]


@dataclass
class SessionStats:
    """Live counters of one session (across its connections).

    Attributes:
        frames_received: server frames read from the socket.
        events_received: events parsed from those frames.
        events_delivered: events handed to the consumer (``async for``).
        events_generated: events the session made itself (``Reconnected``,
            ``LatencyMeasurement``).
        events_hidden: received events not delivered because they repeat output already
            delivered before a reconnection. A consumer that read to the end has
            ``events_delivered == events_received + events_generated - events_hidden``.
        audio_messages_sent: ``realtimeInput.audio`` messages written (replays included).
        audio_ms_sent: milliseconds of audio written (replays included).
        unconfirmed_audio_ms_at_close: audio the server had not confirmed when the session
            closed (only known when the server confirms messages; 0 otherwise).
        max_delivery_delay_s: longest wait of an event between its frame's arrival and its
            delivery to the consumer (includes time the consumer spent elsewhere).

    The delivery fields are updated by the session's event buffer on every delivery.
    """

    frames_received: int = 0
    events_received: int = 0
    events_delivered: int = 0
    events_generated: int = 0
    events_hidden: int = 0
    audio_messages_sent: int = 0
    audio_ms_sent: float = 0.0
    max_delivery_delay_s: float = 0.0
    unconfirmed_audio_ms_at_close: float = 0.0
    _delays: deque[float] = field(default_factory=lambda: deque(maxlen=10_000), repr=False)

    def record_delivery(self, arrived: float) -> None:
        """Count one event handed to the consumer, which arrived at ``arrived``
        (``time.perf_counter``)."""
        delay = time.perf_counter() - arrived
        self.events_delivered += 1
        self._delays.append(delay)
        if delay > self.max_delivery_delay_s:
            self.max_delivery_delay_s = delay

    @property
    def delivery_delays(self) -> tuple[float, ...]:
        """The delivery delays (seconds) of the last 10,000 events, oldest first."""
        return tuple(self._delays)

    def delivery_delay_quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the delivery delays of the last 10,000 events."""
        if not 0 <= q <= 1:
            raise ValueError("q must be between 0 and 1")
        if not self._delays:
            return 0.0
        ordered = sorted(self._delays)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
