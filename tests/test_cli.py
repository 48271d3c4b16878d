"""The `s2st` command line, end to end against the bundled emulator."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from s2st import cli
from s2st.emulator import load_scenario, sample_path

SRT_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)$")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def check_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for n, block in enumerate(text.strip().split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(n)
        match = SRT_TIME.match(lines[1])
        assert match, lines[1]
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        cues.append((start, end, "\n".join(lines[2:])))
    for (s0, e0, _), (s1, _e1, _) in itertools.pairwise(cues):
        assert s0 < e0 <= s1
    return cues


def check_wav(path: Path) -> float:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)
        return float(w.getnframes() / w.getframerate())


def test_translate_end_to_end_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    station = [u.translations["es"].text for u in load_scenario("station").utterances]
    out, srt = tmp_path / "out.wav", tmp_path / "out.srt"
    argv = ["translate", str(sample_path("station")), "--to", "Spanish", "--emulator"]
    argv += ["--speed", "0", "-o", str(out), "--subtitles", str(srt), "--json"]
    assert cli.main(argv) == 0
    stdout = capsys.readouterr().out
    result = json.loads(stdout)  # one JSON object and nothing else on stdout
    assert result["translated_text"].split() == " ".join(station).split()
    assert "train station" in result["source_text"].lower()
    assert result["used_emulator"] is True and result["target_language"] == "es"
    assert result["outputs"] == {"audio": str(out.resolve()), "subtitles": str(srt.resolve())}
    duration = check_wav(out)
    assert duration > 1.0 and abs(duration - result["audio_s"]) < 0.01
    cues = check_srt(srt.read_text(encoding="utf-8"))
    assert [c[2] for c in cues] == station
    assert cues[-1][1] <= duration + 0.01


def test_translate_captions_and_vtt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vtt = tmp_path / "out.vtt"
    argv = ["translate", str(sample_path("hello")), "--to", "de", "--emulator", "--speed", "0"]
    assert cli.main([*argv, "--subtitles", str(vtt), "--show-source"]) == 0
    captured = capsys.readouterr()
    assert "Wetter" in captured.out and "> " in captured.out and "weather" in captured.out
    assert "s2st: done" in captured.err and "sent" in captured.err
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT")


def test_translate_subprocess_console_entry(tmp_path: Path) -> None:
    srt = tmp_path / "a.srt"
    argv = ["translate", str(sample_path("station")), "--to", "cmn", "--emulator", "--speed", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "s2st.cli", *argv, "--subtitles", str(srt), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "火车站" in json.loads(proc.stdout)["translated_text"]
    assert "火车站在哪里" in srt.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["translate", "x.wav", "--to", "klingon"], 2, "did you mean"),
        (["translate", "missing.wav", "--to", "es", "--emulator"], 5, "no such file: missing.wav"),
        (["translate", "IN", "--to", "es", "--subtitles", "a.txt"], 2, ".srt, .vtt or .jsonl"),
        (["translate", "IN", "--to", "es", "--emulator", "--project", "p"], 2, "choose one"),
        (["translate", "IN", "--to", "es", "--api-key-env", "S2ST_NOPE_XYZ"], 2, "S2ST_NOPE_XYZ"),
        (["translate", "IN", "--to", "es", "--speed", "-1"], 2, "must be >= 0"),
        (["live", "--to", "es", "--duration", "0"], 2, "must be a positive number of seconds"),
        (["live", "--to", "es", "--duration", "soon"], 2, "not a number of seconds"),
        (["translate", "IN"], 2, "--to"),
        (["live", "--to", "es", "--emulator"], 5, "no usable sound device"),
        (["languages", "zzzzqqq"], 1, ""),
    ],
)
def test_errors_exit_codes(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(sample_path("hello")) if a == "IN" else a for a in argv]
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    if code != 1:
        assert err.strip().splitlines()[-1].startswith(("s2st: error:", "usage:", "s2st "))


def test_bad_audio_file_exit_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    assert cli.main(["translate", str(bad), "--to", "es", "--emulator", "--quiet"]) == 5
    err = capsys.readouterr().err
    assert err.startswith("s2st: error:") and "bad.wav" in err and "Traceback" not in err


def test_connection_refused_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("S2ST_BASE_URL", "ws://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("S2ST_TEST_KEY", "not-a-real-key")
    argv = ["translate", str(sample_path("hello")), "--to", "es", "--api-key-env", "S2ST_TEST_KEY"]
    assert cli.main([*argv, "--quiet"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("s2st: error:") and "not-a-real-key" not in err


@pytest.mark.parametrize("command", [[], ["translate"], ["live"], ["languages"], ["emulator"]])
def test_help_exits_0(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*command, "--help"]) == 0
    assert "usage:" in capsys.readouterr().out


def test_version_and_languages_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("s2st ")
    assert cli.main(["languages", "german", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"code": "de", "live_translate_code": "de", "name": "German"}
    assert cli.main(["languages", "cmn"]) == 0
    header, first, *_ = capsys.readouterr().out.splitlines()
    assert header.split() == ["s2st", "live_translate", "name"]
    assert first.split() == ["cmn", "zh", "Mandarin", "Chinese"]


def test_languages_show_both_codes_for_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    from s2st.languages import SUPPORTED_LANGUAGES, wire_language_code

    assert cli.main(["languages", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(SUPPORTED_LANGUAGES) == 252
    for row in rows:
        assert row["name"] == SUPPORTED_LANGUAGES[row["code"]]
        assert row["live_translate_code"] == wire_language_code(row["code"], "live_translate")
    assert {r["code"]: r["live_translate_code"] for r in rows if r["code"] in ("cmn", "yue")} == {
        "cmn": "zh",
        "yue": "yue",
    }
    assert cli.main(["languages"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 253  # header + one line a row
    assert lines[1:] == [f"{r['code']:<8} {r['live_translate_code']:<15} {r['name']}" for r in rows]


@pytest.mark.parametrize("command", [["translate", "IN", "--to", "es"], ["live", "--to", "es"]])
def test_model_and_dialect_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from s2st.config import DEFAULT_MODEL, LIVE_TRANSLATE_MODEL

    assert cli.main([command[0], "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--model MODEL" in text and "--dialect {auto,s2st,live_translate}" in text
    assert DEFAULT_MODEL in text and LIVE_TRANSLATE_MODEL in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "not a model!"], "invalid model name"),
        (["--model", "projects/p/models"], "invalid model name"),
        (["--dialect", "klingon"], "invalid choice"),
        (["--model", ""], "model"),
    ],
)
@pytest.mark.parametrize("command", ["translate", "live"])
def test_bad_model_or_dialect_exit_2(
    command: str, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["translate", str(sample_path("hello"))] if command == "translate" else ["live"]
    # live would fail with exit 5 (no sound device) if the options were not checked first
    code = cli.main([*argv, "--to", "es", *extra], _devices=None)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(("s2st: error:", "s2st translate: error:", "s2st live: error:"))
    if lines[-1].startswith("s2st: error:"):
        assert len(lines) == 1  # one line


@pytest.mark.parametrize(
    ("extra", "to", "setup_path", "code"),
    [
        (
            ["--model", "gemini-3.5-live-translate-preview"],
            "es-419",
            ("generationConfig", "translationConfig", "targetLanguageCode"),
            "es-419",
        ),
        (
            ["--model", "gemini-3.5-live-translate-preview"],
            "cmn",
            ("generationConfig", "translationConfig", "targetLanguageCode"),
            "zh",
        ),
        (
            ["--dialect", "live_translate"],
            "pt_BR",
            ("generationConfig", "translationConfig", "targetLanguageCode"),
            "pt-BR",
        ),
        ([], "es-419", ("generation_config", "speech_config", "language_code"), "es"),
    ],
    ids=["live-translate-es-419", "live-translate-cmn", "forced-dialect", "default-s2st"],
)
def test_model_and_dialect_reach_the_setup(
    extra: list[str],
    to: str,
    setup_path: tuple[str, ...],
    code: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from s2st.emulator.runner import EmulatorThread

    with EmulatorThread() as emu:
        monkeypatch.setenv("S2ST_BASE_URL", emu.emulator.base_url)
        monkeypatch.setenv("S2ST_TEST_KEY", "emulator-key")
        argv = ["translate", str(sample_path("hello")), "--to", to, *extra]
        argv += ["--api-key-env", "S2ST_TEST_KEY", "--speed", "0", "--json"]
        assert cli.main(argv) == 0, capsys.readouterr().err
        connections = list(emu.emulator.connections)
    assert len(connections) == 1
    setup = connections[0].setup
    assert setup is not None
    model = extra[1] if extra[:1] == ["--model"] else "gemini-2.5-flash-s2st-11-2025-exp"
    assert setup["model"] == f"models/{model}"
    value: Any = setup
    for key in setup_path:
        value = value[key]
    assert value == code
    live = "generationConfig" in setup
    assert ("enable_speech_to_speech_translation" in setup) is not live
    json.loads(capsys.readouterr().out)  # the run completed with its JSON result


class _FakeStream:
    def __init__(self, kind: str, callback: Any, blocksize: int, pcm: bytes | None) -> None:
        self.kind, self.callback, self.blocksize, self.pcm = kind, callback, blocksize, pcm
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.played = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(5)

    def close(self) -> None:
        pass

    def _run(self) -> None:
        step = self.blocksize * 2
        offset = 0
        while not self.stop_flag.wait(0.01):  # 10x real time for 100 ms blocks
            if self.kind == "in":
                assert self.pcm is not None
                block = self.pcm[offset : offset + step]
                offset += step
                block += bytes(step - len(block))  # silence after the sample
                self.callback(block, self.blocksize, None, None)
            else:
                out = bytearray(step)
                self.callback(out, self.blocksize, None, None)
                self.played += self.blocksize


class FakeDevices:
    """A sounddevice stand-in: the microphone "says" the hello sample, the speaker counts."""

    def __init__(self) -> None:
        with wave.open(str(sample_path("hello"))) as w:
            assert w.getframerate() == 16_000
            self.pcm = w.readframes(w.getnframes())
        self.streams: list[_FakeStream] = []

    def RawInputStream(self, *, callback: Any, blocksize: int, **kw: Any) -> _FakeStream:
        stream = _FakeStream("in", callback, blocksize, self.pcm)
        self.streams.append(stream)
        return stream

    def RawOutputStream(self, *, callback: Any, blocksize: int, **kw: Any) -> _FakeStream:
        stream = _FakeStream("out", callback, blocksize, None)
        self.streams.append(stream)
        return stream


def test_live_with_fake_devices(capsys: pytest.CaptureFixture[str]) -> None:
    devices = FakeDevices()
    argv = ["live", "--to", "es", "--emulator", "--duration", "1.5", "--json"]
    assert cli.main(argv, _devices=devices) == 0
    result = json.loads(capsys.readouterr().out)
    assert "tiempo" in result["translated_text"]
    speaker = next(s for s in devices.streams if s.kind == "out")
    assert speaker.played > 24_000  # more than a second of translated speech went out
    assert all(s.stop_flag.is_set() for s in devices.streams)


def test_live_model_reaches_the_setup(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from s2st.emulator.runner import EmulatorThread

    devices = FakeDevices()
    with EmulatorThread() as emu:
        monkeypatch.setenv("S2ST_BASE_URL", emu.emulator.base_url)
        monkeypatch.setenv("S2ST_TEST_KEY", "emulator-key")
        argv = ["live", "--to", "es-MX", "--model", "gemini-3.5-live-translate-preview"]
        argv += ["--api-key-env", "S2ST_TEST_KEY", "--duration", "1.0", "--json"]
        assert cli.main(argv, _devices=devices) == 0, capsys.readouterr().err
        connections = list(emu.emulator.connections)
    setup = connections[0].setup
    assert setup is not None
    assert setup["model"] == "models/gemini-3.5-live-translate-preview"
    assert setup["generationConfig"]["translationConfig"]["targetLanguageCode"] == "es-MX"
    assert json.loads(capsys.readouterr().out)["target_language"] == "es"


def test_languages_exact_match_first_and_no_match_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["languages", "es"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows[0] == "es" and "jv" not in rows and len(rows) <= 5
    assert cli.main(["languages", "xx"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err == "s2st: no language matches 'xx'; run `s2st languages` for the full list\n"
    )


# --------------------------------------------------------------------------------------------
# Output paths are checked before streaming; input errors name the file and the cause
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "where", "message"),
    [
        ("-o", "nodir/x/out.wav", "-o {p}: the directory {d} does not exist"),
        ("-o", ".", "-o {p}: is a directory; give a file name"),
        ("--subtitles", "nodir/out.srt", "--subtitles {p}: the directory {d} does not exist"),
        ("--subtitles", "sub.srt", "--subtitles {p}: is a directory; give a file name"),
        ("-o", "out.mp3", "-o {p}: the translated speech is written as WAV; use a .wav name"),
    ],
)
def test_output_paths_fail_before_streaming(
    tmp_path: Path, flag: str, where: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub.srt").mkdir()
    path = str(tmp_path / where)
    argv = ["translate", str(sample_path("hello")), "--to", "es", "--emulator", flag, path]
    started = time.monotonic()
    assert cli.main(argv) == 2
    assert time.monotonic() - started < 5  # nothing was streamed (the sample lasts 5.9 s)
    err = capsys.readouterr().err
    expected = message.format(p=path, d=os.path.dirname(os.path.abspath(path)))
    assert err == f"s2st: error: {expected}\n"
    assert ".tmp" not in err and "emulator" not in err


def test_outputs_are_created_with_the_users_umask(tmp_path: Path) -> None:
    out, srt = tmp_path / "out.wav", tmp_path / "out.srt"
    argv = ["translate", str(sample_path("hello")), "--to", "es", "--emulator", "--speed", "0"]
    old = os.umask(0o022)
    try:
        assert cli.main([*argv, "-q", "-o", str(out), "--subtitles", str(srt)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert stat.S_IMODE(srt.stat().st_mode) == 0o644
    assert {p.name for p in tmp_path.iterdir()} == {"out.wav", "out.srt"}  # no temporary file
    check_wav(out)


def test_output_may_not_overwrite_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.wav"
    src.write_bytes(sample_path("hello").read_bytes())
    assert cli.main(["translate", str(src), "--to", "es", "--emulator", "-o", str(src)]) == 2
    assert "that is the input file" in capsys.readouterr().err


def _truncated_wav(path: Path) -> Path:
    path.write_bytes(sample_path("hello").read_bytes()[:46])  # the header and one sample
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "{p}: is a directory, not an audio file"),
        (lambda p: p.write_bytes(b""), "{p}: the file is empty (0 bytes)"),
        (lambda p: p.write_bytes(b"garbage!" * 40), "{p}: has a .wav name but no RIFF/WAVE header"),
        (
            _truncated_wav,
            "{p}: the file holds no audio (0 ms of samples); it is empty or truncated",
        ),
    ],
)
def test_input_errors_exit_5_before_connecting(
    tmp_path: Path, make: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.wav"
    make(path)
    out = tmp_path / "out.wav"
    argv = ["translate", str(path), "--to", "es", "--emulator", "-o", str(out)]
    assert cli.main(argv) == 5
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"s2st: error: {message.format(p=path)}")
    assert "emulator" not in err  # failed before any session was opened
    assert not out.exists()


def test_debug_before_the_emulator_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--debug", "emulator", "--help"]) == 0
    captured = capsys.readouterr()
    assert "usage:" in captured.out and "Traceback" not in captured.err


def test_a_failed_write_names_the_users_path_not_a_temporary_file(tmp_path: Path) -> None:
    from s2st._cli_files import write_file

    target = tmp_path / "gone" / "out.wav"  # the directory vanished after the early check
    with pytest.raises(OSError) as info:
        write_file("-o", str(target), b"RIFF")
    assert info.value.filename == str(target)
    message = cli._error_message(info.value)
    assert message == f"-o: cannot write (No such file or directory): {target}"
    assert cli.exit_code_for(info.value) == 5
