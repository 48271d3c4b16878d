"""The declared-rate sanity check: does a sample rate plausibly match speech samples? A
heuristic on the spectral centroid (see `check_sample_rate`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from s2st._validate import check_int

__all__ = ["check_sample_rate"]

#: Speech-like audio whose spectral centroid falls below this looks slowed down.
_LOW_CENTROID_HZ = 350.0
#: ... and above this (with a declared rate >= 22050 Hz) looks sped up.
_HIGH_CENTROID_HZ = 5000.0


def check_sample_rate(samples: npt.ArrayLike, sample_rate: int) -> str | None:
    """Heuristically check that ``sample_rate`` plausibly matches speech ``samples``.

    A wrongly declared rate changes every frequency by the same factor, so it can only be seen
    against what speech normally looks like. This check computes the power-weighted spectral
    centroid of the non-silent, non-noise-like (spectral flatness < 0.5) input of at least 0.25 s:

    * centroid < 350 Hz: reported as "too low" (speech recorded at 44.1/48 kHz and declared as
      16 kHz has its centroid divided by about 3);
    * centroid > 5 kHz at a declared rate >= 22.05 kHz: reported as "too high" (8 kHz telephony
      declared as 48 kHz has it multiplied by 6).

    It catches gross mislabels (factor >= ~3) of speech. It does not catch small ones (44.1 vs
    48 kHz), says nothing for silence, noise, or clips shorter than 0.25 s, and can flag
    legitimately low-pitched tones or music. Hence it returns a description of the suspected
    problem (or ``None``) instead of raising; a WAV header that contradicts a declared rate is
    certain and raises [`AudioFormatError`][s2st.errors.AudioFormatError] in [`s2st.audio.open_source()`][s2st.audio.open_source].
    """
    check_int("sample_rate", sample_rate, positive=True)
    x = np.asarray(samples)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = x.astype(np.float64).ravel()
    if x.size < sample_rate // 4 or not np.isfinite(x).all() or not np.any(x):
        return None
    seg = 1 << max(8, int(np.log2(sample_rate / 10)))  # ~100 ms segments, power of two
    usable = x.size - x.size % seg
    if usable == 0:
        return None
    frames = x[:usable].reshape(-1, seg)
    power = (np.abs(np.fft.rfft(frames * np.hanning(seg), axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(seg, 1.0 / sample_rate)
    band = freqs >= 20.0
    p, f = power[band], freqs[band]
    total = p.sum()
    if total <= 0:
        return None
    flatness = np.exp(np.mean(np.log(p + total * 1e-12))) / np.mean(p)
    if flatness >= 0.5:
        return None
    centroid = float((p * f).sum() / total)
    if centroid < _LOW_CENTROID_HZ:
        return (
            f"the audio's spectral centroid is {centroid:.0f} Hz at the declared {sample_rate} Hz,"
            " far below speech (~500-2000 Hz): the real sample rate is probably higher than"
            " declared (e.g. 44100 or 48000 Hz audio declared as 16000)"
        )
    if centroid > _HIGH_CENTROID_HZ and sample_rate >= 22_050:
        return (
            f"the audio's spectral centroid is {centroid:.0f} Hz at the declared {sample_rate} Hz,"
            " far above speech (~500-2000 Hz): the real sample rate is probably lower than"
            " declared (e.g. 8000 Hz telephony declared as 48000)"
        )
    return None
