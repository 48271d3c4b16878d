"""Which client a file translation uses when none is given (private; public through
[`s2st.translate`][s2st.translate]): the real service when Google credentials are in the
environment, else the bundled emulator, started for the duration of the call.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .client import S2STClient

__all__ = [
    "CREDENTIAL_ENV_VARS",
    "EmulatorEngine",
    "credentials_configured",
    "default_client_context",
    "local_engine_available",
]

logger = logging.getLogger("s2st.translate")

#: Environment variables that mean "credentials for the real service are configured".
CREDENTIAL_ENV_VARS = (
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


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
