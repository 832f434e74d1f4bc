"""Bad input never crashes the bot or loses the index (issue 6). Most cases use the fake
encoder; see docs/robustness.md for the table of cases and behaviours."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import REPO, FakeEncoder
from index.documents import load_documents
from index.errors import DocumentError
from index.build import build_index
from index.store import build_lock, load_index, save_index
from qa.reading.heuristic.abstention import AbstentionModel
from conftest import make_answerer
from qa.answerer import Answerer
from qa.reading.heuristic import AnswerPolicy
from citeqa.cli import app

runner = CliRunner()
GOOD = "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。\n"


def test_bad_files_in_a_folder_are_skipped_with_warnings(tmp_path: Path, fake_encoder, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text(" \n\t\r\n　\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"%PDF-1.4\x00\x01\x02" * 50)
    (folder / "garbage.txt").write_bytes(b"\x80\x81\x8d\x8f\x90\x9d" * 500)  # invalid in every encoding tried
    (folder / "locked.txt").write_text(GOOD, encoding="utf-8")
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a folder loop
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = runner.invoke(app, ["index", str(folder)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning: skipped" in line]
    assert len(warnings) == 5, result.stderr
    assert all(name in result.stderr for name in ("empty.txt", "blank.md", "binary.txt", "garbage.txt", "locked.txt"))
    assert "Permission denied" in result.stderr and "1 document(s)" in result.stderr


def test_size_limit_skips_in_folders_and_refuses_named_files(tmp_path: Path, fake_encoder, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "small.txt").write_text(GOOD, encoding="utf-8")
    (folder / "big.txt").write_text(GOOD * 200, encoding="utf-8")
    monkeypatch.setenv("QA_MAX_DOCUMENT_MB", "0.005")
    result = runner.invoke(app, ["index", str(folder)])
    assert result.exit_code == 0 and "big.txt" in result.stderr and "QA_MAX_DOCUMENT_MB" in result.stderr
    result = runner.invoke(app, ["index", str(folder / "big.txt")])
    assert result.exit_code == 3 and "limit" in result.stderr
    monkeypatch.setenv("QA_MAX_DOCUMENT_MB", "lots")
    assert runner.invoke(app, ["index", str(folder)]).exit_code == 2


def test_thousands_of_tiny_files_and_one_huge_unpunctuated_line(tmp_path: Path):
    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(2000):
        (folder / f"{k:04d}.txt").write_text(f"第{k}号文件记录了编号{k}。", encoding="utf-8")
    (folder / "long.txt").write_text("字" * 5000 + "\r\n" + "word " * 3000, encoding="utf-8")
    documents = load_documents([folder])
    assert len(documents) == 2001
    index = build_index(documents, FakeEncoder())
    assert max(len(p.text) for p in index.passages) <= 300
    answer = make_answerer(index, AnswerPolicy(AbstentionModel.never_abstains())).ask("第1234号文件记录了什么？")
    assert "1234" in answer.answer


@pytest.fixture(scope="module")
def small_answerer(tmp_path_factory) -> Answerer:
    folder = tmp_path_factory.mktemp("doc")
    (folder / "a.txt").write_text(GOOD * 3 + "The factory opens in April. 😀 emoji line.\n", encoding="utf-8")
    index = build_index(load_documents([folder]), FakeEncoder())
    return make_answerer(index, AnswerPolicy(AbstentionModel.never_abstains()))


@pytest.mark.parametrize(
    "question",
    ["?", "字", "？！。，", "😀😀😀", "\x00\x1b[31m\x07控制字符\x7f", "工厂 factory ファクトリー 공장 مصنع",
     "问" * 10_000, GOOD * 3, "[bold]产能[/bold] [link=http://x]x[/link]", "\u202e反转\u202c", "　"],
)
def test_any_question_gets_an_answer_or_an_abstention_never_a_crash(small_answerer: Answerer, question: str):
    from index.errors import UsageError

    try:
        answer = small_answerer.ask(question)
    except UsageError:
        assert not question.strip()  # only blank questions are refused
        return
    for citation in answer.citations:
        assert small_answerer.index.documents[citation.doc].text[citation.start : citation.end] == citation.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(min_size=0, max_size=400), min_size=1, max_size=4),
    question=st.text(min_size=1, max_size=60),
)
def test_fuzz_random_unicode_through_load_split_index_ask(tmp_path_factory, texts, question):
    folder = tmp_path_factory.mktemp("fuzz")
    for k, text in enumerate(texts):
        (folder / f"{k}.txt").write_text(text, encoding="utf-8", errors="surrogatepass") if not any(
            0xD800 <= ord(c) <= 0xDFFF for c in text) else None
    try:
        documents = load_documents([folder])
    except DocumentError:
        return  # nothing with text (or nothing writable): a clear error, not a crash
    index = build_index(documents, FakeEncoder())
    answerer = make_answerer(index, AnswerPolicy(AbstentionModel.never_abstains()))
    try:
        answer = answerer.ask(question)
    except Exception as error:  # noqa: BLE001
        from index.errors import UsageError

        assert isinstance(error, UsageError) and not question.strip()
        return
    for citation in answer.citations:
        document = index.documents[citation.doc]
        assert 0 <= citation.start < citation.end <= len(document.text)
        assert document.text[citation.start : citation.end] == citation.text
    if answer.short_answer is not None:
        document = index.documents[next(c.doc for c in answer.citations if c.n == answer.short_answer_citation)]
        assert document.text[answer.short_answer_start : answer.short_answer_end] == answer.short_answer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=600))
def test_fuzz_random_bytes_as_files(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "x.txt").write_bytes(data)
    try:
        documents = load_documents([folder / "x.txt"])
    except DocumentError as error:
        assert "\n" not in str(error)
        return
    for document in documents:
        assert "\r" not in document.text


def test_write_failure_keeps_the_previous_index(tmp_path: Path, monkeypatch, fake_encoder):
    (tmp_path / "a.txt").write_text(GOOD, encoding="utf-8")
    assert runner.invoke(app, ["index", str(tmp_path / "a.txt")]).exit_code == 0

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("index.store.os.rename", refuse)
    result = runner.invoke(app, ["index", str(tmp_path / "a.txt")])
    assert result.exit_code == 4 and "Permission denied" in result.stderr
    assert [line for line in result.stderr.splitlines() if "error" in line] == [result.stderr.strip().splitlines()[-1]]
    assert "Traceback" not in result.stderr
    monkeypatch.setattr("index.store.os.rename", os.rename)
    assert load_index(Path(os.environ["QA_INDEX_DIR"])).passages


def test_second_build_waits_for_the_first(tmp_path: Path):
    index_dir = tmp_path / "index"
    waited = threading.Event()
    finished = threading.Event()

    def second() -> None:
        with build_lock(index_dir, on_wait=waited.set):
            finished.set()

    with build_lock(index_dir):
        worker = threading.Thread(target=second)
        worker.start()
        assert waited.wait(5) and not finished.is_set()
    worker.join(5)
    assert finished.is_set()


KILLED_BUILDER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from conftest import FakeEncoder
    from index.documents import load_documents
    from index.build import build_index
    from index.store import save_index
    documents = load_documents([Path({docs!r})])
    print("ready", flush=True)
    while True:
        save_index(build_index(documents, FakeEncoder()), Path({index!r}))
    """
)


def test_sigkill_during_builds_never_leaves_an_unusable_index(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for k in range(60):
        (docs / f"{k}.txt").write_text(GOOD * 20 + f"文件{k}。", encoding="utf-8")
    index_dir = tmp_path / "index"
    save_index(build_index(load_documents([docs]), FakeEncoder()), index_dir)
    expected = load_index(index_dir).manifest.passage_count
    script = KILLED_BUILDER.format(tests=str(REPO / "tests"), docs=str(docs), index=str(index_dir))
    rng = random.Random(6)
    for _ in range(20):
        process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE)
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        index = load_index(index_dir)  # never raises: the live snapshot is always complete
        assert index.manifest.passage_count == expected
        assert json.loads((index_dir / "CURRENT").read_text())["snapshot"]


def test_file_paths_cannot_inject_terminal_control_sequences(tmp_path: Path, fake_encoder, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "evil\x1b[2J\x1b]0;owned\x07.txt").write_text(GOOD, encoding="utf-8")
    (folder / "empty\x1b[31m.txt").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["index", "docs"])
    assert result.exit_code == 0
    assert "\x1b" not in result.stderr and "\\x1b" in result.stderr  # the skipped file's name
    result = runner.invoke(app, ["ask", "北京工厂月产能是多少？"])
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\\x1b[2J" in result.stdout
    assert "\x07" not in result.stdout
