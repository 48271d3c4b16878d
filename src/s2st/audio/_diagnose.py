"""What is wrong with an audio file that cannot be read (private to `s2st.audio.files`): the
path checks, format sniffing by leading bytes, and the errors that say what to install or
convert."""

from __future__ import annotations

import os

from s2st.errors import AudioFormatError, ConfigurationError

__all__ = ["check_path", "no_decoder", "not_audio", "sniff", "soundfile_failed"]

# Leading bytes of formats that need a decoder extra (see sniff).
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"fLaC", "FLAC"),
    (0, b"OggS", "Ogg"),
    (0, b"ID3", "MP3"),
    (0, b"FORM", "AIFF"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (4, b"ftyp", "MP4/M4A"),
    (0, b"#!AMR", "AMR"),
    (0, b"caff", "CAF"),
)


def sniff(path: str) -> str | None:
    """The name of a compressed format recognised by its first bytes, else ``None``."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    for offset, magic, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MP3"  # an MPEG audio frame sync without an ID3 tag
    return None


def not_audio(path: str, detail: str = "") -> AudioFormatError:
    """A file that no decoder recognises: say so, and what is read."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    wav_name = os.path.splitext(path)[1].lower() in (".wav", ".wave")
    what = (
        "has a .wav name but no RIFF/WAVE header" if wav_name else "is not a recognised audio file"
    )
    cause = f" ({detail})" if detail else ""
    return AudioFormatError(
        f"{path}: {what} (it starts with {head!r}){cause}; s2st reads WAV, and FLAC/OGG/MP3 with"
        " s2st[files]. Check the file, or convert it to WAV (e.g. with ffmpeg)"
    )


def no_decoder(path: str) -> Exception:
    kind = sniff(path)
    if kind is None:
        return not_audio(path)
    return ConfigurationError(
        f"{path}: looks like {kind}; only WAV is read without extras. Install a decoder with"
        " pip install 's2st[files]' (FLAC/OGG/MP3 via soundfile) or 's2st[av]' (containers,"
        " video sound tracks via PyAV)"
    )


def check_path(path: str | os.PathLike[str]) -> str:
    """The file name of ``path``, or an AudioFormatError naming it and what is wrong."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise AudioFormatError(f"{name}: is a directory, not an audio file")
    if not os.path.exists(name):
        raise AudioFormatError(f"{name}: no such audio file")
    if not os.path.isfile(name):
        raise AudioFormatError(f"{name}: not a regular file (a device or a pipe?)")
    if not os.access(name, os.R_OK):
        raise AudioFormatError(f"{name}: permission denied (the file is not readable)")
    if os.path.getsize(name) == 0:
        raise AudioFormatError(f"{name}: the file is empty (0 bytes)")
    return name


def soundfile_failed(name: str, exc: Exception) -> AudioFormatError:
    if sniff(name) is None:
        return not_audio(name, f"soundfile: {exc}")
    return AudioFormatError(
        f"{name}: soundfile cannot decode it ({exc}); the file may be damaged, or for"
        " containers and video install s2st[av]"
    )
