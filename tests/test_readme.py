"""The README's two set-up commands stay true, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_exactly_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert _bash_blocks(setup) == [
        "pip install . && python examples/quickstart.py",
        "pip install -e '.[dev]' && pytest",
    ]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\npip install -e '.[dev]' && pytest\n" in ci


def test_quickstart_and_sample_exist() -> None:
    assert (ROOT / "examples" / "quickstart.py").is_file()
    assert (ROOT / "src" / "s2st" / "emulator" / "data" / "hello.en.wav").is_file()
