"""File checks and writes of the ``s2st`` command (see `s2st.cli`).

Input and output paths are checked before anything connects, and every message names the
path the user typed, never a temporary file. Outputs are written atomically and created with
the user's umask. ``NativeStderr`` keeps native decoder notes off the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Generator
from typing import Any, Literal, TextIO

from .errors import AudioFormatError

__all__ = [
    "NativeStderr",
    "OutputError",
    "UsageError",
    "check_input",
    "check_output",
    "preflight_decode",
    "subtitle_bytes",
    "wav_bytes",
    "write_file",
]


class UsageError(Exception):
    """A command-line mistake found after parsing (exit code 2)."""


class OutputError(OSError):
    """An output file could not be written (exit code 5); names the user's path.

    A subclass, so that ``OSError(ENOENT, ...)`` is not turned into a ``FileNotFoundError``
    (whose message would read "no such file" for a file we were creating)."""


def check_input(path: str) -> None:
    """Fail before connecting when ``path`` cannot be read (it names ``path`` and the cause)."""
    if os.path.isdir(path):
        raise AudioFormatError(f"{path}: is a directory, not an audio file")
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    if not os.access(path, os.R_OK):
        raise PermissionError(13, "permission denied (cannot read the input)", path)


def check_output(flag: str, path: str, *, input_path: str) -> None:
    """Fail before streaming when ``path`` cannot be written (``flag`` is ``-o``/``--subtitles``)."""
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{flag} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the directory {directory} is not writable")
    if flag == "-o" and os.path.splitext(path)[1].lower() not in (".wav", ".wave"):
        raise UsageError(f"-o {path}: the translated speech is written as WAV; use a .wav name")
    if os.path.exists(path) and os.path.samefile(path, input_path):
        raise UsageError(f"{flag} {path}: that is the input file; choose another name")


def preflight_decode(path: str) -> None:
    """Decode the start of ``path`` (and all of a short file) before connecting, so an
    unreadable or empty file fails in a second, not after a session was opened."""
    from .audio import iter_file_frames

    frames = iter_file_frames(path)
    try:
        next(frames, None)
    finally:
        if isinstance(frames, Generator):
            frames.close()


def wav_bytes(audio: Any, sample_rate: int) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(audio.astype("<i2", copy=False).tobytes())
    return buf.getvalue()


def write_file(flag: str, path: str, data: bytes) -> None:
    """Write ``data`` atomically (a temporary file renamed over ``path``), created with the
    user's umask like any other file; an error names ``path``, never the temporary name."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.s2st-tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise OutputError(exc.errno, f"{flag}: cannot write ({exc.strerror})", path) from exc


def subtitle_bytes(result: Any, fmt: Literal["srt", "vtt", "jsonl"]) -> bytes:
    from .subtitles import to_jsonl, to_srt, to_webvtt

    if fmt == "srt":
        return to_srt(result.segments).encode("utf-8")
    if fmt == "vtt":
        return to_webvtt(result.segments).encode("utf-8")
    return to_jsonl(result.segments).encode("utf-8")


#: Lines a native decoder (libmpg123 inside libsndfile) prints on file descriptor 2.
_DECODER_NOISE = ("Note: ", "Warning: ", "[src/libmpg123/", "[libmpg123/", "error: ")


class NativeStderr:
    """Keep what native decoders write on file descriptor 2 off the terminal.

    libmpg123 (inside libsndfile) prints notes such as ``Note: Illegal Audio-MPEG-Header`` with
    ``fprintf(stderr)``, below Python. While active, fd 2 goes to a temporary file; ``stream``
    (what ``__enter__`` returns) writes to the real stderr, so the progress line and our own
    messages stay live. On exit every captured line that is not decoder noise (a Python
    warning, a log record) is replayed, and the noise is dropped: with ``quiet`` silently,
    else summarised in one line. Inactive (``stream`` is ``err`` itself) when ``err`` is not
    the process's fd 2 (tests capturing output) or ``enabled`` is false.
    """

    def __init__(self, err: TextIO, *, enabled: bool, quiet: bool) -> None:
        self.err = err
        self.quiet = quiet
        self.noise = 0
        try:
            self.active = enabled and err is sys.stderr and err.fileno() == 2
        except (AttributeError, ValueError, OSError):  # a replaced or closed stream
            self.active = False
        self._saved = -1
        self._sink: Any = None
        self._live: TextIO | None = None

    def __enter__(self) -> TextIO:
        if not self.active:
            return self.err
        import tempfile

        self.err.flush()
        self._saved = os.dup(2)
        self._sink = tempfile.TemporaryFile()
        os.dup2(self._sink.fileno(), 2)
        encoding = getattr(self.err, "encoding", None) or "utf-8"
        self._live = open(
            os.dup(self._saved), "w", encoding=encoding, errors="replace", buffering=1
        )
        return self._live

    def __exit__(self, *exc_info: object) -> None:
        if not self.active:
            return
        assert self._live is not None
        self._live.close()
        self.err.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._sink.seek(0)
        captured = self._sink.read().decode("utf-8", "replace").splitlines(keepends=True)
        self._sink.close()
        kept = [line for line in captured if not line.startswith(_DECODER_NOISE)]
        self.noise = len(captured) - len(kept)
        self.err.write("".join(kept))
        if self.noise and not self.quiet:
            self.err.write(
                f"s2st: the audio decoder reported {self.noise} problem(s) in the input"
                " (damaged frames are skipped)\n"
            )
        self.err.flush()


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0-65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535; 0 picks a free one)")
    return value
