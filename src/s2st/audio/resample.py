"""Streaming sample-rate conversion of mono float32 audio.

Two backends behind one interface:

* ``"soxr"``: ``soxr.ResampleStream`` (libsoxr, "HQ" quality), the reference choice. Optional
  extra ``s2st[soxr]``; imported on first use.
* ``"numpy"``: a pure-numpy windowed-sinc (Kaiser, beta 8.6, 16 zero crossings per side)
  polyphase resampler for the rational ratio ``out/in``. Its state (the input history and the
  absolute output position) is carried across chunks, so splitting the input at any point gives
  exactly the same output as converting it in one piece. Stop-band attenuation is about 80 dB;
  the pass band ends at 94 % of the lower Nyquist frequency.

``"auto"`` uses soxr when it can be imported, else numpy.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from s2st._validate import check_int
from s2st.errors import ConfigurationError

__all__ = ["Backend", "Resampler", "soxr_available"]

logger = logging.getLogger("s2st.audio.resample")

Backend = Literal["auto", "soxr", "numpy"]
FloatArray = npt.NDArray[np.float32]

_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.6
_ROLLOFF = 0.94
#: Above this many phases the coefficients are computed per output instead of tabulated.
_MAX_TABLE_PHASES = 4096
#: Outputs computed per vectorised step.
_BLOCK = 1024


def _import_soxr() -> Any:
    try:
        import soxr
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "the 'soxr' resampler backend needs the soxr package: pip install 's2st[soxr]'"
            " (or use backend='numpy')"
        ) from exc
    return soxr


def soxr_available() -> bool:
    """Whether the soxr backend can be used in this environment."""
    try:
        import soxr  # noqa: F401
    except ImportError:
        return False
    return True


def _check_rate(name: str, rate: object) -> int:
    if isinstance(rate, np.integer):
        rate = int(rate)
    return check_int(name, rate, low=1000, high=768_000, unit="Hz")


class _NumpyPolyphase:
    """Windowed-sinc resampler at the exact rational ratio ``up/down`` with carried state."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        g = math.gcd(in_rate, out_rate)
        self.up = out_rate // g
        self.down = in_rate // g
        # Cut-off in cycles per input sample, just below the lower of the two Nyquist rates.
        self.cutoff = 0.5 * min(1.0, self.up / self.down) * _ROLLOFF
        self.half = math.ceil(_ZERO_CROSSINGS / (2 * self.cutoff))
        self.taps = 2 * self.half
        self._table: npt.NDArray[np.float32] | None = None
        if self.up <= _MAX_TABLE_PHASES:
            self._table = self._coefficients(np.arange(self.up))
        # Input history: buffer[0] is the global input index `self._buf_start`.
        self._buf: FloatArray = np.zeros(self.half, dtype=np.float32)
        self._buf_start = -self.half
        self._total_in = 0
        self._next_out = 0

    def _coefficients(self, phases: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        frac = phases.astype(np.float64) / self.up
        offsets = np.arange(-self.half + 1, self.half + 1, dtype=np.float64)
        # Kernel argument: distance from the output instant to each input sample.
        u = frac[:, None] - offsets[None, :]
        h = 2 * self.cutoff * np.sinc(2 * self.cutoff * u)
        ratio = np.clip(u / (self.half + 1), -1.0, 1.0)
        h *= np.i0(_KAISER_BETA * np.sqrt(1.0 - ratio * ratio)) / np.i0(_KAISER_BETA)
        h /= h.sum(axis=1, keepdims=True)  # unity gain at DC for every phase
        return h.astype(np.float32)

    def _run(self, available_end: int) -> FloatArray:
        """Produce every output whose input window ends before global index ``available_end``."""
        # Output k sits at input time t = k*down/up; it needs x[n-half+1 .. n+half], n = floor(t).
        limit = min(available_end - self.half - 1, self._total_in - 1)
        if limit < 0:
            return np.zeros(0, dtype=np.float32)
        last_k = ((limit + 1) * self.up - 1) // self.down  # largest k with floor(t) <= limit
        ks = np.arange(self._next_out, last_k + 1, dtype=np.int64)
        if ks.size == 0:
            return np.zeros(0, dtype=np.float32)
        pos = ks * self.down
        n = pos // self.up
        phase = pos % self.up
        starts = n - self.half + 1 - self._buf_start
        view = np.lib.stride_tricks.sliding_window_view(self._buf, self.taps)
        out: FloatArray = np.empty(ks.size, dtype=np.float32)
        # Blocks of outputs bound the gathered (outputs x taps) matrices to a few hundred kB.
        for lo in range(0, ks.size, _BLOCK):
            sl = slice(lo, lo + _BLOCK)
            ph = phase[sl]
            coefs = self._table[ph] if self._table is not None else self._coefficients(ph)
            out[sl] = np.einsum("ij,ij->i", view[starts[sl]], coefs)
        self._next_out = int(ks[-1]) + 1
        # Drop history that no future output can reach.
        next_n = self._next_out * self.down // self.up
        keep_from = next_n - self.half + 1 - self._buf_start
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._buf_start += keep_from
        return out

    def process(self, x: FloatArray) -> FloatArray:
        self._buf = np.concatenate((self._buf, x))
        self._total_in += x.size
        return self._run(self._buf_start + self._buf.size)

    def flush(self) -> FloatArray:
        self._buf = np.concatenate((self._buf, np.zeros(self.half, dtype=np.float32)))
        return self._run(self._buf_start + self._buf.size)


class Resampler:
    """Stateful streaming resampler for mono float32 audio.

    Args:
        in_rate: input sample rate in Hz.
        out_rate: output sample rate in Hz.
        backend: ``"soxr"``, ``"numpy"`` or ``"auto"`` (soxr when installed).

    Feed chunks of any size to `process()`; call `flush()` once at the end to get the
    tail. The total output length is ``ceil(n_in * out_rate / in_rate)`` for the numpy backend
    and within a sample of it for soxr. Equal rates are passed through unchanged.

    Raises:
        ConfigurationError: a rate outside 1000..768000 Hz, an unknown backend, or
            ``backend="soxr"`` without the soxr package.
    """

    def __init__(self, in_rate: int, out_rate: int, *, backend: Backend = "auto") -> None:
        self.in_rate = _check_rate("in_rate", in_rate)
        self.out_rate = _check_rate("out_rate", out_rate)
        if backend not in ("auto", "soxr", "numpy"):
            raise ConfigurationError(
                f"unknown resampler backend {backend!r}; use 'auto', 'soxr' or 'numpy'"
            )
        if backend == "auto":
            backend = "soxr" if soxr_available() else "numpy"
        self.backend: Literal["soxr", "numpy"] = backend
        self._soxr: Any = None
        self._numpy: _NumpyPolyphase | None = None
        self._flushed = False
        if self.in_rate == self.out_rate:
            pass
        elif backend == "soxr":
            soxr = _import_soxr()
            self._soxr = soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float32")
        else:
            self._numpy = _NumpyPolyphase(self.in_rate, self.out_rate)
        logger.debug("resampler %d->%d Hz, backend=%s", self.in_rate, self.out_rate, backend)

    def process(self, samples: FloatArray) -> FloatArray:
        """Resample one chunk (1-D float32). Returns the output available so far."""
        if self._flushed:
            raise ConfigurationError(
                "this Resampler was flushed; create a new one for a new stream"
            )
        x = np.ascontiguousarray(samples, dtype=np.float32)
        if self._soxr is not None:
            return np.asarray(self._soxr.resample_chunk(x, last=False), dtype=np.float32)
        if self._numpy is not None:
            return self._numpy.process(x)
        return x

    def flush(self) -> FloatArray:
        """End the stream and return the remaining output. Further calls return nothing."""
        if self._flushed:
            return np.zeros(0, dtype=np.float32)
        self._flushed = True
        if self._soxr is not None:
            empty = np.zeros(0, dtype=np.float32)
            return np.asarray(self._soxr.resample_chunk(empty, last=True), dtype=np.float32)
        if self._numpy is not None:
            return self._numpy.flush()
        return np.zeros(0, dtype=np.float32)
