"""`s2st translate` on a terminal (a pseudo-terminal) and through pipes: what the user reads.

The pty tests replay everything the command wrote through a tiny terminal model (carriage
return, line feed, ECMA-48 "erase in line") and check the final screen: every caption on its
own line, the source on separate ``> `` lines, no progress bar left over or mixed into a line.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s2st.emulator import load_scenario, sample_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

ESC_SEQUENCE = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])")


def render(output: str) -> list[str]:
    """The screen lines after ``output`` (CR, LF, ESC[K, printable text; ESC[2K too)."""
    lines: list[list[str]] = [[]]
    col = 0
    i = 0
    while i < len(output):
        ch = output[i]
        match = ESC_SEQUENCE.match(output, i)
        if match:
            if match.group(2) == "K":  # erase from the cursor (0) or the whole line (2)
                row = lines[-1]
                if match.group(1) == "2":
                    row.clear()
                else:
                    del row[col:]
            i = match.end()
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append([])
            col = 0
        else:
            row = lines[-1]
            if col < len(row):
                row[col] = ch
            else:
                row.extend(" " * (col - len(row)))
                row.append(ch)
            col += 1
        i += 1
    return ["".join(row).rstrip() for row in lines]


def run_in_pty(argv: list[str], *, timeout_s: float = 50.0) -> tuple[int, str]:
    """Run ``s2st`` with stdout and stderr on one pseudo-terminal; return (status, output)."""
    master, slave = os.openpty()
    env = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "s2st.cli", *argv],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


def _scenario_lines(name: str, language: str) -> tuple[list[str], list[str]]:
    utterances = load_scenario(name).utterances
    return [u.text for u in utterances], [u.translations[language].text for u in utterances]


def test_captions_on_their_own_lines_on_a_terminal() -> None:
    _, translations = _scenario_lines("hello", "es")
    argv = ["translate", str(sample_path("hello")), "--to", "es", "--emulator", "--speed", "2"]
    status, output = run_in_pty(argv)
    assert status == 0, output
    screen = [line for line in render(output) if line]
    assert "[" in output and "%" in output  # a progress bar was drawn meanwhile ...
    assert not any(line.startswith("[") for line in screen), screen  # ... and erased
    captions = [line for line in screen if not line.startswith("s2st:")]
    # One line per sentence, each whole: the scripted text, in order, nothing torn or mixed.
    assert len(captions) >= 2 and all(line.endswith((".", "?", "!")) for line in captions)
    assert " ".join(captions) == " ".join(translations), screen
    assert screen[-1].startswith("s2st: done in")


def test_show_source_puts_each_language_on_its_own_line() -> None:
    sources, translations = _scenario_lines("hello", "es")
    argv = ["translate", str(sample_path("hello")), "--to", "es", "--emulator", "--speed", "2"]
    status, output = run_in_pty([*argv, "--show-source"])
    assert status == 0, output
    captions = [line for line in render(output) if line and not line.startswith("s2st:")]
    source_lines, translated_lines = captions[0::2], captions[1::2]
    assert len(source_lines) == len(translated_lines) >= 2, captions
    assert all(line.startswith("> ") for line in source_lines), captions
    assert not any(line.startswith(">") for line in translated_lines), captions
    assert " ".join(line[2:] for line in source_lines) == " ".join(sources)
    assert " ".join(translated_lines) == " ".join(translations)


def test_plain_output_when_stdout_is_not_a_terminal() -> None:
    _, translations = _scenario_lines("station", "de")
    argv = ["translate", str(sample_path("station")), "--to", "de", "--emulator", "--speed", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "s2st.cli", *argv],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stdout + proc.stderr and "\x1b" not in proc.stdout + proc.stderr
    assert " ".join(proc.stdout.splitlines()) == " ".join(translations)
    assert proc.stdout.endswith("\n") and "" not in proc.stdout.splitlines()
    assert all(line.startswith("s2st: ") for line in proc.stderr.splitlines())


def _noisy_mp3(path: Path) -> Path:
    """An MP3 whose damaged frames make libmpg123 print notes on file descriptor 2."""
    import random

    import numpy as np
    import soundfile as sf

    clean = path.with_name("clean.mp3")
    x = (np.sin(np.arange(16_000 * 3) * 0.05) * 0.3).astype("float32")
    sf.write(str(clean), x, 16_000, format="MP3")
    data = bytearray(clean.read_bytes())
    rng = random.Random(0)
    for i in range(600, len(data), 37):
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return path


def test_quiet_keeps_native_decoder_noise_off_the_terminal(tmp_path: Path) -> None:
    mp3 = _noisy_mp3(tmp_path / "noisy.mp3")
    probe = subprocess.run(
        [sys.executable, "-c", f"import soundfile as sf; sf.read({str(mp3)!r})"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stderr.strip(), "the damaged MP3 no longer makes the decoder print anything"
    argv = ["translate", str(mp3), "--to", "es", "--emulator", "--speed", "0", "-q"]
    status, output = run_in_pty([*argv, "-o", str(tmp_path / "out.wav")])
    assert status == 0, output
    assert output.strip() == ""  # nothing at all on the terminal with -q
    assert (tmp_path / "out.wav").stat().st_size > 44


def test_decoder_noise_is_summarised_not_printed_raw(tmp_path: Path) -> None:
    mp3 = _noisy_mp3(tmp_path / "noisy.mp3")
    argv = ["translate", str(mp3), "--to", "es", "--emulator", "--speed", "0"]
    status, output = run_in_pty(argv)
    assert status == 0, output
    screen = [line for line in render(output) if line]
    assert not any(line.startswith(("Note:", "Warning:", "[src/")) for line in screen), screen
    assert any(line.startswith("s2st: the audio decoder reported") for line in screen), screen
    assert screen[-1].startswith("s2st: done in")
