"""`s2st local check` and the report behind it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from s2st.cli import main
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
