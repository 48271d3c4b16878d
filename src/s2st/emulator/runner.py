"""Run the emulator on its own event loop in a daemon thread (notebooks, sync code, the CLI)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from s2st.errors import TransportError

from .server import Emulator

__all__ = ["EmulatorThread", "run_in_thread"]


class EmulatorThread:
    """A started [`Emulator`][s2st.emulator.Emulator] living in a background thread::

        with EmulatorThread(port=0) as emu:
            print(emu.base_url)

    ``emulator`` is the running instance; read its records only for inspection (it belongs
    to the background loop). [`stop()`][s2st.emulator.runner.EmulatorThread.stop] is idempotent and bounded by ``timeout_s``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout_s: float = 10.0,
        **config: Any,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self.emulator = Emulator(host=host, port=port, **config)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="s2st-emulator", daemon=True)
        self._start_timeout_s = start_timeout_s

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.emulator.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def start(self) -> EmulatorThread:
        """Start the thread and wait until the server listens."""
        self._thread.start()
        if not self._ready.wait(self._start_timeout_s):
            raise TransportError("The emulator did not start in time; is the machine overloaded?")
        if self._error is not None:
            raise TransportError(f"The emulator could not start: {self._error}") from self._error
        return self

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop the server and the thread (bounded)."""
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self.emulator.stop(timeout_s=timeout_s), self._loop)
        try:
            fut.result(timeout_s + 1.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)

    def __getattr__(self, name: str) -> Any:
        # URLs and records of the running emulator (port, base_url, connections, ...)
        return getattr(self.emulator, name)

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(*, host: str = "127.0.0.1", port: int = 0, **config: Any) -> EmulatorThread:
    """Start an emulator in a daemon thread and return it (call ``.stop()`` when done)."""
    return EmulatorThread(host=host, port=port, **config).start()
