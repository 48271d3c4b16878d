"""Every example script and notebook runs against the emulator and produces its output.

The scripts run concurrently in subprocesses (they mostly wait on paced audio), each in its
own temporary working directory and with Google credentials removed from the environment, so
they use the bundled emulator. Notebooks run headless through nbclient on this interpreter's
``python3`` kernel (ipykernel's native kernel spec uses ``sys.executable``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = EXAMPLES / "notebooks"
SCRIPT_TIMEOUT_S = 55.0
CELL_TIMEOUT_S = 60

#: Arguments and substrings expected on stdout, per example script.
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    "quickstart.py": (
        [],
        [
            "via the local emulator",
            "source:     Hello, and welcome to the speech translation demo.",
            "translated: Hola, y bienvenidos a la demostración de traducción de voz.",
            "to out/translated.wav",
            "are scripted, not real translations",
        ],
    ),
    "translate_file.py": (
        [],
        [
            "translated by the bundled emulator",
            "Good morning.  ->  Buenos días.",
            "station.en.es.srt",
        ],
    ),
    "conversation.py": (
        [],
        ["alice said:  'Hello,'", "bob heard: Hola, y bienvenidos", "alice heard: [emulator:"],
    ),
    "subtitles.py": (
        ["--target", "de"],
        ["[final] #0", "Guten Morgen.", "Wo ist der Bahnhof?", "wrote out/subtitles.vtt"],
    ),
    "microphone.py": (
        ["--fake-mic"],
        ["heard: 'Hello,'", "translation: Hola, y bienvenidos"],
    ),
    "telephony.py": (
        ["--codec", "alaw"],
        ["of alaw at 8 kHz", "translated: Hola, y bienvenidos", "written to out/"],
    ),
    "reconnection.py": ([], ["reconnected (go_away): resumed=True", "translation complete"]),
    "emulator_testing.py": ([], ["4 passed"]),
    "fanout.py": (
        [],
        ["es: Hola, y bienvenidos", "de: Hallo und willkommen", "cmn: 你好，欢迎来到语音翻译演示"],
    ),
}

_CREDENTIAL_VARIABLES = (
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "S2ST_BASE_URL",
)


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    cwd: Path
    log: Path

    def wait(self) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=SCRIPT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        return code, self.log.read_text(encoding="utf-8", errors="replace")


def _scripts() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Start every example at once; each test waits for its own."""
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARIABLES}
    env["PYTHONIOENCODING"] = "utf-8"
    started: dict[str, Run] = {}
    for name in _scripts():
        args = EXPECTED.get(name, ([], []))[0]
        cwd = tmp_path_factory.mktemp(name.removesuffix(".py"))
        log = cwd / "output.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(EXAMPLES / name), *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started[name] = Run(proc, cwd, log)
    yield started
    for run in started.values():
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def test_every_example_has_expectations() -> None:
    assert set(_scripts()) == set(EXPECTED), "add the new example to EXPECTED"


@pytest.mark.parametrize("name", _scripts())
def test_example_runs(name: str, runs: dict[str, Run]) -> None:
    code, output = runs[name].wait()
    assert code == 0, f"{name} exited with {code}:\n{output}"
    for expected in EXPECTED[name][1]:
        assert expected in output, f"{expected!r} missing from the output of {name}:\n{output}"


def test_quickstart_writes_translated_speech(runs: dict[str, Run]) -> None:
    run = runs["quickstart.py"]
    code, output = run.wait()
    assert code == 0, output
    with wave.open(str(run.cwd / "out" / "translated.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.getnframes() > 24000 * 3  # the scripted Spanish reply is about 5 s


def test_translate_file_writes_wav_and_srt(runs: dict[str, Run]) -> None:
    run = runs["translate_file.py"]
    code, output = run.wait()
    assert code == 0, output
    srt = (run.cwd / "out" / "station.en.es.srt").read_text(encoding="utf-8")
    # The first cue starts with the first voiced translated audio (the server streams silence
    # before it), within a second of the start of the recording.
    assert re.match(r"1\n00:00:00,\d{3} --> ", srt), srt[:40]
    assert "¿Dónde está la estación de tren?" in srt
    with wave.open(str(run.cwd / "out" / "station.en.es.wav"), "rb") as wav:
        assert wav.getnframes() > 24000


def test_telephony_sends_g711_back(runs: dict[str, Run]) -> None:
    run = runs["telephony.py"]
    code, output = run.wait()
    assert code == 0, output
    audio = (run.cwd / "out" / "call.translated.g711").read_bytes()
    assert len(audio) > 8000 * 3  # about 5 s at 8 kHz, one byte per sample
    assert len(set(audio)) > 50  # speech, not a constant (silence) byte


# --- notebooks -----------------------------------------------------------------------------------
def _notebooks() -> list[str]:
    return sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_notebooks_exist() -> None:
    assert {"quickstart.ipynb", "subtitles.ipynb"} <= set(_notebooks())


@pytest.mark.parametrize("name", _notebooks())
def test_notebook_committed_without_outputs(name: str) -> None:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, name


def _outputs_text(nb: Any) -> str:
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime in ("text/plain", "text/markdown", "text/html"):
                value = out.get("data", {}).get(mime)
                if value:
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


NOTEBOOK_EXPECTED = {
    "quickstart.ipynb": ["s of translated speech", "<audio", "Hola, y bienvenidos"],
    "subtitles.ipynb": ["Wo ist der Bahnhof?", "| 1 |", "1\n00:00:0"],
}


@pytest.mark.parametrize("name", _notebooks())
def test_notebook_executes(name: str, tmp_path: Path) -> None:
    nb = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors
    text = _outputs_text(nb)
    for expected in NOTEBOOK_EXPECTED[name]:
        assert expected in text, f"{expected!r} missing from the outputs of {name}"
