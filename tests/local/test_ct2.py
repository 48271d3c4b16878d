"""CTranslate2 + SentencePiece translation on a tiny model the test builds itself.

No MT model can be downloaded here, so the test trains a word-level SentencePiece model and
writes a one-layer CTranslate2 Transformer whose weights it sets by hand: the residual branches
are zeroed, token embeddings are scaled one-hot vectors, and the output projection maps each
token to a chosen successor. The decoder is thereby a fixed token chain (``<s>`` -> bonjour;
``spa_Latn`` -> hola -> mundo), which exercises the real loader, tokenization, target prefixes
and detokenization end to end.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from s2st.errors import ConfigurationError
from s2st.local.mt import CTranslate2Translator

CORPUS = ["hello world", "hola mundo", "bonjour monde", "good morning"] * 20
CHAIN = {"<s>": "▁bonjour", "▁bonjour": "</s>", "spa_Latn": "▁hola", "▁hola": "▁mundo"}


def _sentencepiece(directory: Path) -> list[str]:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=buf,
        model_type="word",
        vocab_size=12,
        user_defined_symbols=["spa_Latn"],
        minloglevel=2,
    )
    for name in ("source.spm", "target.spm"):
        (directory / name).write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def _layer_norm(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / np.sqrt(x.var() + 1e-6)


def build_tiny_model(directory: Path) -> None:
    from ctranslate2.specs import transformer_spec

    vocab = _sentencepiece(directory)
    v, d, ff = len(vocab), 32, 32
    rng = np.random.default_rng(0)
    spec = transformer_spec.TransformerSpec.from_config(1, 2)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def zeros(*shape: int) -> np.ndarray:
        return np.zeros(shape, dtype=np.float32)

    def norm(ln: object) -> None:
        ln.gamma = np.ones(d, np.float32)  # type: ignore[attr-defined]
        ln.beta = zeros(d)  # type: ignore[attr-defined]

    emb = np.eye(v, d, dtype=np.float32) * 50.0  # one-hot: position encodings are negligible
    enc, dec = spec.encoder, spec.decoder
    enc.embeddings[0].weight = rand(v, d)
    for layer in (enc.layer[0], dec.layer[0]):
        norm(layer.self_attention.layer_norm)
        layer.self_attention.linear[0].weight = rand(3 * d, d)
        layer.self_attention.linear[1].weight = zeros(d, d)  # residual branch off (decoder)
        norm(layer.ffn.layer_norm)
        layer.ffn.linear_0.weight = rand(ff, d)
        layer.ffn.linear_1.weight = zeros(d, ff)
    norm(enc.layer_norm)
    dec.embeddings.weight = emb
    att = dec.layer[0].attention
    norm(att.layer_norm)
    att.linear[0].weight = rand(d, d)
    att.linear[1].weight = rand(2 * d, d)
    att.linear[2].weight = zeros(d, d)
    norm(dec.layer_norm)
    # logits = W . LN(embedding(previous)): row j of W is the normalised embedding of the token
    # whose successor is j; "</s>" follows every token not in the chain.
    index = {p: i for i, p in enumerate(vocab)}
    proj = zeros(v, d)
    for prev in vocab:
        succ = CHAIN.get(prev, "</s>")
        proj[index[succ]] += 10.0 * _layer_norm(emb[index[prev]] * np.sqrt(d))
    dec.projection.weight = proj
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize()
    spec.save(str(directory))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny-ct2")
    build_tiny_model(directory)
    return directory


def test_tiny_model_translates_through_the_real_loader(tiny: Path) -> None:
    mt = CTranslate2Translator(tiny)
    assert mt.name == f"ctranslate2 {tiny.name}"
    assert mt.translate("hello world") == "bonjour"
    assert mt.translate("   ") == ""


def test_target_prefix_is_used_and_not_returned(tiny: Path) -> None:
    nllb_like = CTranslate2Translator(tiny, target_prefix=["spa_Latn"], source_suffix=["</s>"])
    assert nllb_like.translate("good morning") == "hola mundo"


def test_bad_model_directories(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no model"):
        CTranslate2Translator(tmp_path)
    (tmp_path / "model.bin").write_bytes((tiny / "model.bin").read_bytes())
    with pytest.raises(ConfigurationError, match="SentencePiece"):
        CTranslate2Translator(tmp_path)


def test_engine_with_a_ctranslate2_model(tiny: Path) -> None:
    from s2st.local.engine import LocalEngine, load_components

    from .conftest import WEATHER, padded, speech
    from .helpers import drain, feed

    mt = CTranslate2Translator(tiny)
    comp = load_components("fr", mt_factory=lambda source, target: mt)
    engine = LocalEngine(target_language="fr", components=comp, partial_interval_ms=None)
    assert f"-> ctranslate2 {tiny.name} -> espeak-ng fr-fr" in engine.label
    try:
        out = feed(engine, padded(0.3, speech(WEATHER), 1.0))
        out += drain(engine, timeout_s=30)
        assert engine.idle
    finally:
        engine.close()
    assert "".join(r.text for r in out if r.kind == "output_text") == "bonjour"
    assert any(r.kind == "audio" for r in out)
