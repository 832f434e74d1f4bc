"""`qa chat` checks first: a terminal, paths that exist, a readable index. Each fails with
one line and an exit code before the full screen opens."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO
from citeqa.cli import app
from tui.app import ChatApp

runner = CliRunner()


def test_without_a_terminal_it_exits_2_with_one_line(tmp_path: Path):
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "citeqa", "chat"], cwd=REPO, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=20,  # a guard against the old spin, not a speed check
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "needs a terminal" in result.stderr and result.stdout == ""
    print(f"qa chat without a terminal answered in {seconds:.2f} s")


@pytest.fixture
def screen_never_opens(monkeypatch):
    started: list[ChatApp] = []
    monkeypatch.setattr(ChatApp, "run", lambda self, **kwargs: started.append(self))
    monkeypatch.setattr("citeqa.chat.has_terminal", lambda: True)
    yield
    assert not started, "the chat screen opened although the arguments were bad"


@pytest.mark.parametrize("name,code,message", [
    ("missing", 3, "no such file or directory"),
    ("run.sh", 3, "not a document qa reads"),
])
def test_bad_paths_fail_before_the_screen_opens(name, code, message, tmp_path: Path, screen_never_opens, fake_encoder):
    (tmp_path / "run.sh").write_text("echo hi\n", encoding="utf-8")
    result = runner.invoke(app, ["chat", str(tmp_path / name)])
    assert result.exit_code == code and message in result.output


def test_no_index_and_no_seeds_fails_before_the_screen_opens(tmp_path: Path, monkeypatch, screen_never_opens):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["chat"])
    assert result.exit_code == 4 and "no index" in result.output


def test_a_damaged_index_fails_before_the_screen_opens(tmp_path: Path, monkeypatch, screen_never_opens):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "CURRENT").write_text("not json", encoding="utf-8")
    result = runner.invoke(app, ["chat", "--index-dir", str(index_dir)])
    assert result.exit_code == 4 and "damaged" in result.output
