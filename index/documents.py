"""Loading documents: files and folders of text, Markdown, HTML and PDF, decoded and converted
to plain text, with stable ids and hashes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from index.errors import DocumentError
from index.formats import SUPPORTED_SUFFIXES, extract_binary, extract_text, is_binary_format
from index.source_map import BLOCK_KINDS, SourceMap, TextBlock

DEFAULT_MAX_DOCUMENT_BYTES = 20_000_000
"""Files above this are refused (configurable: QA_MAX_DOCUMENT_MB)."""
# Encodings tried, in order, after UTF-8 fails. charset-normalizer picks among all of them
# first; these are the fallbacks it may not rank well on short Chinese texts.
CHINESE_ENCODINGS = ("gb18030", "big5")


@dataclass(frozen=True)
class Document:
    id: str
    """Stable id: the path relative to the indexed root, with '/' separators."""
    text: str
    """Decoded text with newlines normalised to '\\n'; every offset in the project indexes this.
    For Markdown, HTML and PDF files, the plain text extracted from the file."""
    sha256: str
    """Hex digest of `text` encoded as UTF-8 (independent of the file's encoding)."""
    path: Path
    """Where the document was read from."""
    encoding: str
    """The encoding the file was decoded with (`pdf` for a PDF, whose text is extracted)."""
    source_text: str | None = None
    """Markdown and HTML: the file's decoded text (newlines normalised), which `text` was
    extracted from. None when `text` is the file's text (.txt) or the file is binary (PDF)."""
    source_map: SourceMap | None = None
    """Converted formats: where each part of `text` comes from in `source_text`, and for a PDF
    where its pages start. None for plain text."""
    blocks: tuple[TextBlock, ...] = ()
    """Markdown and HTML: headings, table rows, code blocks and lists of `text`, which the
    splitter reads as structure (index.sections); empty for plain text and PDF."""
    source: str = ""
    """Absolute path of the indexed file or folder (index.sources) this document was found
    under; empty until the document belongs to an index."""

    @property
    def size(self) -> int:
        """Length of `text` in characters."""
        return len(self.text)

    def source_span(self, start: int, end: int) -> tuple[int, int] | None:
        """Where text[start:end] is in the file's decoded text (half-open character offsets):
        the same span for plain text; None for a PDF (no character positions)."""
        if self.source_map is None:
            return (start, end) if start < end else None
        return self.source_map.source_span(start, end)

    def line_span(self, start: int, end: int) -> tuple[int, int] | None:
        """First and last line (1-based, inclusive) of the file that text[start:end] comes
        from; None for a PDF."""
        span = self.source_span(start, end)
        source = self.text if self.source_map is None else self.source_text
        if span is None or source is None:
            return None
        first = source.count("\n", 0, span[0]) + 1
        return first, first + source.count("\n", span[0], max(span[0], span[1] - 1))

    def page_at(self, offset: int) -> int | None:
        """1-based page of the character at `offset` (PDF only, else None)."""
        return None if self.source_map is None else self.source_map.page_at(offset)


def source_fields(document: Document) -> dict[str, Any]:
    """The optional fields a converted document adds to its documents.jsonl row."""
    fields: dict[str, Any] = {}
    if document.source_text is not None:
        fields["source_text"] = document.source_text
    if document.source_map is not None:
        fields["source_map"] = document.source_map.to_json()
    if document.blocks:
        fields["blocks"] = [[b.start, b.end, b.kind] for b in document.blocks]
    return fields


def with_source_fields(document: Document, row: dict[str, Any]) -> Document:
    """`document` with the optional fields of its documents.jsonl row (see `source_fields`),
    checked; raise ValueError when they do not fit its text."""
    source_text = row.get("source_text")
    if source_text is not None and not isinstance(source_text, str):
        raise ValueError(f"source text of {document.id} is not text")
    blocks = tuple(TextBlock(int(start), int(end), str(kind)) for start, end, kind in row.get("blocks") or ())
    if any(not 0 <= b.start < b.end <= len(document.text) or b.kind not in BLOCK_KINDS for b in blocks):
        raise ValueError(f"structure of {document.id} does not fit its text")
    document = replace(document, blocks=blocks)
    if row.get("source_map") is None:
        return replace(document, source_text=source_text) if source_text is not None else document
    source_map = SourceMap.from_json(
        row["source_map"], len(document.text), None if source_text is None else len(source_text)
    )
    return replace(document, source_text=source_text, source_map=source_map)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode file bytes to text; return (text, encoding). Raise DocumentError when not text."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8", name), "utf-8-sig"
    if b"\x00" in data:
        raise DocumentError(f"{name}: binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "utf_16", "cp1252"]).best()
    candidates = [best.encoding] if best is not None else []
    candidates += [e for e in CHINESE_ENCODINGS if e not in candidates]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_like_text(text):
            return text, encoding
    raise DocumentError(
        f"{name}: cannot decode as UTF-8, GB18030/GBK or Big5 (binary or unknown encoding)"
    )


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise DocumentError(f"{name}: invalid {encoding} at byte {error.start}") from None


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    return controls / len(text) < 0.01


def load_document(path: Path, root: Path | None = None) -> Document:
    """Read one file. Its id is its path relative to `root` (or its name when no root)."""
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DocumentError(f"{name}: is a directory") from None
    except OSError as error:
        raise DocumentError(f"{name}: cannot read ({error.strerror})") from None
    source_text: str | None = None
    if is_binary_format(path.suffix):
        extracted = extract_binary(data, path.suffix, name)
        encoding = "pdf"
    else:
        source_text, encoding = decode_bytes(data, name)
        source_text = normalise_newlines(source_text)
        extracted = extract_text(source_text, path.suffix, name)
    if extracted is None:
        text, source_text, source_map, blocks = source_text, None, None, ()
    else:
        text, source_map, blocks = extracted.text, extracted.source_map, extracted.blocks
    doc_id = path.relative_to(root).as_posix() if root is not None else path.name
    return Document(
        id=doc_id,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=path,
        encoding=encoding,
        source_text=source_text,
        source_map=source_map,
        blocks=blocks,
    )


def check_document_path(path: Path) -> None:
    """Raise DocumentError unless `path` is a folder or a file of a kind qa reads."""
    if path.is_dir():
        return
    if not path.is_file():
        raise DocumentError(f"{path}: no such file or directory")
    if not path.name.lower().endswith(SUPPORTED_SUFFIXES):
        raise DocumentError(f"{path}: not a document qa reads (.txt, .md, .markdown, .html, .htm, .pdf)")


def find_document_files(path: Path) -> list[Path]:
    """The supported files under `path` (itself if a file), recursively, sorted by path."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DocumentError(f"{path}: no such file or directory")
    found: list[Path] = []
    # followlinks=False: a symlinked folder loop cannot make the walk endless.
    for folder, subfolders, files in os.walk(path, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for file_name in files:
            if file_name.startswith(".") or not file_name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            found.append(Path(folder) / file_name)
    return sorted(found)


def load_documents(
    paths: list[Path],
    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    warn: Callable[[str], None] | None = None,
) -> list[Document]:
    """Load every supported document under `paths` (see `load_source`).

    Ids are relative to the common root: for `qa index seeds/` the seed gets `seeds/<name>`
    when run from the repository, i.e. paths relative to the current directory when the
    document lies below it, else relative to the given folder's parent.
    """
    documents: list[Document] = []
    seen: set[str] = set()
    for path in paths:
        for document in load_source(path, _id_root(path), max_bytes, warn):
            if document.id not in seen:
                seen.add(document.id)
                documents.append(document)
    if not documents:
        raise DocumentError("no documents with text to index")
    return documents


def load_source(
    path: Path,
    root: Path,
    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    warn: Callable[[str], None] | None = None,
    source: str = "",
) -> list[Document]:
    """The documents of one file or folder, with ids relative to `root`.

    A file named explicitly must be a document of a supported kind and load, or it is an
    error. Inside a folder, files that cannot be used (unreadable, binary, undecodable, larger
    than `max_bytes`, no text) are skipped and reported through `warn`, so one bad file does
    not stop a folder from being indexed.
    """
    check_document_path(path)
    files = find_document_files(path)
    if not files and path.is_dir():
        raise DocumentError(f"{path}: no .txt, .md, .html or .pdf files in this folder")
    explicit = path.is_file()
    documents = []
    for file_path in files:
        try:
            document = _load_checked(Path(os.path.abspath(file_path)), root, max_bytes)
        except DocumentError as error:
            if explicit:
                raise
            if warn:
                warn(f"skipped {error}")
            continue
        documents.append(replace(document, source=source) if source else document)
    return documents


def _load_checked(path: Path, root: Path, max_bytes: int) -> Document:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise DocumentError(f"{path}: cannot read ({error.strerror})") from None
    if size > max_bytes:
        raise DocumentError(
            f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (QA_MAX_DOCUMENT_MB)"
        )
    document = load_document(path, root)
    if not document.text.strip():
        raise DocumentError(f"{path}: no text (empty or only whitespace)")
    return document


def _id_root(path: Path) -> Path:
    absolute = Path(os.path.abspath(path))
    cwd = Path(os.path.abspath(Path.cwd()))
    if absolute == cwd or cwd in absolute.parents:
        return cwd
    return absolute.parent
