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


# --------------------------------------------------------------------------------------------
# What the rendered reference shows (issue 13)
# --------------------------------------------------------------------------------------------

ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj|ref|py:\w+):`")
# In HTML the backticks have become <code>: ":class:" right before the name.
RENDERED_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj|ref):(?=\S)")
PRE = re.compile(r"<pre\b.*?</pre>", re.S)
TAG = re.compile(r"<[^>]+>")


def _pages(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}


def test_no_literal_sphinx_roles_in_rendered_text(site: Path) -> None:
    """Docstrings use mkdocstrings cross-references; a Sphinx role would show as literal text.
    (Code listings are left alone: an example file may quote anything.)"""
    found = {}
    for name, html in _pages(site).items():
        text = TAG.sub("", PRE.sub("", html))
        hits = RENDERED_ROLE.findall(text)
        if hits:
            found[name] = len(hits)
    assert not found


def test_sources_have_no_sphinx_roles_in_docstrings() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src").rglob("*.py")
        if ROLE.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders


def test_cross_references_render_as_links(site: Path) -> None:
    audio = (site / "reference/audio/index.html").read_text(encoding="utf-8")
    assert 'href="#s2st.audio.iter_file_frames"' in audio  # from open_source's docstring
    client = (site / "reference/client/index.html").read_text(encoding="utf-8")
    assert (
        "s2st.client.ConnectOptions" in client and "../config/#s2st.config.OptionsError" in client
    )


def test_no_private_bases_shown(site: Path) -> None:
    bases = re.compile(r"Bases: (.*?)</p>", re.S)
    private = []
    for name, html in _pages(site).items():
        for match in bases.finditer(html):
            titles = re.findall(r'title="([^"]+)"', match.group(1))
            private += [(name, t) for t in titles if any(p.startswith("_") for p in t.split("."))]
    assert not private


def test_language_table_is_generated_with_both_codes(site: Path) -> None:
    from s2st.languages import SUPPORTED_LANGUAGES, wire_language_code

    html = (site / "reference/languages/index.html").read_text(encoding="utf-8")
    rows = re.findall(
        r"<tr>\s*<td>(.*?)</td>\s*<td><code>(.*?)</code></td>\s*<td><code>(.*?)</code>", html
    )
    assert len(rows) == len(SUPPORTED_LANGUAGES)
    by_name = {name: (code, tag) for name, code, tag in rows}
    for code, name in SUPPORTED_LANGUAGES.items():
        assert by_name[name] == (code, wire_language_code(code, "live_translate"))
    assert by_name["Mandarin Chinese"] == ("cmn", "zh")
    config = (site / "reference/config/index.html").read_text(encoding="utf-8")
    assert "MappingProxyType" not in config


def test_error_tree_is_complete_and_fits(site: Path) -> None:
    import s2st

    html = (site / "reference/errors/index.html").read_text(encoding="utf-8")
    tree = TAG.sub("", next(b for b in PRE.findall(html) if "S2STError" in b and "└──" in b))
    errors = {
        n
        for n in s2st.__all__
        if isinstance(getattr(s2st, n), type) and issubclass(getattr(s2st, n), s2st.S2STError)
    }
    assert {line.strip("│├└─ ").split(" ")[0] for line in tree.strip().splitlines()} == errors
    assert max(len(line) for line in tree.splitlines()) <= 60
    css = (site / "stylesheets/extra.css").read_text(encoding="utf-8")
    assert "stylesheets/extra.css" in html and "white-space: pre" in css


def test_install_instructions_are_true_for_a_checkout(site: Path) -> None:
    from importlib.metadata import metadata

    extras = set(metadata("s2st").get_all("Provides-Extra") or [])
    assert {"all", "cli"} <= extras
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    all_line = next(line for line in pyproject.splitlines() if line.startswith("all = "))
    included = set(re.findall(r"[\w-]+", all_line.split("[", 2)[2].split("]", 1)[0]))
    tools, bundles = {"dev", "docs", "test"}, {"audio", "cli", "all"}
    assert included == extras - tools - bundles  # every runtime extra, no tool
    start = TAG.sub("", (site / "getting-started/index.html").read_text(encoding="utf-8"))
    assert "pip install ." in start and "pip install s2st" in start
    for extra in extras:
        assert f"{extra}" in start, extra
    guide = TAG.sub("", (site / "guides/emulator/index.html").read_text(encoding="utf-8"))
    assert 'asyncio_mode = "auto"' in guide.replace("&quot;", '"') and "EmulatorFactory" in guide


def test_pytest_plugin_guide_example_runs(tmp_path: Path) -> None:
    """The copy-paste test module of the emulator guide passes under pytest-asyncio's auto mode."""
    guide = (DOCS / "guides/emulator.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    module = next(b for b in blocks if b.startswith("# tests/test_my_app.py"))
    (tmp_path / "test_my_app.py").write_text(module, encoding="utf-8")
    options = ["-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options]
    proc = subprocess.run(
        [*command, "-W", "error", "test_my_app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
