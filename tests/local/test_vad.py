"""Streaming Silero VAD and the segmenter on speech made with espeak-ng."""

from __future__ import annotations

import numpy as np
import pytest

from s2st.errors import AudioFormatError, ConfigurationError
from s2st.local.vad import CHUNK_SAMPLES, SileroVAD, VadSegmenter

from .conftest import STATION, WEATHER, padded, speech


@pytest.fixture(scope="module")
def vad() -> SileroVAD:
    return SileroVAD()


def _segments(seg: VadSegmenter, audio: np.ndarray, step: int) -> list[tuple[str, float, float]]:
    events = []
    for i in range(0, audio.size, step):
        events += seg.feed(audio[i : i + step])
    events += seg.end()
    return [(e.kind, round(e.t_s, 2), e.audio.size / 16000) for e in events]


def test_probabilities_do_not_depend_on_chunking(vad: SileroVAD) -> None:
    audio = padded(0.3, speech(WEATHER), 0.3)
    vad.reset()
    whole = vad.probabilities(audio)
    vad.reset()
    pieces = np.concatenate(
        [vad.probabilities(audio[i : i + 777]) for i in range(0, audio.size, 777)]
    )
    assert whole.size == audio.size // CHUNK_SAMPLES == pieces.size
    np.testing.assert_allclose(whole, pieces, atol=1e-5)
    assert whole.max() > 0.9 and whole[:5].max() < 0.2  # speech is found, leading silence is not


def test_two_utterances_two_segments(vad: SileroVAD) -> None:
    a, b = speech(STATION), speech(WEATHER)
    audio = padded(0.5, a, 1.0, b, 1.0)
    got = _segments(VadSegmenter(vad, end_silence_ms=400), audio, 1600)
    ends = [g for g in got if g[0] == "end"]
    assert [g[0] for g in got] == ["start", "end", "start", "end"]
    # each segment covers its utterance (within the pre-roll and trailing-silence margins)
    assert abs(ends[0][2] - a.size / 16000) < 0.5 and abs(ends[1][2] - b.size / 16000) < 0.5
    assert 0.2 < got[0][1] < 0.6 and 0.5 + a.size / 16000 + 0.8 < got[2][1]


def test_noise_and_silence_make_no_segment(vad: SileroVAD) -> None:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(3 * 16000) * 600).astype(np.int16)
    got = _segments(VadSegmenter(vad), padded(1.0, noise, 1.0), 1600)
    assert [g for g in got if g[0] == "end"] == []


def test_speech_in_white_noise_at_10_db(vad: SileroVAD) -> None:
    s = speech(STATION).astype(np.float64)
    rms = np.sqrt(np.mean(s[np.abs(s) > 100] ** 2))
    rng = np.random.default_rng(3)
    clean = padded(1.0, speech(STATION), 1.0).astype(np.float64)
    noisy = clean + rng.standard_normal(clean.size) * rms / np.sqrt(10.0)
    audio = np.clip(noisy, -32768, 32767).astype(np.int16)
    ends = [g for g in _segments(VadSegmenter(vad), audio, 1600) if g[0] == "end"]
    assert len(ends) == 1 and ends[0][2] > 0.8 * s.size / 16000


def test_max_segment_length_cuts_a_monologue(vad: SileroVAD) -> None:
    audio = padded(0.3, speech(STATION + " " + STATION), 0.5)
    got = _segments(VadSegmenter(vad, max_segment_s=2.0), audio, 1600)
    ends = [g for g in got if g[0] == "end"]
    assert len(ends) >= 2 and all(e[2] <= 2.0 + 1e-9 for e in ends)


def test_manual_mode_segments_on_markers() -> None:
    seg = VadSegmenter(None, manual=True)
    assert seg.feed(np.zeros(1600, np.int16)) == []
    assert [e.kind for e in seg.start()] == ["start"]
    seg.feed(np.ones(8000, np.int16))
    (end,) = seg.end()
    assert end.kind == "end" and end.audio.size == 8000  # the partial chunk is kept at the end


def test_bad_input_and_options(vad: SileroVAD) -> None:
    with pytest.raises(AudioFormatError):
        vad.probabilities(np.zeros((2, 512), np.int16))
    with pytest.raises(AudioFormatError):
        vad.probabilities(np.zeros(512, np.float64))
    with pytest.raises(AudioFormatError):
        VadSegmenter(vad).feed(np.zeros(512, np.float32))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        VadSegmenter(vad, threshold=0.3, neg_threshold=0.5)
    with pytest.raises(ConfigurationError):
        VadSegmenter(None)
    with pytest.raises(ConfigurationError):
        SileroVAD("/nonexistent/vad.onnx")
