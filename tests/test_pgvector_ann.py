"""index.pgvector_ann against a real PostgreSQL with pgvector (pgserver, in a temp dir) on
random clustered vectors: binary COPY round-trips the vectors exactly, the HNSW index is
built and used, `search` finds what exact numpy search finds with numpy's cosines, in order,
and `tune_ef_search` picks an ef_search that reaches its target."""

from __future__ import annotations

import numpy as np
import pytest

from index.ann import recall_at
from index.pgvector_ann import (
    MAX_EF_SEARCH,
    MIN_EF_SEARCH,
    build_memory_bytes,
    candidate_count,
    copy_vectors,
    create_hnsw_index,
    search,
    tune_ef_search,
    EXACT,
    RECALL_TARGET,
    TUNING_MARGIN,
    choose_search,
)

pgserver = pytest.importorskip("pgserver", reason="pgserver (PostgreSQL + pgvector from PyPI) is not installed")
psycopg = pytest.importorskip("psycopg", reason="psycopg 3 is not installed")

DIMENSION = 384
N_VECTORS = 2_000
TABLE = "passages"
IDS_OFFSET = 1_000_000  # ids are not row numbers, so a mix-up between the two shows


def clustered(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised vectors around 40 Gaussian centres, and queries near some of them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIMENSION)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, DIMENSION)).astype(np.float32)
    queries = vectors[rng.integers(0, n, n_queries)] + 0.5 * rng.standard_normal((n_queries, DIMENSION)).astype(np.float32)
    normalise = lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    return normalise(vectors), normalise(queries)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A throwaway server holding TABLE with the clustered vectors and an HNSW index over them:
    (connection, vectors, ids, queries)."""
    from pgvector.psycopg import register_vector

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    connection = psycopg.connect(server.get_uri(), autocommit=True)
    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(connection)
    vectors, queries = clustered(N_VECTORS, 60)
    ids = np.arange(N_VECTORS, dtype=np.int64)[::-1] + IDS_OFFSET
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({DIMENSION}))")
        copy_vectors(cursor, TABLE, ids, vectors)
        create_hnsw_index(cursor, TABLE, f"{TABLE}_hnsw")
    yield connection, vectors, ids, queries
    connection.close()
    server.cleanup()


def exact_hits(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return list(zip(ids[order].tolist(), scores[order].tolist()))


def test_copy_round_trips_ids_and_vectors_exactly(database):
    connection, vectors, ids, _ = database
    rows = connection.execute(f"SELECT id, embedding::real[] FROM {TABLE} WHERE id = ANY(%s) ORDER BY id", (ids[[0, 7, -1]].tolist(),)).fetchall()
    assert len(rows) == 3
    row_of = {int(i): r for r, i in enumerate(ids)}
    for identifier, embedding in rows:
        assert np.array_equal(np.asarray(embedding, dtype=np.float32), vectors[row_of[identifier]])
    assert connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == N_VECTORS


def test_copy_rejects_mismatched_lengths(database):
    connection, vectors, ids, _ = database
    with connection.cursor() as cursor, pytest.raises(ValueError, match="copy_vectors"):
        copy_vectors(cursor, TABLE, ids[:3], vectors[:2])


def test_the_query_uses_the_hnsw_index(database):
    connection, _, _, queries = database
    plan = "\n".join(
        row[0] for row in connection.execute(f"EXPLAIN SELECT id FROM {TABLE} ORDER BY embedding <#> %s LIMIT 10", (queries[0],))
    )
    assert f"Index Scan using {TABLE}_hnsw" in plan


def test_index_parameters_are_the_modules(database):
    connection, *_ = database
    definition = connection.execute("SELECT pg_get_indexdef(%s::regclass)", (f"{TABLE}_hnsw",)).fetchone()[0]
    assert "hnsw" in definition and "vector_ip_ops" in definition
    assert "m='16'" in definition and "ef_construction='64'" in definition


def test_search_finds_the_exact_top_10_with_exact_cosines_in_order(database):
    connection, vectors, ids, queries = database
    with connection.cursor() as cursor:
        ef_search, _ = tune_ef_search(cursor, TABLE, vectors, ids, queries=60)
        found, exact = [], []
        for query in queries:
            hits = search(cursor, TABLE, query, 10, ef_search)
            truth = exact_hits(vectors, ids, query, 10)
            assert len(hits) == 10
            scores = [score for _, score in hits]
            assert scores == sorted(scores, reverse=True)
            cosine_of = dict(zip(ids.tolist(), (vectors @ query).tolist()))
            assert all(abs(score - cosine_of[i]) < 1e-5 for i, score in hits)
            found.append([i for i, _ in hits])
            exact.append([i for i, _ in truth])
    assert recall_at(np.array(found), np.array(exact)) >= 0.95


def test_exact_search_scans_every_row_and_finds_the_true_top_10(database):
    """ef_search EXACT (what a store records when the graph misses the target) is exact search:
    the same ids as brute force, whatever a graph at ef_search 10 would have missed."""
    connection, vectors, ids, queries = database
    with connection.cursor() as cursor:
        for query in queries[:20]:
            hits = search(cursor, TABLE, query, 10, EXACT)
            assert [i for i, _ in hits] == [i for i, _ in exact_hits(vectors, ids, query, 10)]
        with connection.transaction():
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            plan = "\n".join(r[0] for r in cursor.execute(f"EXPLAIN SELECT id FROM {TABLE} ORDER BY embedding <#> %s LIMIT 10", (queries[0],)).fetchall())
    assert "Index Scan" not in plan and "Seq Scan" in plan


def test_choose_search_keeps_a_margin_and_falls_back_to_exact(database, monkeypatch):
    import index.pgvector_ann as pgvector_ann

    connection, vectors, ids, _ = database
    with connection.cursor() as cursor:
        ef_search, recall = choose_search(cursor, TABLE, vectors, ids, queries=60)
        assert ef_search == EXACT or recall >= RECALL_TARGET + TUNING_MARGIN
        monkeypatch.setattr(pgvector_ann, "TUNING_MARGIN", 0.05)  # 1.03: no graph reaches it
        assert choose_search(cursor, TABLE, vectors, ids, queries=10)[0] == EXACT


def test_more_candidates_than_k_change_nothing(database):
    """candidate_count(k) == k is enough: pgvector returns what the graph found in exact order,
    so re-scoring 2k candidates gives the same top k."""
    connection, _, _, queries = database
    assert candidate_count(10) == 10
    with connection.cursor() as cursor:
        for query in queries[:20]:
            top = search(cursor, TABLE, query, 10, 40)
            longer = search(cursor, TABLE, query, 20, 40)[:10]
            assert [i for i, _ in top] == [i for i, _ in longer]


def test_k_above_ef_search_still_returns_k(database):
    """pgvector 0.6 yields at most ef_search rows; search raises ef_search to cover k."""
    connection, _, _, queries = database
    with connection.cursor() as cursor:
        assert len(search(cursor, TABLE, queries[0], 50, 10)) == 50


def test_search_inside_a_callers_transaction_keeps_it_usable(database):
    connection, _, _, queries = database
    with connection.transaction(), connection.cursor() as cursor:
        hits = search(cursor, TABLE, queries[0], 5, 40)
        assert len(hits) == 5
        assert cursor.execute("SELECT 1").fetchone() == (1,)


def test_tune_ef_search_reaches_the_target_within_bounds(database):
    connection, vectors, ids, _ = database
    with connection.cursor() as cursor:
        ef_search, recall = tune_ef_search(cursor, TABLE, vectors, ids, target=0.98, queries=60)
        assert MIN_EF_SEARCH <= ef_search <= MAX_EF_SEARCH
        assert recall >= 0.98 or ef_search == MAX_EF_SEARCH
        unreachable, best = tune_ef_search(cursor, TABLE, vectors, ids, target=1.01, queries=10)
        assert unreachable == MAX_EF_SEARCH and 0.0 < best <= 1.0


def test_build_memory_is_enough_for_the_graph():
    """pgvector 0.6.2 fit 7,458 nodes of 384 dimensions in 16 MB (2,250 bytes a node)."""
    assert build_memory_bytes(7_458, 384) >= 16 << 20
    assert build_memory_bytes(10, 384) == 64 << 20
