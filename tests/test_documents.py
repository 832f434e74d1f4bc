from __future__ import annotations

from pathlib import Path

import pytest

from index.documents import load_documents
from index.errors import DocumentError

TEXT = "小米汽车的北京工厂月产能为2.5万辆。\n第二工厂将于4月投产。"
TRADITIONAL = "小米汽車的北京工廠月產能為2.5萬輛。\n第二工廠將於4月投產。"


def test_utf8_with_and_without_bom_and_windows_newlines(tmp_path: Path):
    (tmp_path / "a.txt").write_bytes(TEXT.replace("\n", "\r\n").encode("utf-8"))
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    a, b = load_documents([tmp_path])
    assert a.text == b.text == TEXT
    assert a.sha256 == b.sha256
    assert b.encoding == "utf-8-sig"


@pytest.mark.parametrize("encoding,text", [("gb18030", TEXT), ("gbk", TEXT), ("big5", TRADITIONAL)])
def test_chinese_legacy_encodings_are_detected(tmp_path: Path, encoding: str, text: str):
    (tmp_path / "legacy.txt").write_bytes(text.encode(encoding))
    (document,) = load_documents([tmp_path / "legacy.txt"])
    assert document.text == text


def test_binary_and_undecodable_files_are_refused_with_a_clear_error(tmp_path: Path):
    (tmp_path / "nul.txt").write_bytes(b"abc\x00\x01\x02" * 10)
    with pytest.raises(DocumentError, match="binary"):
        load_documents([tmp_path / "nul.txt"])
    (tmp_path / "png.txt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DocumentError):
        load_documents([tmp_path / "png.txt"])


def test_folders_are_walked_recursively_sorted_with_relative_ids(tmp_path: Path, monkeypatch):
    corpus = tmp_path / "corpus"
    (corpus / "b" / "deep").mkdir(parents=True)
    (corpus / "b" / "deep" / "z.md").write_text("# 标题\n正文。", encoding="utf-8")
    (corpus / "b" / "a.txt").write_text("甲。", encoding="utf-8")
    (corpus / "c.txt").write_text("乙。", encoding="utf-8")
    (corpus / "skip.pdf").write_bytes(b"%PDF-1.4")
    (corpus / ".hidden.txt").write_text("隐藏。", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    ids = [d.id for d in load_documents([Path("corpus")])]
    assert ids == ["corpus/b/a.txt", "corpus/b/deep/z.md", "corpus/c.txt"]


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path):
    with pytest.raises(DocumentError, match="no such file"):
        load_documents([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DocumentError, match="no .txt, .md, .html or .pdf files"):
        load_documents([tmp_path / "empty"])
