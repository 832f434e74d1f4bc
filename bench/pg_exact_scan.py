"""Exact search in PostgreSQL + pgvector (no index: what the store falls back to when its HNSW
graph cannot reach the recall target) at 10^5-10^6 synthetic passage vectors: single-query
latency through index.pgvector_ann.search with ef_search EXACT, with PostgreSQL's parallel
workers off and at its default (2), and recall@10 against brute force (always 1.0).

    .venv/bin/python bench/pg_exact_scan.py                      # 10^5 and 10^6
    .venv/bin/python bench/pg_exact_scan.py --sizes 10000        # a smoke run

Same vectors, server and settings as bench/pg_scale.py (shared_buffers 4GB); writes
bench/results/pg-exact-scan.json after every size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from faiss_scale import exact_top, machine, synthetic_corpus  # noqa: E402
from index.ann import recall_at  # noqa: E402
from index.pgvector_ann import EXACT, copy_vectors, search  # noqa: E402
from pg_scale import connect, start_server  # noqa: E402

TABLE = "passages"


def measure(n: int, n_queries: int, shared_buffers: str) -> dict:
    vectors, queries = synthetic_corpus(n, n_queries)
    exact = exact_top(queries, vectors, 10)
    row: dict = {"n": n, "queries": n_queries}
    with tempfile.TemporaryDirectory(prefix="pg-exact-") as directory:
        server = start_server(Path(directory), shared_buffers)
        try:
            connection = connect(server)
            cursor = connection.cursor()
            cursor.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({vectors.shape[1]}))")
            started = time.perf_counter()
            copy_vectors(cursor, TABLE, np.arange(n, dtype=np.int64), vectors)
            row["copy_s"] = round(time.perf_counter() - started, 1)
            cursor.execute(f"VACUUM ANALYZE {TABLE}")
            for workers in (0, 2):
                cursor.execute(f"SET max_parallel_workers_per_gather = {workers}")
                for query in queries[:3]:  # warm the buffers
                    search(cursor, TABLE, query, 10, EXACT)
                times, found = [], []
                for query in queries:
                    started = time.perf_counter()
                    hits = search(cursor, TABLE, query, 10, EXACT)
                    times.append(1000 * (time.perf_counter() - started))
                    found.append([i for i, _ in hits])
                times.sort()
                row[f"workers_{workers}"] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
                    "recall_at_10": round(recall_at(np.array(found), exact), 4),
                }
                print(f"n={n:,} parallel workers {workers}: {row[f'workers_{workers}']}", file=sys.stderr, flush=True)
            connection.close()
        finally:
            server.cleanup()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--shared-buffers", default="4GB")
    args = parser.parse_args()
    out = REPO / "bench" / "results" / "pg-exact-scan.json"
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "data": "synthetic (see bench/faiss_scale.py)", "rows": []}
    for n in args.sizes:
        results["rows"].append(measure(n, args.queries, args.shared_buffers))
        out.write_text(json.dumps(results, indent=1) + "\n")
    print("| n | parallel workers | p50 ms | p95 ms | recall@10 |\n|---|---|---|---|---|")
    for row in results["rows"]:
        for workers in (0, 2):
            m = row[f"workers_{workers}"]
            print(f"| {row['n']:,} | {workers} | {m['p50_ms']} | {m['p95_ms']} | {m['recall_at_10']} |")


if __name__ == "__main__":
    main()
