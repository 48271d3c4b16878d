"""Output side: collect_audio, WavWriter, JitterBuffer under bursts and underruns."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from s2st.audio import (
    DEFAULT_TAIL_MS,
    MAX_HELD_SILENCE_MS,
    JitterBuffer,
    SilenceTrimmer,
    WavWriter,
    collect_audio,
)
from s2st.errors import AudioFormatError, ConfigurationError
from s2st.events import SILENCE_PEAK, AudioChunk, OutputTranscription, TurnComplete


def _chunk(values: np.ndarray, rate: int = 24_000) -> AudioChunk:
    data = values.astype(np.int16)
    data.flags.writeable = False
    return AudioChunk(data=data, sample_rate=rate, mime_type=f"audio/pcm;rate={rate}")


V0 = 1000  # ramps start here: every ramp is voiced (above SILENCE_PEAK)


def _ramp(start: int, n: int) -> np.ndarray:
    return np.arange(V0 + start, V0 + start + n, dtype=np.int16)


def test_collect_audio_sync_skips_non_audio_events() -> None:
    events = [
        _chunk(_ramp(0, 10)),
        OutputTranscription(text="hola"),
        _chunk(_ramp(10, 5)),
        TurnComplete(),
        _ramp(15, 3),
        _ramp(18, 2).astype("<i2").tobytes(),
    ]
    out = collect_audio(events)
    assert out.dtype == np.int16 and out.tolist() == list(range(V0, V0 + 20))
    assert collect_audio([]).size == 0


async def test_collect_audio_async() -> None:
    async def gen() -> AsyncIterator[object]:
        yield _chunk(_ramp(0, 4))
        yield OutputTranscription(text="x")
        yield _chunk(_ramp(4, 4))

    out = await collect_audio(gen())
    assert out.tolist() == list(range(V0, V0 + 8))


def test_collect_audio_rejects_mixed_rates_and_bad_arrays() -> None:
    with pytest.raises(AudioFormatError, match="16000 Hz but expected 24000"):
        collect_audio([_chunk(_ramp(0, 4)), _chunk(_ramp(0, 4), rate=16_000)])
    with pytest.raises(AudioFormatError, match="at 24000 Hz but expected 16000"):
        collect_audio([_chunk(_ramp(0, 4))], sample_rate=16_000)
    with pytest.raises(AudioFormatError, match="1-D int16"):
        collect_audio([np.zeros(4, dtype=np.float32)])
    with pytest.raises(AudioFormatError, match="even length"):
        collect_audio([b"\x00\x01\x02"])


def test_wav_writer_incremental_and_valid_mid_stream(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    with WavWriter(path) as w:
        w.write(_chunk(_ramp(0, 2400)))
        # The header is patched after each write: readable before close.
        with wave.open(str(path), "rb") as r:
            assert r.getnframes() == 2400 and r.getframerate() == 24_000
        w.write(_ramp(2400, 100))
        w.write(_ramp(2500, 50).tobytes())
        assert w.frames_written == 2550 and w.duration_s == pytest.approx(2550 / 24_000)
    w.close()  # idempotent
    with wave.open(str(path), "rb") as r:
        assert (r.getnchannels(), r.getsampwidth(), r.getframerate()) == (1, 2, 24_000)
        data = np.frombuffer(r.readframes(r.getnframes()), dtype="<i2")
    assert data.tolist() == list(range(V0, V0 + 2550))


def test_wav_writer_errors(tmp_path: Path) -> None:
    with WavWriter(tmp_path / "a.wav", sample_rate=24_000) as w:
        with pytest.raises(AudioFormatError, match="16000 Hz but expected 24000"):
            w.write(_chunk(_ramp(0, 4), rate=16_000))
        with pytest.raises(AudioFormatError, match="1-D int16"):
            w.write(np.zeros((4, 2), dtype=np.int16))
    with pytest.raises(ValueError, match="closed"):
        w.write(_ramp(0, 4))
    with pytest.raises(ConfigurationError):
        WavWriter(tmp_path / "b.wav", sample_rate=0)


# --- trailing server silence (EVIDENCE.md row 7) ---------------------------------------------

TR = 1000  # trimming tables at 1 kHz: 1 sample per ms, so tail_ms=300 is 300 samples
_rng = np.random.default_rng(7)


def _piece(kind: str, n: int) -> np.ndarray:
    """``n`` samples: "v" voiced speech-like noise, "s" server silence (|x| <= SILENCE_PEAK,
    not all zero, so sample-exactness is visible)."""
    if kind == "v":
        return _rng.integers(-8000, 8000, n).astype(np.int16)
    return _rng.integers(-SILENCE_PEAK, SILENCE_PEAK + 1, n).astype(np.int16)


def _stream(spec: list[tuple[str, int]]) -> list[np.ndarray]:
    """100-sample chunks per (kind, samples) run (the last chunk of a run may be shorter)."""
    chunks = []
    for kind, n in spec:
        run = _piece(kind, n)
        chunks += [run[i : i + 100] for i in range(0, n, 100)]
    return chunks


def _expected(chunks: list[np.ndarray], keep: int) -> np.ndarray:
    """The first ``keep`` samples of the stream."""
    flat = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return flat[:keep]


# (spec, tail_ms, samples kept from the start of the stream)
TRIM_CASES = [
    pytest.param([("v", 500), ("s", 2000)], 300, 800, id="trailing-silence-trimmed-to-tail"),
    pytest.param(
        [("s", 400), ("v", 300), ("s", 700), ("v", 200), ("s", 5000)],
        300,
        400 + 300 + 700 + 200 + 300,
        id="leading-and-inner-silence-kept",
    ),
    pytest.param([("v", 500), ("s", 150)], 300, 650, id="short-tail-kept-whole"),
    pytest.param([("v", 500), ("s", 2000)], 0, 500, id="no-tail"),
    pytest.param([("v", 500), ("s", 2000)], None, 2500, id="trimming-disabled"),
    pytest.param([("s", 3000)], 300, 0, id="silence-only-is-empty"),
    pytest.param([("s", 3000)], None, 3000, id="silence-only-untrimmed"),
    pytest.param([], 300, 0, id="nothing"),
]


@pytest.mark.parametrize(("spec", "tail_ms", "keep"), TRIM_CASES)
def test_collect_audio_trims_trailing_silence(
    spec: list[tuple[str, int]], tail_ms: float | None, keep: int
) -> None:
    chunks = _stream(spec)
    events: list[object] = [_chunk(c, rate=TR) for c in chunks]
    events.insert(len(events) // 2, OutputTranscription(text="x"))  # non-audio is skipped
    out = collect_audio(events, tail_ms=tail_ms)
    np.testing.assert_array_equal(out, _expected(chunks, keep))


@pytest.mark.parametrize(("spec", "tail_ms", "keep"), TRIM_CASES)
async def test_collect_audio_async_trims_trailing_silence(
    spec: list[tuple[str, int]], tail_ms: float | None, keep: int
) -> None:
    chunks = _stream(spec)

    async def gen() -> AsyncIterator[object]:
        for c in chunks:
            yield _chunk(c, rate=TR)

    out = await collect_audio(gen(), tail_ms=tail_ms)
    np.testing.assert_array_equal(out, _expected(chunks, keep))


@pytest.mark.parametrize(("spec", "tail_ms", "keep"), TRIM_CASES)
def test_wav_writer_trims_trailing_silence(
    tmp_path: Path, spec: list[tuple[str, int]], tail_ms: float | None, keep: int
) -> None:
    chunks = _stream(spec)
    path = tmp_path / "out.wav"
    with WavWriter(path, sample_rate=TR, tail_ms=tail_ms) as w:
        for c in chunks:
            w.write(_chunk(c, rate=TR))
    assert w.frames_written == keep and w.held_frames == 0
    with wave.open(str(path), "rb") as r:
        assert r.getframerate() == TR and r.getnframes() == keep
        data = np.frombuffer(r.readframes(r.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(data, _expected(chunks, keep))


def test_wav_writer_holds_silence_until_voiced_audio_follows(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    voiced, pause = _piece("v", 100), _piece("s", 250)
    with WavWriter(path, sample_rate=TR) as w:
        w.write(voiced)
        w.write(pause[:100])
        w.write(pause[100:].tobytes())
        assert (w.frames_written, w.held_frames) == (100, 250)
        with wave.open(str(path), "rb") as r:  # valid mid-stream, without the held silence
            assert r.getnframes() == 100
        w.write(voiced)
        assert (w.frames_written, w.held_frames) == (450, 0)
        with wave.open(str(path), "rb") as r:
            data = np.frombuffer(r.readframes(r.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(data, np.concatenate([voiced, pause, voiced]))


def test_ten_minutes_of_streamed_silence_hold_bounded_state(tmp_path: Path) -> None:
    chunk = np.zeros(2400, np.int16)  # 100 ms at 24 kHz, as the server streams it
    n_chunks = 10 * 60 * 10
    cap_bytes = 2 * round(MAX_HELD_SILENCE_MS * 24)
    trimmer = SilenceTrimmer(sample_rate=24_000)
    voiced = _piece("v", 2400)
    assert trimmer.push(voiced) == [voiced]
    with WavWriter(tmp_path / "long.wav") as w:
        w.write(voiced)
        for i in range(n_chunks):
            assert trimmer.push(chunk) == []
            w.write(chunk)
            if i % 1000 == 0:
                assert trimmer.held_nbytes <= cap_bytes
        assert trimmer.held_samples == w.held_frames == n_chunks * 2400
        assert trimmer.held_nbytes == cap_bytes
        assert w.frames_written == 2400
    with wave.open(str(tmp_path / "long.wav"), "rb") as r:
        assert r.getnframes() == 2400 + round(DEFAULT_TAIL_MS * 24)
    # Voiced audio after the ten minutes: every held sample comes back, in order, as views of
    # one shared block beyond the cap (no ten-minute array is built to hold them).
    parts = trimmer.push(voiced)
    assert sum(p.size for p in parts) == n_chunks * 2400 + 2400
    assert parts[-1] is voiced and trimmer.held_samples == 0
    assert len({p.ctypes.data for p in parts[-10:-1]}) == 1  # same memory, not copies
    assert trimmer.flush() == []  # nothing held after voiced audio: no tail to add


def test_silence_beyond_the_cap_is_length_exact_and_zero() -> None:
    trimmer = SilenceTrimmer(sample_rate=TR)
    cap = round(MAX_HELD_SILENCE_MS)  # samples at 1 kHz
    silence = _piece("s", 3 * cap)
    for i in range(0, silence.size, 100):
        trimmer.push(silence[i : i + 100])
    assert trimmer.held_samples == 3 * cap and trimmer.held_nbytes == 2 * cap
    out = np.concatenate(trimmer.push(_piece("v", 10))[:-1])
    np.testing.assert_array_equal(out[:cap], silence[:cap])  # the real samples up to the cap
    assert out.size == 3 * cap and not out[cap:].any()  # then zeros, sample-exact in length


def test_trimmer_flush_starts_a_new_stream_and_options_are_validated() -> None:
    trimmer = SilenceTrimmer(sample_rate=TR, tail_ms=50)
    v, s = _piece("v", 100), _piece("s", 100)
    trimmer.push(v)
    trimmer.push(s)
    np.testing.assert_array_equal(np.concatenate(trimmer.flush()), s[:50])
    trimmer.push(s)
    assert trimmer.flush() == []  # a silence-only stream after the flush: nothing
    assert trimmer.push(np.zeros(0, np.int16)) == [] and trimmer.held_samples == 0
    untrimmed = SilenceTrimmer(tail_ms=None)
    assert untrimmed.push(s) == [s] and untrimmed.flush() == []
    for bad in (-1, float("nan"), float("inf"), True, "300"):
        with pytest.raises(ConfigurationError, match="tail_ms"):
            SilenceTrimmer(tail_ms=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="tail_ms"):
            collect_audio([], tail_ms=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="tail_ms"):
            WavWriter("never-created.wav", tail_ms=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="sample_rate"):
        SilenceTrimmer(sample_rate=0)


# --- JitterBuffer ----------------------------------------------------------------------------

RATE = 1000  # 1 sample per ms keeps the arithmetic readable


def _jb(**kw: float) -> JitterBuffer:
    return JitterBuffer(sample_rate=RATE, **{"target_delay_ms": 100, "fade_ms": 10, **kw})  # type: ignore[arg-type]


def test_playback_waits_for_the_target_delay() -> None:
    jb = _jb()
    jb.push(np.full(60, 1000, np.int16))
    assert not jb.pull(20).any() and not jb.playing and jb.buffered_ms == 60
    jb.push(np.full(60, 1000, np.int16))
    out = jb.pull(20)
    assert jb.playing
    assert out[0] == 0 and out[-1] == 1000  # fade-in over the first 10 samples
    assert np.all(np.diff(out[:11]) >= 0)
    assert jb.buffered_ms == 100


def test_underrun_fades_out_counts_and_reprimes() -> None:
    jb = _jb()
    jb.push(np.full(130, 1000, np.int16))
    jb.pull(100)
    out = jb.pull(50)  # only 30 left: underrun
    assert jb.underruns == 1 and not jb.playing
    assert out[:20].tolist() == [1000] * 20
    assert np.all(np.diff(out[20:30]) <= 0) and out[29] == 0  # faded to zero, no click
    assert not out[30:].any()
    jb.push(np.full(50, 1000, np.int16))
    assert not jb.pull(10).any()  # re-priming: below the target again
    jb.push(np.full(60, 1000, np.int16))
    recovered = jb.pull(20)
    assert recovered[0] == 0 and recovered[-1] == 1000  # fade-in on recovery
    assert jb.underruns == 1 and jb.played_samples == 130 + 20


def test_every_pull_returns_exactly_n_samples() -> None:
    jb = _jb()
    rng = np.random.default_rng(0)
    for _ in range(200):
        if rng.random() < 0.5:
            jb.push(np.full(int(rng.integers(0, 80)), 7, np.int16))
        n = int(rng.integers(1, 64))
        assert jb.pull(n).shape == (n,)
    assert jb.pushed_samples == jb.played_samples + int(jb.buffered_ms)


def test_bursts_are_counted_once_per_excursion_and_nothing_is_lost() -> None:
    jb = _jb(burst_ms=300)
    sent = np.arange(1000, dtype=np.int16)
    for i in range(0, 1000, 100):  # the server delivers 1 s of audio at once
        jb.push(sent[i : i + 100])
    assert jb.bursts == 1 and jb.overflows == 0
    got = np.concatenate([jb.pull(50) for _ in range(30)])
    assert got[10:1000].tolist() == sent[10:].tolist()  # everything after the 10 ms fade-in
    assert not got[1000:].any() and jb.underruns == 1
    jb.push(np.zeros(400, np.int16))  # a second burst after draining
    assert jb.bursts == 2


def test_max_delay_drops_oldest_and_counts() -> None:
    jb = _jb(max_delay_ms=200)
    jb.push(np.arange(150, dtype=np.int16))
    jb.push(np.arange(150, 300, dtype=np.int16))
    assert jb.overflows == 1 and jb.dropped_samples == 100 and jb.buffered_ms == 200
    out = jb.pull(200)
    assert out[10:].tolist() == list(range(110, 300))


def test_end_plays_the_tail_below_target_and_clear_drops() -> None:
    jb = _jb()
    jb.push(np.full(40, 500, np.int16))
    assert not jb.pull(10).any()
    jb.end()
    out = jb.pull(50)
    assert out[10:40].tolist() == [500] * 30 and not out[40:].any()
    assert jb.underruns == 0  # an announced end is not an underrun
    jb.push(np.full(300, 1, np.int16))
    assert jb.clear() == 300 and jb.buffered_ms == 0 and not jb.playing


def test_jitter_buffer_accepts_chunks_and_validates() -> None:
    jb = JitterBuffer(target_delay_ms=0, fade_ms=0)
    jb.push(_chunk(np.full(240, 3, np.int16)))
    assert jb.pull(240).tolist() == [3] * 240
    with pytest.raises(AudioFormatError, match="16000 Hz but expected 24000"):
        jb.push(_chunk(_ramp(0, 4), rate=16_000))
    with pytest.raises(ConfigurationError):
        JitterBuffer(target_delay_ms=-1)
    with pytest.raises(ConfigurationError):
        JitterBuffer(target_delay_ms=200, max_delay_ms=100)
