"""PostgreSQL + pgvector HNSW at 10^5-10^6 passage vectors against FAISS, in one run on the same
vectors: load (binary COPY) and HNSW build time, ef_search tuning, recall@10 against exact
search, single-query latency through index.pgvector_ann.search, and disk size of table and
index; then FAISS flat and ivf-pq4fs (and hnsw with --faiss-kinds) measured by
bench/faiss_scale.py's `measure`.

    .venv/bin/python bench/pg_scale.py                                  # 10^5, 10^6
    .venv/bin/python bench/pg_scale.py --sizes 10000 --queries 100      # a smoke run
    .venv/bin/python bench/pg_scale.py --sizes 1000000 --append         # one size more

Prints a Markdown table and writes bench/results/pg-scale.json after every measurement (a
cut-off run keeps what it measured).

Vectors and queries are bench/faiss_scale.py's synthetic e5-shaped ones (see its docstring:
pessimistic for graphs at 10^6). The server is a pgserver (PostgreSQL 16.2, pgvector 0.6.2) in
a temp dir, with shared_buffers set by ALTER SYSTEM and a restart (--shared-buffers, default
4GB: at 10^6 the HNSW index, ~2 GB, and the heap, ~1.6 GB, which a query also reads for the
ids and exact distances of its candidates, stay in PostgreSQL's buffers; the default 128MB
would leave them to the OS page cache). Every other setting is per session or
per transaction: create_hnsw_index raises maintenance_work_mem and the parallel build
workers for the build only; search sets hnsw.ef_search a query. Latency is one query at a
time over a Unix socket from this process, as the app would run it, so it includes psycopg
and the round trips (BEGIN, set_config, SELECT, COMMIT). Disk sizes are pg_total_relation_size
of the table (heap + TOAST + primary key, without the HNSW index) and pg_relation_size of the
HNSW index. The PostgreSQL server is stopped before FAISS builds, so they do not share memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from faiss_scale import exact_top, machine, measure, synthetic_corpus  # noqa: E402
from index.ann import recall_at  # noqa: E402
from index.pgvector_ann import (  # noqa: E402
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    RECALL_TARGET,
    choose_search,
    copy_vectors,
    create_hnsw_index,
    search,
)

TABLE, INDEX = "passages", "passages_hnsw"
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.0f} s] {message}", file=sys.stderr, flush=True)


def start_server(directory: Path, shared_buffers: str):
    """A pgserver in `directory` restarted with `shared_buffers` (a restart-only setting)."""
    import pgserver
    import psycopg

    server = pgserver.get_server(directory, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        connection.execute(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}'")
    server.cleanup()
    server = pgserver.get_server(directory, cleanup_mode="stop")
    return server


def connect(server):
    import psycopg
    from pgvector.psycopg import register_vector

    connection = psycopg.connect(server.get_uri(), autocommit=True)
    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(connection)
    return connection


def measure_pgvector(vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, shared_buffers: str, tuning_queries: int) -> dict:
    n, dimension = vectors.shape
    ids = np.arange(n, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="pg-scale-") as directory:
        server = start_server(Path(directory), shared_buffers)
        connection = connect(server)
        cursor = connection.cursor()
        settings = {name: connection.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("server_version", "shared_buffers", "work_mem", "max_worker_processes")}
        settings["pgvector"] = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        cursor.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({dimension}))")
        started = time.perf_counter()
        copy_vectors(cursor, TABLE, ids, vectors)
        copy_s = time.perf_counter() - started
        log(f"pgvector {n:,}: COPY in {copy_s:.1f} s")
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        notices: list[str] = []
        connection.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        started = time.perf_counter()
        create_hnsw_index(cursor, TABLE, INDEX)
        build_s = time.perf_counter() - started
        log(f"pgvector {n:,}: HNSW build in {build_s:.1f} s" + (f" (notices: {notices})" if notices else ""))
        started = time.perf_counter()
        ef_search, tuned_recall = choose_search(cursor, TABLE, vectors, ids, tuning_queries)
        tune_s = time.perf_counter() - started
        log(f"pgvector {n:,}: tuned ef_search {ef_search or 'exact scan'} (pseudo-query recall of the graph {tuned_recall:.3f}) in {tune_s:.0f} s")
        for query in queries[:20]:
            search(cursor, TABLE, query, 10, ef_search)  # warm up
        times, found = [], []
        for query in queries:
            started = time.perf_counter()
            hits = search(cursor, TABLE, query, 10, ef_search)
            times.append((time.perf_counter() - started) * 1000)
            found.append([i for i, _ in hits] + [-1] * (10 - len(hits)))
        recall = recall_at(np.array(found), exact)
        table_bytes = connection.execute("SELECT pg_total_relation_size(%s) - pg_relation_size(%s)", (TABLE, INDEX)).fetchone()[0]
        index_bytes = connection.execute("SELECT pg_relation_size(%s)", (INDEX,)).fetchone()[0]
        plan = "\n".join(r[0] for r in connection.execute(
            f"EXPLAIN SELECT id FROM {TABLE} ORDER BY embedding <#> %s LIMIT 10", (queries[0],)))
        log(f"pgvector {n:,}: recall@10 {recall:.3f}, p50 {np.percentile(times, 50):.2f} ms")
        connection.close()
        server.cleanup()
    return {
        "n": n,
        "store": "pgvector",
        "kind": "hnsw",
        "index": f"hnsw m={HNSW_M} ef_construction={HNSW_EF_CONSTRUCTION} vector_ip_ops",
        "ef_search": ef_search,
        "tuned_recall": round(tuned_recall, 4),
        "tune_s": round(tune_s, 1),
        "copy_s": round(copy_s, 2),
        "build_s": round(build_s, 2),
        "build_notices": notices,
        "recall_at_10": round(recall, 4),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "table_bytes": int(table_bytes),
        "index_bytes": int(index_bytes),
        "uses_index": f"Index Scan using {INDEX}" in plan,
        "settings": settings,
    }


def faiss_row(row: dict) -> dict:
    """faiss_scale.measure's row in this table's terms (one thread, as the app searches; all
    threads for ivf-pq4fs: index.ann.search_threads)."""
    threads = os.cpu_count() if row["kind"] == "ivf-pq4fs" else 1
    return {**row, "store": "faiss", "index": row["factory"], "recall_at_10": row["recall_at_10_reranked"],
            "p50_ms": row[f"p50_ms_{threads}t"], "p95_ms": row[f"p95_ms_{threads}t"], "latency_threads": threads,
            "disk_bytes": row["file_bytes"]}


def table(rows: list[dict]) -> str:
    head = ["n", "store", "index", "param", "load s", "build s", "recall@10", "p50 ms", "p95 ms", "disk MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["store"] == "pgvector":
            param, disk = f"ef_search={r['ef_search']}" if r["ef_search"] else "exact scan (graph below target)", f"{r['table_bytes'] / 1e6:.0f} table + {r['index_bytes'] / 1e6:.0f} index"
            load = f"{r['copy_s']:.1f}"
        else:
            param = f"nprobe={r['nprobe']}" if r["nprobe"] else f"ef={r['ef_search']}" if r["ef_search"] else "exact"
            disk, load = f"{r['disk_bytes'] / 1e6:.0f}", "-"
        lines.append("| " + " | ".join([f"{r['n']:,}", r["store"], r["index"], param, load, f"{r['build_s']:.1f}",
                                         f"{r['recall_at_10']:.3f}", f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}", disk]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="corpus sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=500, help="queries a size (timed one at a time)")
    parser.add_argument("--tuning-queries", type=int, default=200, help="pseudo-queries for tune_ef_search")
    parser.add_argument("--faiss-kinds", default="flat,ivf-pq4fs", help="FAISS kinds measured beside it (e.g. flat,ivf-pq4fs,hnsw)")
    parser.add_argument("--shared-buffers", default="4GB", help="PostgreSQL shared_buffers (set by ALTER SYSTEM + restart)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "pg-scale.json")
    parser.add_argument("--append", action="store_true", help="keep --out's rows of other sizes (one size a run)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = [k for k in args.faiss_kinds.split(",") if k]
    threads = sorted({1, os.cpu_count() or 1})
    results: dict = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "load_average_at_start": os.getloadavg()[0],
        "queries": args.queries,
        "tuning_queries": args.tuning_queries,
        "recall_target": RECALL_TARGET,
        "data": "synthetic (see bench/faiss_scale.py)",
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "rows": [],
    }
    if args.append and args.out.exists():
        earlier = json.loads(args.out.read_text())
        results["earlier_runs"] = earlier.get("earlier_runs", []) + [{k: v for k, v in earlier.items() if k not in ("rows", "earlier_runs")}]
        results["rows"] = [row for row in earlier["rows"] if row["n"] not in sizes]

    def save(row: dict) -> None:
        results["rows"].append(row)
        results["load_average_at_end"] = os.getloadavg()[0]
        args.out.parent.mkdir(exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")

    for n in sizes:
        started = time.perf_counter()
        vectors, queries = synthetic_corpus(n, args.queries)
        log(f"{n:,} vectors generated in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        exact = exact_top(queries, vectors, 10)
        log(f"exact top-10 in {time.perf_counter() - started:.0f} s")
        save(measure_pgvector(vectors, queries, exact, args.shared_buffers, args.tuning_queries))
        with tempfile.TemporaryDirectory(prefix="faiss-scale-") as scratch:
            for kind in kinds:
                started = time.perf_counter()
                save(faiss_row(measure(kind, vectors, queries, exact, threads, Path(scratch))))
                log(f"faiss {kind} {n:,}: measured in {time.perf_counter() - started:.0f} s")
        del vectors, queries, exact
        gc.collect()
    print(f"machine: {results['machine']}; load average {results['load_average_at_start']:.1f} at start, "
          f"{results['load_average_at_end']:.1f} at end")
    print(table(results["rows"]))


if __name__ == "__main__":
    main()
