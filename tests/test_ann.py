"""index.ann on random clustered vectors (no model): the kind chosen by size, each kind finding
what exact search finds, the tuned search parameter surviving a write/read round trip, and
exact re-scoring from the float16 vectors kept beside a quantised index."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import faiss
import numpy as np
import pytest

from conftest import REPO
from index.ann import (
    FLAT_MAX_VECTORS,
    FASTSCAN_CANDIDATES,
    INDEX_KINDS,
    build_vector_index,
    candidate_count,
    choose_index_kind,
    configure_for_search,
    describe_index,
    exact_cosines,
    index_kind,
    load_exact_vectors,
    recall_at,
    rerank,
    save_exact_vectors,
    search_threads,
)
from index.errors import IndexStoreError, UsageError

APPROXIMATE = [kind for kind in INDEX_KINDS if kind != "flat"]
DIMENSION = 64  # small, so that building every kind stays well under a second or two


def clustered(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised vectors around 200 Gaussian centres, and queries near some of them (about
    0.65 from the nearest vector; real questions are ~0.4 from their best passage)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, DIMENSION)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, n)] + 0.6 * rng.standard_normal((n, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, n, n_queries)] + 0.1 * rng.standard_normal((n_queries, DIMENSION)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return vectors, queries


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(10_000, 300)


@pytest.fixture(scope="module")
def built(data) -> dict:
    """Each kind built once over the 10k vectors: kind -> (index, spec)."""
    return {kind: build_vector_index(data[0], kind) for kind in INDEX_KINDS}


def test_the_kind_follows_the_corpus_size():
    assert choose_index_kind(0) == "flat"
    assert choose_index_kind(FLAT_MAX_VECTORS) == "flat"
    assert choose_index_kind(FLAT_MAX_VECTORS + 1) == "ivf-pq4fs"
    assert choose_index_kind(1_000_000) == "ivf-pq4fs"


def test_without_a_kind_the_size_chooses(data):
    index, spec = build_vector_index(data[0][:1000])
    assert spec.kind == index_kind(index) == "flat"
    assert isinstance(index, faiss.IndexFlatIP)


def test_above_the_flat_limit_the_size_chooses_ivf(data, monkeypatch):
    monkeypatch.setattr("index.ann.FLAT_MAX_VECTORS", 1_000)
    index, spec = build_vector_index(data[0][:3000])
    assert spec.kind == index_kind(index) == "ivf-pq4fs"


def test_a_graph_that_levels_off_below_the_target_says_so(monkeypatch):
    monkeypatch.setattr("index.ann.HNSW_MAX_EF_SEARCH", 10)
    structureless = np.random.default_rng(3).standard_normal((3_000, DIMENSION)).astype(np.float32)
    structureless /= np.linalg.norm(structureless, axis=1, keepdims=True)
    _, spec = build_vector_index(structureless, "hnsw")
    assert spec.ef_search == 10 and spec.tuned_recall < 0.95


def test_an_unknown_kind_is_a_usage_error(data):
    with pytest.raises(UsageError, match="unknown FAISS index kind 'ivf-pq'"):
        build_vector_index(data[0][:1000], "ivf-pq")


def searched(index, kind: str, vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Top-k ids as the app finds them: candidate_count candidates, re-scored exactly."""
    _, candidates = index.search(queries, candidate_count(kind, k, len(vectors)))
    if kind == "flat":
        return candidates[:, :k]
    return np.array([[i for i, _ in rerank(vectors, row, query, k)] for row, query in zip(candidates, queries)])


@pytest.mark.parametrize("kind", INDEX_KINDS)
def test_each_kind_finds_a_vector_searched_for_itself(built, data, kind):
    index, spec = built[kind]
    assert spec.kind == index_kind(index) == kind
    rows = np.arange(0, len(data[0]), 97)
    assert (searched(index, kind, data[0], data[0][rows], 1)[:, 0] == rows).all()
    if kind != "ivf-pq4fs":  # whose own scores only shortlist
        scores, ids = index.search(data[0][rows], 1)
        assert (ids[:, 0] == rows).all()
        assert np.allclose(scores[:, 0], 1.0, atol=0.01)


@pytest.mark.parametrize("kind", [kind for kind in INDEX_KINDS if kind != "ivf-pq4fs"])
def test_row_i_is_vector_i(built, data, kind):
    """(Fast-scan codes cannot be reconstructed; the app reads exact vectors for every
    approximate kind, and the search above checks ivf-pq4fs's row numbers.)"""
    index, _ = built[kind]
    assert index.ntotal == len(data[0])
    rows = [0, 1, 7_777, len(data[0]) - 1]
    reconstructed = np.stack([index.reconstruct(i) for i in rows])
    assert np.abs(reconstructed - data[0][rows]).max() < 0.02


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_approximate_kinds_reach_the_recall_target(built, data, kind):
    vectors, queries = data
    index, spec = built[kind]
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    assert recall_at(searched(index, kind, vectors, queries, 10), exact) >= 0.95
    assert spec.tuned_recall is not None and spec.tuned_recall >= 0.95
    assert (spec.nprobe > 0) == kind.startswith("ivf") and (spec.ef_search > 0) == kind.startswith("hnsw")


def test_a_lower_recall_target_tunes_a_cheaper_search(data):
    _, strict = build_vector_index(data[0][:5000], "ivf-sq8")
    _, loose = build_vector_index(data[0][:5000], "ivf-sq8", recall_target=0.5)
    assert loose.nprobe < strict.nprobe
    assert loose.tuned_recall < strict.tuned_recall


@pytest.mark.parametrize("kind", INDEX_KINDS)
def test_a_write_read_round_trip_keeps_the_search_parameter(built, data, kind, tmp_path):
    index, spec = built[kind]
    faiss.write_index(index, str(tmp_path / "passages.faiss"))
    loaded = faiss.read_index(str(tmp_path / "passages.faiss"))
    assert dataclasses.replace(describe_index(loaded), tuned_recall=spec.tuned_recall) == spec
    configure_for_search(loaded, spec)
    queries = data[1][:50]
    # Re-scored, as the app searches: fast-scan's 8-bit distance tables tie often, and threads
    # may return tied codes in either order.
    assert (searched(loaded, kind, data[0], queries, 10) == searched(index, kind, data[0], queries, 10)).all()


def test_configure_for_search_overrides_and_checks_the_kind(data):
    index, spec = build_vector_index(data[0][:5000], "ivf-sq8")
    configure_for_search(index, dataclasses.replace(spec, nprobe=3))
    assert describe_index(index).nprobe == 3
    with pytest.raises(IndexStoreError, match="is ivf-sq8, but the manifest says hnsw"):
        configure_for_search(index, "hnsw")
    with pytest.raises(IndexStoreError, match="inner product"):
        index_kind(faiss.IndexFlatL2(DIMENSION))


def test_exact_vectors_rescore_candidates(data, tmp_path):
    vectors, queries = data
    save_exact_vectors(tmp_path / "passage_vectors.npy", vectors)
    stored = load_exact_vectors(tmp_path / "passage_vectors.npy")
    assert stored.dtype == np.float16 and isinstance(stored, np.memmap)
    ids = [5, 17, 4_000, 9_999]
    assert np.abs(exact_cosines(stored, ids, queries[0]) - vectors[ids] @ queries[0]).max() < 1e-3
    # FAISS's half-float decoder gives exactly numpy's conversion.
    assert np.array_equal(exact_cosines(stored, ids, queries[0]), stored[ids].astype(np.float32) @ queries[0])
    assert len(exact_cosines(stored, [], queries[0])) == 0
    candidates = [4_000, -1, 5, 17, 9_999]
    ranked = rerank(stored, candidates, queries[0], 3)
    expected = sorted(ids, key=lambda i: -float(vectors[i] @ queries[0]))[:3]
    assert [i for i, _ in ranked] == expected
    assert all(a[1] >= b[1] for a, b in zip(ranked, ranked[1:]))


def test_quantised_kinds_ask_for_candidates_to_rescore():
    assert candidate_count("flat", 10, 1_000) == candidate_count("hnsw", 10, 1_000) == 10
    assert candidate_count("hnsw-sq8", 10, 1_000) == candidate_count("ivf-sq8", 10, 1_000) == 20
    assert candidate_count("ivf-sq8", 10, 15) == 15
    assert candidate_count("ivf-pq4fs", 10, 100_000) == FASTSCAN_CANDIDATES
    assert candidate_count("ivf-pq4fs", 100, 100_000) == 1_600


def test_only_fast_scan_spreads_one_query_over_threads():
    assert search_threads("ivf-pq4fs", 2) == 2
    assert all(search_threads(kind, 2) == 1 for kind in INDEX_KINDS if kind != "ivf-pq4fs")


def test_importing_the_module_does_not_import_faiss():
    code = "import sys, index.ann; print('faiss' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
