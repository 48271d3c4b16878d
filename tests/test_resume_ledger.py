"""Table-driven tests of ``s2st.protocol.ledger.OutputLedger`` (pure: no I/O).

Each case is a script of steps run against one ledger:

* an event: passed through ``filter`` (the session delivers what it returns);
* ``CKPT``: ``checkpoint()`` (a resumable handle arrived);
* ``RESUME``: ``resume()`` (a new connection replays from the latest checkpoint).

The case lists what ``filter`` must return for each event *after the last* ``RESUME``
(``None`` = dropped), and the expected ``suppressed_events`` / ``suppressed_samples`` and
``active`` state at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from s2st.events import (
    AudioChunk,
    Event,
    GenerationComplete,
    GoAway,
    InputTranscription,
    Interrupted,
    OutputTranscription,
    Reconnected,
    SessionResumptionUpdate,
    SetupComplete,
    TurnComplete,
    UnknownEvent,
    UsageMetadata,
)
from s2st.protocol.ledger import OutputLedger

CKPT = "checkpoint"
RESUME = "resume"


def In(text: str, *, finished: bool = False, lang: str | None = None) -> InputTranscription:
    return InputTranscription(text, finished, lang)


def Out(text: str, *, finished: bool = False, lang: str | None = None) -> OutputTranscription:
    return OutputTranscription(text, finished, lang)


VOICE = 1000  # sample values start here: voiced (above SILENCE_PEAK), like translated speech


def Audio(n: int, start: int = 0, *, rate: int = 24_000) -> AudioChunk:
    """``n`` samples with values ``VOICE + start .. VOICE + start+n-1`` (so a trimmed chunk
    shows its offset)."""
    data = np.arange(VOICE + start, VOICE + start + n, dtype=np.int16)
    data.flags.writeable = False
    return AudioChunk(data, rate, f"audio/pcm;rate={rate}")


@dataclass
class Case:
    id: str
    steps: list[Any]
    expected: list[Event | None]
    suppressed_events: int = 0
    suppressed_samples: int = 0
    active_after: bool = False


CASES = [
    # ------------------------------------------------------------------ transcripts
    Case(
        "input-prefix-dropped",
        [CKPT, In("hello "), In("world"), RESUME, In("hello "), In("world"), In(" again")],
        [None, None, In(" again")],
        suppressed_events=2,
    ),
    Case(
        "output-prefix-dropped-in-other-fragmentation",
        [CKPT, Out("hola "), Out("mundo"), RESUME, Out("ho"), Out("la mun"), Out("do"), Out("!")],
        [None, None, None, Out("!")],
        suppressed_events=3,
    ),
    Case(
        "fragment-extending-past-delivered-text-is-trimmed",
        [CKPT, In("good mor"), RESUME, In("good morning"), In(" all")],
        [In("ning"), In(" all")],
    ),
    Case(
        "trimmed-fragment-keeps-finished-and-language",
        [CKPT, Out("buen"), RESUME, Out("buenos días", finished=True, lang="es")],
        [Out("os días", finished=True, lang="es")],
    ),
    Case(
        "exact-match-fragment-is-dropped-not-emptied",
        [CKPT, In("abc"), RESUME, In("abc"), In("d")],
        [None, In("d")],
        suppressed_events=1,
    ),
    Case(
        "mismatch-ends-suppression-and-delivers",
        [CKPT, In("hello world"), RESUME, In("hello "), In("there"), In(" world")],
        [None, In("there"), In(" world")],
        suppressed_events=1,
    ),
    Case(
        "mismatch-on-first-fragment-delivers-it",
        [CKPT, Out("uno dos"), RESUME, Out("one"), Out("uno dos")],
        [Out("one"), Out("uno dos")],
    ),
    Case(
        "input-and-output-streams-are-independent",
        [
            CKPT,
            In("hi "),
            Out("hola "),
            RESUME,
            Out("hola "),
            In("hi "),
            In("there"),
            Out("amigo"),
        ],
        [None, None, In("there"), Out("amigo")],
        suppressed_events=2,
    ),
    Case(
        "mismatch-in-input-does-not-end-output-suppression",
        [CKPT, In("a"), Out("b"), RESUME, In("x"), Out("b"), Out("c")],
        [In("x"), None, Out("c")],
        suppressed_events=1,
    ),
    # ------------------------------------------------------------------ audio
    Case(
        "audio-samples-dropped",
        [CKPT, Audio(100), Audio(50, 100), RESUME, Audio(100), Audio(50, 100), Audio(10, 150)],
        [None, None, Audio(10, 150)],
        suppressed_events=2,
        suppressed_samples=150,
    ),
    Case(
        "audio-chunk-straddling-boundary-is-trimmed",
        [CKPT, Audio(120), RESUME, Audio(100), Audio(100, 100)],
        [None, Audio(80, 120)],
        suppressed_events=1,
        suppressed_samples=120,
    ),
    Case(
        "audio-trim-keeps-sample-rate-and-mime",
        [CKPT, Audio(30, rate=16_000), RESUME, Audio(50, rate=16_000)],
        [Audio(20, 30, rate=16_000)],
        suppressed_samples=30,
    ),
    Case(
        "audio-content-is-not-compared",
        [CKPT, Audio(40), RESUME, Audio(40, 1000), Audio(5, 1040)],
        [None, Audio(5, 1040)],
        suppressed_events=1,
        suppressed_samples=40,
    ),
    Case(
        "audio-only-pending-leaves-text-alone",
        [CKPT, Audio(10), RESUME, In("new"), Audio(10), Audio(3)],
        [In("new"), None, Audio(3)],
        suppressed_events=1,
        suppressed_samples=10,
    ),
    # ------------------------------------------------------------------ turn markers
    Case(
        "turn-and-generation-complete-counts",
        [
            CKPT,
            GenerationComplete(),
            TurnComplete(),
            TurnComplete("r"),
            RESUME,
            TurnComplete(),
            GenerationComplete(),
            TurnComplete(),
            TurnComplete("x"),
            GenerationComplete(),
        ],
        [None, None, None, TurnComplete("x"), GenerationComplete()],
        suppressed_events=3,
    ),
    Case(
        "turn-markers-pending-keep-ledger-active",
        [CKPT, TurnComplete(), Audio(5), RESUME, Audio(5)],
        [None],
        suppressed_events=1,
        suppressed_samples=5,
        active_after=True,
    ),
    # ------------------------------------------------------------------ checkpoints
    Case(
        "only-output-since-latest-checkpoint-is-expected",
        [In("old "), Audio(50), TurnComplete(), CKPT, In("new"), RESUME, In("new"), In("er")],
        [None, In("er")],
        suppressed_events=1,
    ),
    Case(
        "resume-with-nothing-since-checkpoint-suppresses-nothing",
        [In("a"), Out("b"), Audio(10), TurnComplete(), CKPT, RESUME, In("a"), Audio(10)],
        [In("a"), Audio(10)],
    ),
    Case(
        "resume-before-anything-delivered",
        [RESUME, In("x"), TurnComplete()],
        [In("x"), TurnComplete()],
    ),
    Case(
        # Delivered "hello world" + 100 samples, resumed; only "hello " and 40 samples came
        # again before the next checkpoint: "world" and 60 samples stay expected.
        "checkpoint-while-pending-keeps-remainder",
        [
            CKPT,
            In("hello world"),
            Audio(100),
            TurnComplete(),
            RESUME,
            In("hello "),
            Audio(40),
            CKPT,
            RESUME,
            In("wor"),
            In("ld!"),
            Audio(50, 40),
            Audio(30, 90),
            TurnComplete(),
            TurnComplete(),
        ],
        [None, In("!"), None, Audio(20, 100), None, TurnComplete()],
        suppressed_events=5,
        suppressed_samples=100,
    ),
    Case(
        "checkpoint-while-pending-then-new-output-then-resume-expects-both",
        [
            CKPT,
            Out("abc"),
            RESUME,
            Out("a"),
            CKPT,
            Out("bc"),  # pending remainder arrives: dropped (not delivered again)
            Out("de"),  # new output after the checkpoint: delivered and remembered
            RESUME,
            Out("bcde"),
            Out("f"),
        ],
        [None, Out("f")],
        suppressed_events=3,
    ),
    Case(
        "second-resume-without-progress-expects-the-same-again",
        [CKPT, In("hi"), Audio(10), RESUME, RESUME, In("hi"), Audio(10), In("!")],
        [None, None, In("!")],
        suppressed_events=2,
        suppressed_samples=10,
    ),
    # ------------------------------------------------------------------ other event types
    Case(
        "other-events-pass-through-while-suppressing",
        [
            CKPT,
            In("abc"),
            RESUME,
            SetupComplete("s"),
            GoAway(timedelta(seconds=5)),
            Interrupted(),
            UsageMetadata(),
            SessionResumptionUpdate("h", True, 3),
            UnknownEvent("k", {"v": 1}),
            In("abc"),
        ],
        [
            SetupComplete("s"),
            GoAway(timedelta(seconds=5)),
            Interrupted(),
            UsageMetadata(),
            SessionResumptionUpdate("h", True, 3),
            UnknownEvent("k", {"v": 1}),
            None,
        ],
        suppressed_events=1,
    ),
]


def _run(case: Case) -> tuple[OutputLedger, list[Event | None]]:
    ledger = OutputLedger()
    outputs: list[Event | None] = []
    for step in case.steps:
        if step == CKPT:
            ledger.checkpoint()
        elif step == RESUME:
            ledger.resume()
            outputs = []
        else:
            outputs.append(ledger.filter(step))
    return ledger, outputs


def _same(a: Event | None, b: Event | None) -> bool:
    if isinstance(a, AudioChunk) and isinstance(b, AudioChunk):
        return (
            a.data.dtype == b.data.dtype == np.int16
            and a.sample_rate == b.sample_rate
            and a.mime_type == b.mime_type
            and np.array_equal(a.data, b.data)
        )
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ledger_table(case: Case) -> None:
    ledger, outputs = _run(case)
    assert len(outputs) == len(case.expected)
    for got, want in zip(outputs, case.expected, strict=True):
        assert _same(got, want), (got, want)
    assert ledger.suppressed_events == case.suppressed_events
    assert ledger.suppressed_samples == case.suppressed_samples
    assert ledger.active is case.active_after


def test_ledger_inactive_until_resume_and_delivers_everything() -> None:
    ledger = OutputLedger()
    events: list[Event] = [In("a"), Out("b"), Audio(7), TurnComplete(), GenerationComplete()]
    for event in events:
        assert ledger.filter(event) is event
        assert not ledger.active
    ledger.resume()
    assert ledger.active
    assert ledger.suppressed_events == 0 and ledger.suppressed_samples == 0


def test_trimmed_audio_is_a_view_of_the_right_samples() -> None:
    ledger = OutputLedger()
    ledger.checkpoint()
    ledger.filter(Audio(3))
    ledger.resume()
    chunk = Audio(8, 500)
    kept = ledger.filter(chunk)
    assert isinstance(kept, AudioChunk)
    assert kept.data.dtype == np.int16
    assert kept.data.tolist() == [VOICE + 503, VOICE + 504, VOICE + 505, VOICE + 506, VOICE + 507]
    assert kept.duration_s == pytest.approx(5 / 24_000)
    assert kept.pcm == np.arange(VOICE + 503, VOICE + 508, dtype="<i2").tobytes()
    assert not ledger.active


def test_reconnected_event_passes_through_and_is_not_recorded() -> None:
    ledger = OutputLedger()
    ledger.checkpoint()
    marker = Reconnected("go_away", True, 1, 0.1, 2, 200.0)
    assert ledger.filter(marker) is marker
    ledger.resume()
    assert not ledger.active  # nothing content-bearing was delivered since the checkpoint


def test_note_records_without_filtering() -> None:
    """``note`` is the session's fast path for audio while no suppression is active."""
    ledger = OutputLedger()
    ledger.checkpoint()
    ledger.note(Audio(64))
    ledger.note(Out("x"))
    ledger.resume()
    assert ledger.filter(Audio(64)) is None
    assert ledger.filter(Out("x")) is None
    assert ledger.suppressed_samples == 64
    assert ledger.suppressed_events == 2
    assert not ledger.active


def test_unindexed_checkpoint_keeps_the_output_of_the_replay_window() -> None:
    """Without a consumed index the session replays the input sent within the window before the
    handle, so the server answers it again: the output delivered after ``keep_after`` stays
    "to be regenerated" and is hidden once, the older output is not."""
    ledger = OutputLedger(history_s=10.0)
    ledger.filter(Out("Hola,"), 1.0)
    ledger.filter(Audio(100), 1.0)
    ledger.filter(Out(" ¿cómo"), 2.5)
    ledger.filter(Audio(40), 2.5)
    ledger.checkpoint(now=3.0, keep_after=2.0)  # window 1 s: the second half is kept
    ledger.filter(Out(" estás?"), 3.5)
    ledger.resume()
    assert ledger.filter(Out(" ¿cómo")) is None  # regenerated: hidden
    assert ledger.filter(Audio(40)) is None
    kept = ledger.filter(Out(" estás? Bien."))
    assert kept == Out(" Bien.")
    assert not ledger.active


def test_history_is_pruned_to_its_length() -> None:
    ledger = OutputLedger(history_s=2.0)
    for t in range(10):
        ledger.filter(Audio(10), float(t))
    ledger.checkpoint(now=9.0, keep_after=0.0)
    assert ledger.history is not None
    assert [t for t, _ in ledger.history] == [7.0, 8.0, 9.0]
    assert ledger.since.samples == 30  # only what the history still holds


def test_regenerated_text_realigns_when_the_expectation_starts_earlier() -> None:
    """The window is taken generously: the expectation may begin with text the server will
    not say again. A regenerated fragment found further in it realigns the suppression."""
    ledger = OutputLedger(history_s=10.0)
    ledger.filter(Out("uno dos"), 1.0)
    ledger.filter(Out(" tres cuatro"), 2.0)
    ledger.checkpoint(now=2.5, keep_after=0.5)
    ledger.resume()
    assert ledger.filter(Out(" tres")) is None  # "uno dos" is not coming again
    assert ledger.filter(Out(" cuatro cinco")) == Out(" cinco")
    assert not ledger.active
    # A short fragment never realigns (too likely to match by chance): delivered as is.
    short = OutputLedger(history_s=10.0)
    short.filter(Out("a b c"), 1.0)
    short.checkpoint(now=1.5, keep_after=0.0)
    short.resume()
    assert short.filter(Out(" b")) == Out(" b")


def Silence(n: int) -> AudioChunk:
    return AudioChunk(np.zeros(n, dtype=np.int16))


def test_server_silence_is_neither_counted_nor_hidden() -> None:
    """The silence the server streams between translations is not regenerated after a resume
    (EVIDENCE.md row 7): counting it would hide that much of the regenerated speech."""
    ledger = OutputLedger()
    ledger.checkpoint()
    for event in (Silence(2400), Audio(100), Silence(2400), Silence(2400)):
        ledger.filter(event)
    ledger.resume()
    assert ledger.active
    quiet = Silence(2400)
    assert ledger.filter(quiet) is quiet  # silence passes, the expectation stays
    assert ledger.active
    assert ledger.filter(Audio(100)) is None  # the regenerated speech: hidden once
    fresh = Audio(100)
    assert ledger.filter(fresh) is fresh
    assert ledger.suppressed_samples == 100 and not ledger.active
