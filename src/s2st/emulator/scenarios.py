"""Bundled speech scenarios for the scripted engine (synthetic espeak-ng speech, see data/README.md).

A scenario is a source WAV (16 kHz mono int16) holding one or more utterances separated by
silence, the source transcript of each utterance, and per target language a translation text
and translated speech (24 kHz mono int16). Example::

    from s2st.emulator import sample_path
    wav = sample_path("hello")          # Path to the English source speech
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from s2st.errors import ConfigurationError

from ._audio import IN_RATE, OUT_RATE, Int16Array, Segmenter, read_wav

__all__ = ["Scenario", "Translation", "Utterance", "list_scenarios", "load_scenario", "sample_path"]


@dataclass(frozen=True)
class Translation:
    """Translated text and speech (24 kHz mono int16) of one utterance in one language."""

    language: str
    text: str
    audio: Int16Array


@dataclass(frozen=True)
class Utterance:
    """One utterance of a scenario: transcript, its source audio segment and translations."""

    text: str
    source_audio: Int16Array
    translations: dict[str, Translation]

    @property
    def duration_s(self) -> float:
        """Length of the detected source segment in seconds."""
        return self.source_audio.size / IN_RATE


@dataclass(frozen=True)
class Scenario:
    """A scripted scenario (see the module docstring)."""

    name: str
    description: str
    source_language: str
    source_path: Path
    source_audio: Int16Array
    utterances: tuple[Utterance, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        """Target languages every utterance has a translation for."""
        sets = [set(u.translations) for u in self.utterances]
        return tuple(sorted(set.intersection(*sets))) if sets else ()


def _data_dir() -> Path:
    return Path(str(resources.files("s2st.emulator") / "data"))


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios, sorted."""
    return sorted(p.stem for p in _data_dir().glob("*.json"))


def sample_path(name: str) -> Path:
    """Path of the source speech WAV (16 kHz mono int16) of bundled scenario ``name``."""
    return _data_dir() / str(_read_script(name)["source_wav"])


def _read_script(name: str) -> dict[str, Any]:
    path = _data_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigurationError(
            f"Unknown emulator scenario {name!r}; available: {', '.join(list_scenarios())}."
        )
    script: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return script


def segment_all(audio: Int16Array) -> list[Int16Array]:
    """Run the emulator's segmenter over a whole recording and return the kept segments."""
    seg = Segmenter()
    events = seg.feed(audio)
    events += seg.feed(np.zeros(IN_RATE, dtype=np.int16))  # trailing silence closes the last one
    return [e.audio for e in events if e.kind == "end"]


@cache
def load_scenario(name: str) -> Scenario:
    """Load and check a bundled scenario (cached). The source WAV must segment into exactly as
    many utterances as the script lists, else [`ConfigurationError`][s2st.errors.ConfigurationError]."""
    script = _read_script(name)
    base = _data_dir()
    source_path = base / script["source_wav"]
    source, _ = read_wav(source_path, expect_rate=IN_RATE)
    segments = segment_all(source)
    items = script["utterances"]
    if len(segments) != len(items):
        raise ConfigurationError(
            f"Scenario {name!r}: the source WAV holds {len(segments)} speech segments but the "
            f"script lists {len(items)} utterances; fix the pauses or the script."
        )
    utterances = []
    for seg_audio, item in zip(segments, items, strict=True):
        translations = {
            lang: Translation(lang, t["text"], read_wav(base / t["wav"], expect_rate=OUT_RATE)[0])
            for lang, t in item["translations"].items()
        }
        utterances.append(Utterance(item["text"], seg_audio, translations))
    return Scenario(
        name=script["name"],
        description=script.get("description", ""),
        source_language=script.get("source_language", "und"),
        source_path=source_path,
        source_audio=source,
        utterances=tuple(utterances),
    )
