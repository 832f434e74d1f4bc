"""Structure is context, not an answer: headings and table header rows are never sentences to
quote but the context retrieval reads passages with; a table row is one sentence; a line
ending in a colon is one sentence with the code or list it introduces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import FakeEncoder
from index.build import build_index_incrementally
from index.documents import load_document, load_documents
from index.passages import split_document
from index.store import load_index, save_index
from qa.reading.spans import PairEncoding, best_span

MARKDOWN = """# 星图笔记

## 安装

先创建虚拟环境，然后运行：

```bash
python -m venv .venv
pip install xingtu-notes
```

## 配置选项

| 选项 | 默认值 |
|---|---|
| --port | 8765 |
| --workers | 2 |

功能包括：

- 引用出处
- 拒答
"""

HTML = """<html><body><h1>青禾手机</h1><h2>参数</h2>
<table><tr><th>型号</th><th>售价</th></tr><tr><td>S1</td><td>2499元</td></tr><tr><td>Fold</td><td>7999元</td></tr></table>
<p>保修步骤如下：</p><ol><li>提交申请</li><li>寄出手机</li></ol></body></html>"""


@pytest.fixture
def markdown(tmp_path: Path):
    (tmp_path / "guide.md").write_text(MARKDOWN, encoding="utf-8")
    return load_document(tmp_path / "guide.md")


def test_headings_and_header_rows_are_context_not_sentences(markdown):
    sentences, passages = split_document(markdown)
    texts = [s.text for s in sentences]
    assert texts == [
        "先创建虚拟环境，然后运行：\npython -m venv .venv\npip install xingtu-notes",
        "--port 8765",
        "--workers 2",
        "功能包括：\n引用出处\n拒答",
    ]
    assert not any(t in {"星图笔记", "安装", "配置选项", "选项 默认值"} for t in texts)
    for s in sentences:
        assert markdown.text[s.start : s.end] == s.text
    first = passages[0]
    assert first.context == "星图笔记 > 安装"
    assert first.retrieval_text.startswith("星图笔记 > 安装\n先创建虚拟环境")
    assert first.text == markdown.text[first.start : first.end]


def test_a_row_is_read_with_its_table_header_and_prose_after_the_table_is_not(tmp_path: Path):
    (tmp_path / "table.md").write_text("## 价格\n\n| 型号 | 售价 |\n|---|---|\n| S1 | 2499元 |\n\n售后服务全国联保。\n", encoding="utf-8")
    document = load_document(tmp_path / "table.md")
    sentences, _ = split_document(document)
    from index.sections import structured_units
    from index.passages import split_sentence_spans

    units = structured_units(document.text, document.blocks, 300, split_sentence_spans)
    assert [(document.text[u.start : u.end], u.context) for u in units] == [
        ("S1 2499元", "价格\n型号 售价"),
        ("售后服务全国联保。", "价格"),
    ]


def test_html_headings_header_cells_and_lists(tmp_path: Path):
    (tmp_path / "phones.html").write_text(HTML, encoding="utf-8")
    document = load_document(tmp_path / "phones.html")
    sentences, passages = split_document(document)
    assert [s.text for s in sentences] == ["S1 2499元", "Fold 7999元", "保修步骤如下：\n提交申请\n寄出手机"]
    assert passages[0].context == "青禾手机 > 参数\n型号 售价"


def test_an_introduction_takes_only_the_lines_that_fit(tmp_path: Path):
    lines = "\n".join(f"echo step-{n:02d}-" + "x" * 40 for n in range(12))
    (tmp_path / "long.md").write_text(f"然后运行：\n\n```\n{lines}\n```\n", encoding="utf-8")
    document = load_document(tmp_path / "long.md")
    sentences, _ = split_document(document, max_chars=200)
    assert sentences[0].text.startswith("然后运行：\necho step-00-") and len(sentences[0].text) <= 200
    assert all(len(s.text) <= 200 for s in sentences)
    assert "".join(s.text for s in sentences).count("echo step-") == 12  # no line lost


def test_plain_text_is_split_as_before(tmp_path: Path):
    (tmp_path / "a.txt").write_text("# 不是标题\n然后运行：\npip install x\n", encoding="utf-8")
    sentences, passages = split_document(load_document(tmp_path / "a.txt"))
    assert [s.text for s in sentences] == ["# 不是标题", "然后运行：", "pip install x"]
    assert all(p.context == "" for p in passages)


def test_structure_survives_the_index_so_an_unchanged_refresh_embeds_nothing(markdown, tmp_path: Path):
    encoder = FakeEncoder()
    first, _ = build_index_incrementally(load_documents([markdown.path]), encoder)
    save_index(first, tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert loaded.documents[markdown.id].blocks == markdown.blocks
    assert [p.context for p in loaded.passages] == [p.context for p in first.passages]
    again, changes = build_index_incrementally(list(loaded.documents.values()), encoder, previous=loaded)
    assert changes.embedded_texts == 0 and again.passages == first.passages


def test_a_span_is_only_taken_from_allowed_text():
    passage = "安装\n先运行命令。"
    # one token per character after [CLS]; the logits favour the heading "安装"
    offsets = [(0, 0)] + [(k, k + 1) for k in range(len(passage))]
    pair = PairEncoding(ids=list(range(len(offsets))), offsets=offsets, passage_start=1, passage_end=len(offsets))
    start, end = np.zeros(len(offsets)), np.zeros(len(offsets))
    start[1], end[2] = 9.0, 9.0  # "安装"
    start[5], end[8] = 5.0, 5.0  # "运行命令" (token t is character t - 1)
    assert passage[slice(*_span(best_span(pair, passage, start, end)))] == "安装"
    chosen = best_span(pair, passage, start, end, allowed=[(3, len(passage))])
    assert passage[chosen.start : chosen.end] == "运行命令"
    assert best_span(pair, passage, start, end, allowed=[]) is None


def _span(score):
    return score.start, score.end
