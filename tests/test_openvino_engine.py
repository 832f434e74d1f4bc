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


def test_many_batches_in_flight_give_the_vectors_of_one_at_a_time(engines):
    openvino, _ = engines
    texts = [f"{text} 第{n}段。" for n in range(4) for text in TEXTS]  # 24 texts: 3 batches of 8
    together = openvino.encode_passages(texts)
    alone = np.concatenate([openvino.encode_passages([text]) for text in texts])
    similarity = together @ alone.T  # bf16 arithmetic differs a little with the batch's padding
    assert (similarity.argmax(axis=1) == np.arange(len(texts))).all()  # every row in its place
    assert float(np.diag(similarity).min()) > 0.9995


def test_an_interrupted_encoding_leaves_the_encoder_usable(engines):
    openvino, _ = engines
    texts = [f"{text} 第{n}段。" for n in range(4) for text in TEXTS]

    def interrupt(stage: str, fraction: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        openvino.encode_passages(texts, progress=interrupt)
    again = openvino.encode_passages(texts[:3])
    assert np.allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-4)


def test_the_question_encoder_runs_one_request_and_embeds_the_same(engines, model_cache_dir: Path):
    _, reference = engines
    questions = load_encoder(DEFAULT_MODEL_ID, "openvino", model_cache_dir, for_queries=True)
    got, expected = questions.encode_queries(TEXTS), reference.encode_queries(TEXTS)
    assert float((got * expected).sum(axis=1).min()) > 0.9995
