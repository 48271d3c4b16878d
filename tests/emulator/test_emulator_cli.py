"""``s2st emulator`` on bad options: one line, exit status 2, never a traceback (issue 13)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

CMD = [sys.executable, "-m", "s2st.emulator"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--lifetime", "0"], "--lifetime: must be > 0"),
        (["--go-away-before", "-1"], "--go-away-before: must be >= 0"),
        (["--port", "99999"], "99999 is not a port"),
        (["--port", "http"], "not a port number"),
        (["--speed", "fast"], "--speed: not a number"),
        (["--engine", "gpt"], "invalid choice"),
        (["--no-such-flag"], "unrecognized arguments"),
        (["--debug", "--lifetime", "-3"], "--lifetime: must be > 0"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("s2st emulator: error:") and says in lines[0]
    assert "Traceback" not in done.stderr and not done.stdout


def test_every_option_has_help() -> None:
    done = subprocess.run([*CMD, "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for flag in ("--engine", "--debug", "--port", "--lifetime", "--cap-close", "--speed"):
        line = next(ln for ln in done.stdout.splitlines() if ln.strip().startswith(flag))
        rest = done.stdout.split(line, 1)[1].splitlines()[0] if line.strip() == flag else line
        assert rest.strip() != flag, f"{flag} has no help"
    assert "silent" in done.stdout


def test_debug_runs_and_stops_on_sigterm() -> None:
    with subprocess.Popen(
        [*CMD, "--debug", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("s2st emulator listening on ws://127.0.0.1:")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
