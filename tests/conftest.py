"""Shared fixtures: tests never touch the user's cache or data directories, and most run on
a tiny deterministic fake encoder instead of the real model."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO / "seeds"
SEED_ARTICLE = SEED_DIR / "xiaomi-lei-jun-traffic-carmaking.txt"


class FakeEncoder:
    """Hashes character bigrams into a small vector: texts sharing words are similar."""

    engine = "fake"
    model_id = "fake/hashed-bigrams"
    dimension = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        padded = f" {text.lower()} "
        for k in range(len(padded) - 1):
            digest = hashlib.blake2b(padded[k : k + 2].encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        self.calls.append(len(texts))
        if progress:
            progress("embedding", 1.0)
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dimension)


def make_answerer(index, policy=None, retriever: str = "hybrid", encoder=None, reader=None):
    """An answerer over `index` with the fake encoder and the heuristic reader (with
    `policy`), or `reader` when given: the parts the factory would build, injected."""
    from qa.answerer import Answerer
    from qa.reading.heuristic import HeuristicReader
    from qa.retrieval import Retriever

    return Answerer(index, Retriever(index, encoder or FakeEncoder(), retriever), reader or HeuristicReader(index, policy))


def evaluate_gold_set(gold_path: Path, cache_dir: Path):
    """The shipped model and reader over the documents a gold set names (relative to the
    repository, the working directory), and its report: (answerer, documents, report)."""
    from qa.evaluate import evaluate
    from qa.factory import open_evaluation
    from qa.gold import load_gold
    from qa.settings import Settings

    questions = load_gold(gold_path)
    answerer, documents = open_evaluation(Settings.from_env(cache_dir=cache_dir), sorted({REPO / q.doc for q in questions}))
    return answerer, documents, evaluate(answerer, questions, documents)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Point the index and model cache away from the user's directories."""
    base = tmp_path_factory.mktemp("qa-home")
    monkeypatch.setenv("QA_INDEX_DIR", str(base / "index"))
    monkeypatch.setenv("QA_DATA_DIR", str(base / "data"))
    monkeypatch.delenv("QA_EXPORTS_DIR", raising=False)
    monkeypatch.setenv("QA_CACHE_DIR", os.environ.get("QA_TEST_CACHE_DIR") or str(base / "cache"))
    for name in ("QA_MODEL", "QA_ENGINE", "QA_TOP_K", "QA_RETRIEVER", "QA_READER", "QA_STORE", "QA_SERVE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return base


@pytest.fixture
def fake_encoder(monkeypatch) -> FakeEncoder:
    """Make the factory build and query indexes with the fake encoder, with no background
    corpus (so the abstention margin is the plain cosine)."""
    encoder = FakeEncoder()
    monkeypatch.setenv("QA_READER", "heuristic")  # the trained reader needs the real model
    monkeypatch.setattr("qa.factory.load_encoder", lambda *args, **kwargs: encoder)
    monkeypatch.setattr(
        "qa.factory.reference_vectors",
        lambda encoder, *args, **kwargs: np.zeros((0, encoder.dimension), dtype=np.float32),
    )
    return encoder


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory) -> Path:
    """Where the real default model is converted: once per test session, or reused from
    QA_TEST_CACHE_DIR (developers set it to skip the ~20 s conversion)."""
    given = os.environ.get("QA_TEST_CACHE_DIR")
    return Path(given) if given else tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL 16 with pgvector (the pgserver wheel), started once per session."""
    pgserver = pytest.importorskip("pgserver", reason="the pgserver wheel is a test dependency")
    server = pgserver.get_server(tmp_path_factory.mktemp("postgres"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """The URL of a fresh, empty database on the session's server."""
    import uuid

    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    base = postgres_server.get_uri()
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return base.replace("/postgres?", f"/{name}?", 1)
