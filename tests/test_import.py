"""``import s2st`` stays cheap, its public surface is sorted and resolvable, and it is typed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import s2st

HEAVY = ["google.auth", "soundfile", "sounddevice", "soxr", "av"]


def _loaded_after(imports: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` (or their submodules) a fresh interpreter has loaded after running
    ``imports``."""
    code = (
        "import json, sys\n"
        f"{imports}\n"
        f"watched = {watched!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if any("
        "m == w or m.startswith(w + '.') for w in watched))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_import_does_not_pull_heavy_modules() -> None:
    assert _loaded_after("import s2st", tuple(HEAVY)) == []


def test_protocol_core_does_not_import_io_libraries() -> None:
    io_libraries = ("asyncio", "websockets", "google.auth", "soundfile", "sounddevice")
    # sans-I/O: no event loop, no socket library
    assert _loaded_after("import s2st.protocol, s2st.events, s2st.errors", io_libraries) == []


def _isort_key(name: str) -> tuple[int, str]:
    # ruff RUF022 "isort-style": CONSTANTS, then Classes, then everything else, each A-Z.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_resolves() -> None:
    assert s2st.__all__ == sorted(s2st.__all__, key=_isort_key)
    assert len(s2st.__all__) == len(set(s2st.__all__))
    for name in s2st.__all__:
        assert getattr(s2st, name) is not None, name


def test_version_is_a_string() -> None:
    assert isinstance(s2st.__version__, str) and s2st.__version__


def test_py_typed_is_shipped() -> None:
    package_dir = Path(s2st.__file__).parent
    assert (package_dir / "py.typed").is_file()


def test_emulator_never_imports_the_client_session() -> None:
    """The emulator shares the wire vocabulary, never the client (STYLE: import direction)."""
    client = ("s2st.session", "s2st.client", "s2st._io", "s2st.auth")
    imports = "import s2st.emulator, s2st.emulator.cli, s2st.emulator.pytest_plugin"
    assert _loaded_after(imports, client) == []


def test_sans_io_modules_import_no_io_libraries() -> None:
    """Everything the core is built from stays free of sockets and event loops."""
    imports = (
        "import s2st.config, s2st.languages, s2st.reconnect, s2st.protocol, "
        "s2st.segments, s2st.metrics, s2st.endpoints"
    )
    assert _loaded_after(imports, ("asyncio", "websockets", "google.auth")) == []
