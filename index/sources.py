"""An index is a set of sources: the files and folders it was asked to index.

`qa index PATH...` adds or refreshes those paths and keeps every other source's documents; a
path inside a known folder refreshes that part of the folder; a new folder that contains
known sources takes them over. `qa index` alone refreshes every source, and `--remove PATH`
drops one. Planning is pure: `plan_update` says what to keep and what to read; the caller
reads, and `merge_documents` puts the two together.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

from index.documents import Document
from index.errors import UsageError


@dataclass(frozen=True)
class SourceRecord:
    path: str
    """Absolute path of the file or folder, as it was indexed."""
    root: str
    """Absolute folder that the ids of its documents are relative to (kept, so that a
    refresh from another working directory gives the same ids)."""
    indexed_at: str
    """UTC time it was last read, ISO 8601."""


@dataclass(frozen=True)
class SourceRead:
    """One path to read for a build, and the source its documents belong to."""

    path: Path
    root: Path
    source: str


@dataclass(frozen=True)
class SourcePlan:
    kept: tuple[Document, ...]
    """Documents of the previous index that stay as they are."""
    reads: tuple[SourceRead, ...]
    sources: tuple[SourceRecord, ...]
    """The sources of the index after the build, in the order they were first indexed."""
    missing: tuple[str, ...]
    """Known sources whose path is gone: their documents are kept, not dropped."""
    removed: tuple[str, ...]
    """Sources dropped on request."""


def absolute(path: Path | str) -> str:
    """An absolute, normalised path (symlinks not resolved: the path the user named)."""
    return os.path.abspath(os.path.expanduser(str(path)))


def id_root(path: str) -> str:
    """Where a new source's document ids start: the working directory when the path lies
    inside it (ids like `seeds/a.txt`), else the path's parent folder."""
    cwd = os.path.abspath(os.getcwd())
    return cwd if path == cwd or _inside(path, cwd) else os.path.dirname(path)


def legacy_sources(documents: dict[str, Document], built_at: str) -> tuple[SourceRecord, ...]:
    """Sources for an index from before sources were recorded: each document is its own."""
    records = []
    for document in documents.values():
        path = absolute(document.path)
        parts = len(PurePosixPath(document.id).parts)
        root = path
        for _ in range(parts):
            root = os.path.dirname(root)
        records.append(SourceRecord(path, root, built_at))
    return tuple(records)


def plan_update(
    sources: tuple[SourceRecord, ...],
    documents: dict[str, Document],
    add: list[Path],
    remove: list[Path],
    now: str,
) -> SourcePlan:
    """What a build keeps and reads: `remove` first, then `add`; with neither, every source is
    refreshed. `documents` are the previous index's, each with its `source`."""
    by_path = {s.path: s for s in sources}
    removed = []
    for path in remove:
        wanted = absolute(path)
        if wanted not in by_path:
            raise UsageError(f"{path} is not an indexed source; `qa sources` lists them")
        removed.append(by_path.pop(wanted).path)
    kept = {d.id: d for d in documents.values() if d.source in by_path}
    reads: list[SourceRead] = []
    missing: list[str] = []
    if not add and not remove:
        for source in by_path.values():
            if not os.path.exists(source.path):
                missing.append(source.path)
                continue
            by_path[source.path] = replace(source, indexed_at=now)
            reads.append(SourceRead(Path(source.path), Path(source.root), source.path))
            kept = {i: d for i, d in kept.items() if d.source != source.path}
    for path in add:
        wanted = absolute(path)
        owner = next((s for s in by_path.values() if wanted == s.path or _inside(wanted, s.path)), None)
        if owner is not None:  # part of a known source: refresh that part
            by_path[owner.path] = replace(owner, indexed_at=now)
            reads.append(SourceRead(Path(wanted), Path(owner.root), owner.path))
            kept = {i: d for i, d in kept.items() if not (d.source == owner.path and _covers(wanted, d))}
            continue
        absorbed = [s.path for s in by_path.values() if _inside(s.path, wanted)]
        for inner in absorbed:
            del by_path[inner]
        kept = {i: d for i, d in kept.items() if d.source not in absorbed}
        by_path[wanted] = SourceRecord(wanted, id_root(wanted), now)
        reads.append(SourceRead(Path(wanted), Path(by_path[wanted].root), wanted))
    # by_path keeps insertion order: known sources first as they were, new ones after.
    return SourcePlan(tuple(kept.values()), tuple(reads), tuple(by_path.values()), tuple(missing), tuple(removed))


def merge_documents(kept: tuple[Document, ...], loaded: list[Document]) -> list[Document]:
    """The build's documents: kept ones first, then the loaded ones. A loaded document whose
    id another source's document already has gets its absolute path as id instead."""
    documents = {d.id: d for d in kept}
    for document in loaded:
        if document.id in documents and documents[document.id].source != document.source:
            document = replace(document, id=Path(absolute(document.path)).as_posix())
        documents[document.id] = document
    return list(documents.values())


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _covers(path: str, document: Document) -> bool:
    where = absolute(document.path)
    return where == path or _inside(where, path)


@dataclass(frozen=True)
class SourceSummary:
    """One source as `qa sources` lists it."""

    path: str
    documents: int
    passages: int
    indexed_at: str
    exists: bool
    """Whether the path is still there (a gone source keeps its documents)."""

    def to_json(self) -> dict:
        return asdict(self)


def summarize_sources(sources: tuple[SourceRecord, ...], documents: tuple) -> list[SourceSummary]:
    """Per source: its documents and passages, from a manifest's document records (anything
    with `source`, `path` and `passages`)."""
    counts = {s.path: [0, 0] for s in sources}
    for record in documents:
        count = counts.get(record.source or absolute(record.path))
        if count is not None:
            count[0] += 1
            count[1] += record.passages
    return [SourceSummary(s.path, *counts[s.path], s.indexed_at, os.path.exists(s.path)) for s in sources]
