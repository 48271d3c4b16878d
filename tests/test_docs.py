"""The documentation site builds with ``mkdocs build --strict`` (broken links, missing
snippets and docstring warnings fail), and it covers what the guides promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

GUIDES = ["files", "microphone", "subtitles", "reconnection", "emulator", "telephony"]
REFERENCE = ["client", "session", "events", "errors", "config", "audio", "emulator", "protocol"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_site_has_every_page(site: Path) -> None:
    pages = ["index.html", "getting-started/index.html", "protocol/index.html"]
    pages += ["performance/index.html", "changelog/index.html"]
    pages += [f"guides/{g}/index.html" for g in GUIDES]
    pages += [f"reference/{r}/index.html" for r in REFERENCE]
    missing = [p for p in pages if not (site / p).is_file()]
    assert not missing


def test_api_reference_is_generated_from_docstrings(site: Path) -> None:
    session = (site / "reference/session/index.html").read_text(encoding="utf-8")
    for member in ("send_audio", "start_stream", "finish", "aclose"):
        assert f"s2st.session.S2STSession.{member}" in session, member
    assert "Nothing is lost" in session or "nothing is lost" in session  # from a docstring
    errors = (site / "reference/errors/index.html").read_text(encoding="utf-8")
    assert "ModelAccessDeniedError" in errors


def test_examples_are_included_verbatim(site: Path) -> None:
    html = (site / "guides/telephony/index.html").read_text(encoding="utf-8")
    assert "phone_recording" in html and "FRAME_BYTES" in html
    included = set()
    for page in DOCS.rglob("*.md"):
        included |= set(re.findall(r'--8<-- "examples/([\w.]+)"', page.read_text("utf-8")))
    scripts = {p.name for p in (ROOT / "examples").glob("*.py")}
    assert scripts <= included, f"examples not shown in the docs: {sorted(scripts - included)}"


def test_build_needs_no_network_fonts(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in index
