"""The OpenVINO export of the default model embeds like sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.encoders import DEFAULT_MODEL_ID, load_encoder
from index.openvino_model import MARKER_FILE, openvino_available

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(not openvino_available(), reason="openvino is not installed"),
]

TEXTS = [
    "北京工厂当前月产能2.5万辆。",
    "The second plant opens in April; production starts in May.",
    "这是一段比较长的中文文本，用于检查两个引擎在较长输入上的向量是否一致。" * 8,
    "短",
    "Mixed 中英文 text with numbers 1,234.5 and symbols ±10m。",
    "繁體中文的句子也應該得到同樣的向量。",
]


@pytest.fixture(scope="module")
def engines(model_cache_dir: Path):
    openvino = load_encoder(DEFAULT_MODEL_ID, "auto", model_cache_dir, for_queries=False)
    reference = load_encoder(DEFAULT_MODEL_ID, "sentence-transformers", model_cache_dir, for_queries=False)
    return openvino, reference


def test_auto_indexes_with_openvino(engines, model_cache_dir: Path):
    openvino, _ = engines
    assert openvino.engine == "openvino" and openvino.dimension == 384
    assert (model_cache_dir / "models" / "multilingual-e5-small-ov" / MARKER_FILE).is_file()


@pytest.mark.parametrize("kind", ["passages", "queries"])
def test_vectors_match_sentence_transformers(engines, kind: str):
    openvino, reference = engines
    # One batch of mixed lengths, so that padding is exercised as in a real build.
    if kind == "passages":
        got, expected = openvino.encode_passages(TEXTS), reference.encode_passages(TEXTS)
    else:
        got, expected = openvino.encode_queries(TEXTS), reference.encode_queries(TEXTS)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert float((got * expected).sum(axis=1).min()) > 0.9995


def test_openvino_refuses_other_models(model_cache_dir: Path):
    from index.errors import ModelError

    with pytest.raises(ModelError):
        load_encoder("some/other-model", "openvino", model_cache_dir, for_queries=False)
