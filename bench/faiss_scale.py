"""FAISS index kinds at 10^4-10^6 passage vectors: build time, memory, single-query latency and
recall@10 against exact search (as returned, and after exact re-scoring of
`index.ann.candidate_count` candidates as `PassageIndex.search` does), for flat and each
approximate kind of index/ann.py.

    .venv/bin/python bench/faiss_scale.py                        # 10^4, 10^5, 10^6 (~1 h)
    .venv/bin/python bench/faiss_scale.py --sizes 10000,100000 --queries 500
    .venv/bin/python bench/faiss_scale.py --vectors P.npy --query-vectors Q.npy   # real ones

Prints a Markdown table and writes bench/results/faiss-scale.json.

The vectors are synthetic, shaped like multilingual-e5-small's (384 dimensions, L2-normalised):
a shared mean direction (norm 0.915, so unrelated texts have cosine ~0.84), variance spread
over the dimensions with eigenvalues falling as i^-0.69 (both as measured on e5 vectors of
CMRC sentences), and three levels of grouping: topics of ~50 vectors share 15% of the
variance, documents of ~12 another 35%, the rest is each vector's own. A query is a corpus
vector plus a fixed offset (e5 questions sit apart from passages: norm 0.15) plus noise of the
same shape (norm 0.55), normalised: a question near a passage, not a copy of one.

These numbers were calibrated so that at 10,645 vectors the synthetic set is at least as hard
as the real one: e5 vectors of the 10,645 CMRC dev sentences searched with the 3,219 CMRC dev
questions give recall@10 0.57/0.80/0.88 for IVF128 at nprobe 2/8/16 (synthetic: 0.41/0.67/0.81)
and 0.89/0.94/0.97 for HNSW32 at efSearch 16/32/64 (synthetic: 0.86/0.94/0.98). Larger sets are
pessimistic: documents stay ~12 vectors scattered in 384 dimensions instead of filling in as a
real corpus grows, so neighbours do not get closer and HNSW levels off (0.93 recall at
efSearch 4096 for 10^6 vectors) where published results on real text embeddings do not.

Latency is one query at a time, as PassageIndex.search runs it (candidates from FAISS, then
exact re-scoring from float16 vectors for approximate kinds), with faiss.omp_set_num_threads
set to each of --threads (the app uses one thread, and all of them for ivf-pq4fs:
index.ann.search_threads). The float16 vectors are re-scored from memory, i.e. as the app
runs once the rows a query reads are in the page cache (the app memory-maps them from disk;
they are not counted below). Memory is the size of the written index file and the growth of a
fresh process's RSS when it reads that file.
Exact ground truth is computed in batches with faiss.knn.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from index.ann import INDEX_KINDS, build_vector_index, candidate_count, recall_at, rerank  # noqa: E402

DIMENSION = 384
MEAN_NORM = 0.915
SPREAD = 0.16
"""Total variance of the centred vectors (e5 on CMRC sentences: 0.16)."""
EIGEN_DECAY = 0.69
TOPIC_SIZE, TOPIC_SHARE = 50, 0.15
DOC_SIZE, DOC_SHARE = 12, 0.35
QUERY_OFFSET, QUERY_NOISE = 0.15, 0.55
CHUNK = 100_000


def synthetic_corpus(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n corpus vectors and n_queries query vectors (float32, L2-normalised); see the docstring."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((DIMENSION, DIMENSION)))[0].astype(np.float32)
    scale = ((1.0 + np.arange(DIMENSION)) ** (-EIGEN_DECAY / 2)).astype(np.float32)
    scale *= np.sqrt(SPREAD / (scale**2).sum())

    def gaussian(m: int, share: float) -> np.ndarray:
        return (rng.standard_normal((m, DIMENSION), dtype=np.float32) * (scale * np.sqrt(share))) @ basis

    def unit(direction_norm: float) -> np.ndarray:
        v = rng.standard_normal(DIMENSION).astype(np.float32)
        return v * (direction_norm / np.linalg.norm(v))

    mean, offset = unit(MEAN_NORM), unit(QUERY_OFFSET)
    n_topics, n_docs = max(1, n // TOPIC_SIZE), max(1, n // DOC_SIZE)
    topics = gaussian(n_topics, TOPIC_SHARE)
    docs = topics[rng.integers(0, n_topics, n_docs)] + gaussian(n_docs, DOC_SHARE)
    doc_of = rng.integers(0, n_docs, n)
    vectors = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, CHUNK):
        end = min(n, start + CHUNK)
        rows = mean + docs[doc_of[start:end]] + gaussian(end - start, 1 - TOPIC_SHARE - DOC_SHARE)
        vectors[start:end] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    noise = gaussian(n_queries, 1.0) * (QUERY_NOISE / np.sqrt(SPREAD))
    queries = vectors[rng.integers(0, n, n_queries)] + offset + noise
    return vectors, (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def exact_top(queries: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    import faiss

    return np.concatenate(
        [faiss.knn(queries[s : s + 100], vectors, k, metric=faiss.METRIC_INNER_PRODUCT)[1] for s in range(0, len(queries), 100)]
    )


def single_query_ms(index, kind: str, stored: np.ndarray, queries: np.ndarray, k: int, threads: int) -> list[float]:
    """Milliseconds a query as PassageIndex.search spends: candidate_count candidates from
    FAISS, re-scored with the float16 vectors `stored` beside an approximate index."""
    import faiss

    faiss.omp_set_num_threads(threads)
    depth = candidate_count(kind, k, index.ntotal)

    def search(query: np.ndarray) -> None:
        _, ids = index.search(query[None], depth)
        if kind != "flat":
            rerank(stored, ids[0], query, k)

    for query in queries[:20]:
        search(query)  # warm up
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - started) * 1000)
    return times


LOAD_RSS = """
import sys, faiss
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) * 1024
before = rss(); index = faiss.read_index(sys.argv[1]); print(rss() - before)
"""


def load_rss_bytes(path: Path) -> int:
    """RSS growth of a fresh process that reads the index file."""
    out = subprocess.run([sys.executable, "-c", LOAD_RSS, str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def measure(kind: str, vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, threads: list[int], scratch: Path) -> dict:
    import faiss

    faiss.omp_set_num_threads(max(threads))
    started = time.perf_counter()
    index, spec = build_vector_index(vectors, kind)
    build_s = time.perf_counter() - started
    path = scratch / f"{kind}.faiss"
    faiss.write_index(index, str(path))
    _, found = index.search(queries, 10)
    _, candidates = index.search(queries, candidate_count(kind, 10, len(vectors)))
    reranked = np.array([[i for i, _ in rerank(vectors, c, q, 10)] for c, q in zip(candidates, queries)])
    row = {
        "n": len(vectors),
        "kind": kind,
        "factory": spec.factory,
        "nprobe": spec.nprobe,
        "ef_search": spec.ef_search,
        "tuned_recall": spec.tuned_recall,
        "build_s": round(build_s, 2),
        "file_bytes": path.stat().st_size,
        "load_rss_bytes": load_rss_bytes(path),
        "recall_at_10": round(recall_at(found, exact), 4),
        "recall_at_10_reranked": round(recall_at(reranked, exact), 4),
    }
    if kind not in ("flat", "ivf-pq4fs"):  # how far quantised reconstruct is from the exact vector
        sample = np.arange(0, len(vectors), max(1, len(vectors) // 2000))
        error = np.abs(index.reconstruct_batch(sample) @ queries[0] - vectors[sample] @ queries[0])
        row["reconstruct_cosine_error_max"] = float(error.max())
    stored = vectors.astype(np.float16)
    for t in threads:
        times = single_query_ms(index, kind, stored, queries, 10, t)
        row[f"p50_ms_{t}t"] = round(float(np.percentile(times, 50)), 3)
        row[f"p95_ms_{t}t"] = round(float(np.percentile(times, 95)), 3)
        row[f"p50_ms_k50_{t}t"] = round(float(np.percentile(single_query_ms(index, kind, stored, queries[:300], 50, t), 50)), 3)
    path.unlink()
    del index
    gc.collect()
    return row


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def table(rows: list[dict], threads: list[int]) -> str:
    head = ["n", "kind", "index", "build s", "file MB", "load RSS MB", "recall@10", "reranked"]
    for t in threads:
        head += [f"p50 ms {t}t", f"p95 ms {t}t", f"p50 k=50 {t}t"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        param = f" nprobe={r['nprobe']}" if r["nprobe"] else f" ef={r['ef_search']}" if r["ef_search"] else ""
        cells = [f"{r['n']:,}", r["kind"], r["factory"] + param, f"{r['build_s']:.1f}", f"{r['file_bytes'] / 1e6:.0f}",
                 f"{r['load_rss_bytes'] / 1e6:.0f}", f"{r['recall_at_10']:.3f}", f"{r['recall_at_10_reranked']:.3f}"]
        for t in threads:
            cells += [f"{r[f'p50_ms_{t}t']:.2f}", f"{r[f'p95_ms_{t}t']:.2f}", f"{r[f'p50_ms_k50_{t}t']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="corpus sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=1000, help="queries a size (timed one at a time)")
    parser.add_argument("--kinds", default=",".join(INDEX_KINDS), help="index kinds, comma-separated")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}", help="FAISS thread counts to time with")
    parser.add_argument("--vectors", type=Path, help="real corpus vectors (.npy) instead of synthetic ones")
    parser.add_argument("--query-vectors", type=Path, help="real query vectors (.npy), with --vectors")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "faiss-scale.json")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    results: dict = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "load_average_at_start": os.getloadavg()[0],
        "queries": args.queries,
        "threads": threads,
        "data": str(args.vectors) if args.vectors else "synthetic (see bench/faiss_scale.py)",
        "rows": [],
    }
    if args.vectors:
        datasets = [(np.load(args.vectors).astype(np.float32), np.load(args.query_vectors).astype(np.float32)[: args.queries])]
    else:
        datasets = [None for _ in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        for i, data in enumerate(datasets):
            if data is None:
                n = int(args.sizes.split(",")[i])
                started = time.perf_counter()
                data = synthetic_corpus(n, args.queries)
                print(f"{n:,} vectors generated in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            vectors, queries = data
            started = time.perf_counter()
            exact = exact_top(queries, vectors, 10)
            print(f"exact top-10 in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            for kind in kinds:
                row = measure(kind, vectors, queries, exact, threads, Path(scratch))
                print(json.dumps(row), file=sys.stderr, flush=True)
                results["rows"].append(row)
                results["load_average_at_end"] = os.getloadavg()[0]
                args.out.parent.mkdir(exist_ok=True)
                args.out.write_text(json.dumps(results, indent=1) + "\n")
            del data, vectors, queries
            gc.collect()
    print(f"machine: {results['machine']}; load average {results['load_average_at_start']:.1f} at start, "
          f"{results['load_average_at_end']:.1f} at end")
    print(table(results["rows"], threads))


if __name__ == "__main__":
    main()
