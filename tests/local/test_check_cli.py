"""`s2st local check` and the report behind it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from s2st.cli import main
from s2st.emulator import sample_path
from s2st.local.check import _install_for, check, format_report
from s2st.local.mt import ApertiumPair


def test_check_reports_the_installed_stack() -> None:
    report = check()
    assert report.ready and report.sources[0] == "en" and "es" in report.sources
    names = {c.name: c for c in report.components}
    assert names["silero-vad-v6"].ok and names["tiny.en"].ok and names["espeak-ng"].ok
    es = next(p for p in report.pairs if p.target == "es")
    assert es.usable and es.route == "apertium eng-spa" and es.voice == "es"
    fr = next(p for p in report.pairs if p.target == "fr")
    assert fr.usable and "pivot through es" in fr.route
    text = format_report(report)
    assert "en  -> es   apertium eng-spa; voice espeak-ng es" in text
    assert "es  -> en   apertium spa-eng; voice espeak-ng en-us" in text
    assert "*   -> en   whisper base translate" in text
    assert names["base"].ok
    assert text.splitlines()[0].startswith("s2st local engine check (local machine translation")


def test_ready() -> None:
    import s2st.local

    assert s2st.local.ready() and s2st.local.ready("es") and s2st.local.ready("pt-BR")
    assert not s2st.local.ready("ja")


def test_install_hints_name_debian_packages() -> None:
    have = [ApertiumPair("en", "es", "eng-spa")]
    assert _install_for("en", "it", have) == "apt-get install apertium-spa-ita"
    assert _install_for("en", "es", have) == ""
    assert _install_for("en", "pt", []) == "apt-get install apertium-eng-spa apertium-es-pt"
    assert _install_for("en", "ja", have) == ""


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ready"] is True
    assert {"source": "en", "target": "es"}.items() <= next(
        p for p in data["pairs"] if p["target"] == "es"
    ).items()


def test_cli_usage_and_cheap_import() -> None:
    assert main(["local"]) == 2  # a subcommand is required
    code = (
        "import sys, s2st.cli, s2st.local; s2st.cli.build_parser();"
        "bad = [m for m in ('faster_whisper', 'onnxruntime', 'ctranslate2') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def _recording(tmp_path: Path) -> Path:
    """A LibriVox recording nobody on the team made, with 4 s of silence after it."""
    source = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0920.wav"
    assert source.is_file(), "apt-get install pocketsphinx-testdata"
    out = tmp_path / "my_recording.wav"
    with wave.open(str(source)) as r, wave.open(str(out), "wb") as w:
        w.setparams(r.getparams())
        w.writeframes(r.readframes(r.getnframes()) + bytes(r.getframerate() * 2 * 4))
    return out


def _cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s2st.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _no_credentials() -> dict[str, str]:
    from s2st.translate import CREDENTIAL_ENV_VARS

    return {k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS}


def test_s2st_translate_engine_local_translates_a_real_recording(tmp_path: Path) -> None:
    """Issue 15: `s2st translate my_recording.wav --to es --engine local` prints and writes a
    Spanish translation whose words track the English input."""
    wav = _recording(tmp_path)
    out = tmp_path / "es.wav"
    done = _cli(
        "translate", str(wav), "--to", "es", "--engine", "local", "-o", str(out),
        env=_no_credentials(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "respetable" in done.stdout and "mujer" in done.stdout, done.stdout
    assert "local engine" in done.stderr and "not Google" in done.stderr
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 24000


def test_s2st_translate_defaults_to_the_local_engine_without_credentials(tmp_path: Path) -> None:
    """No Google credentials and the local engine installed: it is the default, and says so."""
    done = _cli("translate", str(_recording(tmp_path)), "--to", "es", env=_no_credentials())
    assert done.returncode == 0, done.stderr
    assert "local engine" in done.stderr
    assert "respetable" in done.stdout, done.stdout
    # --emulator keeps the deterministic scripted engine.
    scripted = _cli(
        "translate", str(sample_path("hello")), "--to", "es", "--emulator", "--speed", "0",
        env=_no_credentials(),
    )  # fmt: skip
    assert scripted.returncode == 0, scripted.stderr
    assert "Hoy hablaremos del tiempo." in scripted.stdout
