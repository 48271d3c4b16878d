"""File input: WAV of every encoding via the standard library, FLAC via soundfile, streaming."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from s2st.audio import alaw_encode, audio_file_info, iter_file_frames, mulaw_encode, read_audio
from s2st.audio import files as files_mod
from s2st.errors import AudioFormatError, ConfigurationError

from ._helpers import peak_hz, sine, tone_amplitude, write_riff

AMP = 0.5


def _tone(rate: int, channels: int, seconds: float = 1.0, freq: float = 440) -> np.ndarray:
    x = sine(freq, rate, seconds=seconds, amp=AMP)
    return np.repeat(x[:, None], channels, axis=1)


def _write_pcm_wave(path: Path, x: np.ndarray, rate: int, width: int) -> Path:
    """PCM WAV through the stdlib wave module (8/16/24/32-bit)."""
    if width == 1:
        data = np.round(x * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        data = np.round(x * 32767).astype("<i2").tobytes()
    elif width == 3:
        v = np.round(x * (2**23 - 1)).astype("<i4").reshape(-1)
        data = v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        data = np.round(x * (2**31 - 1)).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return path


def _check_tone(samples: np.ndarray, freq: float = 440, rel: float = 0.01) -> None:
    assert abs(peak_hz(samples, 16_000) - freq) <= 2
    assert tone_amplitude(samples, 16_000, freq) == pytest.approx(AMP * 32768, rel=rel)


def _without(monkeypatch: pytest.MonkeyPatch, *decoders: str) -> None:
    """Let s2st.audio.files find none of ``decoders`` (``"soundfile"``, ``"av"``)."""
    for name in decoders:
        monkeypatch.setattr(files_mod, f"_import_{name}", lambda: None)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize(("rate", "channels"), [(16_000, 1), (44_100, 2), (8000, 1)])
def test_pcm_wav_every_width(tmp_path: Path, width: int, rate: int, channels: int) -> None:
    path = _write_pcm_wave(tmp_path / "a.wav", _tone(rate, channels), rate, width)
    info = audio_file_info(path)
    assert (info.sample_rate, info.channels, info.frames, info.container) == (
        rate,
        channels,
        rate,
        "wav",
    )
    samples, out_rate = read_audio(path)
    assert out_rate == 16_000 and abs(samples.size - 16_000) <= 1
    _check_tone(samples, rel=0.02 if width == 1 else 0.005)


@pytest.mark.parametrize(("bits", "dtype"), [(32, "<f4"), (64, "<f8")])
@pytest.mark.parametrize("extensible", [False, True])
def test_float_wav(tmp_path: Path, bits: int, dtype: str, extensible: bool) -> None:
    x = _tone(48_000, 2)
    path = write_riff(
        tmp_path / "f.wav",
        x.astype(dtype).tobytes(),
        fmt_tag=3,
        channels=2,
        rate=48_000,
        bits=bits,
        extensible=extensible,
        extra_chunk=True,
    )
    assert audio_file_info(path).encoding == ("float32" if bits == 32 else "float64")
    _check_tone(read_audio(path)[0])


@pytest.mark.parametrize(
    ("tag", "encode", "name"), [(7, mulaw_encode, "mulaw"), (6, alaw_encode, "alaw")]
)
def test_g711_wav(tmp_path: Path, tag: int, encode: object, name: str) -> None:
    x = sine(440, 8000, amp=AMP)
    data = encode(np.round(x * 32767))  # type: ignore[operator]
    path = write_riff(tmp_path / "g.wav", data, fmt_tag=tag, channels=1, rate=8000, bits=8)
    assert audio_file_info(path).encoding == name
    _check_tone(read_audio(path)[0], rel=0.03)


def test_extensible_pcm_and_streamed_wav_with_unknown_length(tmp_path: Path) -> None:
    x = _tone(16_000, 1)
    data = np.round(x * 32767).astype("<i2").tobytes()
    path = write_riff(
        tmp_path / "s.wav",
        data,
        fmt_tag=1,
        channels=1,
        rate=16_000,
        bits=16,
        extensible=True,
        data_size=0xFFFFFFFF,
    )
    assert audio_file_info(path).frames is None
    assert read_audio(path)[0].tobytes() == data  # int16 at 16 kHz: bit-exact


def test_flac_via_soundfile(tmp_path: Path) -> None:
    import soundfile as sf

    path = tmp_path / "a.flac"
    sf.write(str(path), _tone(44_100, 2).astype(np.float32), 44_100, subtype="PCM_16")
    info = audio_file_info(path)
    assert (info.sample_rate, info.channels, info.container) == (44_100, 2, "soundfile")
    _check_tone(read_audio(path)[0])
    ogg = tmp_path / "a.ogg"
    sf.write(str(ogg), _tone(48_000, 1).astype(np.float32), 48_000, format="OGG")
    assert abs(peak_hz(read_audio(ogg)[0], 16_000) - 440) <= 2


@pytest.mark.parametrize("frame_ms", [20, 100, 200])
def test_frames_are_exact_and_the_tail_is_kept(tmp_path: Path, frame_ms: int) -> None:
    x = _tone(44_100, 1, seconds=1.234)
    path = _write_pcm_wave(tmp_path / "t.wav", x, 44_100, 2)
    frames = list(iter_file_frames(path, frame_ms=frame_ms))
    size = 16 * frame_ms * 2
    assert all(len(f) == size for f in frames[:-1])
    assert 0 < len(frames[-1]) <= size
    total = sum(len(f) for f in frames) // 2
    assert abs(total - round(1.234 * 16_000)) <= 1
    whole = read_audio(path)[0]
    assert b"".join(frames) == whole.tobytes()


def test_long_file_is_decoded_progressively(tmp_path: Path) -> None:
    # 30 s at 48 kHz stereo int16 is 5.8 MB; producing a frame must not touch most of it.
    import tracemalloc

    x = _tone(48_000, 2, seconds=30.0)
    path = _write_pcm_wave(tmp_path / "long.wav", x, 48_000, 2)
    del x
    gen = iter_file_frames(path, backend="numpy")
    tracemalloc.start()
    try:
        first = [next(gen) for _ in range(20)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gen.close()
    assert all(len(f) == 3200 for f in first)
    assert peak < 3_000_000  # bounded by one 0.5 s decode block, not the 5.8 MB file


def test_truncated_wav_keeps_what_is_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = np.round(_tone(16_000, 1) * 32767).astype("<i2").tobytes()
    path = write_riff(
        tmp_path / "t.wav",
        data[:-3],
        fmt_tag=1,
        channels=1,
        rate=16_000,
        bits=16,
        data_size=len(data),
    )
    samples = read_audio(path)[0]
    assert samples.size == 16_000 - 2
    assert "incomplete last sample" in caplog.text


def test_wav_errors(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match="no such audio file"):
        read_audio(tmp_path / "missing.wav")
    bad = write_riff(tmp_path / "b.wav", b"\x00" * 8, fmt_tag=2, channels=1, rate=8000, bits=4)
    with pytest.raises(AudioFormatError, match="unsupported WAV format tag 0x2"):
        read_audio(bad)
    incons = write_riff(tmp_path / "i.wav", b"\x00" * 8, fmt_tag=1, channels=0, rate=8000, bits=16)
    with pytest.raises(AudioFormatError, match="inconsistent WAV header"):
        read_audio(incons)
    nodata = tmp_path / "n.wav"
    nodata.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(AudioFormatError, match="no 'data' chunk"):
        audio_file_info(nodata)
    empty = write_riff(tmp_path / "e.wav", b"", fmt_tag=1, channels=1, rate=8000, bits=16)
    with pytest.raises(AudioFormatError, match="holds no audio"):
        read_audio(empty)
    with pytest.raises(ConfigurationError, match="frame_ms"):
        next(iter_file_frames(empty, frame_ms=10))


def test_non_wav_without_decoders_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(b"ID3" + b"\x00" * 100)
    _without(monkeypatch, "soundfile", "av")
    with pytest.raises(ConfigurationError, match=r"s2st\[files\]"):
        audio_file_info(path)
    with pytest.raises(ConfigurationError, match=r"s2st\[av\]"):
        read_audio(path)


def test_garbage_file_with_soundfile_but_no_av(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"not audio at all" * 10)
    _without(monkeypatch, "av")
    with pytest.raises(AudioFormatError, match=r"a\.bin: is not a recognised audio file"):
        audio_file_info(path)
    with pytest.raises(AudioFormatError, match="not a recognised audio file"):
        read_audio(path)


def test_damaged_flac_with_soundfile_names_the_decoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.flac"
    path.write_bytes(b"fLaC" + b"\x00" * 200)
    _without(monkeypatch, "av")
    with pytest.raises(AudioFormatError, match=r"soundfile cannot decode it .*damaged"):
        audio_file_info(path)


# Each input error names the file and the real cause (issue 13).
@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda p: p.mkdir(), "is a directory, not an audio file"),
        (lambda p: p.write_bytes(b""), r"the file is empty \(0 bytes\)"),
        (lambda p: p.write_bytes(b"hello world " * 20), "has a .wav name but no RIFF/WAVE header"),
    ],
)
def test_input_errors_name_the_file_and_the_cause(tmp_path: Path, make: object, cause: str) -> None:
    path = tmp_path / "in.wav"
    make(path)  # type: ignore[operator]
    for read in (audio_file_info, read_audio):
        with pytest.raises(AudioFormatError, match=f"in\\.wav: {cause}"):
            read(path)


def test_non_wav_garbage_without_decoders_is_not_a_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"shopping list: eggs, milk\n" * 4)
    _without(monkeypatch, "soundfile", "av")
    with pytest.raises(AudioFormatError, match=r"notes\.txt: is not a recognised audio file"):
        audio_file_info(path)
    flac = tmp_path / "a.flac"
    flac.write_bytes(b"fLaC" + b"\x00" * 60)
    with pytest.raises(ConfigurationError, match=r"looks like FLAC.*s2st\[files\]"):
        audio_file_info(flac)


def test_absurd_header_rate_names_the_file(tmp_path: Path) -> None:
    path = write_riff(tmp_path / "ghz.wav", b"\x00" * 64, fmt_tag=1, channels=1, rate=8000, bits=16)
    raw = bytearray(path.read_bytes())
    rate_at = raw.index(b"fmt ") + 12  # chunk id, size, format tag, channels, then the rate
    raw[rate_at : rate_at + 4] = (4_000_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(AudioFormatError, match=r"ghz\.wav: the WAV header says 4000000000 Hz"):
        audio_file_info(path)
    with pytest.raises(AudioFormatError, match="not an audio sample rate"):
        read_audio(path)


def test_truncated_wav_without_audio_is_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_riff(
        tmp_path / "cut.wav",
        b"\x00\x01",
        fmt_tag=1,
        channels=1,
        rate=16_000,
        bits=16,
        data_size=96_000,
    )
    with pytest.raises(AudioFormatError, match=r"cut\.wav: the file holds no audio .*truncated"):
        read_audio(path)
    assert "announces 3.0 s of audio, the file holds 0.0 s" in caplog.text


def test_no_backend_imports_at_package_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys, s2st.audio; "
        "print(sorted(m for m in ('soxr','soundfile','sounddevice','av') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _FakeAvFrame:
    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples

    def to_ndarray(self) -> np.ndarray:
        return self.samples[None, :]  # packed mono: shape (1, n), as PyAV returns


class _FakeAvResampler:
    def __init__(self, *, format: str, layout: str, rate: int) -> None:
        assert (format, layout) == ("flt", "mono")
        self.flushed = False

    def resample(self, frame: _FakeAvFrame | None) -> list[_FakeAvFrame]:
        if frame is None:
            self.flushed = True
            return []
        return [frame]


class _FakeAv:
    """The slice of PyAV's public API that s2st uses: open/streams/decode/AudioResampler."""

    AudioResampler = _FakeAvResampler

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        self.samples, self.rate = samples, rate

    def open(self, name: str) -> object:
        fake = self

        class Streams:
            def __init__(self) -> None:
                self.audio = [type("S", (), {"rate": fake.rate, "channels": 2})()]

        class Container:
            def __init__(self) -> None:
                self.streams = Streams()

            def __enter__(self) -> Container:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def decode(self, stream: object) -> list[_FakeAvFrame]:
                x = fake.samples
                return [_FakeAvFrame(x[i : i + 1024]) for i in range(0, x.size, 1024)]

        return Container()


def test_pyav_path_when_soundfile_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    fake = _FakeAv(sine(440, 48_000, amp=AMP).astype(np.float32), 48_000)
    _without(monkeypatch, "soundfile")
    monkeypatch.setattr(files_mod, "_import_av", lambda: fake)
    info = audio_file_info(path)
    assert (info.sample_rate, info.container) == (48_000, "av")
    _check_tone(read_audio(path)[0])


async def test_speed_zero_streams_a_file_as_fast_as_possible() -> None:
    """``speed=0`` means unpaced in the API, as ``s2st translate --speed 0`` does."""
    import time

    from s2st.audio import open_source
    from s2st.emulator import sample_path

    started = time.monotonic()
    frames = [f async for f in open_source(sample_path("hello"), speed=0)]
    elapsed = time.monotonic() - started
    assert sum(len(f) for f in frames) / 32_000 > 5.0  # 5.9 s of speech ...
    assert elapsed < 2.5  # ... not paced at real time (generous for a loaded machine)
