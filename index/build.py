"""Building an index: split documents, embed what is new or changed, assemble the index.

Unchanged documents (same id and content hash, same model and splitter) reuse the vectors of
the previous index, so re-indexing a folder embeds only what changed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from index.ann import VectorIndexSpec, build_vector_index, check_index_fits
from index.documents import Document
from index.encoders import Encoder, ProgressCallback
from index.lexical import TOKENIZER_ID, LexicalIndex
from index.passages import MAX_PASSAGE_CHARS, SPLITTER_VERSION, Passage, Sentence, split_document
from index.sources import SourceRecord
from index.store import FORMAT_VERSION, DocumentRecord, Manifest, PassageIndex


@dataclass(frozen=True)
class BuildChanges:
    """What an incremental build did, by document."""

    added: int
    changed: int
    removed: int
    unchanged: int
    embedded_texts: int
    """Passages and sentences embedded (the rest reused the previous index's vectors)."""


def build_index(
    documents: list[Document],
    encoder: Encoder,
    progress: ProgressCallback | None = None,
    max_passage_chars: int = MAX_PASSAGE_CHARS,
    reference_vectors: np.ndarray | None = None,
    previous: PassageIndex | None = None,
    vector_index_kind: str | None = None,
    sources: tuple[SourceRecord, ...] = (),
) -> PassageIndex:
    """Split and embed `documents` into an in-memory index (see `save_index`).

    With `previous` (an index of the same model and splitter), documents whose content hash is
    unchanged reuse its vectors: only new and changed documents are embedded.
    """
    return build_index_incrementally(
        documents, encoder, progress, max_passage_chars, reference_vectors, previous, vector_index_kind, sources
    )[0]


def build_index_incrementally(
    documents: list[Document],
    encoder: Encoder,
    progress: ProgressCallback | None = None,
    max_passage_chars: int = MAX_PASSAGE_CHARS,
    reference_vectors: np.ndarray | None = None,
    previous: PassageIndex | None = None,
    vector_index_kind: str | None = None,
    sources: tuple[SourceRecord, ...] = (),
    searchable: bool = True,
) -> tuple[PassageIndex, BuildChanges]:
    """`build_index`, also saying which documents were added, changed, removed or reused.
    `vector_index_kind` overrides the FAISS index chosen by corpus size (index.ann);
    `sources` are recorded in the manifest (index.sources). Not `searchable`: the vectors
    only (in `exact_passage_vectors`), without a FAISS or BM25 index, for a store that
    searches them itself (index.postgres)."""
    if reference_vectors is None:
        reference_vectors = np.zeros((0, encoder.dimension), dtype=np.float32)

    started = time.perf_counter()
    reusable = (
        previous.reusable_vectors(encoder.model_id, encoder.dimension, max_passage_chars, SPLITTER_VERSION)
        if previous is not None else {}
    )
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    # Per document, in order: its reused (passage, sentence) vectors, or None to embed it.
    plan: list[tuple[np.ndarray, np.ndarray] | None] = []
    counts: list[tuple[int, int]] = []  # passages and sentences of each document to embed
    passage_counts: list[int] = []
    new_passages: list[Passage] = []
    new_sentences: list[Sentence] = []
    added = changed = unchanged = 0
    for document in documents:
        doc_sentences, doc_passages = split_document(
            document, len(sentences), len(passages), max_passage_chars
        )
        sentences.extend(doc_sentences)
        passages.extend(doc_passages)
        passage_counts.append(len(doc_passages))
        vectors = reusable.get((document.id, document.sha256))
        if vectors is not None and len(vectors[0]) == len(doc_passages) and len(vectors[1]) == len(doc_sentences):
            unchanged += 1
            plan.append(vectors)
            continue
        if previous is not None and document.id in previous.documents:
            changed += 1
        else:
            added += 1
        plan.append(None)
        counts.append((len(doc_passages), len(doc_sentences)))
        new_passages.extend(doc_passages)
        new_sentences.extend(doc_sentences)
    if vector_index_kind and passages:  # a forced kind that cannot hold them fails before embedding
        check_index_fits(vector_index_kind, len(passages))
    texts = [p.retrieval_text for p in new_passages] + [s.text for s in new_sentences]

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress(f"embedding {len(new_passages)} passages and {len(new_sentences)} sentences", fraction)

    dimension = encoder.dimension
    fresh = encoder.encode_passages(texts, progress=report) if texts else np.zeros((0, dimension), dtype=np.float32)
    fresh_passages, fresh_sentences = fresh[: len(new_passages)], fresh[len(new_passages) :]
    passage_parts, sentence_parts = [np.zeros((0, dimension), dtype=np.float32)], [np.zeros((0, dimension), dtype=np.float32)]
    p_cursor = s_cursor = 0
    embedded = iter(counts)
    for vectors in plan:
        if vectors is None:
            n_passages, n_sentences = next(embedded)
            vectors = (fresh_passages[p_cursor : p_cursor + n_passages], fresh_sentences[s_cursor : s_cursor + n_sentences])
            p_cursor += n_passages
            s_cursor += n_sentences
        passage_parts.append(vectors[0])
        sentence_parts.append(vectors[1])
    passage_vectors = np.ascontiguousarray(np.concatenate(passage_parts), dtype=np.float32)
    # Stored as float16 (see PassageIndex.sentence_vectors); rounded here so that a fresh index
    # answers exactly as the saved one will.
    sentence_vectors = np.ascontiguousarray(np.concatenate(sentence_parts), dtype=np.float16)
    if not searchable:
        vector_index, spec = None, VectorIndexSpec("none", "")
    elif len(passage_vectors):
        vector_index, spec = build_vector_index(passage_vectors, vector_index_kind)
    else:  # nothing to search; an empty exact index keeps the shape
        vector_index, spec = build_vector_index(np.zeros((0, dimension), dtype=np.float32), "flat")
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=encoder.model_id,
        dimension=encoder.dimension,
        engine=encoder.engine,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        build_seconds=round(time.perf_counter() - started, 3),
        max_passage_chars=max_passage_chars,
        splitter=SPLITTER_VERSION,
        faiss_index="IndexFlatIP" if spec.kind == "flat" else spec.factory,
        lexical_index=f"bm25s {TOKENIZER_ID}",
        passage_count=len(passages),
        sentence_count=len(sentences),
        reference_count=len(reference_vectors),
        documents=tuple(
            DocumentRecord(d.id, d.sha256, d.size, str(d.path), d.encoding, d.source, n)
            for d, n in zip(documents, passage_counts)
        ),
        vector_index=asdict(spec),
        sources=sources,
    )
    index = PassageIndex(
        manifest, {d.id: d for d in documents}, sentences, passages, vector_index, sentence_vectors,
        np.ascontiguousarray(reference_vectors, dtype=np.float32),
        LexicalIndex.build([p.retrieval_text for p in passages]) if searchable else LexicalIndex.build([]),
        None if spec.kind == "flat" else passage_vectors.astype(np.float16) if searchable else passage_vectors,
    )
    current = {d.id for d in documents}
    removed = sum(1 for doc_id in (previous.documents if previous else {}) if doc_id not in current)
    return index, BuildChanges(added, changed, removed, unchanged, len(texts))
