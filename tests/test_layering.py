"""The dependency arrow points tui -> qa -> index; only qa/cli.py imports typer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "package,forbidden",
    [("index", {"qa", "tui", "typer", "textual"}), ("qa", {"tui", "textual"})],
)
def test_packages_do_not_import_upstream(package: str, forbidden: set[str]):
    for path in (REPO / package).rglob("*.py"):
        assert not imported_roots(path) & forbidden, path


def test_only_the_cli_imports_typer():
    users = {p.relative_to(REPO).as_posix() for pkg in ("index", "qa", "tui") for p in (REPO / pkg).rglob("*.py") if "typer" in imported_roots(p)}
    assert users <= {"qa/cli.py"}
