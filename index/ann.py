"""The FAISS index over the passage vectors: which kind for how many vectors, built and tuned.

Every kind searches inner product over L2-normalised vectors (scores are cosines) and row i
of every index is vector i (IVF and HNSW number added vectors 0..n-1; no IndexIDMap).

    flat      IndexFlatIP: exact; 4 bytes a dimension
    hnsw      HNSW graph over the float vectors (more memory than flat; exact reconstruct)
    hnsw-sq8  HNSW graph over 8-bit scalar-quantised vectors (~0.4 of flat's memory)
    ivf-sq8   k-means cells (inverted lists) of 8-bit scalar-quantised vectors (~0.25)
    ivf-pq4fs k-means cells of 4-bit product-quantised residuals, two dimensions a code, scanned
              with SIMD "fast-scan" lookup tables (~0.07); the codes only shortlist candidates

Coarse product quantisation loses the small cosine differences between multilingual-e5
neighbours (IVF-PQ48 on e5 vectors of 10,645 CMRC sentences: recall@10 0.56, 0.78 after exact
re-scoring of 10x candidates; PQ96x4fs on 10^5 synthetic vectors: 0.29/0.59). Two dimensions a
4-bit code (ivf-pq4fs) keeps enough to shortlist: exact re-scoring of the best 800 codes finds
the true top 10 (recall 0.98 at 10^6 synthetic vectors), and fast-scan reads 96 bytes a vector
with lookup tables in SIMD registers, where SQ8 decodes 384.

The search parameter (nprobe, efSearch) is tuned when the index is built, on the corpus
itself: the smallest value whose recall@10 against exact search reaches a target on
pseudo-queries drawn near the corpus's own vectors. FAISS saves it in the index file;
`describe_index` gives the record for the manifest and `configure_for_search` applies one.

Quantised kinds score approximately (SQ8: cosine error ~1e-3; fast-scan codes cannot even be
reconstructed), so keep the exact vectors beside the index (`save_exact_vectors`, float16)
and re-score candidates with them (`rerank`): `candidate_count` says how many to ask for.
ivf-sq8 and the HNSW kinds are tuned on their own order (conservative); ivf-pq4fs after
re-scoring, since its own order is not meant to be right.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexStoreError, UsageError

INDEX_KINDS = ("flat", "hnsw", "hnsw-sq8", "ivf-sq8", "ivf-pq4fs")
FLAT_MAX_VECTORS = 50_000
"""Exact search up to here: one query costs 0.05-0.11 us a vector on this 2-core machine (0.27
ms at 10^4, 11 ms at 10^5, 54 ms at 10^6, one thread), so ~5 ms at 5 * 10^4."""
HNSW_M = 32
"""Graph neighbours a node (links cost 2 * M * 4 bytes a vector)."""
HNSW_EF_CONSTRUCTION = 80
HNSW_MAX_EF_SEARCH = 4096
"""Tuning stops here (23 ms a query at 10^6 vectors); the spec records the recall reached."""
TRAIN_POINTS_PER_CELL = 50
"""k-means sees at most this many sample vectors a cell (FAISS warns below 39)."""
SQ_TRAIN_POINTS = 100_000
"""Vectors the 8-bit scalar quantiser learns its per-dimension ranges from."""
RECALL_TARGET = 0.95
TUNING_MARGIN = 0.03
"""Added to the target when tuning on pseudo-queries. Tuned to 0.98, real e5 questions over
10,645 CMRC sentences got 0.97-0.99 and bench/faiss_scale.py's synthetic ones 0.96-0.98; tuned
to 0.96, the real ones got 0.94 from ivf-sq8."""
TUNING_QUERIES = 500
TUNING_SPREAD = 0.9
"""Pseudo-query = v_a + TUNING_SPREAD * (v_b - v_c), normalised: near a corpus vector, offset
by a step with the corpus's own covariance."""
SEED = 1234
FASTSCAN_CANDIDATES = 800
"""ivf-pq4fs codes shortlist at least this many vectors (16 a result wanted, if more) for
exact re-scoring. At 10^6 synthetic vectors (nprobe 1448 of 4096): 400 gave recall@10 0.970,
800 0.982, for 0.5 ms more."""
FASTSCAN_IMPLEMENTATION = 14
"""IndexIVFFastScan.implem: 14 spreads one query's cells over the OpenMP threads (the
default, 0, parallelises over queries, and the app searches one at a time): 4.1 against 6.8 ms
at 10^6 vectors on 2 threads."""


@dataclass(frozen=True)
class VectorIndexSpec:
    """What the manifest records about the FAISS index: enough to check and search it."""

    kind: str
    """One of INDEX_KINDS."""
    factory: str
    """faiss.index_factory description, e.g. "IVF4096,SQ8" ("Flat" for IndexFlatIP)."""
    nprobe: int = 0
    """IVF cells visited a query (0: not IVF)."""
    ef_search: int = 0
    """HNSW candidate list length a query (0: not HNSW)."""
    tuned_recall: float | None = None
    """Recall@10 against exact search on the pseudo-queries it was tuned on (None: flat, or
    not known)."""


def choose_index_kind(n_vectors: int) -> str:
    """flat while exact search is fast enough, then ivf-pq4fs: the fastest and smallest on
    bench/faiss_scale.py's vectors from 10^5 up, and IVF, whose recall tuning always reaches
    the target (more cells probed buys recall up to a scan of every code). ivf-sq8 scans 4x
    the bytes (3.0 ms at 10^5, 29 ms at 10^6); hnsw-sq8 is slower from 3 * 10^5 and levels off
    below the target at 10^6 (0.93 at efSearch 4096). They remain for overrides."""
    return "flat" if n_vectors <= FLAT_MAX_VECTORS else "ivf-pq4fs"


def ivf_cells(n_vectors: int) -> int:
    """IVF cells: the power of two nearest 4 * sqrt(n) (the low end of FAISS's advice, 4-16 *
    sqrt(n): fewer cells train faster and suffer less from queries off the passages), but no
    more than leave k-means 39 vectors a cell, and at least 16."""
    cells = 2 ** round(math.log2(4 * math.sqrt(max(n_vectors, 1))))
    return max(16, min(cells, 2 ** int(math.log2(max(n_vectors // 39, 1)))))


def factory_string(kind: str, n_vectors: int, dimension: int) -> str:
    """The faiss.index_factory description of `kind` for `n_vectors` vectors."""
    _require_known(kind)
    return {
        "flat": "Flat",
        "hnsw": f"HNSW{HNSW_M}",
        "hnsw-sq8": f"HNSW{HNSW_M}_SQ8",
        "ivf-sq8": f"IVF{ivf_cells(n_vectors)},SQ8",
        "ivf-pq4fs": f"IVF{ivf_cells(n_vectors)},PQ{pq_codes(dimension)}x4fsr",
    }[kind]


def check_index_fits(kind: str, n_vectors: int) -> None:
    """Raise UsageError when `kind` cannot index `n_vectors` vectors: an unknown kind, or an
    IVF kind given fewer vectors than its cells (checked before embedding anything)."""
    _require_known(kind)
    if kind.startswith("ivf") and n_vectors < ivf_cells(n_vectors):
        raise UsageError(f"{kind} needs at least {ivf_cells(n_vectors)} vectors ({n_vectors} given); use flat")


def _require_known(kind: str) -> None:
    if kind not in INDEX_KINDS:
        raise UsageError(f"unknown FAISS index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")


def pq_codes(dimension: int) -> int:
    """4-bit codes a vector for ivf-pq4fs: one per two dimensions (one per dimension if odd)."""
    return dimension // 2 if dimension % 2 == 0 else dimension


def build_vector_index(
    vectors: np.ndarray, kind: str | None = None, recall_target: float = RECALL_TARGET
) -> tuple[Any, VectorIndexSpec]:
    """A FAISS index of `kind` over `vectors` (float32 [n, d], L2-normalised), trained, filled
    so that row i is vector i, its search parameter tuned to `recall_target` (see the module
    docstring); and its record for the manifest. kind None: `choose_index_kind` decides.
    An HNSW graph may level off below the target; then `tuned_recall` says what it reached."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dimension = vectors.shape
    kind = kind or choose_index_kind(n)
    factory = factory_string(kind, n, dimension)
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
    if kind.startswith("hnsw"):
        faiss.downcast_index(index).hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    check_index_fits(kind, n)
    if not index.is_trained:
        train_size = SQ_TRAIN_POINTS
        if kind.startswith("ivf"):
            train_size = TRAIN_POINTS_PER_CELL * ivf_cells(n)
        index.train(vectors[_sample(n, min(n, train_size))])
    index.add(vectors)
    if kind == "ivf-sq8":
        faiss.extract_index_ivf(index).make_direct_map()  # so that reconstruct(i) works
    if kind == "ivf-pq4fs":
        faiss.downcast_index(index).implem = FASTSCAN_IMPLEMENTATION
    if kind == "flat":
        return index, describe_index(index)
    recall = _tune(index, kind, vectors, recall_target + TUNING_MARGIN)
    return index, describe_index(index, tuned_recall=recall)


def _sample(n: int, size: int) -> np.ndarray:
    return np.sort(np.random.default_rng(SEED).choice(n, size, replace=False))


def _tune(index: Any, kind: str, vectors: np.ndarray, target: float) -> float:
    """Set the smallest nprobe / efSearch whose recall@10 on pseudo-queries reaches `target`
    (the largest tried when none does); return the recall it reaches."""
    import faiss

    queries = pseudo_queries(vectors, min(TUNING_QUERIES, len(vectors)))
    k = min(10, len(vectors))
    _, exact = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    depth = candidate_count(kind, k, len(vectors))

    def top_k() -> np.ndarray:
        _, candidates = index.search(queries, depth)
        if kind != "ivf-pq4fs":  # the others are tuned on their own order (conservative)
            return candidates
        found = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (ids, query) in enumerate(zip(candidates, queries)):
            best = [i for i, _ in rerank(vectors, ids, query, k)]
            found[row, : len(best)] = best
        return found

    if kind.startswith("ivf"):
        ivf = faiss.extract_index_ivf(index)
        candidates = _ladder(1, ivf.nlist)
    else:
        top = min(HNSW_MAX_EF_SEARCH, len(vectors))
        candidates = _ladder(min(16, top), top)
    for value in candidates:
        _set_search_parameter(index, kind, value)
        recall = recall_at(top_k(), exact)
        if recall >= target:
            break
    return recall


def _ladder(low: int, high: int) -> list[int]:
    """low, then steps of about x1.4 up to high (inclusive)."""
    values, value = [], float(low)
    while value < high:
        values.append(int(value))
        value = max(value * 1.41, value + 1)
    return sorted(set(values + [high]))


def pseudo_queries(vectors: np.ndarray, count: int, spread: float = TUNING_SPREAD, seed: int = SEED) -> np.ndarray:
    """`count` L2-normalised queries near rows of `vectors` (see TUNING_SPREAD)."""
    rng = np.random.default_rng(seed)
    a, b, c = (rng.integers(0, len(vectors), count) for _ in range(3))
    queries = vectors[a] + spread * (vectors[b] - vectors[c])
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    return np.ascontiguousarray(queries / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row of `exact` (ids) that the same row of `found` contains."""
    k = exact.shape[1]
    return float(np.mean([len(set(f[:k].tolist()) & set(e.tolist())) / k for f, e in zip(found, exact)]))


def _set_search_parameter(index: Any, kind: str, value: int) -> None:
    import faiss

    if kind.startswith("ivf"):
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = min(value, ivf.nlist)
    elif kind.startswith("hnsw"):
        faiss.downcast_index(index).hnsw.efSearch = value


def index_kind(index: Any) -> str:
    """Which of INDEX_KINDS `index` is (to check a loaded index against its manifest)."""
    import faiss

    index = faiss.downcast_index(index)
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise IndexStoreError("the FAISS index does not search by inner product")
    for kind, cls in (
        ("flat", faiss.IndexFlat),
        ("hnsw-sq8", faiss.IndexHNSWSQ),
        ("hnsw", faiss.IndexHNSWFlat),
        ("ivf-sq8", faiss.IndexIVFScalarQuantizer),
        ("ivf-pq4fs", faiss.IndexIVFPQFastScan),
    ):
        if isinstance(index, cls):
            return kind
    raise IndexStoreError(f"unsupported FAISS index type {type(index).__name__}")


def describe_index(index: Any, tuned_recall: float | None = None) -> VectorIndexSpec:
    """The manifest record of `index` (kind, factory description, search parameter)."""
    import faiss

    kind = index_kind(index)
    if kind == "flat":
        return VectorIndexSpec(kind, "Flat")
    recall = None if tuned_recall is None else round(tuned_recall, 4)
    if kind.startswith("ivf"):
        ivf = faiss.extract_index_ivf(index)
        codes = f"PQ{faiss.downcast_index(index).pq.M}x4fsr" if kind == "ivf-pq4fs" else "SQ8"
        return VectorIndexSpec(kind, f"IVF{ivf.nlist},{codes}", nprobe=ivf.nprobe, tuned_recall=recall)
    hnsw = faiss.downcast_index(index).hnsw
    return VectorIndexSpec(kind, factory_string(kind, index.ntotal, index.d), ef_search=hnsw.efSearch, tuned_recall=recall)


def configure_for_search(index: Any, spec: VectorIndexSpec | str) -> None:
    """Apply a manifest's search parameter to a read_index'ed `index` (FAISS saves nprobe and
    efSearch, so this matters for overrides, e.g. dataclasses.replace(spec, nprobe=64)). A
    bare kind checks the kind only. Raises IndexStoreError when `index` is another kind."""
    kind = spec if isinstance(spec, str) else spec.kind
    actual = index_kind(index)
    if actual != kind:
        raise IndexStoreError(f"the FAISS index is {actual}, but the manifest says {kind}")
    if isinstance(spec, VectorIndexSpec) and (spec.nprobe or spec.ef_search):
        _set_search_parameter(index, kind, spec.nprobe or spec.ef_search)
    if kind == "ivf-pq4fs":  # FAISS 1.15 saves it; older versions may not
        import faiss

        faiss.downcast_index(index).implem = FASTSCAN_IMPLEMENTATION


def candidate_count(kind: str, k: int, n_vectors: int) -> int:
    """How many results to ask `kind` for when k are wanted after exact re-scoring (`rerank`):
    twice as many from a quantised index, whose scores may swap near-ties; a shortlist of
    FASTSCAN_CANDIDATES (or 16k) from ivf-pq4fs, whose codes only approximate the order."""
    if kind == "ivf-pq4fs":
        return min(n_vectors, max(FASTSCAN_CANDIDATES, 16 * k))
    return min(n_vectors, k if kind in ("flat", "hnsw") else 2 * k)


def search_threads(kind: str, available: int) -> int:
    """OpenMP threads for one query: one, since threads cost more than they save on small
    scans (flat over 10^4 vectors: 0.3 ms on one thread, 9 ms on two while another process is
    busy; bench/faiss_scale.py); all for ivf-pq4fs, whose one query scans many cells in
    parallel (FASTSCAN_IMPLEMENTATION)."""
    return available if kind == "ivf-pq4fs" else 1


def save_exact_vectors(path: Path, vectors: np.ndarray) -> None:
    """Store vectors (the exact passage vectors beside a quantised index, the sentence vectors)
    as float16 .npy: half of float32, cosine error ~1e-4 (SQ8's is ~1e-3), and read back
    exactly for incremental builds."""
    np.save(path, np.asarray(vectors, dtype=np.float16), allow_pickle=False)


def load_exact_vectors(path: Path) -> np.ndarray:
    """Vectors saved by `save_exact_vectors`, memory-mapped read-only: only rows that are read
    take memory."""
    return np.load(path, mmap_mode="r", allow_pickle=False)


def exact_cosines(vectors: np.ndarray, ids: Sequence[int], query: np.ndarray) -> np.ndarray:
    """float32 cosines of the query with rows `ids` of `vectors` (float16 or float32)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.float32)
    rows = vectors[np.asarray(ids, dtype=np.int64)]
    if rows.dtype == np.float16:
        # FAISS decodes half floats twice as fast as numpy's astype (800 x 384: 0.30 against
        # 0.58 ms, most of a re-scoring of ivf-pq4fs candidates).
        rows = _half_float_decoder(rows.shape[1]).decode(np.ascontiguousarray(rows).view(np.uint8))
    return np.asarray(rows, dtype=np.float32) @ np.asarray(query, dtype=np.float32).reshape(-1)


@functools.lru_cache(maxsize=4)
def _half_float_decoder(dimension: int) -> Any:
    import faiss

    return faiss.ScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16)


def rerank(vectors: np.ndarray, ids: Sequence[int], query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k of candidate `ids` (-1 ignored) most similar to the query by exact cosine:
    (row, cosine), best first."""
    candidates = np.asarray(ids, dtype=np.int64).reshape(-1)
    candidates = candidates[candidates >= 0]
    scores = exact_cosines(vectors, candidates, query)
    order = np.argsort(-scores, kind="stable")[:k]
    return list(zip(candidates[order].tolist(), scores[order].tolist()))
