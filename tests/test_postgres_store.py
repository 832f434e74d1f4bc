"""What only the PostgreSQL store has to prove: atomic builds under a killed writer, writers
that wait for each other, readers that see one state, one-line errors without passwords."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO
from index.errors import IndexStoreError
from qa.factory import index_documents, open_answerer, open_index, read_index_manifest
from qa.settings import Settings

pytest.importorskip("pgserver")


@pytest.fixture
def settings(postgres_url, fake_encoder, tmp_path) -> Settings:
    return replace(Settings.from_env(), store=postgres_url, index_dir=tmp_path / "unused")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{tests!r}, {repo!r}]
    from dataclasses import replace
    from pathlib import Path
    import numpy as np
    import index.postgres as postgres
    import qa.factory as factory
    from conftest import FakeEncoder
    from qa.settings import Settings

    encoder = FakeEncoder()
    factory.load_encoder = lambda *a, **k: encoder
    factory.reference_vectors = lambda e, *a, **k: np.zeros((0, e.dimension), dtype=np.float32)
    insert = postgres._insert

    def insert_then_hang(connection, delta):
        insert(connection, delta)  # rows written, transaction open
        print("WRITING", flush=True)
        time.sleep(120)

    postgres._insert = insert_then_hang
    settings = replace(Settings.from_env(), store={url!r})
    factory.index_documents(settings, [Path({folder!r})])
    """
)


def test_a_killed_build_leaves_the_previous_index_answering(settings, tmp_path):
    old = _write(tmp_path / "old", "a.txt", "北京工厂年产十五万辆汽车。工厂在亦庄。")
    index_documents(settings, [old])
    new = _write(tmp_path / "new", "b.txt", "上海研发中心有三千名工程师。")
    script = KILLED_WRITER.format(tests=str(REPO / "tests"), repo=str(REPO), url=settings.store, folder=str(new))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "WRITING"
        child.kill()
    finally:
        child.wait(timeout=30)
    manifest = read_index_manifest(settings)
    assert [d.id for d in manifest.documents] == ["old/a.txt"]
    answer = open_answerer(settings).ask("工厂在哪里？")
    assert [c.doc for c in answer.citations] == ["old/a.txt"]
    assert {p.doc_id for p in open_index(settings).all_passages()} == {"old/a.txt"}
    # The killed session's lock went with it: the next build goes through.
    index_documents(settings, [new])
    assert {d.id for d in read_index_manifest(settings).documents} == {"old/a.txt", "new/b.txt"}


def test_a_second_writer_waits_for_the_first(settings, tmp_path):
    from index.postgres import PostgresStore

    folder = _write(tmp_path / "docs", "a.txt", "北京工厂年产十五万辆汽车。")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with PostgresStore(settings.store).writing():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    warnings: list[str] = []
    timer = threading.Timer(1.0, release.set)
    timer.start()
    started = time.monotonic()
    index_documents(settings, [folder], warn=warnings.append)
    waited = time.monotonic() - started
    holder.join()
    assert any("waiting for it to finish" in w for w in warnings)
    assert waited >= 0.9
    assert [d.id for d in read_index_manifest(settings).documents] == ["docs/a.txt"]


def test_a_reader_sees_one_state_while_a_writer_commits(settings, tmp_path):
    folder = _write(tmp_path / "docs", "a.txt", "北京工厂年产十五万辆汽车。工厂在亦庄。")
    index_documents(settings, [folder])
    index = open_index(settings)
    with index.reading():
        before = [(p.doc_id, p.text) for p in index.all_passages()]
        _write(folder, "a.txt", "上海研发中心有三千名工程师。")
        index_documents(settings, [folder])
        assert [(p.doc_id, p.text) for p in index.all_passages()] == before
    assert [p.text for p in index.all_passages()] == ["上海研发中心有三千名工程师。"]


def test_a_graph_below_the_recall_target_is_searched_exactly(settings, fake_encoder, tmp_path, monkeypatch):
    """When no ef_search reaches the target (forced here: 1.01), the manifest says so and
    search scans every row: each passage's own vector finds that passage first."""
    import index.pgvector_ann as pgvector_ann

    monkeypatch.setattr(pgvector_ann, "RECALL_TARGET", 1.01)
    folder = tmp_path / "docs"
    for i in range(40):
        _write(folder, f"d{i}.txt", f"第{i}号仓库存放{i * 7}箱零件，由{i % 5}组管理。")
    report = index_documents(settings, [folder])
    assert report.vector_index.endswith("exact scan")  # what `qa index` prints
    spec = read_index_manifest(settings).vector_index_spec
    assert spec.ef_search == pgvector_ann.EXACT and spec.factory.startswith("exact scan")
    index = open_index(settings)
    passages = list(index.all_passages())
    vectors = fake_encoder.encode_passages([p.text for p in passages])
    for passage, vector in zip(passages, vectors):
        assert index.search(vector, 1)[0][0] == passage.id


def test_a_lost_connection_fails_one_answer_then_reconnects(settings, tmp_path):
    import psycopg

    index_documents(settings, [_write(tmp_path / "docs", "a.txt", "北京工厂年产十五万辆汽车。工厂在亦庄。")])
    answerer = open_answerer(settings)
    assert not answerer.ask("工厂在哪里？").abstained
    with psycopg.connect(settings.store, autocommit=True) as connection:  # as a server restart would
        connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    with pytest.raises(IndexStoreError, match="reading the index in postgresql://"):
        answerer.ask("工厂在哪里？")
    assert [c.doc for c in answerer.ask("工厂在哪里？").citations] == ["docs/a.txt"]


def test_wrong_schema_version_is_one_line(settings, tmp_path):
    import psycopg

    index_documents(settings, [_write(tmp_path / "docs", "a.txt", "北京工厂。")])
    with psycopg.connect(settings.store, autocommit=True) as connection:
        connection.execute("""UPDATE citeqa.meta SET value = '{"version": 99}' WHERE key = 'schema'""")
    with pytest.raises(IndexStoreError, match=r"schema version 99, not the version this qa reads \(1\)"):
        open_index(settings)


def test_connection_errors_are_one_line_without_the_password():
    from citeqa.cli import app

    url = "postgresql://reader:s3cret-pw@127.0.0.1:1/citeqa"
    result = CliRunner().invoke(app, ["sources", "--store", url])
    assert result.exit_code == 4
    error = result.stderr.strip()
    assert error.startswith("qa: error: cannot connect to PostgreSQL at postgresql://reader:***@127.0.0.1:1/citeqa")
    assert "s3cret" not in result.output + result.stderr and "\n" not in error


def test_a_directory_is_not_a_store_url():
    from citeqa.cli import app

    result = CliRunner().invoke(app, ["sources", "--store", "/var/lib/index"])
    assert result.exit_code == 2
    assert "PostgreSQL URL" in result.stderr


def test_redact_keeps_everything_but_the_password():
    from index.postgres import redact

    assert redact("postgresql://u:pw@db.example:5433/q?sslmode=require") == "postgresql://u:***@db.example:5433/q?sslmode=require"
    assert redact("postgresql:///q?host=/tmp/sock") == "postgresql:///q?host=/tmp/sock"
    assert redact("postgresql://u:@/q?host=/tmp/sock") == "postgresql://u@/q?host=/tmp/sock"


def test_copy_index_moves_a_directory_index_with_its_vectors(postgres_url, fake_encoder, tmp_path):
    """`qa copy-index` copies a FAISS directory index into PostgreSQL without embedding:
    same passages, same answers; it refuses to overwrite an index unless told to."""
    from citeqa.cli import app

    directory = tmp_path / "faiss-index"
    folder = _write(tmp_path / "docs", "a.txt", "北京工厂年产十五万辆汽车。工厂在亦庄。上海研发中心有三千名工程师。")
    local = replace(Settings.from_env(), store=None, index_dir=directory)
    index_documents(local, [folder])
    embed = fake_encoder.encode_passages
    fake_encoder.encode_passages = lambda *a, **k: pytest.fail("copy-index embedded something")
    try:
        copied = CliRunner().invoke(app, ["copy-index", "--from", str(directory), "--store", postgres_url])
    finally:
        fake_encoder.encode_passages = embed
    assert copied.exit_code == 0, copied.output
    assert "Copied 1 document(s)" in copied.stderr and "password" not in copied.stderr
    stored = replace(local, store=postgres_url)
    faiss_index, pg_index = open_index(local), open_index(stored)
    assert [(p.doc_id, p.start, p.end, p.text) for p in pg_index.all_passages()] == [
        (p.doc_id, p.start, p.end, p.text) for p in faiss_index.all_passages()
    ]
    question = "工厂在哪里？"
    assert open_answerer(stored).ask(question).answer == open_answerer(local).ask(question).answer

    again = CliRunner().invoke(app, ["copy-index", "--from", str(directory), "--store", postgres_url])
    assert again.exit_code == 2 and "--replace" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert CliRunner().invoke(app, ["copy-index", "--from", str(directory), "--store", postgres_url, "--replace"]).exit_code == 0


def test_copy_index_errors_are_one_line(postgres_url, tmp_path, monkeypatch):
    from citeqa.cli import app

    monkeypatch.delenv("QA_STORE", raising=False)
    missing = CliRunner().invoke(app, ["copy-index", "--from", str(tmp_path / "none"), "--store", postgres_url])
    assert missing.exit_code == 4 and "no index in" in missing.stderr
    no_store = CliRunner().invoke(app, ["copy-index", "--from", str(tmp_path)])
    assert no_store.exit_code == 2 and "--store" in no_store.stderr
    for result in (missing, no_store):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
