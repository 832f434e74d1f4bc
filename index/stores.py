"""What answering and building need from an index, whatever holds it.

Two backends implement these interfaces: the FAISS directory of snapshots (index.store,
the default) and a PostgreSQL database with pgvector (index.postgres). Answering reads a
`SearchableIndex`; `qa index` writes through an `IndexStore`. Passage and sentence ids are
opaque integers: positions in the FAISS backend, sequence values in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from index.documents import Document
from index.encoders import Encoder, ProgressCallback
from index.passages import Passage, Sentence
from index.sources import SourceRecord

if TYPE_CHECKING:
    from index.build import BuildChanges
    from index.store import Manifest

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class SearchableIndex(Protocol):
    """An index as answering reads it."""

    @property
    def manifest(self) -> Manifest: ...

    @property
    def reference_vectors(self) -> np.ndarray:
        """float32 [n, dimension]: the background corpus scores are compared against."""
        ...

    def passage(self, passage_id: int) -> Passage: ...

    def sentence(self, sentence_id: int) -> Sentence: ...

    def document(self, doc_id: str) -> Document: ...

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages nearest the query: (passage id, exact cosine), best first."""
        ...

    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]:
        """Up to k (passage id, BM25 score > 0) for the question's terms, best first."""
        ...

    def passage_cosines(self, passage_ids: list[int], query_vector: np.ndarray) -> np.ndarray: ...

    def sentence_cosines(self, sentence_ids: list[int], query_vector: np.ndarray) -> np.ndarray: ...

    def sample_passages(self, count: int) -> list[Passage]:
        """About `count` passages spread over the index (to tell its language)."""
        ...

    def all_sentences(self) -> Iterator[Sentence]:
        """Every sentence, in id order (for corpus statistics)."""
        ...

    def all_passages(self) -> Iterator[Passage]:
        """Every passage, in id order."""
        ...

    def reading(self) -> AbstractContextManager[None]:
        """One answer's reads see one state of the index, even while a writer commits."""
        ...


@dataclass(frozen=True)
class StoredDocuments:
    """What a build needs of the index it replaces: its manifest and documents."""

    manifest: Manifest
    documents: dict[str, Document]


@dataclass(frozen=True)
class WriteResult:
    changes: BuildChanges
    passages: int
    sentences: int
    vector_index: str
    """The vector index kind (index.ann kinds, or `pgvector-hnsw`)."""


class IndexWriter(Protocol):
    """A store held for writing (its lock taken)."""

    def previous(self) -> StoredDocuments | None:
        """The index as it is, or None when there is none or it cannot be read."""
        ...

    def write(
        self,
        documents: list[Document],
        encoder: Encoder,
        progress: ProgressCallback | None,
        reference_vectors: np.ndarray,
        rebuild: bool,
        vector_index_kind: str | None,
        sources: tuple[SourceRecord, ...],
    ) -> WriteResult:
        """Make `documents` the index, atomically: readers see the old index or the new one.
        Unchanged documents (same id and hash, same model and splitter) are not embedded
        again unless `rebuild`."""
        ...


class IndexStore(Protocol):
    """Where an index lives."""

    @property
    def location(self) -> str:
        """Where, for messages (never with a password)."""
        ...

    def exists(self) -> bool: ...

    def read_manifest(self) -> Manifest: ...

    def writing(self, on_wait: Callable[[], None] | None = None) -> AbstractContextManager[IndexWriter]:
        """Hold the store for writing; a second writer waits (and `on_wait` is called once)."""
        ...

    def open(self) -> SearchableIndex: ...


def open_store(location: str | None, index_dir: Path) -> IndexStore:
    """The PostgreSQL store when `location` is a postgresql:// URL, else the FAISS directory."""
    if location:
        if not location.startswith(POSTGRES_SCHEMES):
            from index.errors import UsageError

            raise UsageError("--store takes a PostgreSQL URL (postgresql://...); use --index-dir for a directory")
        from index.postgres import PostgresStore

        return PostgresStore(location)
    from index.store import DirectoryStore

    return DirectoryStore(index_dir)
