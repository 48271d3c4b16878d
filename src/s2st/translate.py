"""Translate whole files: [`translate_file()`][s2st.translate.translate_file] and its sync twin. The batch helper
[`s2st.batch.translate_files()`][s2st.batch.translate_files] builds on them.

Without a client, [`default_client_context()`][s2st.translate.default_client_context] picks the real service when Google
credentials are configured in the environment, and otherwise starts the bundled emulator for
the duration of the call (logged at INFO), so the same code runs offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_write
from .audio.output import DEFAULT_TAIL_MS, SilenceTrimmer, _check_tail
from .errors import ConfigurationError, S2STError
from .events import DEFAULT_OUTPUT_SAMPLE_RATE, AudioChunk, Event
from .metrics import SessionMetrics
from .segments import Segment, SegmentAggregator, join_texts
from .subtitles import DEFAULT_MIN_DURATION_S, SubtitleFormat, SubtitleText, write_subtitles

if TYPE_CHECKING:
    from .client import S2STClient
    from .session import S2STSession

__all__ = [
    "TranslationProgress",
    "TranslationResult",
    "default_client_context",
    "translate_file",
    "translate_file_sync",
]

logger = logging.getLogger("s2st.translate")

#: Environment variables that mean "credentials for the real service are configured".
CREDENTIAL_ENV_VARS = (
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
)
_INPUT_RATE = 16_000
_MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class TranslationProgress:
    """Where a [`translate_file()`][s2st.translate.translate_file] call stands.

    Attributes:
        sent_s: seconds of source audio sent.
        total_s: length of the file in seconds, ``None`` when its header does not say.
        fraction: ``sent_s / total_s`` in 0..1 (0 while the total is unknown); exactly 1.0 in
            the last report, made once the translation has arrived.
        translated_audio_s: seconds of translated audio received, up to the end of the last
            voiced chunk (silence before and between voiced chunks included, the silence the
            server streams after the last word not: EVIDENCE.md row 7).
        segments: segments closed so far.
    """

    sent_s: float
    total_s: float | None
    fraction: float
    translated_audio_s: float
    segments: int


@dataclass(frozen=True, eq=False)
class TranslationResult:
    """The translation of one file.

    The live-translate model streams PCM silence after the last translated word, forever
    (EVIDENCE.md row 7). That silence is not translation: ``audio`` (and so [`write_wav()`][s2st.translate.TranslationResult.write_wav])
    keeps the silence before the first voiced chunk (the translation's lag) and between voiced
    chunks (its pauses), sample-exact, but of the silence after the last voiced chunk only
    ``tail_ms`` (default `s2st.audio.DEFAULT_TAIL_MS`, 300 ms), counted in
    ``trimmed_silence_s``. The segments end with the last voiced chunk. A *silence-only
    result* (audio came, none of it voiced: e.g. a proxy that dropped the translation config,
    EVIDENCE.md row 15) has an empty ``audio``; it is logged as a warning, not raised.

    Attributes:
        source_text: the source transcript (segment texts joined).
        translated_text: the translated text.
        audio: the translated speech, 1-D ``int16`` at ``sample_rate`` (24 kHz), without the
            trailing server silence (see above).
        sample_rate: rate of ``audio``.
        segments: the aligned segments, all stable.
        metrics: latency and volume figures of the session.
        events_count: events received.
        target_language: the target language as requested.
        used_emulator: ``True`` when the bundled emulator answered, not Google's service.
        path: the input file.
        trimmed_silence_s: seconds of trailing server silence received but left out of
            ``audio``.
        translated_audio_s: seconds of ``audio`` up to the end of the last voiced chunk (the
            lag and the pauses included, the tail not): where the last segment ends, and the
            ``translated_audio_s`` of the last progress report.
    """

    source_text: str
    translated_text: str
    audio: npt.NDArray[np.int16]
    sample_rate: int
    segments: list[Segment]
    metrics: SessionMetrics
    events_count: int
    target_language: str
    used_emulator: bool
    path: str | None = None
    trimmed_silence_s: float = 0.0
    translated_audio_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """Length of the translated audio in seconds."""
        return self.audio.size / self.sample_rate

    def write_wav(self, path: str | os.PathLike[str]) -> None:
        """Write ``audio`` as a mono 16-bit WAV file (atomically): the translated speech with
        at most the short tail of trailing silence (see the class docstring)."""
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(self.audio.astype("<i2", copy=False).tobytes())
        atomic_write(path, buf.getvalue())

    def write_subtitles(
        self,
        path: str | os.PathLike[str],
        *,
        format: SubtitleFormat | None = None,
        text: SubtitleText = "translated",
        min_duration_s: float = DEFAULT_MIN_DURATION_S,
    ) -> None:
        """Write the segments as subtitles; see [`s2st.subtitles.write_subtitles()`][s2st.subtitles.write_subtitles]."""
        write_subtitles(
            path, self.segments, format=format, text=text, min_duration_s=min_duration_s
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: texts, segments, metrics, counts (no audio samples)."""
        return {
            "path": self.path,
            "target_language": self.target_language,
            "used_emulator": self.used_emulator,
            "source_text": self.source_text,
            "translated_text": self.translated_text,
            "audio_s": self.duration_s,
            "translated_audio_s": self.translated_audio_s,
            "trimmed_silence_s": self.trimmed_silence_s,
            "sample_rate": self.sample_rate,
            "events_count": self.events_count,
            "segments": [
                {k: getattr(s, k) for k in Segment.__dataclass_fields__} for s in self.segments
            ],
            "metrics": self.metrics.as_dict(),
        }


def credentials_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether any of `CREDENTIAL_ENV_VARS` is set (non-empty)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in CREDENTIAL_ENV_VARS)


EmulatorEngine = Literal["scripted", "loopback", "silent", "local"]
"""The bundled emulator's engines (see `s2st.emulator.EmulatorConfig`)."""


def local_engine_available(target_language: str | None = None) -> bool:
    """Whether the local cascade engine (`s2st.local`, extra ``s2st[local]`` and the
    Debian packages of docs/guides/local-engine.md) can translate into ``target_language``
    here. Cheap: no model is loaded. Never raises."""
    try:
        from .local import ready

        return bool(ready(target_language))
    except Exception:  # missing extra, unusable installation: not available
        return False


@contextlib.asynccontextmanager
async def default_client_context(
    *, engine: EmulatorEngine | None = None
) -> AsyncIterator[tuple[S2STClient, bool]]:
    """Yield ``(client, is_emulator)``: ``S2STClient()`` when Google credentials are configured
    (``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_API_KEY``, ``GEMINI_API_KEY`` or
    ``GOOGLE_APPLICATION_CREDENTIALS``) and no ``engine`` is asked for, else a client for a
    bundled emulator started on 127.0.0.1 for the duration of the ``async with`` block,
    answering with ``engine`` (default ``"scripted"``: the bundled scenarios, labelled
    loopback otherwise; ``"local"``: a real offline translation)."""
    from .client import S2STClient

    if engine is None and credentials_configured():
        yield S2STClient(), False
        return
    from .emulator import Emulator

    async with Emulator(engine=engine or "scripted") as emu:
        logger.info(
            "using the bundled emulator at %s with the %s engine%s",
            emu.base_url,
            engine or "scripted",
            ""
            if engine is not None
            else " (no Google credentials in the environment: set GOOGLE_CLOUD_PROJECT or "
            "GOOGLE_API_KEY to use the real service)",
        )
        yield S2STClient.for_emulator(emu), True


class _Collector:
    """Everything a file translation accumulates from the session.

    Audio goes through a [`SilenceTrimmer`][s2st.audio.SilenceTrimmer], so held server silence stays
    bounded in memory however long the server streams it.
    """

    def __init__(self, *, tail_ms: float | None = DEFAULT_TAIL_MS) -> None:
        self.segments = SegmentAggregator()
        self.audio: list[npt.NDArray[np.int16]] = []
        self.sample_rate: int | None = None
        self.events = 0
        self.sent_s = 0.0
        self.tail_ms = tail_ms
        self._trimmer: SilenceTrimmer | None = None
        self.audio_chunks = 0
        self.voiced_chunks = 0
        self.received_samples = 0

    def on_event(self, event: Event) -> None:
        now = time.monotonic()
        self.events += 1
        self.segments.feed(event, t=now)
        if isinstance(event, AudioChunk) and event.data.size:
            self._on_audio(event)

    def _on_audio(self, event: AudioChunk) -> None:
        if self.sample_rate is None:
            self.sample_rate = event.sample_rate
            self._trimmer = SilenceTrimmer(sample_rate=event.sample_rate, tail_ms=self.tail_ms)
        assert self._trimmer is not None
        voiced = event.voiced  # decided on the samples as sent, before any resampling
        data = event.data
        if event.sample_rate != self.sample_rate:
            from .audio import to_pcm16

            logger.warning(
                "translated audio changed rate %d -> %d Hz; resampling",
                self.sample_rate,
                event.sample_rate,
            )
            pcm = to_pcm16(data, sample_rate=event.sample_rate, target_rate=self.sample_rate)
            data = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        self.audio_chunks += 1
        self.voiced_chunks += voiced
        self.received_samples += data.size
        self.audio += self._trimmer.push(data, voiced=voiced)

    def result(
        self,
        *,
        metrics: SessionMetrics,
        target_language: str,
        used_emulator: bool,
        path: str | None,
    ) -> TranslationResult:
        """The result, once the session ended (call once: it flushes the trimmer)."""
        self.segments.close()
        segments = self.segments.segments
        rate = self.sample_rate or DEFAULT_OUTPUT_SAMPLE_RATE
        audio = self._finish_audio()
        return TranslationResult(
            source_text=join_texts(s.source_text for s in segments),
            translated_text=join_texts(s.translated_text for s in segments),
            audio=audio,
            sample_rate=rate,
            segments=segments,
            metrics=metrics,
            events_count=self.events,
            target_language=target_language,
            used_emulator=used_emulator,
            path=path,
            trimmed_silence_s=max(0, self.received_samples - audio.size) / rate,
            translated_audio_s=self.segments.output_audio_s,
        )

    def _finish_audio(self) -> npt.NDArray[np.int16]:
        """The recorded audio: everything up to the last voiced chunk plus the tail."""
        if self._trimmer is not None:
            self.audio += self._trimmer.flush()
        if self.audio_chunks and not self.voiced_chunks:
            logger.warning(
                "the translated audio was all silence (%d chunks, %.1f s): the result has no "
                "audio; check the target language and any proxy in between",
                self.audio_chunks,
                self.received_samples / (self.sample_rate or DEFAULT_OUTPUT_SAMPLE_RATE),
            )
        return np.concatenate(self.audio) if self.audio else np.zeros(0, dtype=np.int16)

    def progress(self, total_s: float | None, *, final: bool = False) -> TranslationProgress:
        if final:
            fraction = 1.0
        elif total_s:
            fraction = min(1.0, self.sent_s / total_s)
        else:
            fraction = 0.0
        return TranslationProgress(
            sent_s=self.sent_s,
            total_s=total_s,
            fraction=fraction,
            translated_audio_s=self.segments.output_audio_s,
            segments=len(self.segments.stable_segments),
        )


async def _read_events(
    session: S2STSession, col: _Collector, on_event: Callable[[Event], None] | None
) -> None:
    async for event in session:
        col.on_event(event)
        if on_event is not None:
            on_event(event)


async def _send_file(
    session: S2STSession,
    name: str,
    col: _Collector,
    *,
    speed: float | None,
    frame_ms: int,
    total_s: float | None,
    progress: Callable[[TranslationProgress], None] | None,
) -> None:
    from .audio import open_source

    frames = open_source(name, frame_ms=frame_ms, speed=speed)
    async with contextlib.aclosing(frames):  # closes the file if we stop early
        async for frame in frames:
            await session.send_audio(frame, sample_rate=_INPUT_RATE)
            col.sent_s += len(frame) / (2 * _INPUT_RATE)
            if progress is not None:
                progress(col.progress(total_s))


async def _translate(
    client: S2STClient,
    name: str,
    target_language: str,
    *,
    used_emulator: bool,
    speed: float | None,
    frame_ms: int,
    finish_timeout_s: float,
    total_s: float | None,
    progress: Callable[[TranslationProgress], None] | None,
    on_event: Callable[[Event], None] | None,
    tail_ms: float | None,
    options: dict[str, Any],
) -> TranslationResult:
    col = _Collector(tail_ms=tail_ms)
    async with client.connect(target_language, **options) as session:
        reader = asyncio.create_task(
            _read_events(session, col, on_event), name="s2st-translate-reader"
        )
        try:
            await _send_file(
                session,
                name,
                col,
                speed=speed,
                frame_ms=frame_ms,
                total_s=total_s,
                progress=progress,
            )
            await session.finish(timeout_s=finish_timeout_s)
        except S2STError:
            # A send fails with SessionClosedError when the session ended with an error (e.g.
            # the server closed with 1011): that error, raised by the reader, is the real cause.
            await session.aclose()
            await asyncio.wait([reader])
            if not reader.cancelled() and reader.exception() is not None:
                raise reader.exception() from None  # type: ignore[misc]
            raise
        except BaseException:
            reader.cancel()
            await asyncio.wait([reader])
            raise
        await reader  # ends with the session; raises the session's error if it had one
        metrics = session.metrics  # the session measures latency itself
    col.segments.close()
    if progress is not None:
        progress(col.progress(total_s, final=True))
    return col.result(
        metrics=metrics, target_language=target_language, used_emulator=used_emulator, path=name
    )


async def translate_file(
    path: str | os.PathLike[str],
    target_language: str,
    *,
    client: S2STClient | None = None,
    speed: float | None = 1.0,
    progress: Callable[[TranslationProgress], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    timeout_s: float | None = None,
    finish_timeout_s: float = 30.0,
    frame_ms: int = 100,
    tail_ms: float | None = DEFAULT_TAIL_MS,
    engine: EmulatorEngine | None = None,
    **options: Any,
) -> TranslationResult:
    """Translate an audio file into ``target_language`` over one session.

    The file is streamed at ``speed`` x real time (``None``: as fast as the connection takes
    it; the real service expects about real time). ``progress`` is called from the event loop
    after every frame sent and once more with ``fraction == 1.0`` when the translation has
    arrived; an exception it raises aborts the call. ``on_event`` sees every event as it
    arrives (live captions, for example). ``options`` go to
    [`S2STClient.connect()`][s2st.client.S2STClient.connect] (model, reconnect, ...).

    Args:
        client: the client to use; ``None``: [`default_client_context()`][s2st.translate.default_client_context] (real service
            with credentials in the environment, else the bundled emulator).
        timeout_s: bound for the whole call (``None``: no bound).
        finish_timeout_s: how long to wait for the translation after the input ended.
        frame_ms: length of each audio message.
        tail_ms: server silence kept in ``audio`` after the last voiced chunk (default
            `s2st.audio.DEFAULT_TAIL_MS`, 300 ms; ``None`` keeps all of it, as received).
        engine: translate with the bundled emulator and this engine (``"local"``: the offline
            cascade of `s2st.local`), even when Google credentials are configured; not
            with ``client``.

    Raises:
        AudioFormatError / ConfigurationError: unreadable file, bad options (before connecting).
        TransportError: the session failed (its typed subclass).
        TimeoutError: ``timeout_s`` passed.
    """
    from .audio import audio_file_info

    name = os.fspath(path)
    info = await asyncio.to_thread(audio_file_info, name)
    total_s = info.frames / info.sample_rate if info.frames is not None else None
    if timeout_s is not None and not timeout_s > 0:
        raise ConfigurationError(f"timeout_s must be positive or None, got {timeout_s!r}")
    _check_tail(tail_ms)
    if engine is not None and client is not None:
        raise ConfigurationError("engine= picks the bundled emulator's engine: omit client=")
    if engine is not None and engine not in ("scripted", "loopback", "silent", "local"):
        raise ConfigurationError(
            f"engine must be 'scripted', 'loopback', 'silent' or 'local', not {engine!r}"
        )

    async def run() -> TranslationResult:
        kwargs: dict[str, Any] = {
            "speed": speed,
            "frame_ms": frame_ms,
            "finish_timeout_s": finish_timeout_s,
            "total_s": total_s,
            "progress": progress,
            "on_event": on_event,
            "tail_ms": tail_ms,
            "options": options,
        }
        if client is not None:
            return await _translate(client, name, target_language, used_emulator=False, **kwargs)
        async with default_client_context(engine=engine) as (default, is_emulator):
            return await _translate(
                default, name, target_language, used_emulator=is_emulator, **kwargs
            )

    try:
        return await asyncio.wait_for(run(), timeout_s)
    except asyncio.TimeoutError:
        raise TimeoutError(
            f"{name}: not translated within timeout_s={timeout_s}; raise it or stream faster"
        ) from None


def translate_file_sync(
    path: str | os.PathLike[str], target_language: str, **kwargs: Any
) -> TranslationResult:
    """Blocking [`translate_file()`][s2st.translate.translate_file] (runs its own event loop).

    Raises:
        ConfigurationError: called from a running event loop (use ``await translate_file``).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(translate_file(path, target_language, **kwargs))
    raise ConfigurationError(
        "translate_file_sync() cannot run inside a running event loop; "
        "use `await s2st.translate_file(...)` instead"
    )
