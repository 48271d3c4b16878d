"""Fan-out: one input stream translated into several target languages at once.

One [`S2STSession`][s2st.session.S2STSession] per language; the input is converted to 16 kHz mono int16
*once* and the same bytes are sent to every session concurrently. The per-language event
streams are merged into one, each event tagged with its language::

    async with FanOut(client, ["es", "de", "cmn"]) as fan:
        fan.start_stream("talk.wav")                 # paced at 1x, then finish()
        async for language, event in fan:            # LanguageEvent(language, event)
            ...

Failure policy: by default (``fail_fast=True``) the first session that ends with an error ends
the whole fan-out: every session is closed and the iteration raises that (typed) error after
the events received before it; [`FanOut.failed`][s2st.fanout.FanOut.failed] says which language failed. With
``fail_fast=False`` the other languages keep running and the failed language yields one
``LanguageEvent(language, SessionFailed(error))`` marker instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._io.input import InputAudio
from .errors import ConfigurationError
from .group import GroupEvent, GroupFront, SessionFailed, SessionGroup
from .languages import normalize_language

if TYPE_CHECKING:
    from .client import S2STClient

__all__ = ["FanOut", "LanguageEvent", "SessionFailed"]

#: Audio sent to the sessions (PROTOCOL.md §7): 16 kHz mono int16 little-endian.
_INPUT_RATE = 16_000


class LanguageEvent(NamedTuple):
    """An event of one language's session: unpack it as ``language, event = item``."""

    language: str
    event: GroupEvent


def _target_codes(languages: Iterable[str]) -> tuple[str, ...]:
    """The normalised codes of ``languages``: at least one, each once."""
    if isinstance(languages, str):
        raise ConfigurationError(
            f"languages must be a list of codes such as ['es', 'de'], not the string {languages!r}"
        )
    codes: list[str] = []
    for language in languages:
        code = normalize_language(language)
        if code in codes:
            raise ConfigurationError(
                f"target language {language!r} is given twice (as {code!r}); list each once"
            )
        codes.append(code)
    if not codes:
        raise ConfigurationError("FanOut needs at least one target language")
    return tuple(codes)


class FanOut(GroupFront[LanguageEvent]):
    """Translate one input into several target languages at once (one session per language).

    Args:
        client: the [`S2STClient`][s2st.client.S2STClient] that opens the sessions.
        languages: target languages (codes or names, see [`s2st.languages.normalize_language()`][s2st.languages.normalize_language]);
            at least one, no duplicates after normalisation.
        fail_fast: end everything on the first session error (default), or keep the other
            languages running and yield a [`SessionFailed`][s2st.fanout.SessionFailed] marker for the failed one.
        max_pending_events: merged events held while the consumer is busy; beyond that the
            sessions stop reading (backpressure, nothing is dropped).
        **connect_options: passed to [`S2STClient.connect()`][s2st.client.S2STClient.connect] for every language.

    Attributes:
        sessions: ``{language_code: S2STSession}`` in the order given.
        languages: the normalised language codes.
        failed: ``{language_code: error}`` of the sessions that ended with an error.

    Raises (from the constructor, before connecting):
        UnsupportedLanguageError, ConfigurationError: bad languages or options.
    """

    def __init__(
        self,
        client: S2STClient,
        languages: Iterable[str],
        *,
        fail_fast: bool = True,
        max_pending_events: int = 1024,
        **connect_options: Any,
    ) -> None:
        self.languages: tuple[str, ...] = _target_codes(languages)
        sessions = {code: client.connect(code, **connect_options) for code in self.languages}
        super().__init__(
            SessionGroup(
                sessions,
                LanguageEvent,
                fail_fast=fail_fast,
                max_pending_events=max_pending_events,
                name="fan-out",
            )
        )
        self._input = InputAudio(_INPUT_RATE)
        self._input_ended = False

    def __repr__(self) -> str:
        state = "closed" if self._group.closed else "open"
        return f"FanOut(languages={list(self.languages)!r}, state={state!r})"

    # ------------------------------------------------------------------ sending
    async def send_audio(
        self,
        audio: bytes | bytearray | memoryview | np.ndarray[Any, Any],
        *,
        sample_rate: int | None = None,
        channels: int = 1,
    ) -> None:
        """Convert ``audio`` once to 16 kHz mono int16 and send the same bytes to every
        language's session concurrently. Accepts what [`S2STSession.send_audio()`][s2st.session.S2STSession.send_audio] accepts
        (``sample_rate`` defaults to 16000); resampler state carries over between calls.

        Raises:
            SessionClosedError: the fan-out is not open, closed, or failed.
            AudioFormatError: the audio cannot be interpreted.
        """
        self._group.check_sendable()
        pcm = self._input.to_pcm(audio, sample_rate, channels)
        if pcm:
            await self._broadcast(pcm)

    async def _broadcast(self, pcm: bytes) -> None:
        await self._group.send_each(
            list(self.languages),
            lambda s: s.send_audio(pcm, sample_rate=_INPUT_RATE),
            what="send audio",
        )

    async def end_audio(self) -> None:
        """Send the resampler tails, then end the input of every session
        (see [`S2STSession.end_audio()`][s2st.session.S2STSession.end_audio])."""
        tail = self._input.flush()
        if tail:
            await self._broadcast(tail)
        self._input_ended = True
        await self._group.send_each(
            list(self.languages), lambda s: s.end_audio(), what="end the audio"
        )

    async def stream(
        self,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
    ) -> None:
        """Decode and pace ``source`` once (see [`s2st.audio.open_source()`][s2st.audio.open_source]) and send each
        frame to every session. A slow session slows them all (nothing is dropped). Does not
        end the input: call [`end_audio()`][s2st.fanout.FanOut.end_audio] or [`finish()`][s2st.fanout.FanOut.finish], or use [`start_stream()`][s2st.fanout.FanOut.start_stream]."""
        from .audio import open_source

        self._group.check_sendable()
        frames = open_source(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed)
        async with contextlib.aclosing(frames):  # closes files/devices if we stop early
            async for frame in frames:
                await self._broadcast(frame)

    def start_stream(
        self,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
        finish: bool = True,
        finish_timeout_s: float = 30.0,
    ) -> asyncio.Task[None]:
        """Run [`stream()`][s2st.fanout.FanOut.stream] (then [`finish()`][s2st.fanout.FanOut.finish] unless ``finish=False``) in a task owned by
        the fan-out: cancelled by [`aclose()`][s2st.fanout.FanOut.aclose]; if it fails, the fan-out ends with its error
        so the ``async for`` loop sees it."""
        return self._group.start(
            lambda: self.stream(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed),
            (lambda: self.finish(timeout_s=finish_timeout_s)) if finish else None,
        )

    async def finish(self, timeout_s: float = 30.0, *, idle_s: float = 3.0) -> None:
        """End the input and wait (concurrently, at most ``timeout_s``) until every language's
        translation has arrived, then close (see [`S2STSession.finish()`][s2st.session.S2STSession.finish]). Events stay
        readable."""
        if self._group.closed:
            return
        if not self._input_ended:
            tail = self._input.flush()
            if tail:
                await self._broadcast(tail)
            self._input_ended = True
        try:
            await self._group.send_each(
                list(self.languages),
                lambda s: s.finish(timeout_s=timeout_s, idle_s=idle_s),
                what="finish",
            )
        finally:
            await self._group.aclose()
