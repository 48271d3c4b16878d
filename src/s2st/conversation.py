"""Two-way conversation: two speakers with different languages, one session per direction.

Speech-to-speech translation has no source-language setting (the source is detected); each
direction is simply a session whose *target* is the listener's language::

    alice = Participant("alice", language="en")
    bob = Participant("bob", language="es")
    async with Conversation(client, alice, bob) as conv:
        conv.start_stream("alice", alice_mic)        # alice's speech -> Spanish for bob
        conv.start_stream("bob", bob_mic)            # bob's speech -> English for alice
        async for item in conv:                      # ConversationEvent(speaker, listener, event)
            if isinstance(item.event, s2st.AudioChunk):
                speakers[item.listener].play(item.event)

Failures follow [`s2st.fanout.FanOut`][s2st.fanout.FanOut]: by default the first direction that fails ends the
conversation with its typed error; with ``fail_fast=False`` the other direction continues and
the failed one yields a [`SessionFailed`][s2st.fanout.SessionFailed] marker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .errors import ConfigurationError, SessionClosedError
from .group import GroupEvent, GroupFront, SessionGroup
from .languages import normalize_language

if TYPE_CHECKING:
    from .client import S2STClient

__all__ = ["Conversation", "ConversationEvent", "Participant"]

logger = logging.getLogger("s2st.conversation")


@dataclass(frozen=True)
class Participant:
    """A person in a [`Conversation`][s2st.conversation.Conversation]: a unique ``name`` and the ``language`` they want to
    hear (a code or name; normalised, e.g. ``"Spanish"`` -> ``"es"``).

    Raises:
        ConfigurationError: empty name; UnsupportedLanguageError: unknown language.
    """

    name: str
    language: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigurationError(
                f"a participant needs a non-empty name such as 'alice', got {self.name!r}"
            )
        object.__setattr__(self, "language", normalize_language(self.language))


class ConversationEvent(NamedTuple):
    """An event of one direction: ``speaker``'s speech translated for ``listener``.

    ``InputTranscription`` is what the speaker said; ``OutputTranscription`` and
    ``AudioChunk`` are the translation to play to the listener. Unpacks as
    ``speaker, listener, event = item``.
    """

    speaker: str
    listener: str
    event: GroupEvent


class Conversation(GroupFront[ConversationEvent]):
    """Translate a conversation between two participants, one session per direction.

    Args:
        client: the [`S2STClient`][s2st.client.S2STClient] that opens both sessions.
        a, b: the two participants (distinct names).
        fail_fast: end everything on the first session error (default), or keep the other
            direction running and yield a ``SessionFailed`` marker for the failed one.
        max_pending_events: merged events held while the consumer is busy (backpressure).
        **connect_options: passed to [`S2STClient.connect()`][s2st.client.S2STClient.connect] for both directions.

    Attributes:
        participants: ``{name: Participant}``.
        sessions: ``{speaker_name: S2STSession}``; the session of ``"alice"`` translates
            alice's speech into the other participant's language.
        failed: ``{speaker_name: error}`` of the directions that ended with an error.

    Raises (from the constructor, before connecting):
        ConfigurationError: same name twice, or bad options.
    """

    def __init__(
        self,
        client: S2STClient,
        a: Participant,
        b: Participant,
        *,
        fail_fast: bool = True,
        max_pending_events: int = 1024,
        **connect_options: Any,
    ) -> None:
        for p in (a, b):
            if not isinstance(p, Participant):
                raise ConfigurationError(
                    f"participants must be s2st.conversation.Participant, not {type(p).__name__}"
                )
        if a.name == b.name:
            raise ConfigurationError(
                f"both participants are called {a.name!r}; give each a distinct name"
            )
        if a.language == b.language:
            logger.warning(
                "both participants want %r: each side hears its own language", a.language
            )
        self.participants: dict[str, Participant] = {a.name: a, b.name: b}
        self._listener = {a.name: b.name, b.name: a.name}
        sessions = {
            a.name: client.connect(b.language, **connect_options),
            b.name: client.connect(a.language, **connect_options),
        }
        super().__init__(
            SessionGroup(
                sessions,
                self._tag,
                fail_fast=fail_fast,
                max_pending_events=max_pending_events,
                name="conversation",
            )
        )

    def _tag(self, speaker: str, event: GroupEvent) -> ConversationEvent:
        return ConversationEvent(speaker, self._listener[speaker], event)

    def __repr__(self) -> str:
        people = ", ".join(f"{p.name}:{p.language}" for p in self.participants.values())
        return f"Conversation({people}, state={'closed' if self.closed else 'open'!r})"

    def listener_of(self, speaker: str) -> Participant:
        """The participant who hears ``speaker``'s translated speech."""
        return self.participants[self._listener[self._check(speaker)]]

    def _check(self, speaker: str) -> str:
        if speaker not in self._listener:
            raise ConfigurationError(
                f"unknown speaker {speaker!r}; the participants are "
                + " and ".join(repr(n) for n in self._listener)
            )
        return speaker

    def _speakers(self, speaker: str | None) -> list[str]:
        return list(self._listener) if speaker is None else [self._check(speaker)]

    # ------------------------------------------------------------------ sending
    async def send_audio(
        self,
        speaker: str,
        audio: bytes | bytearray | memoryview | np.ndarray[Any, Any],
        *,
        sample_rate: int | None = None,
        channels: int = 1,
    ) -> None:
        """Send ``speaker``'s audio to their direction (see [`S2STSession.send_audio()`][s2st.session.S2STSession.send_audio]).

        Raises:
            ConfigurationError: unknown speaker.
            SessionClosedError: the conversation or that direction has ended.
            AudioFormatError: the audio cannot be interpreted.
        """
        await self._send(
            speaker,
            lambda s: s.send_audio(audio, sample_rate=sample_rate, channels=channels),
            what="send audio",
        )

    async def _send(self, speaker: str, send: Any, *, what: str) -> None:
        self._check(speaker)
        self._group.check_sendable()
        if speaker in self._group.failed:
            raise self._closed_direction(speaker)
        await self._group.send_each([speaker], send, what=f"{what} for {speaker!r}")

    def _closed_direction(self, speaker: str) -> Exception:
        error = self._group.failed[speaker]
        exc = SessionClosedError(
            f"the translation of {speaker!r} ended with an error ({error}); no more audio"
            " can be sent for them"
        )
        exc.__cause__ = error
        return exc

    async def end_audio(self, speaker: str | None = None) -> None:
        """End the input of ``speaker``'s direction (both when ``None``)."""
        for name in self._speakers(speaker):
            await self._send(name, lambda s: s.end_audio(), what="end the audio")

    async def stream(
        self,
        speaker: str,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
    ) -> None:
        """Stream ``source`` (see [`S2STSession.stream()`][s2st.session.S2STSession.stream]) as ``speaker``'s speech."""
        await self._send(
            speaker,
            lambda s: s.stream(source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed),
            what="stream audio",
        )

    def start_stream(
        self,
        speaker: str,
        source: Any,
        *,
        sample_rate: int | None = None,
        frame_ms: int = 100,
        speed: float | None = 1.0,
        finish: bool = True,
        finish_timeout_s: float = 30.0,
    ) -> asyncio.Task[None]:
        """Run [`stream()`][s2st.conversation.Conversation.stream] for ``speaker`` (then [`finish()`][s2st.conversation.Conversation.finish] of that direction unless
        ``finish=False``) in a task owned by the conversation; if it fails, the conversation
        ends with its error (``fail_fast``) or that direction yields a ``SessionFailed``."""
        self._check(speaker)
        return self._group.start(
            lambda: self.stream(
                speaker, source, sample_rate=sample_rate, frame_ms=frame_ms, speed=speed
            ),
            (lambda: self.finish(speaker, timeout_s=finish_timeout_s)) if finish else None,
            key=speaker,
        )

    async def finish(
        self, speaker: str | None = None, *, timeout_s: float = 30.0, idle_s: float = 3.0
    ) -> None:
        """End ``speaker``'s input, wait for its translation, close that direction (see
        [`S2STSession.finish()`][s2st.session.S2STSession.finish]); with ``None``, both directions, then the conversation.
        The iteration ends once both directions have ended."""
        if self._group.closed:
            return
        names = [n for n in self._speakers(speaker) if n not in self._group.failed]
        if names:
            await self._group.send_each(
                names,
                lambda s: s.finish(timeout_s=timeout_s, idle_s=idle_s),
                what="finish",
            )
        if speaker is None:
            await self._group.aclose()
