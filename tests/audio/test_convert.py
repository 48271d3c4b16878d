"""Conversion to 16 kHz mono int16: dtypes, encodings, channels, rates, G.711 and errors."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

from s2st.audio import (
    TARGET_SAMPLE_RATE,
    AudioConverter,
    alaw_decode,
    alaw_encode,
    check_sample_rate,
    mulaw_decode,
    mulaw_encode,
    to_pcm16,
)
from s2st.errors import AudioFormatError, ConfigurationError

from ._helpers import pcm16, peak_hz, sine, tone_amplitude

RATES = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000]


@pytest.mark.parametrize("backend", ["numpy", "soxr"])
@pytest.mark.parametrize("rate", RATES)
def test_sine_frequency_and_level_survive_resampling(rate: int, backend: str) -> None:
    x = sine(1000, rate, seconds=1.0, amp=0.5).astype(np.float32)
    out = pcm16(to_pcm16(x, sample_rate=rate, backend=backend))  # type: ignore[arg-type]
    assert abs(out.size - TARGET_SAMPLE_RATE) <= 1
    assert abs(peak_hz(out, TARGET_SAMPLE_RATE) - 1000) <= 2
    assert tone_amplitude(out, TARGET_SAMPLE_RATE, 1000) == pytest.approx(0.5 * 32768, rel=0.01)


@pytest.mark.parametrize("backend", ["numpy", "soxr"])
def test_tone_above_target_nyquist_is_removed_not_aliased(backend: str) -> None:
    # 10 kHz at 48 kHz would alias to 6 kHz at 16 kHz without an anti-alias filter.
    x = sine(10_000, 48_000, amp=0.5).astype(np.float32)
    out = pcm16(to_pcm16(x, sample_rate=48_000, backend=backend))  # type: ignore[arg-type]
    assert tone_amplitude(out, 16_000, 6000) < 0.5 * 32768 * 1e-3  # > 60 dB down
    # ...while a 6 kHz tone (75 % of the new Nyquist) passes unchanged and 7 kHz within 1.5 dB.
    for freq, tol in ((6000, 0.01), (7000, 0.16)):
        tone = sine(freq, 48_000).astype(np.float32)
        y = pcm16(to_pcm16(tone, sample_rate=48_000, backend=backend))  # type: ignore[arg-type]
        assert tone_amplitude(y, 16_000, freq) == pytest.approx(0.5 * 32768, rel=tol)


def _as_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "int16":
        return np.round(x * 32767).astype(np.int16)
    if dtype == ">i2":
        return np.round(x * 32767).astype(">i2")
    if dtype == "int32":
        return np.round(x * (2**31 - 1)).astype(np.int32)
    if dtype == "uint8":
        return np.round(x * 127 + 128).astype(np.uint8)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", ["int16", ">i2", "int32", "uint8", "float32", "float64"])
@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_every_dtype_is_scaled_to_full_range(dtype: str, rate: int) -> None:
    x = _as_dtype(sine(440, rate, amp=0.5), dtype)
    out = pcm16(to_pcm16(x, sample_rate=rate))
    assert abs(peak_hz(out, 16_000) - 440) <= 2
    tol = 0.02 if dtype == "uint8" else 0.005
    assert tone_amplitude(out, 16_000, 440) == pytest.approx(0.5 * 32768, rel=tol)


def test_int16_at_target_rate_is_bit_exact() -> None:
    x = np.random.default_rng(1).integers(-32768, 32767, 16_000, dtype=np.int16)
    assert to_pcm16(x, sample_rate=16_000) == x.astype("<i2").tobytes()
    conv = AudioConverter(sample_rate=16_000)
    assert conv.convert(x[:1234]) + conv.convert(x[1234:]) + conv.flush() == x.tobytes()


def _interleave(x: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(x[:, None], channels, axis=1)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("pcm16", lambda x: np.round(x * 32767).astype("<i2").tobytes()),
        ("pcm32", lambda x: np.round(x * (2**31 - 1)).astype("<i4").tobytes()),
        ("pcm8", lambda x: np.round(x * 127 + 128).astype(np.uint8).tobytes()),
        ("float", lambda x: x.astype("<f4").tobytes()),
        ("float32", lambda x: x.astype("<f4").tobytes()),
        ("float64", lambda x: x.astype("<f8").tobytes()),
        ("mulaw", lambda x: mulaw_encode(np.round(x * 32767))),
        ("alaw", lambda x: alaw_encode(np.round(x * 32767))),
        (
            "pcm24",
            lambda x: (
                np.round(x * (2**23 - 1))
                .astype("<i4")
                .view(np.uint8)
                .reshape(-1, 4)[:, :3]
                .tobytes()
            ),
        ),
    ],
)
@pytest.mark.parametrize("channels", [1, 2])
def test_byte_encodings(encoding: str, encode: object, channels: int) -> None:
    x = _interleave(sine(300, 8000, amp=0.5), channels).ravel()
    data = encode(x)  # type: ignore[operator]
    out = pcm16(to_pcm16(data, sample_rate=8000, channels=channels, encoding=encoding))  # type: ignore[arg-type]
    assert out.size == 16_000
    assert abs(peak_hz(out, 16_000) - 300) <= 2
    tol = 0.03 if encoding in ("pcm8", "mulaw", "alaw") else 0.005
    assert tone_amplitude(out, 16_000, 300) == pytest.approx(0.5 * 32768, rel=tol)


def test_bytes_split_mid_sample_stream_equals_one_shot() -> None:
    x = np.round(sine(440, 44_100, amp=0.3) * 32767).astype("<i2")
    stereo = _interleave(x, 2).tobytes()
    one = to_pcm16(stereo, sample_rate=44_100, channels=2, backend="numpy")
    conv = AudioConverter(sample_rate=44_100, channels=2, backend="numpy")
    cuts = [0, 1, 7, 3001, 3002, 9999, len(stereo)]
    streamed = b"".join(conv.convert(stereo[a:b]) for a, b in itertools.pairwise(cuts))
    assert streamed + conv.flush() == one


def test_stream_ending_mid_sample_is_an_error() -> None:
    conv = AudioConverter(sample_rate=16_000)
    conv.convert(b"\x01\x02\x03")
    with pytest.raises(AudioFormatError, match="stray byte"):
        conv.flush()
    with pytest.raises(AudioFormatError, match="stray byte"):
        to_pcm16(b"\x01\x02\x03", sample_rate=16_000)


def test_downmix_opposite_phase_cancels_and_one_sided_halves() -> None:
    x = sine(500, 16_000, amp=0.5)
    opposite = np.stack([x, -x], axis=1).astype(np.float32)
    assert not np.any(pcm16(to_pcm16(opposite, sample_rate=16_000)))
    left_only = np.stack([x, np.zeros_like(x)], axis=1).astype(np.float32)
    out = pcm16(to_pcm16(left_only, sample_rate=16_000))
    assert tone_amplitude(out, 16_000, 500) == pytest.approx(0.25 * 32768, rel=0.002)


def test_downmix_six_channels_keeps_each_channel_content() -> None:
    freqs = [200, 400, 800, 1600, 3200, 6000]
    surround = np.stack([sine(f, 48_000, amp=0.6) for f in freqs], axis=1).astype(np.float32)
    out = pcm16(to_pcm16(surround, sample_rate=48_000))
    for f in freqs:
        assert tone_amplitude(out, 16_000, f) == pytest.approx(0.1 * 32768, rel=0.02)


def test_out_of_range_floats_are_clipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    x = np.array([1.5, -1.5, 0.5, 1.0], dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="s2st.audio.convert"):
        out = pcm16(to_pcm16(x, sample_rate=16_000))
    assert out.tolist() == [32767, -32768, 16384, 32767]
    assert "clipped 3 samples" in caplog.text


# --- G.711 -----------------------------------------------------------------------------------


def _ref_ulaw2linear(u: int) -> int:
    """Sun Microsystems g711.c ulaw2linear, the reference implementation."""
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if (u & 0x80) else (t - 0x84)


def _ref_alaw2linear(a: int) -> int:
    """Sun Microsystems g711.c alaw2linear."""
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if (a & 0x80) else -t


def test_g711_decode_matches_reference_for_all_codes() -> None:
    codes = bytes(range(256))
    assert mulaw_decode(codes).tolist() == [_ref_ulaw2linear(c) for c in range(256)]
    assert alaw_decode(codes).tolist() == [_ref_alaw2linear(c) for c in range(256)]


def test_g711_itu_reference_values() -> None:
    assert mulaw_encode([0]) == b"\xff"
    assert alaw_encode([0]) == b"\xd5"
    assert mulaw_decode(b"\xff\x7f\x80\x00").tolist() == [0, 0, 32124, -32124]
    assert alaw_decode(b"\xd5\x55\xaa\x2a").tolist() == [8, -8, 32256, -32256]
    assert mulaw_encode([32767, -32768]) == b"\x80\x00"
    assert alaw_encode([32767, -32768]) == b"\xaa\x2a"


def test_g711_round_trips() -> None:
    codes = bytes(range(256))
    assert alaw_encode(alaw_decode(codes)) == codes
    expected_mu = bytes(0xFF if c == 0x7F else c for c in range(256))  # +0 and -0 both decode to 0
    assert mulaw_encode(mulaw_decode(codes)) == expected_mu
    # Encoding is monotonic and within one quantisation step of the input.
    x = np.arange(-32768, 32768, 7)
    for enc, dec in ((mulaw_encode, mulaw_decode), (alaw_encode, alaw_decode)):
        y = dec(enc(x)).astype(np.int64)
        assert np.all(np.diff(y) >= 0)
        assert np.all(np.abs(y - x) <= np.maximum(16, np.abs(x) // 16))


def test_g711_uint8_arrays() -> None:
    x = np.round(sine(1000, 8000, amp=0.5) * 32767)
    mu = np.frombuffer(mulaw_encode(x), dtype=np.uint8).copy()
    out = pcm16(to_pcm16(mu, sample_rate=8000, encoding="mulaw"))
    assert tone_amplitude(out, 16_000, 1000) == pytest.approx(0.5 * 32768, rel=0.03)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (np.array([0.0, np.nan, 0.1], dtype=np.float32), "NaN or infinite"),
        (np.array([0.0, np.inf], dtype=np.float64), "NaN or infinite"),
        (np.zeros(0, dtype=np.float32), "empty"),
        (b"", "empty"),
        (np.zeros((4, 4, 2), dtype=np.float32), "1-D .* or 2-D"),
        (np.array(0.1, dtype=np.float32), "1-D .* or 2-D"),
        (np.float32(0.1), "numpy array or bytes"),
        (np.zeros((2, 48_000), dtype=np.float32), "pass array.T"),
        (np.zeros((100, 0), dtype=np.float32), "empty"),
        (np.zeros((0, 2), dtype=np.float32), "empty"),
        (np.zeros((100, 2), dtype=np.float32)[:, 0], "C-contiguous"),
        (np.zeros(100, dtype=np.int64), "unsupported dtype int64"),
        (np.zeros(100, dtype=np.complex64), "unsupported dtype"),
        (np.zeros(100, dtype=bool), "unsupported dtype"),
        (np.zeros(100, dtype=np.int8), "unsupported dtype"),
        ([0.1, 0.2], "numpy array or bytes"),
    ],
)
def test_bad_audio_raises_audio_format_error(audio: object, match: str) -> None:
    with pytest.raises(AudioFormatError, match=match):
        to_pcm16(audio, sample_rate=16_000)  # type: ignore[arg-type]


def test_encoding_and_channel_errors() -> None:
    with pytest.raises(AudioFormatError, match="unknown encoding"):
        to_pcm16(b"\x00\x00", sample_rate=16_000, encoding="opus")  # type: ignore[arg-type]
    with pytest.raises(AudioFormatError, match="needs a uint8 array"):
        to_pcm16(np.zeros(10, dtype=np.int16), sample_rate=8000, encoding="mulaw")
    with pytest.raises(AudioFormatError, match="channels must be"):
        AudioConverter(sample_rate=16_000, channels=0)
    conv = AudioConverter(sample_rate=16_000)
    conv.convert(np.zeros((160, 2), dtype=np.float32))
    with pytest.raises(AudioFormatError, match="declared with 2"):
        conv.convert(np.zeros((160, 3), dtype=np.float32))
    with pytest.raises(AudioFormatError, match="1-D array but the stream has 2"):
        conv.convert(np.zeros(160, dtype=np.float32))
    with pytest.raises(AudioFormatError, match="declared with 1"):
        to_pcm16(np.zeros((160, 2), dtype=np.float32), sample_rate=16_000, channels=1)


@pytest.mark.parametrize("rate", [0, 500, 1_000_000, 16000.0, True, "16000"])
def test_bad_sample_rate_is_a_configuration_error(rate: object) -> None:
    with pytest.raises(ConfigurationError, match="Hz"):
        to_pcm16(np.zeros(10, dtype=np.float32), sample_rate=rate)  # type: ignore[arg-type]


def test_bad_backend_and_use_after_flush() -> None:
    with pytest.raises(ConfigurationError, match="unknown resampler backend"):
        AudioConverter(sample_rate=48_000, backend="scipy")  # type: ignore[arg-type]
    conv = AudioConverter(sample_rate=48_000)
    conv.flush()
    with pytest.raises(ConfigurationError, match="flushed"):
        conv.convert(np.zeros(10, dtype=np.float32))


def test_empty_chunks_in_a_stream_are_harmless() -> None:
    conv = AudioConverter(sample_rate=16_000)
    assert conv.convert(b"") == b""
    assert conv.convert(np.zeros(0, dtype=np.int16)) == b""
    assert conv.flush() == b""


# --- declared-rate sanity check ----------------------------------------------------------------


def _speechlike(rate: int, seconds: float = 1.0, f0: float = 140.0) -> np.ndarray:
    """A vowel-like harmonic series (f0 140 Hz, formant-ish peaks near 700 and 1200 Hz)."""
    t = np.arange(int(rate * seconds)) / rate
    x = np.zeros_like(t)
    for k in range(1, int(4000 // f0)):
        f = k * f0
        gain = np.exp(-(((f - 700) / 300) ** 2)) + 0.6 * np.exp(-(((f - 1200) / 400) ** 2)) + 0.02
        x += gain * np.sin(2 * np.pi * f * t + k)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_check_sample_rate_accepts_correct_rates() -> None:
    for rate in (8000, 16_000, 44_100, 48_000):
        assert check_sample_rate(_speechlike(rate), rate) is None


def test_check_sample_rate_flags_48k_speech_declared_as_16k() -> None:
    samples = _speechlike(48_000)  # what a 48 kHz mic delivers
    problem = check_sample_rate(samples, 16_000)
    assert problem is not None and "higher than declared" in problem


def test_check_sample_rate_flags_8k_telephony_declared_as_48k() -> None:
    problem = check_sample_rate(_speechlike(8000, seconds=3.0), 48_000)
    assert problem is not None and "lower than declared" in problem


def test_check_sample_rate_stays_quiet_when_it_cannot_know() -> None:
    noise = np.random.default_rng(0).standard_normal(48_000).astype(np.float32) * 0.1
    assert check_sample_rate(noise, 16_000) is None  # flat spectrum: not speech
    assert check_sample_rate(np.zeros(48_000, dtype=np.float32), 16_000) is None
    assert check_sample_rate(_speechlike(48_000)[:1000], 16_000) is None  # too short
    with pytest.raises(ConfigurationError):
        check_sample_rate(noise, 0)
