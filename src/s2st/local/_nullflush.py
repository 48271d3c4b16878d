"""A persistent Apertium pipeline in null-flush mode (private).

``apertium MODE`` starts about ten processes per call (0.1-0.4 s, most of it start-up). Here
the mode file's pipeline is started once, every program with ``-z``: a request is the escaped
text followed by a superblank and a NUL, and the answer ends at the NUL the last program writes
(the superblank is needed: lttoolbox flushes only after a blank). Requests are serialised per
pipeline; one pipeline per mode is shared by the whole process.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import select
import shlex
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["NullFlushPipeline", "pipeline_for"]

logger = logging.getLogger("s2st.local.mt")

_SPECIAL = re.compile(r"([\^$/<>{}\[\]\\@*#+~|])")
_UNESCAPE = re.compile(r"\\(.)")
_TAIL = b"[][\n]\0"
_TAIL_TEXT = "[][\n]"


class PipelineError(RuntimeError):
    """The pipeline did not answer (it is restarted on the next request)."""


def _commands(mode_file: Path) -> list[list[str]]:
    # $1 is the generator's option (-n: no unknown-word marks, as ``apertium -u``), $2 the
    # tagger's extra option (none).
    text = mode_file.read_text("utf-8").strip()
    cmds = []
    for part in text.split("|"):
        argv = [a for a in shlex.split(part.replace("$1", "-n").replace("$2", "")) if a]
        if not argv:
            raise PipelineError(f"{mode_file}: empty command")
        cmds.append([argv[0], "-z", *argv[1:]])
    return cmds


class NullFlushPipeline:
    """One mode's programs, started once and fed request by request."""

    def __init__(self, mode_file: Path, *, timeout_s: float = 10.0) -> None:
        self.mode_file = mode_file
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[bytes]] = []

    def _start(self) -> None:
        prev: subprocess.Popen[bytes] | None = None
        for argv in _commands(self.mode_file):
            proc = subprocess.Popen(
                argv,
                stdin=prev.stdout if prev is not None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            if prev is not None and prev.stdout is not None:
                prev.stdout.close()  # the next program owns the pipe now
            self._procs.append(proc)
            prev = proc

    def close(self) -> None:
        """Stop the programs (idempotent)."""
        for proc in self._procs:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None and not stream.closed:
                    with contextlib.suppress(OSError):  # a broken pipe is already gone
                        stream.close()
        self._procs = []

    def translate(self, text: str) -> str:
        """One request (thread-safe). Raises `PipelineError` on a timeout or crash."""
        with self._lock:
            if self._procs and any(p.poll() is not None for p in self._procs):
                self.close()  # a program died since the last request: start afresh
            try:
                if not self._procs:
                    self._start()
                out = self._ask(text)
                if any(p.poll() is not None for p in self._procs):
                    # programs after a dead one flush a NUL at end of input: not an answer
                    raise PipelineError("a program of the pipeline exited")
                return out
            except (OSError, PipelineError) as exc:
                self.close()
                raise PipelineError(f"{self.mode_file.stem}: {exc}") from exc

    def _ask(self, text: str) -> str:
        first, last = self._procs[0], self._procs[-1]
        assert first.stdin is not None and last.stdout is not None
        first.stdin.write(_SPECIAL.sub(r"\\\1", text).encode("utf-8") + _TAIL)
        first.stdin.flush()
        fd = last.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                raise PipelineError(f"no answer within {self.timeout_s} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise PipelineError("the pipeline exited")
            buf += chunk
        out = buf[: buf.index(b"\0")].decode("utf-8", "replace")
        out = out.replace(_TAIL_TEXT, "")
        return _UNESCAPE.sub(r"\1", out)


_pipelines: dict[Path, NullFlushPipeline] = {}
_pipelines_lock = threading.Lock()


def pipeline_for(mode_file: Path) -> NullFlushPipeline:
    """The process-wide pipeline of ``mode_file`` (started on its first request)."""
    with _pipelines_lock:
        pipe = _pipelines.get(mode_file)
        if pipe is None:
            pipe = _pipelines[mode_file] = NullFlushPipeline(mode_file)
        return pipe


@atexit.register
def _close_all() -> None:
    with _pipelines_lock:
        for pipe in _pipelines.values():
            pipe.close()
