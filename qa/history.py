"""The history: conversations of `qa chat` and questions of `qa ask`, with their answers and
citations, in one SQLite database in the user's data directory.

SQLite in WAL mode, one transaction per write: a process killed mid-write leaves the last
committed state, and readers never wait for the writer. Writers queue on SQLite's lock
(`busy_timeout`). The schema version is `PRAGMA user_version`; a database from a newer version
is refused, never rewritten. Full-text search uses FTS5's trigram tokenizer (substrings, so it
works for Chinese without word segmentation); queries under three characters use LIKE.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from index.errors import QAError
from qa.types import Answer

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,            -- 'chat' or 'ask'
    title TEXT NOT NULL,             -- the first question
    created_at TEXT NOT NULL,        -- UTC, ISO 8601
    updated_at TEXT NOT NULL
);
CREATE TABLE exchanges (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    asked_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer_text TEXT NOT NULL,       -- the answer with its [n] markers, or the refusal
    answer_json TEXT NOT NULL        -- Answer.to_json(include_passage_text=True)
);
CREATE INDEX exchanges_by_conversation ON exchanges(conversation_id, id);
CREATE VIRTUAL TABLE exchanges_fts USING fts5(
    question, answer_text, content='exchanges', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER exchanges_fts_insert AFTER INSERT ON exchanges BEGIN
    INSERT INTO exchanges_fts(rowid, question, answer_text) VALUES (new.id, new.question, new.answer_text);
END;
CREATE TRIGGER exchanges_fts_delete AFTER DELETE ON exchanges BEGIN
    INSERT INTO exchanges_fts(exchanges_fts, rowid, question, answer_text)
    VALUES ('delete', old.id, old.question, old.answer_text);
END;
"""


class HistoryError(QAError):
    """The history database cannot be opened or written."""

    exit_code = 4


@dataclass(frozen=True)
class Conversation:
    id: int
    origin: str
    """`chat` (qa chat) or `ask` (qa ask)."""
    title: str
    created_at: str
    updated_at: str
    exchanges: int
    """How many questions it holds."""


@dataclass(frozen=True)
class Exchange:
    id: int
    conversation_id: int
    asked_at: str
    """UTC, ISO 8601."""
    answer: Answer

    def to_json(self) -> dict:
        return {"id": self.id, "conversation_id": self.conversation_id, "asked_at": self.asked_at,
                **self.answer.to_json(include_passage_text=True)}


class History:
    """The history database at `path` (created with its folder on first write)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.exists():
            connection = sqlite3.connect(":memory:", isolation_level=None)  # nothing logged yet: empty
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            except (OSError, sqlite3.Error) as error:
                raise HistoryError(f"cannot open the history {self.path} ({error})") from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA foreign_keys = ON")
            _migrate(connection, self.path)
            yield connection
        except sqlite3.DatabaseError as error:
            raise HistoryError(f"the history {self.path} cannot be used ({error}); move it away to start a new one") from None
        finally:
            connection.close()

    def record(self, conversation_id: int | None, answer: Answer, origin: str = "chat") -> tuple[int, int]:
        """Log one answered question in `conversation_id` (None: a new conversation titled by
        the question); (conversation id, exchange id)."""
        now = _now()
        row = json.dumps(answer.to_json(include_passage_text=True), ensure_ascii=False)
        with self._connect(write=True) as db, _transaction(db):
            if conversation_id is None or not db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone():
                conversation_id = int(db.execute(
                    "INSERT INTO conversations(origin, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    (origin, answer.question[:200], now, now),
                ).lastrowid)
            exchange = db.execute(
                "INSERT INTO exchanges(conversation_id, asked_at, question, answer_text, answer_json) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, now, answer.question, answer.answer, row),
            ).lastrowid
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return conversation_id, int(exchange)

    def conversations(self, limit: int = 100, origin: str | None = None) -> list[Conversation]:
        """Most recently used first."""
        query = (
            "SELECT c.id, c.origin, c.title, c.created_at, c.updated_at, COUNT(e.id) FROM conversations c "
            "LEFT JOIN exchanges e ON e.conversation_id = c.id "
            + ("WHERE c.origin = ? " if origin else "")
            + "GROUP BY c.id ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"
        )
        with self._connect(write=False) as db:
            rows = db.execute(query, (origin, limit) if origin else (limit,)).fetchall()
        return [Conversation(*row) for row in rows]

    def latest_conversation(self, origin: str = "chat") -> int | None:
        found = self.conversations(limit=1, origin=origin)
        return found[0].id if found else None

    def exchanges(self, conversation_id: int) -> list[Exchange]:
        """A conversation's questions and answers, in order."""
        with self._connect(write=False) as db:
            rows = db.execute(
                "SELECT id, conversation_id, asked_at, answer_json FROM exchanges WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return _exchanges(rows)

    def recent(self, limit: int = 3, query: str | None = None, conversation_id: int | None = None) -> list[Exchange]:
        """The last `limit` exchanges (oldest first), optionally those matching `query` (full
        text, in question or answer) or of one conversation."""
        where, params = [], []
        if query:
            if len(query) >= 3:
                where.append("e.id IN (SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH ?)")
                params.append('"' + query.replace('"', '""') + '"')
            else:
                where.append("(e.question LIKE ? ESCAPE '\\' OR e.answer_text LIKE ? ESCAPE '\\')")
                pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                params += [pattern, pattern]
        if conversation_id is not None:
            where.append("e.conversation_id = ?")
            params.append(conversation_id)
        sql = (
            "SELECT e.id, e.conversation_id, e.asked_at, e.answer_json FROM exchanges e "
            + ("WHERE " + " AND ".join(where) + " " if where else "")
            + "ORDER BY e.id DESC LIMIT ?"
        )
        with self._connect(write=False) as db:
            rows = db.execute(sql, (*params, limit)).fetchall()
        return _exchanges(reversed(rows))

    def questions(self, limit: int = 500) -> list[str]:
        """Questions asked, oldest first, without repeats in a row: the question box's ↑ history."""
        with self._connect(write=False) as db:
            rows = db.execute("SELECT question FROM exchanges ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        questions: list[str] = []
        for (question,) in reversed(rows):
            if not questions or questions[-1] != question:
                questions.append(question)
        return questions


def _exchanges(rows) -> list[Exchange]:
    found = []
    for exchange_id, conversation_id, asked_at, answer_json in rows:
        try:
            answer = Answer.from_json(json.loads(answer_json))
        except ValueError:  # one damaged row does not hide the others
            continue
        found.append(Exchange(exchange_id, conversation_id, asked_at, answer))
    return found


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    with _transaction(db):
        # Decided under the write lock: another process may be creating the file right now,
        # and between reading its version and its tables it would look like a foreign one.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return  # another process created it while this one waited for the lock
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history {path} is from a newer citeqa (schema {version}, this one reads {SCHEMA_VERSION})")
        if db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise HistoryError(f"{path} is not a citeqa history (schema {version}); move it away to start a new one")
        for statement in _statements(_SCHEMA):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    try:
        db.execute("PRAGMA journal_mode = WAL")  # persistent: set once, by whoever creates it
    except sqlite3.OperationalError:
        pass  # another process holds the file (and will set it): SQLite does not wait for this pragma


def _statements(script: str) -> list[str]:
    """The schema's statements (a trigger body holds semicolons: split on complete ones)."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")  # take the write lock now: a second writer waits here
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _now() -> str:
    """UTC with milliseconds, so that order by time is order of asking."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
