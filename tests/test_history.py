"""The history database: answers round-trip, search finds Chinese substrings, a killed
writer leaves it readable, two writers queue, a database it does not know is left alone."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO
from citeqa.cli import app
from qa.history import History, HistoryError
from qa.types import Answer, Citation, PassageHit

runner = CliRunner()


def answer(question: str, text: str = "北京工厂当前月产能2.5万辆。") -> Answer:
    citation = Citation(1, "docs/f.txt", 0, len(text), text, 0, 0.9, 0, len(text), 1, 1)
    return Answer(question, text + "[1]", False, (citation,), (PassageHit(0, "docs/f.txt", 0, 40, 0.8, "前文。" + text),),
                  {"total": 12.5}, "zh", "2.5万辆", 1, 8, 13, None, 0.91, "trained")


def test_an_answer_round_trips_with_its_citations_and_passages(tmp_path: Path):
    history = History(tmp_path / "data" / "history.sqlite3")
    assert history.conversations() == [] and history.recent() == []  # nothing written yet
    assert not (tmp_path / "data").exists()
    first = answer("北京工厂的月产能是多少？")
    conversation, _ = history.record(None, first)
    history.record(conversation, answer("那第二工厂呢？", "第二工厂四月起阶段性投产。"))
    [logged, second] = history.exchanges(conversation)
    assert logged.answer == first and second.answer.question == "那第二工厂呢？"
    [listed] = history.conversations()
    assert (listed.id, listed.origin, listed.title, listed.exchanges) == (conversation, "chat", "北京工厂的月产能是多少？", 2)
    assert history.latest_conversation() == conversation and history.latest_conversation("ask") is None


def test_search_finds_substrings_in_questions_and_answers(tmp_path: Path):
    history = History(tmp_path / "history.sqlite3")
    history.record(None, answer("北京工厂的月产能是多少？"))
    history.record(None, answer("天气怎么样？", "明天有小雨。"), origin="ask")
    assert [e.answer.question for e in history.recent(10, query="月产能")] == ["北京工厂的月产能是多少？"]
    assert [e.answer.question for e in history.recent(10, query="小雨")] == ["天气怎么样？"]  # two characters: LIKE
    assert [e.answer.question for e in history.recent(10, query='50%"')] == []
    assert history.questions() == ["北京工厂的月产能是多少？", "天气怎么样？"]


def test_two_writers_queue_and_lose_nothing(tmp_path: Path):
    path = tmp_path / "history.sqlite3"
    code = (
        "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from qa.history import History;"
        "from test_history import answer; h = History(Path(sys.argv[1]));"
        "[h.record(None, answer(f'{sys.argv[2]} {i}')) for i in range(40)]"
    )
    writers = [subprocess.Popen([sys.executable, "-c", code, str(path), name], cwd=REPO) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert len(History(path).recent(1000)) == 80


def test_a_writer_killed_mid_write_leaves_the_history_readable(tmp_path: Path):
    path = tmp_path / "history.sqlite3"
    History(path).record(None, answer("第一个问题"))
    code = (
        "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from qa.history import History;"
        "from test_history import answer; h = History(Path(sys.argv[1]));"
        "print('started', flush=True)\n"
        "while True: h.record(None, answer('问题' * 500))"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "started"
    time.sleep(1.0)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    history = History(path)
    logged = history.recent(1_000_000)
    assert logged[0].answer.question == "第一个问题" and len(logged) >= 2
    history.record(None, answer("之后的问题"))  # and it takes new writes
    assert history.recent(1)[0].answer.question == "之后的问题"


@pytest.mark.parametrize("damage", ["garbage", "newer", "foreign"])
def test_a_database_it_does_not_know_is_refused_and_left_alone(tmp_path: Path, damage: str):
    path = tmp_path / "history.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"not a database at all" * 100)
    else:
        with sqlite3.connect(path) as db:
            if damage == "newer":
                History(path).record(None, answer("问题"))
                db.execute("PRAGMA user_version = 99")
            else:
                db.execute("CREATE TABLE notes(text)")
    before = path.read_bytes()
    with pytest.raises(HistoryError) as raised:
        History(path).record(None, answer("问题"))
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)
    assert path.read_bytes() == before


DOC = "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。"


@pytest.fixture
def indexed(tmp_path: Path, fake_encoder) -> Path:
    (tmp_path / "f.txt").write_text(DOC, encoding="utf-8")
    assert runner.invoke(app, ["index", str(tmp_path / "f.txt")]).exit_code == 0
    return tmp_path


def test_qa_log_json_round_trips_what_qa_ask_answered(indexed: Path):
    asked = json.loads(runner.invoke(app, ["ask", "--json", "北京工厂月产能是多少？"]).stdout)
    runner.invoke(app, ["ask", "--json", "--no-log", "第二工厂什么时候投产？"])
    result = runner.invoke(app, ["log", "--json"])
    assert result.exit_code == 0, result.output
    [logged] = json.loads(result.stdout)
    for key in ("question", "answer", "abstained", "short_answer", "citations", "language", "reader"):
        assert logged[key] == asked[key], key
    assert [p["passage_id"] for p in logged["passages"]] == [p["passage_id"] for p in asked["passages"]]
    assert all(p["text"] for p in logged["passages"])  # the context, for the chat's Sources
    text = runner.invoke(app, ["log", "-q", "月产能"]).stdout
    assert "## 北京工厂月产能是多少？" in text and "Sources\n[1] f.txt" in text
    assert "No questions" in runner.invoke(app, ["log", "-q", "不存在的词"]).stdout
    listed = json.loads(runner.invoke(app, ["log", "--conversations", "--json"]).stdout)
    assert [(c["origin"], c["exchanges"]) for c in listed] == [("ask", 1)]


def test_questions_from_stdin_share_one_logged_conversation(indexed: Path):
    runner.invoke(app, ["ask", "-"], input="北京工厂月产能？\n第二工厂呢？\n")
    [conversation] = json.loads(runner.invoke(app, ["log", "--conversations", "--json"]).stdout)
    assert conversation["exchanges"] == 2


def test_a_history_that_cannot_be_written_does_not_stop_an_answer(indexed: Path, monkeypatch):
    data = indexed / "data"
    data.mkdir()
    (data / "history.sqlite3").write_bytes(b"garbage" * 100)
    monkeypatch.setenv("QA_DATA_DIR", str(data))
    result = runner.invoke(app, ["ask", "北京工厂月产能是多少？"])
    assert result.exit_code == 0 and "2.5万辆" in result.stdout
    assert "qa: warning: not logged:" in result.stderr
    result = runner.invoke(app, ["log"])
    assert result.exit_code == 4 and len(result.stderr.strip().splitlines()) == 1
