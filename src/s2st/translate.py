"""Translate whole files: [`translate_file()`][s2st.translate.translate_file] and its sync twin. The batch helper
[`s2st.batch.translate_files()`][s2st.batch.translate_files] builds on them.

Without a client, [`default_client_context()`][s2st.translate.default_client_context] picks the real service when Google
credentials are configured in the environment, and otherwise starts the bundled emulator for
the duration of the call (logged at INFO), so the same code runs offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._default_client import (
    CREDENTIAL_ENV_VARS,
    EmulatorEngine,
    credentials_configured,
    default_client_context,
    local_engine_available,
)
from ._file_result import ResultCollector as _Collector
from ._file_result import TranslationProgress, TranslationResult
from ._validate import check_optional_number
from .audio.output import DEFAULT_TAIL_MS, _check_tail
from .errors import ConfigurationError, S2STError
from .events import Event

if TYPE_CHECKING:
    from .client import S2STClient
    from .session import S2STSession

__all__ = [
    "CREDENTIAL_ENV_VARS",
    "EmulatorEngine",
    "TranslationProgress",
    "TranslationResult",
    "credentials_configured",
    "default_client_context",
    "local_engine_available",
    "translate_file",
    "translate_file_sync",
]

logger = logging.getLogger("s2st.translate")

_INPUT_RATE = 16_000
_MANIFEST = "manifest.jsonl"


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


# One session from connect to metrics; the error paths around the send must stay together.
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


# Long only by its docstring (the contract of every option); the body is ~35 lines.
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
    _check_options(timeout_s=timeout_s, tail_ms=tail_ms, engine=engine, client=client)

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


def _check_options(
    *, timeout_s: float | None, tail_ms: float | None, engine: object, client: object
) -> None:
    check_optional_number("timeout_s", timeout_s, positive=True)
    _check_tail(tail_ms)
    if engine is not None and client is not None:
        raise ConfigurationError("engine= picks the bundled emulator's engine: omit client=")
    if engine is not None and engine not in ("scripted", "loopback", "silent", "local"):
        raise ConfigurationError(
            f"engine must be 'scripted', 'loopback', 'silent' or 'local', not {engine!r}"
        )


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
