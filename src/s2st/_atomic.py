"""Writing a file atomically (private): a temporary file in the same directory is renamed
over the target, so readers never see a half-written file. Used for subtitles, recorded audio
and batch reports."""

from __future__ import annotations

import os
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file renamed over it."""
    name = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(name))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(name))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp creates 0600; a written file gets the mode any new file gets (umask applied).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, name)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o22)  # read it (os has no getter) and put it back at once
    os.umask(mask)
    return mask
