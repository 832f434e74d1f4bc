"""An index is a set of sources: adding one keeps the others, `--remove` drops exactly one,
`qa index` alone refreshes them all, a slip never changes what is indexed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index.store import load_index
from citeqa.cli import app

runner = CliRunner()


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


@pytest.fixture
def two_sources(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)
    seeds = tmp_path / "articles"
    notes = tmp_path / "home" / "notes"
    _write(seeds, "car.txt", "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。")
    _write(notes, "tea.md", "# 茶\n\n龙井茶产自杭州西湖。普洱茶产自云南。\n")
    _write(notes, "cat.txt", "我的猫叫年糕，今年三岁。")
    return seeds, notes


def _index(*args: str) -> str:
    result = runner.invoke(app, ["index", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _sources() -> list[dict]:
    result = runner.invoke(app, ["sources", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _answer(question: str) -> dict:
    result = runner.invoke(app, ["ask", "--json", question])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_two_sources_indexed_one_after_the_other_both_answer(two_sources, fake_encoder, tmp_path: Path):
    seeds, notes = two_sources
    _index(str(seeds))
    output = _index(str(notes))
    assert "2 added, 0 changed, 0 removed, 1 unchanged" in output
    listed = _sources()
    assert [s["path"] for s in listed] == [str(seeds), str(notes)]
    assert [s["documents"] for s in listed] == [1, 2] and all(s["passages"] >= 1 and s["exists"] for s in listed)
    assert _answer("北京工厂月产能")["citations"][0]["doc"] == "articles/car.txt"
    assert _answer("龙井茶产自哪里")["citations"][0]["doc"] == "home/notes/tea.md"


def test_remove_drops_exactly_one_source(two_sources, fake_encoder):
    seeds, notes = two_sources
    _index(str(seeds))
    _index(str(notes))
    before = load_index(Path(read_manifest_dir()))
    output = _index("--remove", str(notes))
    assert "removed source" in output and "0 added, 0 changed, 2 removed, 1 unchanged" in output
    assert [s["path"] for s in _sources()] == [str(seeds)]
    after = load_index(Path(read_manifest_dir()))
    assert set(after.documents) == {"articles/car.txt"}
    assert after.documents["articles/car.txt"].text == before.documents["articles/car.txt"].text
    # a path that is not a source is an error and changes nothing
    result = runner.invoke(app, ["index", "--remove", str(notes / "tea.md")])
    assert result.exit_code == 2 and "not an indexed source" in result.output
    assert [s["path"] for s in _sources()] == [str(seeds)]


def test_a_slip_on_the_command_line_changes_nothing(two_sources, fake_encoder, tmp_path: Path):
    seeds, _ = two_sources
    _index(str(seeds))
    script = tmp_path / "run"
    script.write_text("#!/bin/sh\necho hello\n", encoding="utf-8")
    snapshot = (Path(read_manifest_dir()) / "CURRENT").read_text()
    for bad in (str(script), str(tmp_path / "missing-folder")):
        result = runner.invoke(app, ["index", bad])
        assert result.exit_code == 3, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert (Path(read_manifest_dir()) / "CURRENT").read_text() == snapshot


def test_index_alone_refreshes_every_source_with_the_same_ids_from_anywhere(two_sources, fake_encoder, tmp_path: Path, monkeypatch):
    seeds, notes = two_sources
    _index(str(seeds))
    _index(str(notes))
    (seeds / "car.txt").write_text("北京工厂当前月产能3万辆。", encoding="utf-8")
    _write(notes, "dog.txt", "邻居的狗叫旺财。")
    (notes / "cat.txt").unlink()
    monkeypatch.chdir("/")  # ids stay relative to where each source was first indexed
    output = _index()
    assert "1 added, 1 changed, 1 removed, 1 unchanged" in output
    ids = set(load_index(Path(read_manifest_dir())).documents)
    assert ids == {"articles/car.txt", "home/notes/tea.md", "home/notes/dog.txt"}


def test_a_gone_source_keeps_its_documents(two_sources, fake_encoder):
    seeds, notes = two_sources
    _index(str(seeds))
    _index(str(notes))
    for path in notes.iterdir():
        path.unlink()
    notes.rmdir()
    output = _index()
    assert "is gone" in output and "0 removed" in output
    assert [s["exists"] for s in _sources()] == [True, False]
    assert _answer("龙井茶产自哪里")["citations"][0]["doc"] == "home/notes/tea.md"
    _index("--remove", str(notes))
    assert [s["path"] for s in _sources()] == [str(seeds)]


def test_a_path_inside_a_source_refreshes_that_part_and_a_folder_takes_over_inner_sources(two_sources, fake_encoder):
    _, notes = two_sources
    _index(str(notes / "tea.md"))
    _index(str(notes / "cat.txt"))
    assert len(_sources()) == 2
    _index(str(notes))  # the folder takes over both files
    assert [s["path"] for s in _sources()] == [str(notes)]
    (notes / "cat.txt").write_text("我的猫叫汤圆。", encoding="utf-8")
    output = _index(str(notes / "cat.txt"))  # part of the folder: refreshed, no new source
    assert "0 added, 1 changed, 0 removed, 1 unchanged" in output
    assert [s["path"] for s in _sources()] == [str(notes)]


def test_a_clash_of_ids_between_sources_keeps_both_documents(tmp_path: Path, fake_encoder, monkeypatch):
    monkeypatch.chdir(tmp_path / "..")
    first = _write(tmp_path / "one" / "docs", "a.txt", "第一份说明。")
    second = _write(tmp_path / "two" / "docs", "a.txt", "第二份说明。")
    _index(str(first.parent))
    _index(str(second.parent))
    documents = load_index(Path(read_manifest_dir())).documents
    assert len(documents) == 2 and sorted(d.text for d in documents.values()) == ["第一份说明。", "第二份说明。"]


def test_an_index_from_before_sources_lists_each_document_as_one(two_sources, fake_encoder):
    seeds, notes = two_sources
    _index(str(seeds))
    _index(str(notes))
    directory = Path(read_manifest_dir())
    snapshot = directory / json.loads((directory / "CURRENT").read_text())["snapshot"]
    manifest = json.loads((snapshot / "manifest.json").read_text())
    del manifest["sources"]
    for record in manifest["documents"]:
        del record["source"], record["passages"]
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    assert sorted(s["path"] for s in _sources()) == sorted(
        [str(seeds / "car.txt"), str(notes / "tea.md"), str(notes / "cat.txt")])
    _index(str(notes))  # the folder takes over its two files; the other stays
    assert sorted(s["path"] for s in _sources()) == sorted([str(seeds / "car.txt"), str(notes)])
    assert len(load_index(directory).documents) == 3


def test_asking_an_empty_index_says_how_to_fill_it(two_sources, fake_encoder):
    seeds, _ = two_sources
    _index(str(seeds))
    _index("--remove", str(seeds))
    assert _sources() == []
    assert "No sources" in runner.invoke(app, ["sources"]).output
    result = runner.invoke(app, ["ask", "北京工厂月产能"])
    assert result.exit_code == 4 and "holds no documents" in result.output


def read_manifest_dir() -> str:
    import os

    return os.environ["QA_INDEX_DIR"]


def test_sources_without_an_index_is_a_one_line_error(tmp_path: Path, fake_encoder):
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 4 and "no index" in result.output
