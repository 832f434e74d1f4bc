"""Approximate FAISS indexes inside the stored index: chosen or overridden, saved with exact
vectors beside them, searched with exact scores, and switched without re-embedding."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from conftest import FakeEncoder
from index.build import build_index, build_index_incrementally
from index.documents import load_documents
from index.store import load_index, save_index

WORDS = ["工厂", "产能", "订单", "电池", "交付", "工程师", "城市", "河流", "山脉", "铁路", "港口", "大学"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = random.Random(7)
    docs = tmp_path / "docs"
    docs.mkdir()
    for d in range(40):
        sentences = ["".join(rng.choice(WORDS) for _ in range(6)) + f"第{d}号{k}项。" for k in range(6)]
        (docs / f"{d:02d}.txt").write_text("".join(sentences), encoding="utf-8")
    return docs


@pytest.mark.parametrize("kind", ["hnsw", "hnsw-sq8", "ivf-sq8", "ivf-pq4fs"])
def test_approximate_kinds_round_trip_and_score_exactly(tmp_path: Path, folder: Path, kind: str):
    encoder = FakeEncoder()
    documents = load_documents([folder])
    flat = build_index(documents, encoder)
    built = build_index(documents, encoder, vector_index_kind=kind)
    save_index(built, tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert loaded.manifest.vector_index_spec.kind == kind
    snapshot = next(p for p in (tmp_path / "index").iterdir() if p.name.startswith("snapshot-"))
    assert (snapshot / "passage_vectors.npy").is_file()
    assert json.loads((snapshot / "manifest.json").read_text())["vector_index"]["kind"] == kind
    for passage in flat.passages[:10]:
        query = encoder.encode_queries([passage.text])[0]
        top_flat = flat.search(query, 3)
        top = loaded.search(query, 3)
        # The passage itself is found first, and its score is the exact cosine, not a quantised one.
        assert top[0][0] == top_flat[0][0] == passage.id
        assert abs(top[0][1] - top_flat[0][1]) < 1e-3
        assert np.allclose(loaded.passage_cosines([passage.id], query), [top_flat[0][1]], atol=1e-3)


def test_flat_indexes_keep_no_extra_vectors(tmp_path: Path, folder: Path):
    built = build_index(load_documents([folder]), FakeEncoder())
    assert built.manifest.vector_index_spec.kind == "flat" and built.exact_passage_vectors is None
    save_index(built, tmp_path / "index")
    assert not list((tmp_path / "index").glob("snapshot-*/passage_vectors.npy"))


def test_switching_the_index_kind_reuses_every_vector(folder: Path):
    encoder = FakeEncoder()
    documents = load_documents([folder])
    first = build_index(documents, encoder, vector_index_kind="hnsw-sq8")
    encoder.calls.clear()
    again, changes = build_index_incrementally(documents, encoder, previous=first, vector_index_kind="flat")
    assert encoder.calls == [] and changes.embedded_texts == 0
    assert again.manifest.vector_index_spec.kind == "flat"
    query = encoder.encode_queries([first.passages[5].text])[0]
    assert again.search(query, 1)[0][0] == 5


def test_cli_vector_index_option_and_bad_value(tmp_path: Path, folder: Path, fake_encoder, monkeypatch):
    from typer.testing import CliRunner

    from citeqa.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["index", str(folder), "--vector-index", "hnsw"])
    assert done.exit_code == 0, done.output
    assert "hnsw vector index" in done.output
    bad = runner.invoke(app, ["index", str(folder), "--vector-index", "lsh"])
    assert bad.exit_code == 2 and "unknown vector index 'lsh'" in bad.output
    assert "Traceback" not in bad.output


def test_a_forced_kind_too_big_for_the_corpus_fails_before_embedding(folder: Path):
    from index.errors import UsageError

    encoder = FakeEncoder()
    documents = load_documents([folder])
    with pytest.raises(UsageError, match="ivf-pq4fs needs at least 16 vectors"):
        build_index(documents[:5], encoder, vector_index_kind="ivf-pq4fs")  # fewer passages than 16 cells
    assert encoder.calls == []
