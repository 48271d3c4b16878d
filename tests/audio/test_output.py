"""Output side: collect_audio, WavWriter, JitterBuffer under bursts and underruns."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from s2st.audio import JitterBuffer, WavWriter, collect_audio
from s2st.errors import AudioFormatError, ConfigurationError
from s2st.events import AudioChunk, OutputTranscription, TurnComplete


def _chunk(values: np.ndarray, rate: int = 24_000) -> AudioChunk:
    data = values.astype(np.int16)
    data.flags.writeable = False
    return AudioChunk(data=data, sample_rate=rate, mime_type=f"audio/pcm;rate={rate}")


def _ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int16)


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
    assert out.dtype == np.int16 and out.tolist() == list(range(20))
    assert collect_audio([]).size == 0


async def test_collect_audio_async() -> None:
    async def gen() -> AsyncIterator[object]:
        yield _chunk(_ramp(0, 4))
        yield OutputTranscription(text="x")
        yield _chunk(_ramp(4, 4))

    out = await collect_audio(gen())
    assert out.tolist() == list(range(8))


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
    assert data.tolist() == list(range(2550))


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
