"""The HNSW side of the PostgreSQL passage store: pgvector's graph index, built, searched and
tuned the way index/ann.py does it for FAISS.

The table has an `id bigint` column and a `vector(d)` column of L2-normalised vectors, so the
inner product is the cosine. pgvector's `<#>` operator is the *negative* inner product (an
ascending ORDER BY gives the nearest first); `vector_ip_ops` indexes it.

pgvector stores and compares float32, so the distance an index scan returns is exact; only
which rows the graph finds is approximate. `search` asks the graph for `candidate_count`
rows and re-sorts them by that exact score.

pgvector 0.6 (pgserver 0.1.4 ships 0.6.2) has no iterative index scan: an HNSW scan yields at
most hnsw.ef_search rows, whatever the LIMIT, so `search` raises ef_search to at least the
candidates it asks for. A WHERE clause is applied after the scan and can leave fewer than k.

`SET LOCAL` (and `set_config(..., true)`) lasts until the end of the transaction: `search`
runs in `connection.transaction()` (in a pipeline), which opens one in autocommit mode and is a savepoint
inside a transaction the caller already holds (the setting then lasts until the caller's
transaction ends, which is harmless: each call sets its own).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from index.ann import _ladder, pseudo_queries, recall_at

HNSW_M = 16
"""Graph neighbours a node (pgvector's default; links cost 2 * M * 6 bytes a vector on disk).
Kept for now, but bench/pg_scale.py measured its cost: at 10^5 synthetic vectors m = 16 with
ef_construction = 64 needs ef_search 870 to reach the target (47 ms a query on a busy 2-core
machine), and at 10^6 it reaches only recall@10 0.68 at MAX_EF_SEARCH; a denser graph
(m = 32, ef_construction = 128) is the next thing to measure."""
HNSW_EF_CONSTRUCTION = 64
"""Candidate list length while building (pgvector's default)."""
RECALL_TARGET = 0.98
"""recall@10 after exact re-scoring that the store's dense search must reach."""
TUNING_MARGIN = 0.015
"""Added to RECALL_TARGET when tuning on pseudo-queries, which the graph finds more easily than
real ones: bench/pg_scale.py's queries got 0.977 at 10^5 and 0.969 at 10^4 from an ef_search
tuned to 0.980 (index/ann.py keeps a margin for the same reason)."""
MAX_EF_SEARCH = 1000
"""pgvector's upper limit for hnsw.ef_search."""
EXACT = 0
"""The ef_search recorded when the graph does not reach RECALL_TARGET even at MAX_EF_SEARCH:
`search` then scans every row (index scans off; PostgreSQL's parallel workers share the scan),
so the store's recall never falls below the target, at the cost of a scan's latency."""
MIN_EF_SEARCH = 10
TUNING_QUERIES = 200
BUILD_MEMORY_PER_VECTOR = 1024
"""Bytes a node of pgvector's in-memory build graph needs besides its vector's 4 * d (element
header, neighbour lists of every level at M = 16). Measured: 16 MB held 7,458 nodes of 384
dimensions (pgvector 0.6.2's NOTICE), 2,250 bytes a node, i.e. ~714 besides the vector."""
MAX_BUILD_MEMORY = 8 << 30
"""maintenance_work_mem is not raised beyond this (pgvector then finishes the graph on disk,
slowly, with a NOTICE)."""


def _identifier(*names: str) -> Any:
    from psycopg import sql

    return [sql.Identifier(name) for name in names]


def copy_vectors(cursor: Any, table: str, ids: np.ndarray, vectors: np.ndarray, column: str = "embedding") -> None:
    """Append rows (ids[i], vectors[i]) to `table` by binary COPY into its `id` and `column`
    (pgvector's psycopg adapter dumps numpy arrays in COPY's binary format; the connection
    needs `register_vector`). Laying whole blocks out in numpy as COPY rows instead was no
    faster (20,000 x 384: 0.46 against 0.45 s): the server's side of COPY dominates."""
    from psycopg import sql

    vectors = np.asarray(vectors, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ValueError(f"copy_vectors needs [n, d] vectors and n ids ({vectors.shape} and {ids.shape} given)")
    statement = sql.SQL("COPY {} (id, {}) FROM STDIN WITH (FORMAT BINARY)").format(*_identifier(table, column))
    with cursor.copy(statement) as copy:
        copy.set_types(["int8", "vector"])
        for identifier, vector in zip(ids.tolist(), vectors):
            copy.write_row((identifier, vector))


def build_memory_bytes(n_vectors: int, dimension: int) -> int:
    """maintenance_work_mem for building the graph of `n_vectors` in memory: the vector and
    BUILD_MEMORY_PER_VECTOR a node, plus a quarter for slack, at least 64 MB (the default)."""
    return max(64 << 20, int(1.25 * n_vectors * (4 * dimension + BUILD_MEMORY_PER_VECTOR)))


def create_hnsw_index(cursor: Any, table: str, index_name: str, column: str = "embedding") -> None:
    """CREATE INDEX index_name ON table USING hnsw (column vector_ip_ops) WITH (m = HNSW_M,
    ef_construction = HNSW_EF_CONSTRUCTION), in a transaction of its own (or the caller's):
    maintenance_work_mem is raised for it (SET LOCAL) to `build_memory_bytes` of the table's
    rows, capped at MAX_BUILD_MEMORY (a graph that does not fit makes pgvector warn and finish
    on disk, many times slower), and max_parallel_maintenance_workers to the cores but one,
    which the leader takes (pgvector builds HNSW in parallel from 0.6; the server assumes it
    runs on this machine, as pgserver does)."""
    from psycopg import sql

    table_id, column_id, index_id = _identifier(table, column, index_name)
    with cursor.connection.transaction():
        cursor.execute(sql.SQL("SELECT count(*), max(vector_dims({})) FROM {}").format(column_id, table_id))
        n_vectors, dimension = cursor.fetchone()
        memory = min(MAX_BUILD_MEMORY, build_memory_bytes(n_vectors, dimension or 0))
        workers = max(0, min((os.cpu_count() or 1) - 1, 7))
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", (f"{memory // 1024}kB",))
        cursor.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)", (str(workers),))
        cursor.execute(
            sql.SQL("CREATE INDEX {} ON {} USING hnsw ({} vector_ip_ops) WITH (m = {}, ef_construction = {})").format(
                index_id, table_id, column_id, sql.Literal(HNSW_M), sql.Literal(HNSW_EF_CONSTRUCTION)
            )
        )


def candidate_count(k: int) -> int:
    """Rows asked of the graph for k results: k itself. pgvector's scan already returns the
    ef_search nodes it found in exact-distance order, so the best k of any longer prefix are
    its first k: more candidates would only be more rows to send (tests/test_pgvector_ann.py
    checks that 2k re-scored give the same top k). Recall is bought with ef_search."""
    return max(1, k)


def search(cursor: Any, table: str, query: np.ndarray, k: int, ef_search: int, column: str = "embedding") -> list[tuple[int, float]]:
    """(id, cosine) of the k rows nearest to `query` by inner product, best first: the HNSW
    index is asked, at hnsw.ef_search = max(ef_search, candidate_count(k)) (pgvector 0.6 yields
    no more than ef_search rows), for candidate_count(k) rows ordered by `column <#> query`;
    those are re-sorted by their exact inner product and cut to k. An index scan needs the
    ORDER BY ... LIMIT form used here; without an HNSW index, or with ef_search EXACT, the
    same query is exact."""
    from psycopg import sql

    table_id, column_id = _identifier(table, column)
    depth = candidate_count(k)
    vector = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
    statement = sql.SQL("SELECT id, {c} <#> %(q)s FROM {t} ORDER BY {c} <#> %(q)s LIMIT %(n)s").format(c=column_id, t=table_id)
    connection = cursor.connection
    # One pipeline sends BEGIN, set_config, SELECT and COMMIT in one round trip (2.3 against
    # 3.3 ms a query at 5,000 vectors, ef_search 40, on this 2-core machine).
    with connection.pipeline(), connection.transaction():
        if ef_search == EXACT:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
        else:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(min(MAX_EF_SEARCH, max(ef_search, depth))),))
        cursor.execute(statement, {"q": vector, "n": depth}, binary=True)
        rows = cursor.fetchall()
    scored = sorted(((int(i), -float(distance)) for i, distance in rows), key=lambda hit: -hit[1])
    return scored[:k]


def tune_ef_search(
    cursor: Any,
    table: str,
    vectors: np.ndarray,
    ids: np.ndarray,
    target: float = RECALL_TARGET,
    queries: int = TUNING_QUERIES,
    column: str = "embedding",
) -> tuple[int, float]:
    """The smallest hnsw.ef_search on a ladder from MIN_EF_SEARCH to MAX_EF_SEARCH (steps of
    ~x1.4, index.ann._ladder) whose recall@10 through `search` reaches `target` on `queries`
    pseudo-queries near the corpus (index.ann.pseudo_queries over `vectors`, the table's
    vectors: row i is the row with id ids[i]), against exact search over `vectors`; returns
    (ef_search, recall reached): MAX_EF_SEARCH and its recall when none reaches it."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    probes = pseudo_queries(vectors, min(queries, len(vectors)))
    k = min(10, len(vectors))
    _, rows = faiss.knn(probes, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    exact = ids[rows]
    ef_search, recall = MIN_EF_SEARCH, 0.0
    for ef_search in _ladder(MIN_EF_SEARCH, MAX_EF_SEARCH):
        found = np.full((len(probes), k), -1, dtype=np.int64)
        for row, probe in enumerate(probes):
            hits = [i for i, _ in search(cursor, table, probe, k, ef_search, column)]
            found[row, : len(hits)] = hits
        recall = recall_at(found, exact)
        if recall >= target:
            break
    return ef_search, recall


def choose_search(cursor: Any, table: str, vectors: np.ndarray, ids: np.ndarray, queries: int = TUNING_QUERIES) -> tuple[int, float]:
    """The store's dense search for the table as it is: (ef_search, recall on pseudo-queries)
    tuned to RECALL_TARGET + TUNING_MARGIN, or (EXACT, the graph's best recall) when no
    ef_search up to MAX_EF_SEARCH reaches it."""
    ef_search, recall = tune_ef_search(cursor, table, vectors, ids, RECALL_TARGET + TUNING_MARGIN, queries)
    return (ef_search if recall >= RECALL_TARGET + TUNING_MARGIN else EXACT), recall
