"""The body of the owned streaming tasks of sessions, fan-outs and conversations (private)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["stream_then_finish"]


async def stream_then_finish(
    stream: Callable[[], Awaitable[None]],
    finish: Callable[[], Awaitable[None]] | None,
    on_error: Callable[[BaseException], bool],
) -> None:
    """Await ``stream()`` then, unless ``finish`` is None, ``finish()``. A failure (not a
    cancellation) goes to ``on_error``, which ends the owner with it and says whether the
    task should raise it too."""
    try:
        await stream()
        if finish is not None:
            await finish()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        if on_error(exc):
            raise
