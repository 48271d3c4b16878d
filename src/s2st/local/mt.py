"""Machine translation backends: Apertium (Debian packages, a subprocess per call) and
CTranslate2 + SentencePiece models a user converted (Opus-MT, NLLB, MADLAD), and route planning
with a pivot language where no direct pair exists.

Apertium pairs are discovered from the installed mode files (``/usr/share/apertium/modes``):
``eng-spa.mode`` is English to Spanish, ``es-pt_BR.mode`` Spanish to Brazilian Portuguese. Codes
are reported as ISO 639-1 (``en``, ``es``). `plan_route` picks a direct pair or a two-hop
route through English or Spanish and says which.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from s2st.errors import ConfigurationError, S2STError

__all__ = [
    "APERTIUM_MODES_DIR",
    "ApertiumPair",
    "ApertiumTranslator",
    "CTranslate2Translator",
    "MTRoute",
    "TranslationError",
    "Translator",
    "apertium_pairs",
    "base_language",
    "plan_route",
]

logger = logging.getLogger("s2st.local.mt")

APERTIUM_MODES_DIR = Path("/usr/share/apertium/modes")
PIVOTS = ("en", "es")

# ISO 639-3 (and a few 639-2/B) codes Apertium uses -> ISO 639-1.
_ISO3 = {
    "eng": "en", "spa": "es", "cat": "ca", "glg": "gl", "por": "pt", "fra": "fr", "fre": "fr",
    "ita": "it", "deu": "de", "ger": "de", "nld": "nl", "dut": "nl", "oci": "oc", "eus": "eu",
    "baq": "eu", "arg": "an", "ast": "ast", "ron": "ro", "rum": "ro", "srd": "sc", "epo": "eo",
    "dan": "da", "swe": "sv", "nob": "nb", "nno": "nn", "isl": "is", "pol": "pl", "ces": "cs",
    "slk": "sk", "rus": "ru", "ukr": "uk", "bel": "be", "bul": "bg", "mkd": "mk", "hbs": "sh",
    "slv": "sl", "kaz": "kk", "tat": "tt", "tur": "tr", "aze": "az", "uzb": "uz", "kir": "ky",
    "cym": "cy", "bre": "br", "gle": "ga", "gla": "gd", "mlt": "mt", "ara": "ar", "heb": "he",
    "hin": "hi", "urd": "ur", "ind": "id", "msa": "ms", "afr": "af", "fin": "fi", "est": "et",
    "hun": "hu", "lit": "lt", "lav": "lv", "sme": "se", "cos": "co", "lij": "lij", "szl": "szl",
}  # fmt: skip


class TranslationError(S2STError, RuntimeError):
    """An MT backend failed on a sentence (``.backend``, ``.detail``)."""

    def __init__(self, backend: str, detail: str) -> None:
        super().__init__(f"{backend}: {detail}")
        self.backend = backend
        self.detail = detail


def base_language(code: str) -> str:
    """``"es-ES"``, ``"spa"``, ``"pt_BR"`` -> ``"es"``, ``"es"``, ``"pt"`` (lower-case ISO 639-1
    where one exists)."""
    primary = re.split(r"[-_]", code.strip())[0].lower()
    return _ISO3.get(primary, primary)


class Translator(Protocol):
    """Anything that translates one sentence (blocking; called from a worker thread)."""

    @property
    def name(self) -> str: ...

    def translate(self, text: str) -> str: ...


@dataclass(frozen=True)
class ApertiumPair:
    """An installed Apertium mode: ``source`` -> ``target`` (ISO 639-1), ``variant`` such as
    ``"BR"`` or ``"valencia"`` (``None`` for the plain pair)."""

    source: str
    target: str
    mode: str
    variant: str | None = None


def apertium_pairs(modes_dir: str | os.PathLike[str] | None = None) -> list[ApertiumPair]:
    """The Apertium pairs installed on this machine (empty when Apertium is not installed)."""
    directory = Path(modes_dir) if modes_dir is not None else APERTIUM_MODES_DIR
    if not directory.is_dir():
        return []
    pairs = []
    for path in sorted(directory.glob("*.mode")):
        parts = path.stem.split("-")
        if len(parts) != 2:
            continue  # e.g. "eco-es-fr": a debugging mode, not a pair
        src, tgt_full = parts
        tgt, _, variant = tgt_full.partition("_")
        pairs.append(
            ApertiumPair(base_language(src), base_language(tgt), path.stem, variant or None)
        )
    return pairs


def _pick(
    pairs: Sequence[ApertiumPair], src: str, tgt: str, variant: str | None
) -> ApertiumPair | None:
    found = [p for p in pairs if p.source == src and p.target == tgt]
    if not found:
        return None
    for want in (variant, None):
        for p in found:
            if p.variant == want:
                return p
    return found[0]


@dataclass(frozen=True)
class MTRoute:
    """How ``source`` text reaches ``target``: one hop, or two through ``pivot``."""

    source: str
    target: str
    hops: tuple[ApertiumPair, ...]

    @property
    def pivot(self) -> str | None:
        """The pivot language, or ``None`` for a direct pair."""
        return self.hops[0].target if len(self.hops) > 1 else None

    def describe(self) -> str:
        """E.g. ``"apertium fr-es"`` or ``"apertium gl-en + en-es (pivot through en)"``."""
        modes = " + ".join(h.mode for h in self.hops)
        return f"apertium {modes}" + (f" (pivot through {self.pivot})" if self.pivot else "")


def plan_route(
    source: str, target: str, pairs: Sequence[ApertiumPair] | None = None
) -> MTRoute | None:
    """A direct pair, else a route through English or Spanish, else ``None``.

    A regional target (``pt-BR``) prefers the matching variant (``es-pt_BR``).
    """
    pairs = apertium_pairs() if pairs is None else pairs
    src = base_language(source)
    tgt = base_language(target)
    region = re.split(r"[-_]", target.strip(), maxsplit=1)[1:]
    variant = region[0] if region else None
    direct = _pick(pairs, src, tgt, variant)
    if direct is not None:
        return MTRoute(src, tgt, (direct,))
    for pivot in PIVOTS:
        if pivot in (src, tgt):
            continue
        a = _pick(pairs, src, pivot, None)
        b = _pick(pairs, pivot, tgt, variant)
        if a is not None and b is not None:
            return MTRoute(src, tgt, (a, b))
    return None


# Apertium marks unknown words with "*" (removed by -u), words it could not generate with "#" and
# ambiguous ones with "@"; the marks are not part of the translation.
_MARKS = re.compile(r"(?<!\w)[#@](?=\w)")


class ApertiumTranslator:
    """Translate along an `MTRoute` with Apertium.

    By default each hop runs in a persistent null-flush pipeline built from its mode file and
    shared by the process (a few milliseconds per sentence instead of the 0.1-0.4 s of starting
    ``apertium`` each time); if that pipeline fails, the call falls back to the ``apertium``
    command.

    Args:
        route: from `plan_route`.
        binary: the ``apertium`` executable.
        timeout_s: per call.
        persistent: use the persistent pipelines (``False``: one ``apertium`` run per call).
        modes_dir: where the mode files are.

    Raises:
        ConfigurationError: Apertium is not installed.
    """

    def __init__(
        self,
        route: MTRoute,
        *,
        binary: str = "apertium",
        timeout_s: float = 20.0,
        persistent: bool = True,
        modes_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        exe = shutil.which(binary)
        if exe is None:
            raise ConfigurationError(
                "Apertium is not installed: apt-get install apertium apertium-eng-spa (see "
                "`s2st local check`)"
            )
        self.route = route
        self._exe = exe
        self.timeout_s = timeout_s
        self.persistent = persistent
        self._modes = Path(modes_dir) if modes_dir is not None else APERTIUM_MODES_DIR

    @property
    def name(self) -> str:
        return self.route.describe()

    def _run(self, mode: str, text: str) -> str:
        try:
            proc = subprocess.run(
                [self._exe, "-u", "-f", "txt", mode],
                input=text,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TranslationError(
                "apertium", f"{mode} timed out after {self.timeout_s} s"
            ) from exc
        if proc.returncode != 0:
            raise TranslationError(
                "apertium", f"{mode} exited {proc.returncode}: {proc.stderr.strip()[:200]}"
            )
        return _MARKS.sub("", proc.stdout).strip()

    def _hop(self, mode: str, text: str) -> str:
        mode_file = self._modes / f"{mode}.mode"
        if self.persistent and mode_file.is_file():
            from ._nullflush import PipelineError, pipeline_for

            try:
                out = pipeline_for(mode_file).translate(text)
                return _MARKS.sub("", out).strip()
            except PipelineError as exc:
                logger.warning("apertium pipeline failed (%s); running apertium instead", exc)
        return self._run(mode, text)

    def translate(self, text: str) -> str:
        """Translate one sentence (or a few); blank input gives ``""``.

        Raises:
            TranslationError: Apertium failed or timed out.
        """
        out = re.sub(r"\s+", " ", text).strip()
        if not out:
            return ""
        for hop in self.route.hops:
            out = self._hop(hop.mode, out)
        return " ".join(out.split())  # a dropped word leaves a double space


class CTranslate2Translator:
    """A CTranslate2 sequence-to-sequence model with SentencePiece tokenizers.

    The model directory holds the converted model (``model.bin``, vocabularies) and the
    SentencePiece models, by default ``source.spm`` and ``target.spm`` as in Opus-MT (a single
    ``sentencepiece.bpe.model`` or ``spiece.model`` serves both sides for NLLB/MADLAD).

    Args:
        model_dir: the converted model.
        source_prefix: tokens put before the source (MADLAD: ``["<2es>"]``).
        source_suffix: tokens put after it (NLLB: ``["</s>", "eng_Latn"]``; Opus-MT: none, the
            model adds the end token).
        target_prefix: tokens that start the output (NLLB: ``["spa_Latn"]``).
        device, compute_type, threads: CTranslate2 options (a GPU takes ``device="cuda"``).
        beam_size, max_decoding_length: decoding options.
    """

    _SPM_PAIRS = (
        ("source.spm", "target.spm"),
        ("sentencepiece.bpe.model", "sentencepiece.bpe.model"),
        ("spiece.model", "spiece.model"),
        ("sentencepiece.model", "sentencepiece.model"),
    )

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        source_prefix: Sequence[str] = (),
        source_suffix: Sequence[str] = (),
        target_prefix: Sequence[str] = (),
        device: str = "cpu",
        compute_type: str = "default",
        threads: int = 1,
        beam_size: int = 1,
        max_decoding_length: int = 256,
    ) -> None:
        ct2, spm = _import_ct2()
        path = Path(model_dir)
        if not (path / "model.bin").is_file():
            raise ConfigurationError(f"{path} is not a CTranslate2 model (no model.bin)")
        pair = next(
            (
                (path / s, path / t)
                for s, t in self._SPM_PAIRS
                if (path / s).is_file() and (path / t).is_file()
            ),
            None,
        )
        if pair is None:
            raise ConfigurationError(
                f"{path} has no SentencePiece model (looked for source.spm/target.spm, "
                "sentencepiece.bpe.model, spiece.model)"
            )
        self._src_sp = spm.SentencePieceProcessor(model_file=str(pair[0]))
        self._tgt_sp = spm.SentencePieceProcessor(model_file=str(pair[1]))
        self._translator = ct2.Translator(
            str(path), device=device, compute_type=compute_type, intra_threads=threads
        )
        self.model_dir = path
        self.source_prefix = list(source_prefix)
        self.source_suffix = list(source_suffix)
        self.target_prefix = list(target_prefix)
        self.beam_size = beam_size
        self.max_decoding_length = max_decoding_length

    @property
    def name(self) -> str:
        return f"ctranslate2 {self.model_dir.name}"

    def translate(self, text: str) -> str:
        """Translate one sentence; blank input gives ``""``."""
        if not text.strip():
            return ""
        pieces = self._src_sp.encode(text.strip(), out_type=str)
        tokens = [*self.source_prefix, *pieces, *self.source_suffix]
        result = self._translator.translate_batch(
            [tokens],
            target_prefix=[self.target_prefix] if self.target_prefix else None,
            beam_size=self.beam_size,
            max_decoding_length=self.max_decoding_length,
        )
        out = [t for t in result[0].hypotheses[0] if t not in self.target_prefix]
        return str(self._tgt_sp.decode(out)).strip()


def _import_ct2() -> tuple[Any, Any]:
    try:
        ctranslate2 = importlib.import_module("ctranslate2")
        sentencepiece = importlib.import_module("sentencepiece")
    except ImportError as exc:
        raise ConfigurationError(
            "CTranslate2 translation needs ctranslate2 and sentencepiece: pip install 's2st[local]'"
        ) from exc
    return ctranslate2, sentencepiece
