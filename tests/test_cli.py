from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citeqa.cli import app

runner = CliRunner()
DOC = "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。\nThe second factory opens in April."


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "factory.txt").write_text(DOC, encoding="utf-8")
    return folder


def test_index_then_ask_prints_answer_and_sources(corpus: Path, fake_encoder):
    result = runner.invoke(app, ["index", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "1 document" in result.output
    result = runner.invoke(app, ["ask", "北京工厂月产能是多少？"])
    assert result.exit_code == 0, result.output
    assert "2.5万辆" in result.output and "[1]" in result.output and "Sources" in result.output
    assert "factory.txt" in result.output


def test_piped_output_marks_the_quote_inside_its_passage(corpus: Path, fake_encoder):
    runner.invoke(app, ["index", str(corpus)])
    text = runner.invoke(app, ["ask", "第二工厂什么时候投产？"]).stdout  # not a terminal: no colours
    assert "    北京工厂当前月产能2.5万辆。«第二工厂四月起阶段性投产。»\n" in text


def test_ask_json_shape_and_exact_quotes(corpus: Path, fake_encoder):
    runner.invoke(app, ["index", str(corpus)])
    result = runner.invoke(app, ["ask", "--json", "--top-k", "2", "第二工厂什么时候投产？"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"] == "第二工厂什么时候投产？"
    assert isinstance(data["abstained"], bool) and len(data["passages"]) <= 2
    for citation in data["citations"]:
        assert DOC[citation["start"] : citation["end"]] == citation["text"]
        assert f"[{citation['n']}]" in data["answer"]


def test_ask_dash_reads_questions_from_stdin_as_json_lines(corpus: Path, fake_encoder):
    runner.invoke(app, ["index", str(corpus)])
    result = runner.invoke(app, ["ask", "-"], input="月产能多少？\n\nWhen does it open?\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == ["月产能多少？", "When does it open?"]
    assert all("answer" in r for r in rows)


def test_first_ask_builds_the_index_from_seeds(tmp_path: Path, fake_encoder, monkeypatch):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text(DOC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["ask", "--json", "月产能"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["citations"][0]["doc"] == "seeds/a.txt"


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["ask", "   "], 2, "empty"),
        (["ask", "x", "--top-k", "0"], 2, ""),
        (["ask", "x", "--engine", "warp"], 2, "unknown engine"),
        (["index", "/nonexistent/folder"], 3, "no such file"),
    ],
)
def test_errors_are_one_line_with_distinct_exit_codes(args, code, message, fake_encoder):
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert message in result.output


def test_ask_without_index_or_seeds_says_how_to_build(tmp_path: Path, monkeypatch, fake_encoder):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["ask", "anything"])
    assert result.exit_code == 4
    assert "qa index" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_binary_document_is_an_input_error(tmp_path: Path, fake_encoder):
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01binary")
    result = runner.invoke(app, ["index", str(tmp_path / "bad.txt")])
    assert result.exit_code == 3 and "binary" in result.stderr


def test_model_mismatch_is_an_index_error(corpus: Path, fake_encoder):
    runner.invoke(app, ["index", str(corpus)])
    result = runner.invoke(app, ["ask", "--model", "some/other-model", "x"])
    assert result.exit_code == 4
    assert "fake/hashed-bigrams" in result.stderr and "qa index --model some/other-model" in result.stderr


def test_document_text_with_markup_and_escapes_prints_literally(tmp_path: Path, fake_encoder):
    hostile = "工厂[bold red]产能[/]是\x1b[31m红色\x1b[0m的[link=http://x]链接[/link]。"
    (tmp_path / "hostile.txt").write_text(hostile, encoding="utf-8")
    runner.invoke(app, ["index", str(tmp_path / "hostile.txt")])
    result = runner.invoke(app, ["ask", "工厂产能"])
    assert result.exit_code == 0
    assert "[bold red]产能[/]" in result.stdout and "[link=http://x]" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b[31m" in result.stdout


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from citeqa.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0\n"
        "result = CliRunner().invoke(app, ['ask', '--top-k', 'x', 'q'])\n"
        "assert result.exit_code == 2\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'faiss', 'numpy') if m in sys.modules]\n"
        "print(heavy)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reindexing_reuses_unchanged_documents_unless_rebuild(corpus: Path, fake_encoder):
    assert runner.invoke(app, ["index", str(corpus)]).exit_code == 0
    fake_encoder.calls.clear()
    result = runner.invoke(app, ["index", str(corpus)])
    assert result.exit_code == 0
    assert "0 added, 0 changed, 0 removed, 1 unchanged; 0 passages and sentences embedded" in result.stderr
    assert sum(fake_encoder.calls) == 0
    result = runner.invoke(app, ["index", "--rebuild", str(corpus)])
    assert result.exit_code == 0 and "1 added" in result.stderr and sum(fake_encoder.calls) > 0
