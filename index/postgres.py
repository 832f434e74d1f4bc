"""The index in PostgreSQL with pgvector (index.stores.IndexStore), for `--store postgresql://...`.

One database holds one index, in the schema `citeqa`:

    meta(key, value jsonb)        'schema' {"version"}, 'manifest' (index.store.Manifest),
                                  'lexical' {"passages", "total_length"} (BM25 statistics)
    reference_vectors(id, embedding)
    documents(id, sha256, text, fields, record)       fields: the source map (index.documents)
    sentences(id, doc_id, start, end, embedding)
    passages(id, doc_id, start, end, sentence_ids, context, embedding)    HNSW on embedding
    postings(term, passage_id, tf, length)            BM25 over index.lexical's tokens

Ids come from sequences and are never reused, so a passage or sentence read once can be
cached for good. A write embeds what changed first, then applies the change in one
transaction under an advisory lock: readers (each answer in one REPEATABLE READ READ ONLY
transaction: `PostgresIndex.reading`) see the old index or the new one, a second writer waits,
and a writer killed mid-write leaves the previous index as it was. Searches run in the
database: the HNSW graph proposes candidates, their exact (float32) inner products order
them (index.pgvector_ann); BM25 is computed from the postings exactly as bm25s scores
(method "lucene", k1 1.5, b 0.75), so hybrid retrieval matches the FAISS directory's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from index import pgvector_ann
from index.ann import VectorIndexSpec
from index.build import BuildChanges, build_index_incrementally
from index.documents import Document, source_fields, with_source_fields
from index.errors import IndexStoreError
from index.lexical import TOKENIZER_ID, lexical_tokens
from index.passages import MAX_PASSAGE_CHARS, SPLITTER_VERSION, Passage, Sentence
from index.sources import SourceRecord
from index.store import DocumentRecord, Manifest, _record_document, manifest_from_json
from index.stores import StoredDocuments, WriteResult

SCHEMA = "citeqa"
SCHEMA_VERSION = 1
LOCK_KEY = 7_316_525_101
"""pg_advisory_lock key that serializes writers of one database's index."""
BM25_K1 = 1.5
BM25_B = 0.75
"""bm25s's defaults (index.lexical builds with them); the scores below are its "lucene" ones."""
CACHE_SIZE = 20_000
VECTOR_KIND = "pgvector-hnsw"
REBUILD = "rebuild it with `qa index --store URL PATH...`"


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://..."
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    secret = ":***" if parts.password else ""
    return urlunsplit(parts._replace(netloc=f"{user}{secret}@{netloc}"))


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.location = redact(url)

    def connect(self) -> Any:
        """A connection with pgvector's types registered (IndexStoreError when impossible)."""
        import psycopg

        try:
            connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            raise IndexStoreError(f"cannot connect to PostgreSQL at {self.location}: {self._reason(error)}") from None
        except Exception as error:  # noqa: BLE001 - a malformed URL raises ProgrammingError or ValueError
            raise IndexStoreError(f"cannot connect to PostgreSQL at {self.location}: {self._reason(error)}") from None
        try:
            from pgvector.psycopg import register_vector

            if not _has_extension(connection):
                connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(connection)
            # Unqualified names (index.pgvector_ann's) resolve in the index's schema first.
            connection.execute(f"SELECT set_config('search_path', '{SCHEMA}, ' || current_setting('search_path'), false)")
        except psycopg.Error as error:
            connection.close()
            raise IndexStoreError(f"PostgreSQL at {self.location} has no pgvector extension ({self._reason(error)})") from None
        return connection

    def _reason(self, error: BaseException) -> str:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        password = _password(self.url)
        return text.replace(password, "***") if password else text

    def exists(self) -> bool:
        with self.connect() as connection:
            return _meta(connection, "manifest") is not None

    def read_manifest(self) -> Manifest:
        with self.connect() as connection:
            return _read_manifest(connection, self.location)

    @contextmanager
    def writing(self, on_wait: Callable[[], None] | None = None) -> Iterator["PostgresWriter"]:
        connection = self.connect()
        try:
            if not connection.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                if on_wait:
                    on_wait()
                connection.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            yield PostgresWriter(connection, self)
        finally:
            connection.close()  # ends the session, which releases the lock

    def open(self) -> "PostgresIndex":
        connection = self.connect()
        try:
            return PostgresIndex(connection, self)
        except BaseException:
            connection.close()
            raise


class PostgresWriter:
    def __init__(self, connection: Any, store: PostgresStore) -> None:
        self.connection = connection
        self.store = store

    def previous(self) -> StoredDocuments | None:
        if _meta(self.connection, "manifest") is None:
            return None
        manifest = _read_manifest(self.connection, self.store.location)
        rows = self.connection.execute(f"SELECT id, text, fields FROM {SCHEMA}.documents").fetchall()
        texts = {row[0]: row for row in rows}
        documents = {}
        for record in manifest.documents:
            _, text, fields = texts[record.id]
            documents[record.id] = with_source_fields(_record_document(record, text), fields)
        return StoredDocuments(manifest, documents)

    def write(
        self,
        documents: list[Document],
        encoder: Any,
        progress: Any,
        reference_vectors: np.ndarray,
        rebuild: bool,
        vector_index_kind: str | None,
        sources: tuple[SourceRecord, ...],
    ) -> WriteResult:
        connection = self.connection
        previous = _read_manifest(connection, self.store.location) if _meta(connection, "manifest") else None
        stored: dict[str, str] = {}
        if previous is not None:
            stored = dict(connection.execute(f"SELECT id, sha256 FROM {SCHEMA}.documents").fetchall())
        same_build = previous is not None and (
            previous.model_id, previous.dimension, previous.max_passage_chars, previous.splitter
        ) == (encoder.model_id, encoder.dimension, MAX_PASSAGE_CHARS, SPLITTER_VERSION)
        full = rebuild or not same_build
        keep = set() if full else {d.id for d in documents if stored.get(d.id) == d.sha256}
        to_embed = [d for d in documents if d.id not in keep]
        started = time.perf_counter()
        delta, _ = build_index_incrementally(
            to_embed, encoder, progress=progress, reference_vectors=reference_vectors, searchable=False
        )
        gone = [] if full else [i for i in stored if i not in keep]
        manifest = self._commit(delta, documents, full, gone, sources, started)
        current = {d.id for d in documents}
        changes = BuildChanges(
            added=sum(1 for d in to_embed if d.id not in stored),
            changed=sum(1 for d in to_embed if d.id in stored),
            removed=sum(1 for i in stored if i not in current),
            unchanged=len(keep),
            embedded_texts=len(delta.passages) + len(delta.sentences),
        )
        spec = manifest.vector_index_spec
        kind = VECTOR_KIND if spec.ef_search != pgvector_ann.EXACT else f"{VECTOR_KIND} below its recall target: exact scan"
        return WriteResult(changes, manifest.passage_count, manifest.sentence_count, kind)

    def copy_index(self, index: Any) -> Manifest:
        """Replace the stored index by `index` (an index.store.PassageIndex, e.g. a FAISS
        directory's), with its vectors: nothing is embedded again."""
        vectors = index.passage_vectors(list(range(len(index.passages))))
        delta = replace(index, exact_passage_vectors=vectors)
        documents = [index.documents[r.id] for r in index.manifest.documents]
        return self._commit(delta, documents, True, [], index.manifest.index_sources(), time.perf_counter())

    def _commit(self, delta, documents, full, gone, sources, started) -> Manifest:
        """In one transaction: drop everything (`full`) or the documents `gone`, insert
        `delta`'s (an index over the new and changed documents, whose manifest says which
        model embedded them), build or keep the HNSW graph, retune its search, write the
        manifest of `documents`."""
        import psycopg

        connection = self.connection
        try:
            with connection.transaction():
                if full:
                    connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
                    _create_schema(connection, delta.manifest.dimension)
                elif gone:
                    connection.execute(f"DELETE FROM {SCHEMA}.documents WHERE id = ANY(%s)", (gone,))
                _insert(connection, delta)
                if full:
                    with connection.cursor() as cursor:
                        pgvector_ann.create_hnsw_index(cursor, "passages", "passages_embedding_hnsw")
                spec = self._tune(connection)
                manifest = self._manifest(connection, delta, documents, spec, sources, started)
                _set_meta(connection, "manifest", asdict(manifest))
        except psycopg.Error as error:
            raise IndexStoreError(f"cannot write the index in {self.store.location}: {self.store._reason(error)}") from None
        return manifest

    def _tune(self, connection: Any) -> VectorIndexSpec:
        """The HNSW search parameter for the index as it now is (index.pgvector_ann)."""
        rows = connection.execute(f"SELECT id, embedding FROM {SCHEMA}.passages ORDER BY id", binary=True).fetchall()
        factory = f"hnsw m={pgvector_ann.HNSW_M} ef_construction={pgvector_ann.HNSW_EF_CONSTRUCTION}"
        if not rows:
            return VectorIndexSpec(VECTOR_KIND, factory, ef_search=pgvector_ann.MAX_EF_SEARCH)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.stack([r[1].to_numpy() for r in rows]).astype(np.float32)
        with connection.cursor() as cursor:
            ef_search, recall = pgvector_ann.choose_search(cursor, "passages", vectors, ids)
        if ef_search == pgvector_ann.EXACT:
            # The graph levels off below the target (bench/pg_scale.py: 0.65 at 10^6 synthetic
            # vectors): search exactly rather than answer from the wrong passages.
            return VectorIndexSpec(
                VECTOR_KIND, f"exact scan; {factory} reaches recall@10 {recall:.3f} at most",
                ef_search=pgvector_ann.EXACT, tuned_recall=1.0,
            )
        return VectorIndexSpec(VECTOR_KIND, factory, ef_search=ef_search, tuned_recall=round(recall, 4))

    def _manifest(self, connection, delta, documents, spec, sources, started) -> Manifest:
        """`delta`'s manifest (model, engine, splitter) over all of `documents` as stored now;
        also the BM25 statistics and the reference vectors."""
        passages = dict(connection.execute(f"SELECT doc_id, count(*) FROM {SCHEMA}.passages GROUP BY doc_id").fetchall())
        sentence_count = connection.execute(f"SELECT count(*) FROM {SCHEMA}.sentences").fetchone()[0]
        passage_count, total_length = connection.execute(
            f"SELECT count(*), coalesce(sum(length), 0) FROM {SCHEMA}.passages"
        ).fetchone()
        _set_meta(connection, "lexical", {"passages": passage_count, "total_length": int(total_length)})
        connection.execute(f"DELETE FROM {SCHEMA}.reference_vectors")
        with connection.cursor().copy(f"COPY {SCHEMA}.reference_vectors (id, embedding) FROM STDIN") as copy:
            for i, vector in enumerate(delta.reference_vectors):
                copy.write_row((i, vector))
        return replace(
            delta.manifest,
            build_seconds=round(time.perf_counter() - started, 3),
            faiss_index="",
            lexical_index=f"postgresql bm25 {TOKENIZER_ID}",
            passage_count=int(passage_count),
            sentence_count=int(sentence_count),
            documents=tuple(
                DocumentRecord(d.id, d.sha256, d.size, str(d.path), d.encoding, d.source, int(passages.get(d.id, 0)))
                for d in documents
            ),
            vector_index=asdict(spec),
            sources=sources,
        )


class PostgresIndex:
    """An index in PostgreSQL as answering reads it (index.stores.SearchableIndex). One
    connection, used by one thread at a time."""

    def __init__(self, connection: Any, store: PostgresStore) -> None:
        self._connection = connection
        self._store = store
        self._lock = threading.RLock()
        self._depth = 0
        self.location = location = store.location
        self._manifest = _read_manifest(connection, location)
        rows = connection.execute(f"SELECT embedding FROM {SCHEMA}.reference_vectors ORDER BY id", binary=True).fetchall()
        dimension = self._manifest.dimension
        self._reference = np.array([r[0].to_numpy() for r in rows], dtype=np.float32).reshape(-1, dimension)
        self._ef_search = self._manifest.vector_index_spec.ef_search  # EXACT (0): scan every row
        self._passages: OrderedDict[int, Passage] = OrderedDict()
        self._sentences: OrderedDict[int, Sentence] = OrderedDict()
        self._documents: dict[str, tuple[str, Document]] = {}

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def reference_vectors(self) -> np.ndarray:
        return self._reference

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                yield
                return
            if self._connection.broken or self._connection.closed:
                # The server restarted or the network dropped since the last answer: a
                # long-running `qa serve` reconnects instead of failing from then on.
                self._connection = self._store.connect()
            import psycopg

            self._depth += 1
            try:
                with self._connection.transaction():
                    self._connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield
            except psycopg.Error as error:
                raise IndexStoreError(f"reading the index in {self.location} failed: {self._store._reason(error)}") from None
            finally:
                self._depth -= 1

    def _rows(self, query: str, params: Any = ()) -> list[tuple]:
        import psycopg

        with self._lock:
            try:
                return self._connection.execute(query, params).fetchall()
            except psycopg.Error as error:
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise IndexStoreError(f"reading the index in {self.location} failed: {reason}") from None

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self.reading(), self._connection.cursor() as cursor:
            found = pgvector_ann.search(cursor, "passages", np.asarray(query_vector, dtype=np.float32), k, self._ef_search)
        self._prefetch([i for i, _ in found])
        return found

    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]:
        terms = lexical_tokens(question)
        if not terms or k <= 0:
            return []
        counts = Counter(terms)
        rows = self._rows(
            f"""
            WITH q(term, n) AS (SELECT * FROM unnest(%(terms)s::text[], %(counts)s::float8[])),
            stats AS (
                SELECT (value->>'passages')::float8 AS total,
                       (value->>'total_length')::float8 / greatest((value->>'passages')::float8, 1) AS mean_length
                FROM {SCHEMA}.meta WHERE key = 'lexical'),
            df AS (SELECT term, count(*)::float8 AS df FROM {SCHEMA}.postings WHERE term = ANY(%(terms)s) GROUP BY term)
            SELECT p.passage_id,
                   sum(q.n * ln(1 + (s.total - df.df + 0.5) / (df.df + 0.5))
                       * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.length / s.mean_length))) AS score
            FROM {SCHEMA}.postings p JOIN q USING (term) JOIN df USING (term) CROSS JOIN stats s
            WHERE p.term = ANY(%(terms)s)
            GROUP BY p.passage_id ORDER BY score DESC, p.passage_id LIMIT %(k)s
            """,
            {"terms": list(counts), "counts": [float(c) for c in counts.values()], "k1": BM25_K1, "b": BM25_B, "k": k},
        )
        found = [(int(i), float(s)) for i, s in rows if s > 0]
        self._prefetch([i for i, _ in found])
        return found

    def passage_cosines(self, passage_ids: list[int], query_vector: np.ndarray) -> np.ndarray:
        return self._cosines("passages", passage_ids, query_vector)

    def sentence_cosines(self, sentence_ids: list[int], query_vector: np.ndarray) -> np.ndarray:
        return self._cosines("sentences", sentence_ids, query_vector)

    def _cosines(self, table: str, ids: list[int], query_vector: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros(0, dtype=np.float32)
        rows = self._rows(
            f"SELECT id, -(embedding <#> %s) FROM {SCHEMA}.{table} WHERE id = ANY(%s)",
            (np.asarray(query_vector, dtype=np.float32), [int(i) for i in ids]),
        )
        scores = {int(i): float(s) for i, s in rows}
        return np.array([scores[int(i)] for i in ids], dtype=np.float32)

    def passage(self, passage_id: int) -> Passage:
        if passage_id not in self._passages:
            self._prefetch([passage_id])
        return self._passages[passage_id]

    def sentence(self, sentence_id: int) -> Sentence:
        if sentence_id not in self._sentences:
            self._fetch_sentences([sentence_id])
        return self._sentences[sentence_id]

    def _prefetch(self, passage_ids: list[int]) -> None:
        """Read the passages (and their sentences) not cached yet, in two queries."""
        wanted = [i for i in passage_ids if i not in self._passages]
        if not wanted:
            return
        rows = self._rows(
            f"""SELECT p.id, p.doc_id, p.start, p."end", substr(d.text, p.start + 1, p."end" - p.start),
                       p.sentence_ids, p.context
                FROM {SCHEMA}.passages p JOIN {SCHEMA}.documents d ON d.id = p.doc_id WHERE p.id = ANY(%s)""",
            (wanted,),
        )
        for pid, doc_id, start, end, text, sentence_ids, context in rows:
            _remember(self._passages, int(pid), Passage(int(pid), doc_id, start, end, text, tuple(int(i) for i in sentence_ids), context))
        missing = [i for i in wanted if i not in self._passages]
        if missing:
            raise IndexStoreError(f"the index in {self.location} has no passage {missing[0]}; it changed while reading")
        self._fetch_sentences([s for i in wanted for s in self._passages[i].sentence_ids if s not in self._sentences])

    def _fetch_sentences(self, sentence_ids: list[int]) -> None:
        if not sentence_ids:
            return
        rows = self._rows(
            f"""SELECT s.id, s.doc_id, s.start, s."end", substr(d.text, s.start + 1, s."end" - s.start)
                FROM {SCHEMA}.sentences s JOIN {SCHEMA}.documents d ON d.id = s.doc_id WHERE s.id = ANY(%s)""",
            (sentence_ids,),
        )
        for sid, doc_id, start, end, text in rows:
            _remember(self._sentences, int(sid), Sentence(int(sid), doc_id, start, end, text))
        if any(i not in self._sentences for i in sentence_ids):
            raise IndexStoreError(f"the index in {self.location} lost sentences; it changed while reading")

    def document(self, doc_id: str) -> Document:
        rows = self._rows(f"SELECT sha256 FROM {SCHEMA}.documents WHERE id = %s", (doc_id,))
        if not rows:
            raise IndexStoreError(f"the index in {self.location} has no document {doc_id!r}")
        sha256 = rows[0][0]
        cached = self._documents.get(doc_id)
        if cached is None or cached[0] != sha256:
            text, fields, record = self._rows(
                f"SELECT text, fields, record FROM {SCHEMA}.documents WHERE id = %s", (doc_id,)
            )[0]
            document = with_source_fields(_record_document(DocumentRecord(**record), text), fields)
            if len(self._documents) >= 64:
                self._documents.pop(next(iter(self._documents)))
            self._documents[doc_id] = (sha256, document)
        return self._documents[doc_id][1]

    def sample_passages(self, count: int) -> list[Passage]:
        total = max(1, self._manifest.passage_count)
        share = min(100.0, 200.0 * count / total)
        rows = self._rows(f"SELECT id FROM {SCHEMA}.passages TABLESAMPLE BERNOULLI (%s) LIMIT %s", (share, count))
        ids = [int(r[0]) for r in rows]
        self._prefetch(ids)
        return [self._passages[i] for i in ids]

    def all_passages(self) -> Iterator[Passage]:
        rows = self._rows(
            f"""SELECT p.id, p.doc_id, p.start, p."end", substr(d.text, p.start + 1, p."end" - p.start),
                       p.sentence_ids, p.context
                FROM {SCHEMA}.passages p JOIN {SCHEMA}.documents d ON d.id = p.doc_id ORDER BY p.id"""
        )
        return (Passage(int(i), doc, start, end, text, tuple(int(s) for s in ids), context)
                for i, doc, start, end, text, ids, context in rows)

    def all_sentences(self) -> Iterator[Sentence]:
        rows = self._rows(
            f"""SELECT s.id, s.doc_id, s.start, s."end", substr(d.text, s.start + 1, s."end" - s.start)
                FROM {SCHEMA}.sentences s JOIN {SCHEMA}.documents d ON d.id = s.doc_id ORDER BY s.id"""
        )
        return (Sentence(int(i), doc, start, end, text) for i, doc, start, end, text in rows)


def _remember(cache: OrderedDict, key: int, value: Any) -> None:
    cache[key] = value
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _has_extension(connection: Any) -> bool:
    return connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is not None


def _meta(connection: Any, key: str) -> Any:
    """The meta value of `key`, or None (also when there is no citeqa schema)."""
    exists = connection.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.meta",)).fetchone()[0]
    if exists is None:
        return None
    row = connection.execute(f"SELECT value FROM {SCHEMA}.meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else row[0]


def _set_meta(connection: Any, key: str, value: Any) -> None:
    from psycopg.types.json import Jsonb

    connection.execute(
        f"INSERT INTO {SCHEMA}.meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (key, Jsonb(value)),
    )


def _read_manifest(connection: Any, location: str) -> Manifest:
    schema = _meta(connection, "schema")
    if schema is None:
        raise IndexStoreError(f"no index in {location}; build one with `qa index --store URL PATH`")
    version = schema.get("version") if isinstance(schema, dict) else None
    if version != SCHEMA_VERSION:
        raise IndexStoreError(
            f"the index in {location} has schema version {version!r}, not the version this qa reads "
            f"({SCHEMA_VERSION}); {REBUILD}"
        )
    raw = _meta(connection, "manifest")
    if raw is None:
        raise IndexStoreError(f"no index in {location}; build one with `qa index --store URL PATH`")
    return manifest_from_json(raw, f"the index manifest in {location}")


def _create_schema(connection: Any, dimension: int) -> None:
    s = SCHEMA
    for statement in (
        f"CREATE SCHEMA {s}",
        f"CREATE TABLE {s}.meta (key text PRIMARY KEY, value jsonb NOT NULL)",
        f"CREATE TABLE {s}.reference_vectors (id int PRIMARY KEY, embedding vector({dimension}) NOT NULL)",
        f"""CREATE TABLE {s}.documents (id text PRIMARY KEY, sha256 text NOT NULL, text text NOT NULL,
            fields jsonb NOT NULL, record jsonb NOT NULL)""",
        f"CREATE SEQUENCE {s}.passage_ids",
        f"CREATE SEQUENCE {s}.sentence_ids",
        f"""CREATE TABLE {s}.sentences (id bigint PRIMARY KEY,
            doc_id text NOT NULL REFERENCES {s}.documents ON DELETE CASCADE,
            start int NOT NULL, "end" int NOT NULL, embedding vector({dimension}) NOT NULL)""",
        f"""CREATE TABLE {s}.passages (id bigint PRIMARY KEY,
            doc_id text NOT NULL REFERENCES {s}.documents ON DELETE CASCADE,
            start int NOT NULL, "end" int NOT NULL, sentence_ids bigint[] NOT NULL, context text NOT NULL,
            length int NOT NULL, embedding vector({dimension}) NOT NULL)""",
        f"""CREATE TABLE {s}.postings (term text NOT NULL,
            passage_id bigint NOT NULL REFERENCES {s}.passages ON DELETE CASCADE,
            tf int NOT NULL, length int NOT NULL, PRIMARY KEY (term, passage_id))""",
        f"CREATE INDEX ON {s}.sentences (doc_id)",
        f"CREATE INDEX ON {s}.passages (doc_id)",
        f"CREATE INDEX ON {s}.postings (passage_id)",
    ):
        connection.execute(statement)
    _set_meta(connection, "schema", {"version": SCHEMA_VERSION})


def _allocate(connection: Any, sequence: str, count: int) -> int:
    """The first of `count` fresh ids from `sequence` (the writer holds the lock, so the block
    is its own)."""
    if count == 0:
        return 0
    last = connection.execute(
        f"SELECT setval('{SCHEMA}.{sequence}', nextval('{SCHEMA}.{sequence}') + %s - 1)", (count,)
    ).fetchone()[0]
    return int(last) - count + 1


def _insert(connection: Any, delta: Any) -> None:
    """Write the documents, sentences, passages and postings of `delta` (an index built over
    the new and changed documents only, its ids positions) with fresh ids."""
    from psycopg.types.json import Jsonb

    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {SCHEMA}.documents (id, sha256, text, fields, record) FROM STDIN") as copy:
            for record in delta.manifest.documents:
                document = delta.documents[record.id]
                copy.write_row((document.id, document.sha256, document.text, Jsonb(source_fields(document)), Jsonb(asdict(record))))
        sentence_base = _allocate(connection, "sentence_ids", len(delta.sentences))
        passage_base = _allocate(connection, "passage_ids", len(delta.passages))
        with cursor.copy(f'COPY {SCHEMA}.sentences (id, doc_id, start, "end", embedding) FROM STDIN') as copy:
            vectors = np.asarray(delta.sentence_vectors, dtype=np.float32)
            for sentence in delta.sentences:
                copy.write_row((sentence_base + sentence.id, sentence.doc_id, sentence.start, sentence.end, vectors[sentence.id]))
        postings: list[tuple[str, int, int, int]] = []
        with cursor.copy(
            f'COPY {SCHEMA}.passages (id, doc_id, start, "end", sentence_ids, context, length, embedding) FROM STDIN'
        ) as copy:
            vectors = delta.exact_passage_vectors
            for passage in delta.passages:
                tokens = lexical_tokens(passage.retrieval_text)
                length = max(1, len(tokens))  # bm25s gives an empty passage one placeholder token
                pid = passage_base + passage.id
                copy.write_row((
                    pid, passage.doc_id, passage.start, passage.end,
                    [sentence_base + i for i in passage.sentence_ids], passage.context, length,
                    np.asarray(vectors[passage.id], dtype=np.float32),
                ))
                postings.extend((term, pid, tf, length) for term, tf in Counter(tokens).items())
        with cursor.copy(f"COPY {SCHEMA}.postings (term, passage_id, tf, length) FROM STDIN") as copy:
            for row in postings:
                copy.write_row(row)

