"""The one place that assembles settings, encoders, the index and the answerer."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from index.documents import Document, load_documents, load_source
from index.encoders import DEFAULT_MODEL_ID, Encoder, ProgressCallback, load_encoder
from index.errors import DocumentError, IndexStoreError, UsageError
from index.build import BuildChanges
from index.passages import SPLITTER_VERSION
from index.sources import merge_documents, plan_update
from index.store import FORMAT_VERSION, Manifest, index_exists, load_index
from index.stores import SearchableIndex, open_store
from qa.answerer import Answerer
from qa.preflight import DEFAULT_DOCUMENTS, require_documents
from qa.reading.types import Reader
from qa.reference import reference_vectors
from qa.retrieval import Retriever
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.reading.reader import PassageReader


@dataclass(frozen=True)
class IndexReport:
    changes: BuildChanges
    documents: int
    passages: int
    sentences: int
    characters: int
    seconds: float
    location: str
    """The index directory, or the PostgreSQL store (without its password)."""
    model_id: str
    engine: str
    vector_index: str
    """The FAISS index kind built (index.ann)."""
    removed_sources: tuple[str, ...] = ()


def index_documents(
    settings: Settings,
    paths: list[Path],
    progress: ProgressCallback | None = None,
    warn: Callable[[str], None] | None = None,
    rebuild: bool = False,
    remove: list[Path] | None = None,
) -> IndexReport:
    """Add or refresh `paths` in the index in `settings.index_dir`, keeping every other
    source's documents, after dropping the sources in `remove`; with neither, refresh every
    source (the first time: ./seeds). Documents whose content is unchanged reuse their vectors
    unless `rebuild`. Nothing is written unless every named path loads."""
    started = time.perf_counter()
    model_id = settings.model or DEFAULT_MODEL_ID
    max_bytes = int(settings.max_document_mb * 1e6)
    # Lazy: when every document is unchanged, nothing is embedded and the model never loads.
    encoder = load_encoder(
        model_id, settings.engine, settings.cache_dir, for_queries=False, progress=progress, lazy=True
    )
    background = reference_vectors(encoder, settings.cache_dir, progress)

    store = open_store(settings.store, settings.index_dir)
    with store.writing(_waiting_notice(store.location, warn)) as writer:
        previous = writer.previous()
        if previous is None and store.exists() and warn:
            warn(f"the index in {store.location} cannot be read; building it from the paths given")
        known = previous.manifest.index_sources() if previous else ()
        if not paths and not remove and previous is None:
            if not DEFAULT_DOCUMENTS.is_dir():
                raise UsageError("nothing is indexed yet; name the files or folders: `qa index PATH...`")
            paths = [DEFAULT_DOCUMENTS]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        plan = plan_update(known, previous.documents if previous else {}, paths, list(remove or []), now)
        loaded: list[Document] = []
        for read in plan.reads:
            try:
                loaded += load_source(read.path, read.root, max_bytes, warn, source=read.source)
            except DocumentError as error:
                if paths:  # a path the user named must load
                    raise
                if warn:
                    warn(f"kept {read.source} as it was: {error}")
                loaded += [d for d in previous.documents.values() if d.source == read.source]
        if warn:
            for path in plan.missing:
                warn(f"{path} is gone; its documents stay indexed until `qa index --remove {path}`")
        documents = merge_documents(plan.kept, loaded)
        kind = None if settings.vector_index == "auto" else settings.vector_index
        result = writer.write(documents, encoder, progress, background, rebuild, kind, plan.sources)
    return IndexReport(
        changes=result.changes,
        documents=len(documents),
        passages=result.passages,
        sentences=result.sentences,
        characters=sum(d.size for d in documents),
        seconds=time.perf_counter() - started,
        location=store.location,
        model_id=encoder.model_id,
        engine=encoder.engine,
        vector_index=result.vector_index,
        removed_sources=plan.removed,
    )


def _waiting_notice(location: str, warn: Callable[[str], None] | None) -> Callable[[], None]:
    """What a writer says when another one holds the store (IndexStore.writing's on_wait)."""

    def waiting() -> None:
        if warn:
            warn(f"another `qa index` is writing {location}; waiting for it to finish")

    return waiting


def copy_directory_index(
    settings: Settings, source_dir: Path, replace_existing: bool = False, warn: Callable[[str], None] | None = None
) -> tuple[Manifest, str]:
    """Copy the FAISS directory index in `source_dir`, vectors included (nothing is embedded
    again), into the PostgreSQL store `settings.store`, in one transaction; a store that
    already holds an index is replaced only with `replace_existing`. Returns the new manifest
    and the store's location (without its password)."""
    if not settings.store:
        raise UsageError("copy-index writes into a PostgreSQL store: give --store postgresql://... (or set QA_STORE)")
    if not index_exists(source_dir):
        raise IndexStoreError(f"no index in {source_dir} to copy; build one with `qa index --index-dir {source_dir} PATH...`")
    index = load_index(source_dir)
    store = open_store(settings.store, settings.index_dir)

    with store.writing(_waiting_notice(store.location, warn)) as writer:
        if store.exists() and not replace_existing:
            held = store.read_manifest()
            raise UsageError(
                f"{store.location} already holds an index ({len(held.documents)} documents, "
                f"{held.passage_count} passages); add --replace to overwrite it"
            )
        return writer.copy_index(index), store.location


def open_index(settings: Settings, progress: ProgressCallback | None = None) -> SearchableIndex:
    """Open the index; on first use with no index, build one from ./seeds."""
    store = open_store(settings.store, settings.index_dir)
    if not store.exists():
        if not DEFAULT_DOCUMENTS.is_dir():
            raise IndexStoreError(f"no index in {store.location}; build one with `qa index PATH`")
        stage = f"no index yet: indexing ./{DEFAULT_DOCUMENTS} into {store.location}"
        if progress:
            progress(stage, 0.0)
        index_documents(settings, [DEFAULT_DOCUMENTS], progress)
        if progress:
            progress(stage, 1.0)
    manifest = store.read_manifest()
    require_documents(store.location, manifest)
    if settings.model and settings.model != manifest.model_id:
        raise IndexStoreError(
            f"the index was built with {manifest.model_id}, not {settings.model}; "
            f"rebuild it with `qa index --model {settings.model} PATH...` or drop --model"
        )
    return store.open()


def read_index_manifest(settings: Settings) -> Manifest:
    """The manifest of the settings' index (its model, documents and sources), without loading
    vectors."""
    return open_store(settings.store, settings.index_dir).read_manifest()


def open_query_encoder(settings: Settings, index: SearchableIndex, progress: ProgressCallback | None = None) -> Encoder:
    encoder = load_encoder(
        index.manifest.model_id, settings.engine, settings.cache_dir, for_queries=True, progress=progress
    )
    if encoder.dimension != index.manifest.dimension:
        raise IndexStoreError(
            f"model {encoder.model_id} gives {encoder.dimension}-dim vectors, the index holds "
            f"{index.manifest.dimension}-dim ones; rebuild it with `qa index PATH...`"
        )
    return encoder


def open_span_reader(settings: Settings, progress: ProgressCallback | None = None) -> PassageReader | None:
    """The trained span reader (exported to OpenVINO on first use), loading in the background;
    None for the heuristic reader, which has none."""
    if settings.reader == "heuristic":
        return None
    from index.encoders import ensure_default_model
    from qa.reading.reader import load_span_reader

    return load_span_reader(ensure_default_model(settings.cache_dir, progress), settings.cache_dir, progress)


def open_reader(
    settings: Settings, index: SearchableIndex, progress: ProgressCallback | None = None,
    span_reader: PassageReader | None = None,
) -> Reader:
    """The trained reader over `span_reader` (opened here when not given), or the heuristic one."""
    if settings.reader == "heuristic":
        from qa.reading.heuristic import HeuristicReader

        return HeuristicReader(index)
    from qa.reading.reader import load_calibration
    from qa.reading.trained import TrainedReader

    return TrainedReader(index, span_reader or open_span_reader(settings, progress), load_calibration())


def build_answerer(
    settings: Settings, index: SearchableIndex, progress: ProgressCallback | None = None,
    span_reader: PassageReader | None = None,
) -> Answerer:
    retriever = Retriever(index, open_query_encoder(settings, index, progress), settings.retriever)
    return Answerer(index, retriever, open_reader(settings, index, progress, span_reader))


def open_answerer(settings: Settings, progress: ProgressCallback | None = None) -> Answerer:
    if settings.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    # The reader loads on background threads while the index opens (qa/reading/reader.py).
    span_reader = open_span_reader(settings, progress)
    return build_answerer(settings, open_index(settings, progress), progress, span_reader)


def open_evaluation(
    settings: Settings, document_paths: list[Path], progress: ProgressCallback | None = None
) -> tuple[Answerer, dict[str, Document]]:
    """An answerer over exactly `document_paths`, with an index of its own kept in the cache
    (keyed by model and document contents, so the user's index is left alone)."""
    documents = load_documents(document_paths, int(settings.max_document_mb * 1e6))
    model_id = settings.model or DEFAULT_MODEL_ID
    key = hashlib.sha256(
        "\n".join([str(FORMAT_VERSION), str(SPLITTER_VERSION), model_id, *(f"{d.id}:{d.sha256}" for d in documents)]).encode("utf-8")
    ).hexdigest()[:20]
    eval_settings = replace(settings, index_dir=settings.cache_dir / "eval-indexes" / key, store=None)
    if not index_exists(eval_settings.index_dir):
        index_documents(eval_settings, document_paths, progress)
    try:
        index = load_index(eval_settings.index_dir)
    except IndexStoreError:  # a damaged cache entry is rebuilt, not reported
        index_documents(eval_settings, document_paths, progress)
        index = load_index(eval_settings.index_dir)
    return build_answerer(eval_settings, index, progress), {d.id: d for d in documents}
