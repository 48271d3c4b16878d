"""Translating many files with bounded concurrency, resumable from a manifest.

[`translate_files()`][s2st.batch.translate_files] writes ``<stem>.<lang>.wav``, ``.srt`` and ``.json`` for each input
into ``output_dir`` (atomically) and appends one line per finished file to
``manifest.jsonl``; with ``resume=True`` files already there with the same content hash are
skipped, and failures (recorded, never fatal to the others) are retried on the next run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._atomic import atomic_write
from ._validate import check_int
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .client import S2STClient

from .translate import (
    TranslationProgress,
    TranslationResult,
    default_client_context,
    translate_file,
)

__all__ = ["BatchReport", "translate_files"]

logger = logging.getLogger("s2st.batch")

_MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class BatchReport:
    """What [`translate_files()`][s2st.batch.translate_files] did, in input order.

    Attributes:
        done: inputs translated by this call.
        skipped: inputs already in the manifest with the same content (``resume=True``).
        failed: input -> ``"ErrorType: message"`` for inputs that could not be translated.
        output_dir: where the outputs and ``manifest.jsonl`` are.
    """

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    output_dir: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed


def _file_sha256(name: str) -> str:
    digest = hashlib.sha256()
    with open(name, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(path: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Entries by (input path, language); a line cut short by a crash is ignored."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            try:
                entry = json.loads(line)
                entries[(entry["input"], entry["target_language"])] = entry
            except (ValueError, KeyError, TypeError):
                logger.warning("%s line %d is unreadable; that file will be redone", path, n)
    return entries


def _output_names(output_dir: str, name: str, lang: str) -> dict[str, str]:
    stem = os.path.splitext(os.path.basename(name))[0]
    base = os.path.join(output_dir, f"{stem}.{lang}")
    return {"wav": base + ".wav", "srt": base + ".srt", "json": base + ".json"}


def _prepare(
    paths: Iterable[str | os.PathLike[str]], output_dir: str | os.PathLike[str]
) -> tuple[list[str], str]:
    """Absolute input names (checked for clashing outputs) and the created output dir."""
    names = [os.path.abspath(os.fspath(p)) for p in paths]
    _check_inputs(names)
    out_dir = os.path.abspath(os.fspath(output_dir))
    os.makedirs(out_dir, exist_ok=True)
    return names, out_dir


def _is_done(entry: dict[str, Any] | None, digest: str, outputs: dict[str, str]) -> bool:
    return (
        entry is not None
        and entry.get("sha256") == digest
        and all(os.path.exists(p) for p in outputs.values())
    )


def _append_line(path: str, line: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def _check_inputs(paths: Sequence[str]) -> None:
    stems: dict[str, str] = {}
    for name in paths:
        stem = os.path.splitext(os.path.basename(name))[0]
        if stem in stems and stems[stem] != name:
            raise ConfigurationError(
                f"{stems[stem]} and {name} would write the same outputs ({stem}.*); "
                "rename one or translate them into different output_dir"
            )
        stems[stem] = name


async def translate_files(
    paths: Iterable[str | os.PathLike[str]],
    target_language: str,
    *,
    output_dir: str | os.PathLike[str],
    concurrency: int = 2,
    client: S2STClient | None = None,
    resume: bool = True,
    progress: Callable[[str, TranslationProgress], None] | None = None,
    **options: Any,
) -> BatchReport:
    """Translate many files, ``concurrency`` sessions at a time, and resume where it stopped.

    For each input ``<stem>.<ext>`` it writes ``<output_dir>/<stem>.<lang>.wav`` (translated
    speech), ``.srt`` (subtitles) and ``.json`` ([`TranslationResult.summary()`][s2st.translate.TranslationResult.summary] plus the
    input hash), each atomically, then appends one line to ``<output_dir>/manifest.jsonl``
    (input path, SHA-256 of its content, language, outputs, time). With ``resume=True`` an
    input already in the manifest with the same hash and language, and whose outputs exist, is
    skipped. A failing input is recorded in `BatchReport.failed` (not in the manifest,
    so the next run retries it) and does not stop the others.

    ``progress(path, TranslationProgress)`` reports each file; ``options`` go to
    [`translate_file()`][s2st.translate.translate_file] (``speed``, ``timeout_s``, ...) and [`S2STClient.connect()`][s2st.client.S2STClient.connect].
    ``client=None`` uses [`default_client_context()`][s2st.translate.default_client_context] once for the whole batch.

    Raises:
        ConfigurationError: ``concurrency < 1``, or two inputs with the same file stem.
    """
    check_int("concurrency", concurrency, low=1)
    names, out_dir = await asyncio.to_thread(_prepare, paths, output_dir)
    if client is not None:
        return await _batch(
            names, target_language, out_dir, concurrency, client, False, resume, progress, options
        )
    async with default_client_context() as (default, is_emulator):
        return await _batch(
            names,
            target_language,
            out_dir,
            concurrency,
            default,
            is_emulator,
            resume,
            progress,
            options,
        )


async def _batch(
    names: list[str],
    lang: str,
    out_dir: str,
    concurrency: int,
    client: S2STClient,
    used_emulator: bool,
    resume: bool,
    progress: Callable[[str, TranslationProgress], None] | None,
    options: dict[str, Any],
) -> BatchReport:
    manifest_path = os.path.join(out_dir, _MANIFEST)
    manifest = await asyncio.to_thread(_read_manifest, manifest_path) if resume else {}
    status: dict[str, str] = {}
    failed: dict[str, str] = {}
    semaphore = asyncio.Semaphore(concurrency)
    manifest_lock = asyncio.Lock()

    async def one(name: str) -> None:
        async with semaphore:
            try:
                digest = await asyncio.to_thread(_file_sha256, name)
                outputs = _output_names(out_dir, name, lang)
                entry = manifest.get((name, lang))
                if await asyncio.to_thread(_is_done, entry, digest, outputs):
                    status[name] = "skipped"
                    return
                report = None if progress is None else (lambda p: progress(name, p))
                result = await translate_file(name, lang, client=client, progress=report, **options)
                result = _with_emulator_flag(result, used_emulator)
                await asyncio.to_thread(_write_outputs, result, outputs, digest)
                line = _manifest_line(name, digest, lang, outputs)
                async with manifest_lock:  # whole lines, one writer at a time
                    await asyncio.to_thread(_append_line, manifest_path, line)
                status[name] = "done"
            except Exception as exc:
                logger.info("%s failed: %s", os.path.basename(name), type(exc).__name__)
                failed[name] = f"{type(exc).__name__}: {exc}"

    await asyncio.gather(*(one(name) for name in names))
    return BatchReport(
        done=[n for n in names if status.get(n) == "done"],
        skipped=[n for n in names if status.get(n) == "skipped"],
        failed={n: failed[n] for n in names if n in failed},
        output_dir=out_dir,
    )


def _manifest_line(name: str, digest: str, lang: str, outputs: dict[str, str]) -> dict[str, Any]:
    """One manifest record: a finished input, by content hash, with its outputs."""
    return {
        "input": name,
        "sha256": digest,
        "target_language": lang,
        "outputs": outputs,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _with_emulator_flag(result: TranslationResult, used_emulator: bool) -> TranslationResult:
    if result.used_emulator == used_emulator:
        return result
    from dataclasses import replace

    return replace(result, used_emulator=used_emulator)


def _write_outputs(result: TranslationResult, outputs: dict[str, str], digest: str) -> None:
    result.write_wav(outputs["wav"])
    result.write_subtitles(outputs["srt"])
    summary = result.summary()
    summary["sha256"] = digest
    data = json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
    atomic_write(outputs["json"], data.encode("utf-8"))
