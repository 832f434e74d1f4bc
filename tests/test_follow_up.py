from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citeqa.cli import app
from qa.follow_up import is_follow_up, resolve_follow_up


@pytest.mark.parametrize(
    "question,expected",
    [("那第二工厂呢？", True), ("他呢？", True), ("那么价格呢", True), ("它是哪一年成立的？", True),
     ("What about the second factory?", True), ("And its price?", True),
     ("北京工厂的月产能是多少？", False), ("How many cars were delivered in 2024 by the company?", False),
     ("What is the capital of France?", False)],
)
def test_follow_up_detection(question, expected):
    assert is_follow_up(question) is expected


def test_resolution_swaps_the_subject_or_joins_the_previous_question():
    assert resolve_follow_up("那第二工厂呢？", "北京工厂的月产能是多少？") == "第二工厂的月产能是多少？"
    assert resolve_follow_up("他呢？", "谁发布了这款手机？") == "谁发布了这款手机？ 他呢？"
    assert resolve_follow_up("What about the second plant?", "How big is the first plant?") == "How big is the second plant?"
    assert resolve_follow_up("第二工厂在哪里？", "北京工厂的月产能是多少？") == "第二工厂在哪里？"
    assert resolve_follow_up("那第二工厂呢？", None) == "那第二工厂呢？"


def test_ask_context_answers_the_follow_up(tmp_path: Path, fake_encoder):
    (tmp_path / "f.txt").write_text(
        "北京工厂月产能为2.5万辆。\n天气晴朗，适合出游。\n第二工厂投产后月产能预计达到3.7万辆。", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(tmp_path / "f.txt")]).exit_code == 0
    result = runner.invoke(app, ["ask", "--json", "--context", "北京工厂的月产能是多少？", "那第二工厂呢？"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "3.7万辆" in data["answer"]
    assert data["resolved_question"] == "第二工厂的月产能是多少？"
    assert data["question"] == "那第二工厂呢？"
    text = runner.invoke(app, ["ask", "--context", "北京工厂的月产能是多少？", "那第二工厂呢？"]).stdout
    assert text.splitlines()[0] == "Read as: 第二工厂的月产能是多少？"
    assert "Read as" not in runner.invoke(app, ["ask", "北京工厂的月产能是多少？"]).stdout
