"""The passage index on disk: a directory of snapshots, each a complete, self-checking index.

    <index_dir>/CURRENT            name of the live snapshot (replaced atomically)
    <index_dir>/<snapshot>/        manifest.json, passages.faiss, sentence_vectors.npy (float16),
                                   reference_vectors.npy, bm25/, documents.jsonl,
                                   passages.jsonl, sentences.jsonl, and for an approximate
                                   FAISS index passage_vectors.npy (exact vectors, float16)

A build writes a new snapshot, then swaps CURRENT with os.replace, so an interrupted or failed
build leaves the previous index in place. No pickle anywhere: JSON, .npy without objects, and
FAISS's own format.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from index.documents import Document, source_fields, with_source_fields
from index.errors import IndexStoreError
from index.ann import (
    VectorIndexSpec,
    candidate_count,
    configure_for_search,
    exact_cosines,
    load_exact_vectors,
    rerank,
    save_exact_vectors,
    search_threads,
)
from index.lexical import LexicalIndex
from index.passages import Passage, Sentence
from index.sources import SourceRecord, absolute, legacy_sources

FORMAT_VERSION = 3
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    sha256: str
    size: int
    """Length of the document's text in characters."""
    path: str
    encoding: str
    source: str = ""
    """The source (index.sources) the document belongs to; empty in older indexes."""
    passages: int = 0
    """Passages split from it (0 in indexes from before the count was kept)."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_id: str
    dimension: int
    engine: str
    """The engine that embedded the passages."""
    built_at: str
    """UTC time of the build, ISO 8601."""
    build_seconds: float
    max_passage_chars: int
    faiss_index: str
    lexical_index: str
    """How `bm25/` tokenises (see index.lexical)."""
    passage_count: int
    sentence_count: int
    reference_count: int
    """Rows of `reference_vectors` (a background corpus the answerer compares against)."""
    documents: tuple[DocumentRecord, ...]
    vector_index: dict[str, Any] | None = None
    """The FAISS index's kind, factory description and tuned search parameter
    (index.ann.VectorIndexSpec); None in indexes from before the choice existed: flat."""
    splitter: int = 1
    """index.passages.SPLITTER_VERSION of the build (1 in indexes from before it was kept)."""
    sources: tuple[SourceRecord, ...] = ()
    """The files and folders indexed (index.sources); empty in indexes from before sources
    were recorded, whose documents each count as a source (see `index_sources`)."""

    def index_sources(self) -> tuple[SourceRecord, ...]:
        if self.sources or not self.documents:
            return self.sources
        return legacy_sources({d.id: _record_document(d) for d in self.documents}, self.built_at)

    @property
    def vector_index_spec(self) -> VectorIndexSpec:
        return VectorIndexSpec(**self.vector_index) if self.vector_index else VectorIndexSpec("flat", "Flat")


@dataclass
class PassageIndex:
    """Documents, their sentences and passages, and the vectors that search them."""

    manifest: Manifest
    documents: dict[str, Document]
    sentences: list[Sentence]
    passages: list[Passage]
    passage_vectors_index: Any
    """The FAISS index over the L2-normalised passage vectors (flat, HNSW or IVF; see
    index.ann); row i is passage i."""
    sentence_vectors: np.ndarray
    """[sentence_count, dimension], L2-normalised, float16 (memory-mapped once saved: a
    million passages hold ~5 million sentences, 3.8 GB that stay on disk until read); row i
    is sentence i. Read rows through `index.ann.exact_cosines`."""
    reference_vectors: np.ndarray
    """float32 [reference_count, dimension]: vectors of a fixed background corpus embedded by
    the same model, stored so that scores can be compared with a baseline."""
    lexical: LexicalIndex
    """BM25 over the passages; row i is passage i."""
    exact_passage_vectors: np.ndarray | None = None
    """[passage_count, dimension] exact vectors (float16, memory-mapped) beside an approximate
    FAISS index, whose own scores are quantised; None for flat, which is exact."""

    def passage_vectors(self, passage_ids: list[int]) -> np.ndarray:
        """float32 vectors of `passage_ids`, exact (or float16-rounded) whatever the FAISS kind."""
        if not passage_ids:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        if self.exact_passage_vectors is not None:
            return np.asarray(self.exact_passage_vectors[np.asarray(passage_ids, dtype=np.int64)], dtype=np.float32)
        return np.stack([self.passage_vectors_index.reconstruct(int(i)) for i in passage_ids])

    def passage_cosines(self, passage_ids: list[int], query_vector: np.ndarray) -> np.ndarray:
        """Cosine of the query with each of `passage_ids`."""
        if self.exact_passage_vectors is not None:
            return exact_cosines(self.exact_passage_vectors, passage_ids, query_vector)
        return self.passage_vectors(passage_ids) @ query_vector

    # The index.stores.SearchableIndex interface.
    def passage(self, passage_id: int) -> Passage:
        return self.passages[passage_id]

    def sentence(self, sentence_id: int) -> Sentence:
        return self.sentences[sentence_id]

    def document(self, doc_id: str) -> Document:
        return self.documents[doc_id]

    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]:
        return self.lexical.search(question, k)

    def sentence_cosines(self, sentence_ids: list[int], query_vector: np.ndarray) -> np.ndarray:
        return exact_cosines(self.sentence_vectors, sentence_ids, query_vector)

    def sample_passages(self, count: int) -> list[Passage]:
        return self.passages[:: max(1, len(self.passages) // max(1, count))]

    def all_sentences(self) -> Iterator[Sentence]:
        return iter(self.sentences)

    def all_passages(self) -> Iterator[Passage]:
        return iter(self.passages)

    def reading(self) -> AbstractContextManager[None]:
        return nullcontext()  # an index in memory never changes under its reader

    def reusable_vectors(
        self, model_id: str, dimension: int, max_passage_chars: int, splitter: int
    ) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
        """(document id, hash) -> (passage vectors, sentence vectors), when this index was
        built by the same model and splitter (else nothing is reusable)."""
        manifest = self.manifest
        if (manifest.model_id, manifest.dimension, manifest.max_passage_chars, manifest.splitter) != (
            model_id, dimension, max_passage_chars, splitter
        ):
            return {}
        all_passages = self.passage_vectors(list(range(len(self.passages))))
        by_document: dict[str, tuple[list[int], list[int]]] = {}
        for passage in self.passages:
            by_document.setdefault(passage.doc_id, ([], []))[0].append(passage.id)
        for sentence in self.sentences:
            by_document.setdefault(sentence.doc_id, ([], []))[1].append(sentence.id)
        return {
            (doc_id, self.documents[doc_id].sha256): (all_passages[p_ids], self.sentence_vectors[s_ids])
            for doc_id, (p_ids, s_ids) in by_document.items()
        }

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages most similar to the query: (passage id, cosine), best first. An
        approximate index proposes candidates; their exact cosines order them."""
        k = min(k, len(self.passages))
        if k <= 0:
            return []
        query = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
        kind = self.manifest.vector_index_spec.kind
        import faiss

        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(search_threads(kind, threads))
        try:
            scores, ids = self.passage_vectors_index.search(query, candidate_count(kind, k, len(self.passages)))
        finally:
            faiss.omp_set_num_threads(threads)
        if self.exact_passage_vectors is None:
            return [(int(i), float(s)) for i, s in zip(ids[0][:k], scores[0][:k]) if i >= 0]
        return rerank(self.exact_passage_vectors, ids[0], query_vector, k)


@contextmanager
def build_lock(index_dir: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the index directory's build lock; a second builder waits for the first (and
    `on_wait` is called once so the user knows why nothing happens)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / LOCK_FILE, "a")
    except OSError as error:
        raise IndexStoreError(f"cannot write in index directory {index_dir} ({error.strerror})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_index(index: PassageIndex, index_dir: Path) -> Path:
    """Write `index` as a new snapshot of `index_dir` and make it the live one."""
    import faiss

    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise IndexStoreError(f"cannot create index directory {index_dir}: {error.strerror}") from None
    snapshot = f"snapshot-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    partial = index_dir / (snapshot + ".partial")
    try:
        partial.mkdir()
        faiss.write_index(index.passage_vectors_index, str(partial / "passages.faiss"))
        save_exact_vectors(partial / "sentence_vectors.npy", index.sentence_vectors)
        if index.exact_passage_vectors is not None:
            save_exact_vectors(partial / "passage_vectors.npy", index.exact_passage_vectors)
        np.save(partial / "reference_vectors.npy", index.reference_vectors, allow_pickle=False)
        index.lexical.save(partial / "bm25")
        _write_jsonl(
            partial / "documents.jsonl",
            ({"id": d.id, "text": d.text, **source_fields(d)} for d in index.documents.values()),
        )
        _write_jsonl(
            partial / "passages.jsonl",
            (
                {"id": p.id, "doc": p.doc_id, "start": p.start, "end": p.end,
                 "sentence_ids": list(p.sentence_ids), **({"context": p.context} if p.context else {})}
                for p in index.passages
            ),
        )
        _write_jsonl(
            partial / "sentences.jsonl",
            ({"id": s.id, "doc": s.doc_id, "start": s.start, "end": s.end} for s in index.sentences),
        )
        # The manifest goes last: a snapshot without one is never complete.
        _write_json(partial / "manifest.json", asdict(index.manifest))
        _fsync_dir(partial)
        os.rename(partial, index_dir / snapshot)
        _write_json(index_dir / (CURRENT_FILE + ".tmp"), {"snapshot": snapshot})
        os.replace(index_dir / (CURRENT_FILE + ".tmp"), index_dir / CURRENT_FILE)
        _fsync_dir(index_dir)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise IndexStoreError(f"cannot write index in {index_dir}: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _remove_stale_snapshots(index_dir, keep=snapshot)
    return index_dir / snapshot


def _remove_stale_snapshots(index_dir: Path, keep: str) -> None:
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry.name.startswith("snapshot-") and entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)


def index_exists(index_dir: Path) -> bool:
    return (index_dir / CURRENT_FILE).is_file()


def read_manifest(index_dir: Path) -> Manifest:
    """The live snapshot's manifest, checked for format version."""
    return _read_manifest(_live_snapshot(index_dir))


def load_index(index_dir: Path) -> PassageIndex:
    """Load the live snapshot of `index_dir`, checking it is complete and consistent."""
    import faiss

    snapshot = _live_snapshot(index_dir)
    manifest = _read_manifest(snapshot)
    rebuild = "rebuild it with `qa index PATH...`"
    try:
        flat = faiss.read_index(str(snapshot / "passages.faiss"))
        sentence_vectors = load_exact_vectors(snapshot / "sentence_vectors.npy")
        reference_vectors = np.load(snapshot / "reference_vectors.npy", allow_pickle=False)
        lexical = LexicalIndex.load(snapshot / "bm25", manifest.passage_count)
        spec = manifest.vector_index_spec
        configure_for_search(flat, spec)
        exact = None if spec.kind == "flat" else load_exact_vectors(snapshot / "passage_vectors.npy")
        document_rows = {row["id"]: row for row in _read_jsonl(snapshot / "documents.jsonl")}
        passage_rows = list(_read_jsonl(snapshot / "passages.jsonl"))
        sentence_rows = list(_read_jsonl(snapshot / "sentences.jsonl"))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexStoreError) as error:
        raise IndexStoreError(f"index in {index_dir} is damaged ({_first_line(error)}); {rebuild}") from None
    documents: dict[str, Document] = {}
    for record in manifest.documents:
        row = document_rows.get(record.id, {})
        text = row.get("text")
        if text is None or hashlib.sha256(text.encode("utf-8")).hexdigest() != record.sha256:
            raise IndexStoreError(f"index in {index_dir}: text of {record.id} is missing or altered; {rebuild}")
        try:
            documents[record.id] = with_source_fields(_record_document(record, text), row)
        except (ValueError, TypeError) as error:
            raise IndexStoreError(f"index in {index_dir}: bad source map of {record.id} ({_first_line(error)}); {rebuild}") from None
    try:
        sentences = [_span(Sentence, row, documents, with_ids=False) for row in sentence_rows]
        passages = [_span(Passage, row, documents, with_ids=True) for row in passage_rows]
    except (KeyError, TypeError, ValueError) as error:
        raise IndexStoreError(f"index in {index_dir}: bad passage record ({_first_line(error)}); {rebuild}") from None
    consistent = (
        flat.d == manifest.dimension
        and flat.ntotal == len(passages) == manifest.passage_count
        and len(sentences) == manifest.sentence_count
        and sentence_vectors.shape == (len(sentences), manifest.dimension)
        and reference_vectors.shape == (manifest.reference_count, manifest.dimension)
        and (exact is None or exact.shape == (len(passages), manifest.dimension))
        and all(p.id == k for k, p in enumerate(passages))
        and all(s.id == k for k, s in enumerate(sentences))
        and all(0 <= i < len(sentences) for p in passages for i in p.sentence_ids)
    )
    if not consistent:
        raise IndexStoreError(f"index in {index_dir} is inconsistent with its manifest; {rebuild}")
    return PassageIndex(
        manifest, documents, sentences, passages, flat,
        sentence_vectors, reference_vectors.astype(np.float32), lexical, exact,
    )


def _record_document(record: DocumentRecord, text: str = "") -> Document:
    """A manifest's document (its text from documents.jsonl); in an index from before sources
    were recorded, each document is its own source."""
    source = record.source or absolute(record.path)
    return Document(record.id, text, record.sha256, Path(record.path), record.encoding, source=source)


def _span(kind: type, row: dict, documents: dict[str, Document], with_ids: bool) -> Any:
    document = documents[row["doc"]]
    start, end = int(row["start"]), int(row["end"])
    if not 0 <= start < end <= len(document.text):
        raise ValueError(f"span {start}-{end} outside {document.id}")
    text = document.text[start:end]
    if with_ids:
        return kind(int(row["id"]), document.id, start, end, text, tuple(int(i) for i in row["sentence_ids"]), str(row.get("context", "")))
    return kind(int(row["id"]), document.id, start, end, text)


def _live_snapshot(index_dir: Path) -> Path:
    pointer = index_dir / CURRENT_FILE
    if not pointer.is_file():
        raise IndexStoreError(f"no index in {index_dir}; build one with `qa index PATH`")
    try:
        name = json.loads(pointer.read_text("utf-8"))["snapshot"]
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexStoreError(f"index pointer {pointer} is damaged; rebuild it with `qa index PATH...`") from None
    snapshot = index_dir / str(name)
    if "/" in str(name) or not (snapshot / "manifest.json").is_file():
        raise IndexStoreError(f"index snapshot {snapshot} is missing; rebuild it with `qa index PATH...`")
    return snapshot


def _read_manifest(snapshot: Path) -> Manifest:
    try:
        raw = json.loads((snapshot / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        raise IndexStoreError(f"index manifest in {snapshot} is damaged; rebuild it with `qa index PATH...`") from None
    return manifest_from_json(raw, f"index manifest in {snapshot}")


def manifest_from_json(raw: Any, where: str) -> Manifest:
    """The Manifest of its JSON (`asdict`) form, checked for format version; `where` names it
    in errors."""
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        raise IndexStoreError(
            f"index format {version!r} is not the format this qa reads ({FORMAT_VERSION}); "
            "rebuild it with `qa index PATH...`"
        )
    try:
        raw = dict(raw)
        raw["documents"] = tuple(DocumentRecord(**d) for d in raw["documents"])
        raw["sources"] = tuple(SourceRecord(**d) for d in raw.get("sources", ()))
        return Manifest(**raw)
    except (TypeError, KeyError):
        raise IndexStoreError(f"{where} is incomplete; rebuild it with `qa index PATH...`") from None


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def _write_jsonl(path: Path, rows: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class DirectoryStore:
    """The FAISS directory of snapshots (index.stores.IndexStore): the default store."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    @property
    def location(self) -> str:
        return str(self.index_dir)

    def exists(self) -> bool:
        return index_exists(self.index_dir)

    def read_manifest(self) -> Manifest:
        return read_manifest(self.index_dir)

    def open(self) -> PassageIndex:
        return load_index(self.index_dir)

    @contextmanager
    def writing(self, on_wait: Callable[[], None] | None = None) -> Iterator["DirectoryWriter"]:
        with build_lock(self.index_dir, on_wait):
            yield DirectoryWriter(self.index_dir)


class DirectoryWriter:
    """Writes a new snapshot; documents unchanged since the live one reuse its vectors."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._previous: PassageIndex | None = None
        if index_exists(index_dir):
            try:
                self._previous = load_index(index_dir)
            except IndexStoreError:
                self._previous = None  # rebuilt from the documents given

    def previous(self) -> Any:
        from index.stores import StoredDocuments

        if self._previous is None:
            return None
        return StoredDocuments(self._previous.manifest, self._previous.documents)

    def write(self, documents, encoder, progress, reference_vectors, rebuild, vector_index_kind, sources) -> Any:
        from index.build import build_index_incrementally
        from index.stores import WriteResult

        previous = self._previous
        reusable = None if rebuild or previous is None or previous.manifest.model_id != encoder.model_id else previous
        index, changes = build_index_incrementally(
            documents, encoder, progress=progress, reference_vectors=reference_vectors, previous=reusable,
            vector_index_kind=vector_index_kind, sources=sources,
        )
        if previous is not None and reusable is None:  # counted against the previous index all the same
            changes = replace(changes, removed=sum(1 for i in previous.documents if i not in index.documents))
        save_index(index, self.index_dir)
        return WriteResult(changes, len(index.passages), len(index.sentences), index.manifest.vector_index_spec.kind)
