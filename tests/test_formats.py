"""Markdown, HTML and PDF documents: the plain text they become, its map back to the file, and
citations that quote the text exactly and point at the right place in the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from index.documents import load_document, load_documents
from index.errors import DocumentError, IndexStoreError
from index.html_text import extract_html
from index.markdown_text import extract_markdown
from index.passages import split_sentence_spans
from index.source_map import ExtractedText, SourceMap
from citeqa.cli import app

runner = CliRunner()


def assert_exact_map(extracted: ExtractedText, source: str) -> None:
    """Every verbatim segment is the same characters in text and source; segments are in
    order in both; every source span of a text span lies inside the source."""
    text, source_map = extracted.text, extracted.source_map
    previous_text_end = previous_source_end = 0
    for text_start, source_start, text_length, source_length in source_map.segments:
        assert text_start >= previous_text_end and source_start >= previous_source_end
        assert text_length > 0 and source_length > 0
        assert text_start + text_length <= len(text) and source_start + source_length <= len(source)
        if text_length == source_length:
            assert text[text_start : text_start + text_length] == source[source_start : source_start + source_length]
        previous_text_end, previous_source_end = text_start + text_length, source_start + source_length
    for start, end in split_sentence_spans(text):
        span = source_map.source_span(start, end)
        if span is not None:
            assert 0 <= span[0] < span[1] <= len(source)


def verbatim_positions(source_map: SourceMap) -> dict[int, int]:
    """text offset -> source offset of every character copied verbatim."""
    positions = {}
    for text_start, source_start, text_length, source_length in source_map.segments:
        if text_length == source_length:
            positions.update({text_start + k: source_start + k for k in range(text_length)})
    return positions


def synthetic_characters(extracted: ExtractedText) -> set[str]:
    """The characters of the text that come from nowhere in the source."""
    mapped = {t + k for t, _, length, _ in extracted.source_map.segments for k in range(length)}
    return {char for i, char in enumerate(extracted.text) if i not in mapped}


# --- Markdown -------------------------------------------------------------------------

MARKDOWN = """\
---
title: 小米汽车
---

# 小米汽车的产能 #

据第三方数据显示，小米北京工厂当前**月产能2.5万辆**，
而2025年一季度累计订单已达12万辆。
The *second* factory opens in April,
and `qa index` runs it.

> 雷军坦言：**“现在不是愁订单。”**后面

- [x] 第一项 [官网](https://www.mi.com "小米")
- 第二项 ![工厂照片](factory.png)
  续行 <span style="color:red">红色</span>

| 型号 | 价格 |
|---|---|
| SU7 \\| Ultra | 52.99万元 |

```bash
qa index ~/notes/
```

[ref]: https://example.com "参考"

见[参考][ref]。5 * 3 与 a*b、snake_case_name、25~35岁、~~删除~~、&amp;、\\*星号\\*。

<div align="center">
<b>HTML</b> 块<script>var x = 1;</script>
</div>

第二章
======
"""

MARKDOWN_TEXT = """\
小米汽车的产能
据第三方数据显示，小米北京工厂当前月产能2.5万辆，而2025年一季度累计订单已达12万辆。 The second factory opens in April, and qa index runs it.
雷军坦言：“现在不是愁订单。”后面
第一项 官网
第二项 工厂照片续行 红色
型号 价格
SU7 | Ultra 52.99万元
qa index ~/notes/
见参考。5 * 3 与 a*b、snake_case_name、25~35岁、删除、&、*星号*。
HTML 块
第二章
"""


def test_markdown_markup_is_stripped_block_by_block():
    extracted = extract_markdown(MARKDOWN)
    assert extracted.text == MARKDOWN_TEXT
    assert_exact_map(extracted, MARKDOWN)


def test_markdown_text_maps_back_to_the_same_characters():
    extracted = extract_markdown(MARKDOWN)
    assert synthetic_characters(extracted) == {"\n", " "}  # only what ends and joins lines
    positions = verbatim_positions(extracted.source_map)
    joins = [extracted.text[i - 1 : i + 2] for i, char in enumerate(extracted.text) if char == " " and i not in positions]
    assert joins == ["。 T", ", a", "号 价", "a 5"]  # two soft line breaks, two table cells
    for i, j in positions.items():
        assert extracted.text[i] == MARKDOWN[j]
    # The entity is the one replaced character, and maps to the whole `&amp;`.
    amp = extracted.text.index("&")
    assert extracted.source_map.source_span(amp, amp + 1) == (MARKDOWN.index("&amp;"), MARKDOWN.index("&amp;") + 5)


def test_markdown_source_span_of_a_sentence_covers_its_markup():
    extracted = extract_markdown(MARKDOWN)
    sentence = "据第三方数据显示，小米北京工厂当前月产能2.5万辆，而2025年一季度累计订单已达12万辆。"
    start = extracted.text.index(sentence)
    source_start, source_end = extracted.source_map.source_span(start, start + len(sentence))
    assert MARKDOWN[source_start:source_end] == (
        "据第三方数据显示，小米北京工厂当前**月产能2.5万辆**，\n而2025年一季度累计订单已达12万辆。"
    )
    cell = extracted.text.index("SU7 | Ultra")
    assert MARKDOWN[slice(*extracted.source_map.source_span(cell, cell + len("SU7 | Ultra")))] == "SU7 \\| Ultra"
    # A span starting on synthetic text (the space between cells) starts at the next real one.
    gap = extracted.text.index(" 52.99万元")
    assert MARKDOWN[slice(*extracted.source_map.source_span(gap, gap + 3))] == "52"


@pytest.mark.parametrize(
    "source,text",
    [
        ("**“引号”**后面", "“引号”后面\n"),  # CommonMark leaves these asterisks; we do not
        ("这是**粗体。**后面", "这是粗体。后面\n"),
        ("中文*强调*中文", "中文强调中文\n"),
        ("2 * 3 * 4", "2 * 3 * 4\n"),
        ("a_b_c and _em_", "a_b_c and em\n"),
        ("***强***调", "强调\n"),
        ("`` a`b ``", "a`b\n"),
        ("`未闭合", "`未闭合\n"),
        ("[未定义]与[^1]", "[未定义]与[^1]\n"),
        ("[a](b c)", "[a](b c)\n"),  # not a link: a destination has no spaces
        ("[外[内]](url)", "外[内]\n"),
        ("[![徽章](b.svg)](https://x)", "徽章\n"),
        ("<https://mi.com> 与 <a@b.cn>", "https://mi.com 与 a@b.cn\n"),
        ("第一行<br>第二行", "第一行\n第二行\n"),
        ("第一行  \n第二行\\\n第三行", "第一行\n第二行\n第三行\n"),
        ("中文\n换行", "中文换行\n"),
        ("English\nline", "English line\n"),
        ("<!-- 注释 -->\n\n正文", "正文\n"),
        ("    缩进代码\n\n正文", "缩进代码\n正文\n"),
        ("1. 一\n2. 二\n   - 嵌套", "一\n二\n嵌套\n"),
        ("---\n\n***", ""),
        ("&#x4e2d;&#25991; &nosuch;", "中文 &nosuch;\n"),
    ],
)
def test_markdown_inline_cases(source: str, text: str):
    extracted = extract_markdown(source)
    assert extracted.text == text
    assert_exact_map(extracted, source)


def test_front_matter_and_reference_definitions_are_dropped():
    source = "+++\ntitle = '标题'\n+++\n正文[链接]。\n\n[链接]: <https://x.cn> '标题'\n"
    assert extract_markdown(source).text == "正文链接。\n"
    assert extract_markdown("---\n没有结束的分隔线\n").text == "没有结束的分隔线\n"


MARKDOWN_PIECES = st.sampled_from(
    [
        "# ", "## ", "\n", "\n\n", "> ", "- ", "1. ", "  ", "\t", "**", "*", "_", "__", "~~", "~",
        "`", "``", "```\n", "[", "]", "(", ")", "](http://a.b)", "![", "<", ">", "<b>", "</b>",
        "<br>", "<!--", "-->", "<div>", "</div>", "<script>", "</script>", "&amp;", "&#x4e2d;", "&",
        "\\", "\\*", "|", "| a | b |\n|---|---|\n", "---\n", "===\n", "[r]: /u\n", "[r]", "[ ] ",
        "小米", "工厂", "。", "，", "“", "”", "雷军", "abc", "word", "2.5万辆", " ", "x_y",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKDOWN_PIECES, max_size=40).map("".join))
def test_markdown_property_every_character_maps_to_the_same_character(source: str):
    extracted = extract_markdown(source)
    assert_exact_map(extracted, source)
    assert synthetic_characters(extracted) <= {"\n", " "}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_markdown_property_any_text_converts(source: str):
    source = source.replace("\r", "\n").replace("\x00", "")
    extracted = extract_markdown(source)
    assert_exact_map(extracted, source)


# --- HTML -----------------------------------------------------------------------------

HTML = """\
<!DOCTYPE html>
<html><head><title>页面标题</title>
<style>p { color: red; }</style>
<script>var secret = "<p>不应出现</p>";</script></head>
<body>
<h1>小米 &amp; 雷军</h1>
<p>据第三方数据显示，小米北京工厂当前<b>月产能2.5万辆</b>，
而2025年一季度累计订单已达12万辆。</p>
<noscript>请启用脚本</noscript>
<ul><li>第一项</li><li>second   item</li></ul>
<table><tr><th>型号</th><th>价格</th></tr><tr><td>SU7 Ultra</td><td>52.99万元</td></tr></table>
<pre>qa index
  ~/notes/</pre>
<!-- 注释 --><p>结尾<br/>新行&#x4e2d;</p>
</body></html>
"""

HTML_TEXT = """\
小米 & 雷军
据第三方数据显示，小米北京工厂当前月产能2.5万辆，而2025年一季度累计订单已达12万辆。
第一项
second item
型号 价格
SU7 Ultra 52.99万元
qa index
  ~/notes/
结尾
新行中
"""


def test_html_visible_text_without_script_style_head():
    extracted = extract_html(HTML)
    assert extracted.text == HTML_TEXT
    for hidden in ("页面标题", "color", "secret", "不应出现", "请启用脚本", "注释"):
        assert hidden not in extracted.text
    assert_exact_map(extracted, HTML)
    sentence = "据第三方数据显示，小米北京工厂当前月产能2.5万辆，而2025年一季度累计订单已达12万辆。"
    start = extracted.text.index(sentence)
    source_start, source_end = extracted.source_map.source_span(start, start + len(sentence))
    assert HTML[source_start:source_end] == (
        "据第三方数据显示，小米北京工厂当前<b>月产能2.5万辆</b>，\n而2025年一季度累计订单已达12万辆。"
    )


def test_html_text_agrees_with_an_html5_parser():
    """selectolax (lexbor, a full HTML5 parser) finds the same words on the same page."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(HTML)
    for tag in ("script", "style", "head", "noscript"):
        for node in tree.css(tag):
            node.decompose()
    theirs = "".join(tree.body.text(separator=" ").split())
    assert "".join(extract_html(HTML).text.split()) == theirs


def test_unclosed_head_ends_at_body_and_self_closed_tags_do_not_hide_text():
    assert extract_html("<head><title>标题<body><p>正文</p>").text == "正文\n"
    assert extract_html("<p>图标<svg/>之后</p><iframe src=x />还在").text == "图标之后\n还在"


HTML_PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<div>", "</div>", "<b>", "</b>", "<br>", "<br/>", "<head>", "</head>",
        "<body>", "<script>", "</script>", "<style>", "</style>", "<pre>", "</pre>", "<td>",
        "<!--", "-->", "<!DOCTYPE html>", "<![CDATA[", "]]>", "<", ">", "&amp;", "&lt", "&#x4e2d;",
        "&#99999999;", "&nosuch;", "&", "\n", " ", "  ", "\t", "小米", "。", "abc", "\"", "'", "=",
        "<a href='x'>", "</a>", "<img alt=图>", "<?php ?>", "</", "<svg/>",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(HTML_PIECES, max_size=40).map("".join))
def test_html_property_every_character_maps_to_the_same_character(source: str):
    extracted = extract_html(source)
    assert_exact_map(extracted, source)
    assert synthetic_characters(extracted) <= {"\n", " "}


# --- PDF ------------------------------------------------------------------------------

PDF_PAGE_1 = (
    "据第三方数据显示，小米北京工厂当前月产能2.5万辆，而2025年一季度累计订单已达12万辆，相当于全年目标的34%。"
    "雷军在内部会议上坦言：“现在不是愁订单，是愁如何让生产线跑赢用户期待。”"
)
PDF_ENGLISH = "The second factory opens in April and its monthly capacity is expected to exceed 37,000 vehicles, according to the company."
PDF_PAGE_2 = "3月18日，雷军宣布将年度交付目标从20万辆提升至35万辆。"


def make_pdf(encrypt=None) -> bytes:
    """Two pages of Chinese and English in reportlab's built-in CID font (no font file):
    headings, a paragraph wrapped over three lines, an English paragraph."""
    import io

    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName="STSong-Light", fontSize=16, leading=22, spaceAfter=8)
    english = ParagraphStyle("english", fontName="Helvetica", fontSize=11, leading=16, spaceBefore=8)
    out = io.BytesIO()
    story = [
        Paragraph("第一章 产能", heading), Paragraph(PDF_PAGE_1, body), Paragraph(PDF_ENGLISH, english),
        PageBreak(), Paragraph("第二章 目标", heading), Paragraph(PDF_PAGE_2, body),
    ]
    SimpleDocTemplate(out, encrypt=encrypt).build(story)
    return out.getvalue()


def test_pdf_chinese_text_page_by_page_with_wrapped_lines_joined(tmp_path: Path):
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf())
    document = load_document(path)
    page_2 = f"第二章 目标\n{PDF_PAGE_2}\n"
    assert document.text == f"第一章 产能\n{PDF_PAGE_1}\n{PDF_ENGLISH}\n{page_2}"
    assert document.encoding == "pdf" and document.source_text is None
    start = document.text.index(PDF_PAGE_2)
    assert document.page_at(start) == 2 and document.page_at(document.text.index("雷军在内部")) == 1
    assert document.page_at(document.text.index("第二章")) == 2
    assert document.source_span(start, start + 5) is None and document.line_span(start, start + 5) is None


def test_copy_protected_pdf_is_read_too(tmp_path: Path):
    """Owner password only (copying and printing restricted): pdfminer gets `(cid:N)` for
    this font, so the file is read again with pypdf."""
    from reportlab.lib import pdfencrypt

    path = tmp_path / "protected.pdf"
    path.write_bytes(make_pdf(pdfencrypt.StandardEncryption("", ownerPassword="owner", canCopy=0, canPrint=0)))
    document = load_document(path)
    assert "(cid:" not in document.text
    assert PDF_PAGE_1 in document.text and PDF_PAGE_2 in document.text
    assert document.page_at(document.text.index(PDF_PAGE_2)) == 2


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: b"%PDF-1.4", "cannot read PDF"),
        (lambda: make_pdf()[:1500], "cannot read PDF"),
        (lambda: b"<html>not a pdf</html>", "not a PDF file"),
        (lambda: make_pdf().replace(b"endobj", b"endobx"), "no text in the PDF"),
        (lambda: make_pdf(__import__("reportlab.lib.pdfencrypt", fromlist=["x"]).StandardEncryption("secret")), "encrypted PDF"),
    ],
)
def test_unreadable_pdfs_are_one_line_document_errors(tmp_path: Path, make, message: str):
    path = tmp_path / "bad.pdf"
    path.write_bytes(make())
    with pytest.raises(DocumentError, match=message) as error:
        load_document(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


# --- Documents, the index, the CLI ------------------------------------------------------

NOTES_MD = """\
# 小米汽车

## 产能

据第三方数据显示，**小米北京工厂**当前月产能*2.5万辆*。
第二工厂将于4月起[阶段性投产](https://example.com/factory)。

- 雷军把年度交付目标提高到了35万辆。
"""


def test_markdown_document_keeps_its_source_and_maps_citations_back(tmp_path: Path):
    path = tmp_path / "notes.md"
    path.write_bytes(NOTES_MD.replace("\n", "\r\n").encode("utf-8"))  # Windows newlines
    document = load_document(path)
    assert document.text == (
        "小米汽车\n产能\n据第三方数据显示，小米北京工厂当前月产能2.5万辆。第二工厂将于4月起阶段性投产。\n"
        "雷军把年度交付目标提高到了35万辆。\n"
    )
    assert document.source_text == NOTES_MD  # decoded, newlines normalised
    sentence = "第二工厂将于4月起阶段性投产。"
    start = document.text.index(sentence)
    source_start, source_end = document.source_span(start, start + len(sentence))
    assert NOTES_MD[source_start:source_end] == "第二工厂将于4月起[阶段性投产](https://example.com/factory)。"
    assert document.line_span(start, start + len(sentence)) == (6, 6)
    both = document.text.index("据第三方")
    assert document.line_span(both, start + len(sentence)) == (5, 6)
    assert document.page_at(start) is None


def test_plain_text_source_span_is_its_own_span():
    from index.documents import Document

    document = Document("a.txt", "第一行。\n第二行。", "0" * 64, Path("a.txt"), "utf-8")
    assert document.source_span(5, 9) == (5, 9) and document.line_span(5, 9) == (2, 2)
    assert document.line_span(0, 9) == (1, 2) and document.page_at(0) is None


def test_index_round_trip_keeps_source_text_and_maps(tmp_path: Path):
    from conftest import FakeEncoder
    from index.build import build_index
    from index.store import load_index, save_index

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text(NOTES_MD, encoding="utf-8")
    (folder / "page.html").write_text(HTML, encoding="utf-8")
    (folder / "report.pdf").write_bytes(make_pdf())
    (folder / "plain.txt").write_text("北京工厂当前月产能2.5万辆。", encoding="utf-8")
    documents = load_documents([folder])
    save_index(build_index(documents, FakeEncoder()), tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    for document in documents:
        assert loaded.documents[document.id].source_text == document.source_text
        assert loaded.documents[document.id].source_map == document.source_map
    assert loaded.documents[next(d.id for d in documents if d.id.endswith("report.pdf"))].source_map.page_starts
    # A damaged map is an index error naming the document, not a wrong citation later.
    snapshot = tmp_path / "index" / json.loads((tmp_path / "index" / "CURRENT").read_text())["snapshot"]
    rows = [json.loads(line) for line in (snapshot / "documents.jsonl").read_text("utf-8").splitlines()]
    for row in rows:
        if row["id"].endswith("notes.md"):
            row["source_map"]["segments"][-1][1] = 10**6
    (snapshot / "documents.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    with pytest.raises(IndexStoreError, match=r"bad source map of .*notes\.md.*qa index"):
        load_index(tmp_path / "index")


def test_folders_pick_up_every_format_and_skip_bad_files_with_warnings(tmp_path: Path, fake_encoder, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(NOTES_MD, encoding="utf-8")
    (folder / "b.markdown").write_text("# 标题\n\n正文。", encoding="utf-8")
    (folder / "c.HTML").write_text(HTML, encoding="utf-8")
    (folder / "d.htm").write_text("<p>第二工厂四月投产。</p>", encoding="gb18030")
    (folder / "e.pdf").write_bytes(make_pdf())
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    (folder / "scripts.html").write_text("<script>var a = 1;</script>", encoding="utf-8")
    (folder / "markup.md").write_text("---\n\n***\n", encoding="utf-8")
    (folder / ".hidden.md").write_text("隐藏。", encoding="utf-8")
    (folder / "notes.rst").write_text("不支持的后缀。", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["index", "docs"])
    assert result.exit_code == 0, result.output
    assert "5 document(s)" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning: skipped" in line]
    assert len(warnings) == 3 and all("Traceback" not in w for w in warnings)
    assert "broken.pdf: cannot read PDF" in result.stderr
    assert "scripts.html: no text" in result.stderr and "markup.md: no text" in result.stderr
    # A file named on the command line must load.
    result = runner.invoke(app, ["index", "docs/broken.pdf"])
    assert result.exit_code == 3 and result.stderr.count("\n") == 1 and "cannot read PDF" in result.stderr


def test_qa_index_and_ask_over_markdown(tmp_path: Path, fake_encoder, monkeypatch):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "factory.md").write_text(NOTES_MD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["index", "notes"]).exit_code == 0
    result = runner.invoke(app, ["ask", "--json", "第二工厂将于4月起阶段性投产吗？"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert not data["abstained"] and data["citations"]
    text = load_document(tmp_path / "notes" / "factory.md").text
    cited = {}
    for citation in data["citations"]:
        assert citation["doc"] == "notes/factory.md"
        assert text[citation["start"] : citation["end"]] == citation["text"]
        source = NOTES_MD[citation["source_start"] : citation["source_end"]]
        # The source span holds the quote's characters in order, and only markup besides.
        assert _without_markup(source) == citation["text"]
        first_line = NOTES_MD.count("\n", 0, citation["source_start"]) + 1
        assert (citation["line_start"], citation["line_end"]) == (first_line, first_line)
        assert citation["page"] is None
        cited[citation["text"]] = citation
    investment = cited["第二工厂将于4月起阶段性投产。"]
    assert NOTES_MD[investment["source_start"] : investment["source_end"]] == (
        "第二工厂将于4月起[阶段性投产](https://example.com/factory)。"
    )
    assert investment["line_start"] == 6
    result = runner.invoke(app, ["ask", "第二工厂将于4月起阶段性投产吗？"])
    assert result.exit_code == 0 and "notes/factory.md  chars" in result.stdout and "line 6" in result.stdout


def _without_markup(source: str) -> str:
    import re

    return re.sub(r"\]\([^)]*\)|[*\[\n]", "", source)


def test_qa_ask_over_pdf_cites_pages(tmp_path: Path, fake_encoder, monkeypatch):
    (tmp_path / "report.pdf").write_bytes(make_pdf())
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["index", "report.pdf"]).exit_code == 0
    result = runner.invoke(app, ["ask", "--json", "雷军宣布将年度交付目标从20万辆提升至多少？"])
    data = json.loads(result.stdout)
    citation = next(c for c in data["citations"] if c["text"] == PDF_PAGE_2)
    assert citation["page"] == 2
    assert citation["source_start"] is None and citation["line_start"] is None
    result = runner.invoke(app, ["ask", "雷军宣布将年度交付目标从20万辆提升至多少？"])
    assert "p. 2" in result.stdout


def test_plain_text_citations_carry_their_own_span_and_lines(tmp_path: Path, fake_encoder, monkeypatch):
    text = "第一行没有用。\n北京工厂当前月产能2.5万辆。\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner.invoke(app, ["index", "a.txt"])
    data = json.loads(runner.invoke(app, ["ask", "--json", "北京工厂当前月产能是多少？"]).stdout)
    citation = data["citations"][0]
    assert (citation["source_start"], citation["source_end"]) == (citation["start"], citation["end"])
    assert (citation["line_start"], citation["line_end"], citation["page"]) == (2, 2, None)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([".md", ".markdown", ".html", ".htm", ".pdf"]))
def test_fuzz_random_bytes_in_every_format(tmp_path_factory, data: bytes, suffix: str):
    path = tmp_path_factory.mktemp("bytes") / f"x{suffix}"
    path.write_bytes(data)
    try:
        document = load_document(path)
    except DocumentError as error:
        assert "\n" not in str(error)
        return
    if document.source_text is not None:
        assert_exact_map(ExtractedText(document.text, document.source_map), document.source_text)
