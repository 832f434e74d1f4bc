"""Checks that answer at once, before a full-screen UI opens: do the named paths exist and can
they be indexed, is the index there and readable. Loads no model and no index."""

from __future__ import annotations

from pathlib import Path

from index.documents import check_document_path
from index.errors import IndexStoreError
from index.stores import open_store
from qa.settings import Settings

DEFAULT_DOCUMENTS = Path("seeds")


def check_chat_arguments(settings: Settings, paths: list[Path]) -> None:
    """Raise the error `qa index PATH...` / `open_index` would raise later, now."""
    for path in paths:
        check_document_path(path)
    store = open_store(settings.store, settings.index_dir)
    if not store.exists():
        if not paths and not DEFAULT_DOCUMENTS.is_dir():
            raise IndexStoreError(f"no index in {store.location}; build one with `qa index PATH` or start `qa chat PATH...`")
        return
    if not paths:
        require_documents(store.location, store.read_manifest())


def require_documents(index_dir: Path | str, manifest) -> None:
    """Raise unless the index (its manifest) holds documents to answer from."""
    if not manifest.documents:
        raise IndexStoreError(f"the index in {index_dir} holds no documents; add some with `qa index PATH...`")
