"""Reading audio files, streamed: nothing is loaded whole.

* WAV (RIFF) is parsed with the standard library: PCM 8/16/24/32-bit, IEEE float 32/64-bit,
  G.711 mu-law and A-law, and ``WAVE_FORMAT_EXTENSIBLE`` wrapping any of these. (The ``wave``
  module refuses float, G.711 and, before Python 3.12, extensible files, so the RIFF chunks are
  read directly.) A data chunk with size 0 or 0xFFFFFFFF (written by a live recorder) is read
  to the end of the file.
* Everything else (FLAC, OGG/Opus, MP3, AIFF, ...) goes through soundfile (``s2st[files]``) if
  installed, else PyAV (``s2st[av]``, also for containers and video sound tracks), else a
  [`ConfigurationError`][s2st.errors.ConfigurationError] tells which extra to install.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from s2st.errors import AudioFormatError

from ._diagnose import check_path, no_decoder, not_audio, sniff, soundfile_failed
from .convert import TARGET_SAMPLE_RATE, AudioConverter, Encoding
from .pacing import check_frame_ms
from .resample import Backend

__all__ = ["AudioFileInfo", "audio_file_info", "iter_file_frames", "read_audio"]

logger = logging.getLogger("s2st.audio.files")

_WAVE_PCM, _WAVE_FLOAT, _WAVE_ALAW, _WAVE_MULAW, _WAVE_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
#: Input read per decode step, in seconds of audio.
_BLOCK_S = 0.5
#: Sample rates a file header may declare (what the converter resamples from).
_MIN_FILE_RATE, _MAX_FILE_RATE = 1000, 768_000
#: A file that decodes to less audio than this holds nothing a recogniser can hear.
_MIN_AUDIO_S = 0.01


@dataclass(frozen=True)
class AudioFileInfo:
    """What a file header says: rate, channels, and how samples are stored.

    ``frames`` is ``None`` when the length is unknown (streamed WAV, some containers).
    ``container`` is ``"wav"``, ``"soundfile"`` or ``"av"`` (the decoder that will be used).
    """

    sample_rate: int
    channels: int
    encoding: str
    frames: int | None
    container: str


@dataclass(frozen=True)
class _WavLayout:
    info: AudioFileInfo
    data_offset: int
    data_size: int | None
    block_align: int


def _wav_encoding(fmt: int, bits: int, path: str) -> Encoding:
    table: dict[tuple[int, int], Encoding] = {
        (_WAVE_PCM, 8): "pcm8",
        (_WAVE_PCM, 16): "pcm16",
        (_WAVE_PCM, 24): "pcm24",
        (_WAVE_PCM, 32): "pcm32",
        (_WAVE_FLOAT, 32): "float32",
        (_WAVE_FLOAT, 64): "float64",
        (_WAVE_MULAW, 8): "mulaw",
        (_WAVE_ALAW, 8): "alaw",
    }
    if (fmt, bits) not in table:
        raise AudioFormatError(
            f"{path}: unsupported WAV format tag {fmt:#x} with {bits} bits per sample; supported:"
            " PCM 8/16/24/32, float 32/64, mu-law, A-law. Convert it (e.g. with ffmpeg) or"
            " install s2st[files]"
        )
    return table[(fmt, bits)]


def _parse_wav(fh: BinaryIO, path: str) -> _WavLayout:
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFormatError(f"{path}: not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int, int] | None = None  # tag, channels, rate, block_align, bits
    while True:
        header = fh.read(8)
        if len(header) < 8:
            raise AudioFormatError(f"{path}: WAV file has no 'data' chunk (truncated?)")
        chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk_id == b"fmt ":
            body = fh.read(size + (size & 1))
            if size < 16:
                raise AudioFormatError(f"{path}: WAV 'fmt ' chunk is too short ({size} bytes)")
            tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _WAVE_EXTENSIBLE and size >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # first field of the SubFormat GUID
            fmt = (tag, channels, rate, block_align, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError(f"{path}: WAV 'data' chunk comes before 'fmt '")
            break
        else:
            fh.seek(size + (size & 1), os.SEEK_CUR)
    tag, channels, rate, block_align, bits = fmt
    encoding = _wav_encoding(tag, bits, path)
    if not _MIN_FILE_RATE <= rate <= _MAX_FILE_RATE:
        raise AudioFormatError(
            f"{path}: the WAV header says {rate} Hz, which is not an audio sample rate"
            f" (expected {_MIN_FILE_RATE}..{_MAX_FILE_RATE} Hz); the header is damaged"
        )
    if channels < 1 or block_align != channels * ((bits + 7) // 8):
        raise AudioFormatError(
            f"{path}: inconsistent WAV header (channels={channels}, rate={rate},"
            f" block_align={block_align}, bits={bits})"
        )
    data_size: int | None = None if size in (0, 0xFFFFFFFF) else size
    frames = None if data_size is None else data_size // block_align
    info = AudioFileInfo(rate, channels, encoding, frames, "wav")
    return _WavLayout(info, fh.tell(), data_size, block_align)


def _import_soundfile() -> Any | None:
    try:
        import soundfile
    except (ImportError, OSError):
        return None
    return soundfile


def _import_av() -> Any | None:
    try:
        import av
    except ImportError:
        return None
    return av


def _is_wav(path: str) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def audio_file_info(path: str | os.PathLike[str]) -> AudioFileInfo:
    """Read only the header of ``path``.

    Raises:
        AudioFormatError: missing, unreadable or unsupported file.
        ConfigurationError: a non-WAV file and no decoder extra installed.
    """
    name = check_path(path)
    if _is_wav(name):
        with open(name, "rb") as fh:
            return _parse_wav(fh, name).info
    sf = _import_soundfile()
    if sf is not None:
        try:
            i = sf.info(name)
            return AudioFileInfo(
                int(i.samplerate), int(i.channels), i.subtype, i.frames, "soundfile"
            )
        except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError
            if _import_av() is None:
                raise soundfile_failed(name, exc) from exc
    av = _import_av()
    if av is None:
        raise no_decoder(name)
    try:
        with av.open(name) as container:
            stream = container.streams.audio[0]
            return AudioFileInfo(int(stream.rate), int(stream.channels), "av", None, "av")
    except Exception as exc:
        if sniff(name) is None:
            raise not_audio(name, f"PyAV: {exc}") from exc
        raise AudioFormatError(f"{name}: PyAV cannot decode an audio stream ({exc})") from exc


def _iter_wav(name: str) -> Iterator[tuple[bytes, AudioFileInfo]]:
    with open(name, "rb") as fh:
        layout = _parse_wav(fh, name)
        block = max(1, int(layout.info.sample_rate * _BLOCK_S)) * layout.block_align
        remaining = layout.data_size
        while remaining is None or remaining > 0:
            want = block if remaining is None else min(block, remaining)
            data = fh.read(want)
            if not data:
                break
            if remaining is not None:
                remaining -= len(data)
            stray = len(data) % layout.block_align
            if stray:  # only at a truncated end: half a sample frame cannot be decoded
                logger.warning("%s: ignoring %d bytes of an incomplete last sample", name, stray)
                data = data[:-stray]
            if data:
                yield data, layout.info
        if remaining:
            rate_bytes = layout.info.sample_rate * layout.block_align
            logger.warning(
                "%s: the file is truncated: the header announces %.1f s of audio, the file holds"
                " %.1f s",
                name,
                (layout.data_size or 0) / rate_bytes,
                ((layout.data_size or 0) - remaining) / rate_bytes,
            )


def _iter_soundfile(sf: Any, name: str) -> Iterator[tuple[npt.NDArray[np.float32], AudioFileInfo]]:
    with sf.SoundFile(name) as f:
        info = AudioFileInfo(int(f.samplerate), int(f.channels), f.subtype, f.frames, "soundfile")
        blocksize = max(1, int(f.samplerate * _BLOCK_S))
        while True:
            data = f.read(blocksize, dtype="float32", always_2d=True)
            if len(data) == 0:
                break
            yield np.ascontiguousarray(data), info


def _iter_av(av: Any, name: str) -> Iterator[tuple[npt.NDArray[np.float32], AudioFileInfo]]:
    try:
        container = av.open(name)
    except Exception as exc:  # PyAV's errors (InvalidDataError ...) are not ours
        if sniff(name) is None:
            raise not_audio(name, f"PyAV: {exc}") from exc
        raise AudioFormatError(f"{name}: PyAV cannot decode an audio stream ({exc})") from exc
    with container:
        if not container.streams.audio:
            raise AudioFormatError(f"{name}: the file has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate)
        info = AudioFileInfo(rate, 1, "av", None, "av")
        # Let FFmpeg deliver packed float mono at the native rate; we resample ourselves.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield np.ascontiguousarray(out.to_ndarray().reshape(-1), dtype=np.float32), info
            for out in resampler.resample(None):
                yield np.ascontiguousarray(out.to_ndarray().reshape(-1), dtype=np.float32), info
        except av.error.FFmpegError as exc:
            raise AudioFormatError(f"{name}: the audio stream is damaged ({exc})") from exc


def _iter_decoded(name: str) -> Iterator[tuple[Any, AudioFileInfo]]:
    """Yield (chunk, info) with chunk bytes (WAV, to decode with info.encoding) or float32 arrays."""
    if _is_wav(name):
        yield from _iter_wav(name)
        return
    sf = _import_soundfile()
    if sf is not None:
        try:
            sf.info(name)
        except Exception as exc:
            if _import_av() is None:
                raise soundfile_failed(name, exc) from exc
        else:
            yield from _iter_soundfile(sf, name)
            return
    av = _import_av()
    if av is None:
        raise no_decoder(name)
    yield from _iter_av(av, name)


def iter_file_frames(
    path: str | os.PathLike[str],
    *,
    frame_ms: int = 100,
    target_rate: int = TARGET_SAMPLE_RATE,
    backend: Backend = "auto",
) -> Iterator[bytes]:
    """Decode ``path`` progressively and yield mono int16 LE frames at ``target_rate``.

    Every frame is exactly ``frame_ms`` long except possibly the last, which is shorter and
    never dropped. Memory use is bounded by one decode block (0.5 s) whatever the file length.

    Raises:
        ConfigurationError: ``frame_ms`` outside 20..200, or a non-WAV file without a decoder.
        AudioFormatError: missing, corrupt or unsupported files.
    """
    check_frame_ms(frame_ms)
    name = check_path(path)
    frame_bytes = target_rate * frame_ms // 1000 * 2
    converter: AudioConverter | None = None
    pending = bytearray()
    produced = 0
    for chunk, info in _iter_decoded(name):
        if converter is None:
            encoding: Any = info.encoding if info.container == "wav" else None
            converter = AudioConverter(
                sample_rate=info.sample_rate,
                channels=info.channels if info.container == "wav" else None,
                encoding=encoding,
                target_rate=target_rate,
                backend=backend,
            )
        pending += converter.convert(chunk)
        while len(pending) >= frame_bytes:
            produced += frame_bytes
            yield bytes(pending[:frame_bytes])
            del pending[:frame_bytes]
    if converter is not None:
        pending += converter.flush()
    if produced + len(pending) < 2 * target_rate * _MIN_AUDIO_S:
        held = (produced + len(pending)) / 2 / target_rate
        raise AudioFormatError(
            f"{name}: the file holds no audio ({held * 1000:.0f} ms of samples); it is empty or"
            " truncated"
        )
    while pending:
        yield bytes(pending[:frame_bytes])
        del pending[:frame_bytes]


def read_audio(
    path: str | os.PathLike[str], *, target_rate: int = TARGET_SAMPLE_RATE
) -> tuple[npt.NDArray[np.int16], int]:
    """Read a whole file as mono int16 at ``target_rate``; returns ``(samples, target_rate)``.

    Decoding is streamed (see [`iter_file_frames()`][s2st.audio.iter_file_frames]), only the result is held in memory.

    Raises:
        ConfigurationError / AudioFormatError: as [`iter_file_frames()`][s2st.audio.iter_file_frames].
    """
    parts = list(iter_file_frames(path, frame_ms=200, target_rate=target_rate))
    return np.frombuffer(b"".join(parts), dtype="<i2").astype(np.int16), target_rate
