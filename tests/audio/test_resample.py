"""The streaming resampler: chunk-boundary continuity, lengths, both backends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from s2st.audio import AudioConverter, Resampler, soxr_available
from s2st.errors import ConfigurationError

from ._helpers import pcm16, peak_hz, sine, tone_amplitude


def _stream(r: Resampler, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    parts, i = [], 0
    for n in sizes:
        parts.append(r.process(x[i : i + n]))
        i += n
    parts.append(r.process(x[i:]))
    parts.append(r.flush())
    return np.concatenate(parts)


def _random_sizes(seed: int, total: int) -> list[int]:
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(int(rng.choice([0, 1, 2, 3, 17, 160, 441, 1000, 4799, 4800])))
    return sizes


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000, 44101])
def test_numpy_streaming_equals_one_shot_exactly(rate: int) -> None:
    x = sine(440, rate, seconds=0.5, amp=0.4).astype(np.float32)
    one = _stream(Resampler(rate, 16_000, backend="numpy"), x, [])
    streamed = _stream(Resampler(rate, 16_000, backend="numpy"), x, _random_sizes(rate, x.size))
    assert one.size == math.ceil(x.size * 16_000 / rate)
    np.testing.assert_allclose(streamed, one, atol=1e-6)


def test_odd_ratio_uses_computed_coefficients_and_keeps_the_tone() -> None:
    # 44101/16000 has 16000 phases: too many to tabulate, coefficients are computed per output.
    x = sine(1000, 44_101, seconds=1.0).astype(np.float32)
    r = Resampler(44_101, 16_000, backend="numpy")
    y = _stream(r, x, [10_000, 10_000])
    assert abs(peak_hz(y, 16_000) - 1000) <= 2
    assert tone_amplitude(y, 16_000, 1000) == pytest.approx(0.5, rel=0.01)


def test_soxr_streaming_matches_one_shot_within_tolerance() -> None:
    assert soxr_available()
    x = sine(440, 48_000, seconds=0.5, amp=0.4).astype(np.float32)
    one = _stream(Resampler(48_000, 16_000, backend="soxr"), x, [])
    streamed = _stream(Resampler(48_000, 16_000, backend="soxr"), x, _random_sizes(3, x.size))
    assert abs(streamed.size - one.size) <= 1
    n = min(streamed.size, one.size)
    np.testing.assert_allclose(streamed[:n], one[:n], atol=1e-4)


@pytest.mark.parametrize("backend", ["numpy", "soxr"])
@pytest.mark.parametrize("rate", [44_100, 48_000])
def test_no_clicks_at_chunk_boundaries(backend: str, rate: int) -> None:
    # A 300 Hz sine sampled at 16 kHz changes by at most A*(2*pi*300/16000)^2 between second
    # differences; a discontinuity at a chunk boundary would stick out far above that.
    conv = AudioConverter(sample_rate=rate, backend=backend)  # type: ignore[arg-type]
    x = sine(300, rate, seconds=1.0, amp=0.5).astype(np.float32)
    out = b""
    i = 0
    rng = np.random.default_rng(11)
    while i < x.size:
        n = int(rng.integers(1, 2500))
        out += conv.convert(x[i : i + n])
        i += n
    out += conv.flush()
    y = pcm16(out).astype(np.float64)
    core = y[200:-200]  # skip the filter's start-up and tail
    bound = 0.5 * 32768 * (2 * np.pi * 300 / 16_000) ** 2
    assert np.max(np.abs(np.diff(core, 2))) < 1.5 * bound + 4


def test_equal_rates_pass_through_and_flush_is_idempotent() -> None:
    r = Resampler(16_000, 16_000)
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    np.testing.assert_array_equal(r.process(x), x)
    assert r.flush().size == 0
    assert r.flush().size == 0
    n = Resampler(48_000, 16_000, backend="numpy")
    n.process(np.ones(480, dtype=np.float32))
    assert n.flush().size > 0
    assert n.flush().size == 0


def test_upsampling_keeps_the_tone_and_has_no_images() -> None:
    x = sine(3000, 8000, seconds=1.0).astype(np.float32)
    y = _stream(Resampler(8000, 16_000, backend="numpy"), x, [333] * 24)
    assert tone_amplitude(y, 16_000, 3000) == pytest.approx(0.5, rel=0.01)
    assert tone_amplitude(y, 16_000, 5000) < 0.5e-3  # the image at 8000-3000 Hz is filtered


def test_dc_gain_is_unity() -> None:
    y = _stream(Resampler(44_100, 16_000, backend="numpy"), np.full(44_100, 0.25, np.float32), [])
    np.testing.assert_allclose(y[100:-100], 0.25, atol=1e-4)


@pytest.mark.parametrize("rate", [999, 768_001, 16_000.0])
def test_rate_validation(rate: object) -> None:
    with pytest.raises(ConfigurationError):
        Resampler(rate, 16_000)  # type: ignore[arg-type]
