"""Segments: aggregation tables, subtitle golden outputs, JSONL round trip, emulator end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import s2st
from s2st.emulator import Emulator, sample_path
from s2st.errors import ConfigurationError
from s2st.events import (
    SILENCE_PEAK,
    AudioChunk,
    Event,
    GenerationComplete,
    InputTranscription,
    Interrupted,
    OutputTranscription,
    Reconnected,
    TurnComplete,
    UsageMetadata,
)
from s2st.segments import (
    Segment,
    SegmentAggregator,
    from_jsonl,
    join_texts,
    renumber,
    to_jsonl,
    to_srt,
    to_webvtt,
    write_subtitles,
)

from .session_helpers import UNIT_S


def audio(seconds: float) -> AudioChunk:
    """Voiced translated speech (a 440 Hz tone well above SILENCE_PEAK)."""
    n = round(seconds * 24_000)
    return AudioChunk((8000 * np.sin(np.arange(n) * (2 * np.pi * 440 / 24_000))).astype(np.int16))


def quiet(seconds: float, peak: int = SILENCE_PEAK) -> AudioChunk:
    """Server silence: low-level noise, never above SILENCE_PEAK (EVIDENCE.md row 7)."""
    n = round(seconds * 24_000)
    return AudioChunk(np.random.default_rng(n).integers(-peak, peak + 1, n).astype(np.int16))


def src(text: str) -> InputTranscription:
    return InputTranscription(text)


def tgt(text: str) -> OutputTranscription:
    return OutputTranscription(text)


def run(events: list[Event], *, step_s: float = 0.1, **kw: Any) -> list[Segment]:
    agg = SegmentAggregator(t0=0.0, **kw)
    for i, ev in enumerate(events):
        agg.feed(ev, t=(i + 1) * step_s)
    agg.close()
    return agg.segments


def texts(segments: list[Segment]) -> list[tuple[str, str]]:
    return [(s.source_text, s.translated_text) for s in segments]


# ---------------------------------------------------------------------------- aggregation
def test_fragments_without_punctuation_form_one_segment_per_turn() -> None:
    segs = run(
        [
            src("Ca"),
            src("n I"),
            tgt("Pue"),
            audio(0.5),
            src(" pl"),
            tgt("do"),
            audio(0.3),
            TurnComplete(),
            src("next"),
            tgt("siguiente"),
            audio(0.2),
            TurnComplete(),
        ]
    )
    assert texts(segs) == [("Can I pl", "Puedo"), ("next", "siguiente")]
    assert [s.id for s in segs] == [0, 1]
    assert all(s.stable for s in segs)
    assert segs[0].start_s == 0.0 and segs[0].end_s == pytest.approx(0.8)
    assert segs[1].start_s == pytest.approx(0.8) and segs[1].end_s == pytest.approx(1.0)
    assert segs[0].first_received_s == pytest.approx(0.1)
    assert segs[0].last_received_s == pytest.approx(0.7)


def test_multiple_sentences_per_turn_are_paired_in_order() -> None:
    segs = run(
        [
            src("Hello, and welcome."),
            src(" Today"),
            tgt("Hola, y"),
            audio(1.0),
            tgt(" bienvenidos."),
            audio(0.5),
            tgt(" Hoy hablamos"),
            src(" we talk."),
            audio(0.7),
            tgt(" del tiempo."),
            audio(0.3),
            GenerationComplete(),
            TurnComplete(),
        ]
    )
    assert texts(segs) == [
        ("Hello, and welcome.", "Hola, y bienvenidos."),
        ("Today we talk.", "Hoy hablamos del tiempo."),
    ]
    # The source was a sentence ahead, so the split came with the second translated fragment:
    # audio received before it belongs to the first sentence, audio after to the second.
    assert [s.start_s for s in segs] == pytest.approx([0.0, 1.0])
    assert [s.end_s for s in segs] == pytest.approx([1.0, 2.5])


def test_cjk_punctuation_splits_without_spaces() -> None:
    segs = run(
        [
            src("Good morning."),
            tgt("早上"),
            tgt("好。火车"),
            src(" Where is it?"),
            tgt("站在哪里？"),
            TurnComplete(),
        ]
    )
    assert texts(segs) == [("Good morning.", "早上好。"), ("Where is it?", "火车站在哪里？")]


@pytest.mark.parametrize(
    ("fragments", "expected"),
    [
        (["It costs 3.", "5 euros."], ["It costs 3.5 euros."]),  # a decimal is not a sentence end
        (["Wait...", " what?"], ["Wait...", "what?"]),
        (['He said "no."', " Then"], ['He said "no."', "Then"]),
        (["e.g. this"], ["e.g. this"]),
        (["Really?!", " Yes"], ["Really?!", "Yes"]),
        (["क्या।", "हाँ"], ["क्या।", "हाँ"]),
    ],
)
def test_sentence_end_detection(fragments: list[str], expected: list[str]) -> None:
    events: list[Event] = []
    for f in fragments:
        events += [src(f), tgt(f)]
    segs = run([*events, TurnComplete()])
    assert [s.source_text for s in segs] == expected
    assert [s.translated_text for s in segs] == expected


def test_sentence_split_waits_for_both_streams() -> None:
    agg = SegmentAggregator(t0=0.0)
    assert agg.feed(src("One."), t=0.1)[0].stable is False
    assert [s.stable for s in agg.feed(src(" Two."), t=0.2)] == [False]
    changed = agg.feed(tgt("Uno."), t=0.3)
    assert [(s.source_text, s.translated_text, s.stable) for s in changed] == [
        ("One.", "Uno.", True),
        ("Two.", "", False),
    ]
    assert [s.id for s in agg.stable_segments] == [0]
    # Both texts end at a sentence end: the segment stays open for trailing audio ...
    assert agg.feed(tgt(" Dos."), t=0.4) == [Segment(1, "Two.", "Dos.", 0.0, 0.0, 0.3, 0.4)]
    assert agg.feed(audio(0.5), t=0.5)[0].end_s == pytest.approx(0.5)
    # ... and the next text fragment closes it.
    changed = agg.feed(src("Three"), t=0.6)
    assert [(s.id, s.source_text, s.stable) for s in changed] == [
        (1, "Two.", True),
        (2, "Three", False),
    ]
    assert changed[0].audio_end_s == pytest.approx(0.5)
    assert (changed[0].last_received_s, changed[1].first_received_s) == (0.5, 0.6)


def test_split_sentences_can_be_disabled() -> None:
    segs = run([src("One. Two."), tgt("Uno. Dos."), TurnComplete()], split_sentences=False)
    assert texts(segs) == [("One. Two.", "Uno. Dos.")]


def test_pause_closes_the_segment() -> None:
    agg = SegmentAggregator(t0=0.0, pause_s=1.5)
    agg.feed(src("before"), t=1.0)
    agg.feed(audio(0.4), t=1.2)
    assert agg.poll(t=2.0) == []
    changed = agg.feed(src("after"), t=3.0)
    assert [(s.source_text, s.stable) for s in changed] == [("before", True), ("after", False)]
    agg.feed(tgt("después"), t=3.1)
    assert agg.poll(t=4.7)[0].translated_text == "después"
    assert agg.segments[-1].stable and len(agg.segments) == 2
    assert agg.segments[1].start_s == pytest.approx(0.4)  # text-only: position at opening


def test_pause_rule_can_be_disabled_and_rejects_bad_values() -> None:
    agg = SegmentAggregator(t0=0.0, pause_s=None)
    agg.feed(src("a"), t=0.0)
    agg.feed(src(" b"), t=100.0)
    assert [s.source_text for s in agg.segments] == ["a b"]
    with pytest.raises(ConfigurationError, match="pause_s"):
        SegmentAggregator(pause_s=0)


def test_resumed_reconnect_keeps_text_and_ignores_downtime() -> None:
    agg = SegmentAggregator(t0=0.0, pause_s=1.5)
    agg.feed(src("Where is"), t=0.1)
    agg.feed(tgt("Dónde"), t=0.2)
    agg.feed(Reconnected(reason="go_away", resumed=True, downtime_s=3.0), t=3.2)
    agg.feed(src(" the station?"), t=3.3)
    agg.feed(tgt(" está la estación?"), t=3.4)
    agg.feed(TurnComplete(), t=3.5)
    assert texts(agg.segments) == [("Where is the station?", "Dónde está la estación?")]


def test_fresh_reconnect_closes_the_open_segment() -> None:
    segs = run(
        [
            src("lost context"),
            tgt("contexto"),
            Reconnected(reason="closed 1011", resumed=False),
            src("new"),
            tgt("nuevo"),
            TurnComplete(),
        ]
    )
    assert texts(segs) == [("lost context", "contexto"), ("new", "nuevo")]


def test_interrupted_and_other_events() -> None:
    segs = run(
        [
            src("cut"),
            audio(0.2),
            Interrupted(),
            TurnComplete(),
            UsageMetadata(),
            src(""),
            tgt(""),
        ]  # empty fragments open nothing
    )
    assert texts(segs) == [("cut", "")]
    assert SegmentAggregator().close() == []


def test_default_clock_is_monotonic() -> None:
    agg = SegmentAggregator()
    agg.feed(src("x"))
    agg.feed(audio(0.1))
    seg = agg.close()[0]
    assert 0.0 <= seg.first_received_s <= seg.last_received_s < 5.0
    assert agg.output_audio_s == pytest.approx(0.1)


def test_join_texts() -> None:
    assert join_texts(["Good morning.", " Where? ", ""]) == "Good morning. Where?"
    assert join_texts(["早上好。", "火车站在哪里？"]) == "早上好。火车站在哪里？"
    assert join_texts(["早上好。", "OK"]) == "早上好。 OK"


# ---------------------------------------------------------------------------- exports
SEGS = [
    Segment(0, "Good morning.", "Buenos días.", 0.0, 1.25, 0.2, 0.9, 0.0, 1.25, True),
    Segment(1, "Hi", "Hola", 1.25, 1.5, 1.0, 1.1, 1.25, 1.5, True),  # shorter than 0.7 s
    Segment(2, "a --> b", "x <y> & z", 1.6, 3661.0015, 1.2, 2.0, 1.6, 3661.0015, True),
    Segment(3, "only source", "", 3661.5, 3661.5, 2.1, 2.1, None, None, False),
]


def test_srt_golden() -> None:
    assert to_srt(SEGS) == (
        "1\n00:00:00,000 --> 00:00:01,250\nBuenos días.\n"
        "\n"
        "2\n00:00:01,250 --> 00:00:01,950\nHola\n"
        "\n"
        "3\n00:00:01,950 --> 01:01:01,002\nx <y> & z\n"
    )


def test_srt_both_and_source() -> None:
    assert to_srt(SEGS[:1], text="both") == (
        "1\n00:00:00,000 --> 00:00:01,250\nBuenos días.\nGood morning.\n"
    )
    out = to_srt(SEGS, text="source", min_duration_s=0.0)
    assert out.endswith(
        "3\n00:00:01,600 --> 01:01:01,002\na -> b\n\n"
        "4\n01:01:01,500 --> 01:01:01,500\nonly source\n"
    )
    assert to_srt([]) == ""


def test_webvtt_golden() -> None:
    assert to_webvtt(SEGS) == (
        "WEBVTT\n"
        "\n1\n00:00:00.000 --> 00:00:01.250\nBuenos días.\n"
        "\n2\n00:00:01.250 --> 00:00:01.950\nHola\n"
        "\n3\n00:00:01.950 --> 01:01:01.002\nx &lt;y&gt; &amp; z\n"
    )


def test_cues_never_overlap_and_keep_min_duration() -> None:
    same = [Segment(i, "", f"t{i}", 2.0, 2.0, 0.0, 0.0) for i in range(3)]
    out = to_srt(same)
    assert re.findall(r"(\S+) --> (\S+)", out) == [
        ("00:00:02,000", "00:00:02,700"),
        ("00:00:02,700", "00:00:03,400"),
        ("00:00:03,400", "00:00:04,100"),
    ]
    with pytest.raises(ConfigurationError, match="min_duration_s"):
        to_srt(same, min_duration_s=-1)
    with pytest.raises(ConfigurationError, match="text must be"):
        to_srt(same, text="all")  # type: ignore[arg-type]


def test_jsonl_round_trip() -> None:
    data = to_jsonl(SEGS)
    lines = data.splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    assert first["translated_text"] == "Buenos días."
    assert first["start_s"] == 0.0 and first["end_s"] == 1.25 and first["stable"] is True
    assert "días" in data  # UTF-8, not \u escapes
    assert from_jsonl(data) == SEGS
    with pytest.raises(ConfigurationError, match="line 1"):
        from_jsonl('{"id": 1}\n')
    with pytest.raises(ConfigurationError, match="line 2"):
        from_jsonl(lines[0] + "\nnot json\n")


def test_write_subtitles_by_suffix(tmp_path: Path) -> None:
    for suffix, render in [(".srt", to_srt), (".vtt", to_webvtt)]:
        path = tmp_path / f"out{suffix}"
        write_subtitles(path, SEGS)
        assert path.read_text(encoding="utf-8") == render(SEGS)
    write_subtitles(tmp_path / "x.txt", SEGS, format="jsonl")
    assert from_jsonl((tmp_path / "x.txt").read_text(encoding="utf-8")) == SEGS
    with pytest.raises(ConfigurationError, match=r"\.srt, \.vtt or \.jsonl"):
        write_subtitles(tmp_path / "out.txt", SEGS)
    with pytest.raises(ConfigurationError, match="format must be"):
        write_subtitles(tmp_path / "out.srt", SEGS, format="ass")  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.srt", "out.vtt", "x.txt"]


def test_renumber() -> None:
    assert [s.id for s in renumber(SEGS[2:])] == [0, 1]


# ---------------------------------------------------------------------------- server silence
# The real service sends no turn markers and streams silence forever after the last word
# (EVIDENCE.md rows 6-7). Streams are [speech, silence x N, speech, silence for ten minutes].
TEN_MINUTES = 10 * 60 * 10  # 100 ms chunks


def speech(seconds: float) -> list[Event]:
    return [audio(0.1) for _ in range(round(seconds * 10))]


def silence(chunks: int) -> list[Event]:
    chunk = quiet(0.1)
    return [chunk] * chunks


def feed_timed(agg: SegmentAggregator, events: list[Event], *, speed: float) -> float:
    """Feed with arrival times: audio at ``speed`` x real time, text 10 ms apart."""
    t = 0.0
    for ev in events:
        t += ev.duration_s / speed if isinstance(ev, AudioChunk) else 0.01
        agg.feed(ev, t=t)
    return t


def two_utterances(first: tuple[str, str], second: tuple[str, str], *, marker: bool) -> list[Event]:
    turn: list[Event] = [TurnComplete()] if marker else []
    return [
        src(first[0]),
        tgt(first[1]),
        *speech(0.5),
        *turn,
        *silence(20),
        src(second[0]),
        tgt(second[1]),
        *speech(0.8),
        *turn,
        *silence(TEN_MINUTES),
    ]


PLAIN = (("Good morning", "Buenos días"), ("where is it", "dónde está"))
PUNCTUATED = (("Good morning.", "Buenos días."), ("Where is it?", "¿Dónde está?"))


@pytest.mark.parametrize(
    ("texts_in", "marker", "speed"),
    [
        pytest.param(PLAIN, False, 1.0, id="no-markers-real-time"),
        pytest.param(PLAIN, False, 100.0, id="no-markers-burst"),
        pytest.param(PUNCTUATED, False, 1.0, id="no-markers-sentences"),
        pytest.param(PUNCTUATED, False, 100.0, id="no-markers-sentences-burst"),
        pytest.param(PLAIN, True, 1.0, id="turn-markers"),
        pytest.param(PLAIN, True, 100.0, id="turn-markers-burst"),
    ],
)
def test_server_silence_splits_and_never_pads_segments(
    texts_in: tuple[tuple[str, str], tuple[str, str]], marker: bool, speed: float
) -> None:
    agg = SegmentAggregator(t0=0.0, pause_s=1.5)
    feed_timed(agg, two_utterances(*texts_in, marker=marker), speed=speed)
    segs = agg.segments  # not closed by hand: the silence (or the marker) closed both
    assert texts(segs) == list(texts_in)
    assert all(s.stable for s in segs)
    # The 2 s pause between the utterances is kept; the ten minutes after the last are not.
    assert [(s.start_s, s.end_s) for s in segs] == [
        pytest.approx((0.0, 0.5)),
        pytest.approx((2.5, 3.3)),
    ]
    assert agg.output_audio_s == pytest.approx(3.3)
    assert agg.trailing_silence_s == pytest.approx(600.0)
    assert to_srt(segs) == (
        f"1\n00:00:00,000 --> 00:00:00,700\n{texts_in[0][1]}\n"
        "\n"
        f"2\n00:00:02,500 --> 00:00:03,300\n{texts_in[1][1]}\n"
    )
    assert agg.close() == []


def test_silence_never_opens_a_segment() -> None:
    agg = SegmentAggregator(t0=0.0)
    for i in range(50):
        assert agg.feed(quiet(0.1), t=0.1 * i) == []
    assert agg.segments == [] and agg.output_audio_s == 0.0
    assert agg.trailing_silence_s == pytest.approx(5.0)
    assert agg.close() == []


def test_leading_and_inner_silence_are_on_the_timeline() -> None:
    # Leading silence is the translation's lag and stays in the recordings, so the segment
    # starts after it; a pause shorter than pause_s inside a segment is part of it.
    segs = run(
        [src("hi"), quiet(2.0), tgt("hola"), audio(0.3), quiet(0.5), audio(0.2), quiet(9.0)],
        step_s=0.001,
    )
    assert texts(segs) == [("hi", "hola")]
    assert (segs[0].start_s, segs[0].end_s) == pytest.approx((2.0, 3.0))
    assert (segs[0].audio_start_s, segs[0].audio_end_s) == pytest.approx((2.0, 3.0))


@pytest.mark.parametrize("speed", [1.0, 100.0], ids=["real-time", "burst"])
def test_silence_does_not_close_a_segment_waiting_for_its_speech(speed: float) -> None:
    # The source text comes seconds before its translation: neither the silence in between
    # nor the late translation itself may split the text from its speech.
    agg = SegmentAggregator(t0=0.0, pause_s=1.5)
    t = feed_timed(agg, [src("Where"), *silence(30), tgt("Dónde"), *speech(0.4)], speed=speed)
    (seg,) = agg.segments
    assert (seg.source_text, seg.translated_text, seg.stable) == ("Where", "Dónde", False)
    assert (seg.start_s, seg.end_s) == pytest.approx((3.0, 3.4))
    # Once it has its speech, the pause rules apply to it: silence arriving later ends it.
    late = agg.feed(quiet(0.1), t=t + 2.0)
    assert [(s.source_text, s.stable) for s in late] == [("Where", True)]


def test_new_source_text_after_a_pause_closes_a_waiting_segment_and_poll_still_does() -> None:
    agg = SegmentAggregator(t0=0.0, pause_s=1.5)
    feed_timed(agg, [src("first"), *silence(20), src("second")], speed=1.0)
    assert [(s.source_text, s.stable) for s in agg.segments] == [
        ("first", True),
        ("second", False),
    ]
    assert [s.source_text for s in agg.poll(t=10.0)] == ["second"]  # poll: the old clock rule


def test_progress_counts_voiced_audio_not_trailing_silence() -> None:
    agg = SegmentAggregator(t0=0.0)
    feed_timed(agg, [*speech(1.0), *silence(10), *speech(0.5), *silence(300)], speed=1.0)
    assert agg.output_audio_s == pytest.approx(2.5)  # 1.5 s voiced + 1 s inner silence
    assert agg.trailing_silence_s == pytest.approx(30.0)
    assert [(s.start_s, s.end_s) for s in agg.segments] == [pytest.approx((0.0, 2.5))]


# ---------------------------------------------------------------------------- end to end
async def test_station_scenario_gives_two_aligned_segments() -> None:
    agg = SegmentAggregator()
    async with Emulator() as emu:
        client = s2st.S2STClient.for_emulator(emu)
        async with client.connect("es") as session:
            # Paced at real time like a user's stream: sent at once, both sentences' transcripts
            # would arrive before any of their audio (transcripts are not paced).
            session.start_stream(sample_path("station"))
            async for event in session:
                agg.feed(event)
    agg.close()
    segs = agg.segments
    assert texts(segs) == [
        ("Good morning.", "Buenos días."),
        ("Where is the train station?", "¿Dónde está la estación de tren?"),
    ]
    assert all(s.stable for s in segs)
    # The server streams silence before the first translated word (kept on the timeline, as in
    # the recording): the first cue starts with the first voiced audio, not at 0.
    assert segs[0].audio_start_s is not None and 0.0 < segs[0].audio_start_s < 3.0
    assert segs[0].start_s == segs[0].audio_start_s
    assert segs[0].start_s < segs[0].end_s <= segs[1].start_s < segs[1].end_s
    assert segs[1].end_s == pytest.approx(agg.output_audio_s)
    srt = to_srt(segs)
    assert "1\n00:00:0" in srt and "2\n" in srt and "¿Dónde está" in srt
    assert segs[1].last_received_s < 30 * UNIT_S


def test_written_files_get_the_users_umask(tmp_path: Path) -> None:
    """Issue 13: files were created 0600 (from tempfile.mkstemp) although umask is 022."""
    import os
    import stat

    from s2st.segments import write_subtitles

    old = os.umask(0o022)
    try:
        path = tmp_path / "a.srt"
        write_subtitles(path, [])
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        private = tmp_path / "b.srt"
        write_subtitles(private, [])
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)
