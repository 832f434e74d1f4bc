"""Markdown to plain text with exact source offsets.

Blocks come from markdown-it-py (CommonMark plus GitHub tables): it knows where paragraphs,
headings, list items, quotes, code and HTML blocks and table rows are, and which lines they
span, and drops reference-link definitions. It gives no character offsets, so each block's
lines are aligned with the file's lines (the block content is what remains of a line once
the quote and list markers before it are removed).

Inline markup (emphasis, links, images, code spans, HTML tags) is stripped by
index.markdown_inline, not by markdown-it, which gives no offsets and leaves CommonMark's
unrendered emphasis around Chinese punctuation in the text.

Code blocks and code spans are kept as text: the bot can only cite what is in the text, and
a command or a setting is often the answer; each code line is its own line, so code never
runs into the prose around it.
"""

from __future__ import annotations

import functools
import re

from index.html_text import emit_html
from index.markdown_inline import emit_inline
from index.source_map import Alignment, ExtractedText, TextBuilder, align_greedy, align_suffix

_TASK = re.compile(r"\[[ xX]\]\s")


@functools.cache
def _parser():
    from markdown_it import MarkdownIt

    # Only the block structure is used: inline markup is stripped by index.markdown_inline.
    return MarkdownIt("commonmark").enable("table").disable("inline")


def extract_markdown(raw: str) -> ExtractedText:
    """The text of a Markdown document, markup removed, and where each character came from
    in `raw`: one line per heading, paragraph, list item, table row and code line."""
    lines = raw.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    env: dict = {}
    tokens = _parser().parse(_without_front_matter(lines), env)
    from markdown_it.common.utils import normalizeReference

    references = frozenset(normalizeReference(label) for label in env.get("references", {}))
    builder = TextBuilder()
    cell_cursor = 0
    in_header = False
    lists = 0
    for k, token in enumerate(tokens):
        kind = token.type
        if kind == "inline" and token.map:
            if tokens[k - 1].type in ("th_open", "td_open"):
                row = token.map[0]
                runs, cell_cursor = _align_cell(token.content, lines[row], starts[row], cell_cursor)
                emit_inline(builder, Alignment(token.content, runs), references, set(), 0)
                builder.space()
                continue
            content, runs, hard_breaks = _align_block_lines(token.content, token.map[0], lines, starts)
            task = _TASK.match(content) if k >= 2 and tokens[k - 2].type == "list_item_open" else None
            emit_inline(builder, Alignment(content, runs), references, hard_breaks, task.end() if task else 0)
        elif kind == "paragraph_close":
            builder.newline()
        elif kind == "heading_open":
            builder.begin_block(token.tag)
        elif kind == "heading_close":
            builder.end_block(token.tag)
        elif kind in ("thead_open", "thead_close"):
            in_header = kind == "thead_open"
        elif kind == "tr_open":
            builder.begin_block("thead" if in_header else "tr")
            cell_cursor = 0
        elif kind == "tr_close":
            builder.end_block("thead" if in_header else "tr")
        elif kind in ("bullet_list_open", "ordered_list_open"):
            if not lists:
                builder.begin_block("list")
            lists += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
            if not lists:
                builder.end_block("list")
        elif kind in ("fence", "code_block") and token.map:
            builder.begin_block("code")
            _emit_code(builder, token.content, token.map[0] + (kind == "fence"), lines, starts)
            builder.end_block("code")
        elif kind == "html_block" and token.map:
            content, runs, _ = _align_block_lines(token.content, token.map[0], lines, starts, strip=False)
            builder.newline()
            emit_html(builder, Alignment(content, runs))
            builder.newline()
    return builder.build()


def _without_front_matter(lines: list[str]) -> str:
    """The document with YAML (---) or TOML (+++) front matter blanked, lines kept."""
    if lines and lines[0].rstrip() in ("---", "+++"):
        fence = lines[0].rstrip()
        closers = ("---", "...") if fence == "---" else ("+++",)
        for end in range(1, len(lines)):
            if lines[end].rstrip() in closers:
                return "\n" * end + "\n" + "\n".join(lines[end + 1 :])
    return "\n".join(lines)


def _align_block_lines(
    content: str, first_line: int, lines: list[str], starts: list[int], strip: bool = True
) -> tuple[str, list[tuple[int, int, int]], set[int]]:
    """The block's content line by line (each stripped of surrounding spaces when `strip`),
    joined with newlines; its alignment with the source lines from `first_line`; and the
    positions of the newlines that are hard breaks (two spaces before the line end)."""
    pieces: list[str] = []
    runs: list[tuple[int, int, int]] = []
    hard_breaks: set[int] = set()
    position = 0
    content_lines = content.split("\n")
    if not strip and content_lines and content_lines[-1] == "":
        content_lines.pop()
    for offset, piece in enumerate(content_lines):
        if strip:
            stripped = piece.strip(" \t")
            if piece.rstrip(" \t") != piece and piece.endswith("  ") and offset < len(content_lines) - 1:
                hard_breaks.add(position + len(stripped))
            piece = stripped
        line_number = first_line + offset
        if line_number < len(lines):
            runs.extend(align_suffix(lines[line_number], starts[line_number], piece, position))
        pieces.append(piece)
        position += len(piece) + 1
    return "\n".join(pieces), runs, hard_breaks


def _align_cell(
    cell: str, line: str, line_start: int, cursor: int
) -> tuple[list[tuple[int, int, int]], int]:
    """Align a table cell's content with its row's line, after the previous cell."""
    if not cell:
        return [], cursor
    found = line.find(cell, cursor)
    if found >= 0:
        return [(0, line_start + found, len(cell))], found + len(cell)
    return align_greedy(line, line_start, cell, 0, cursor)  # `\|` in the cell became `|`


def _emit_code(builder: TextBuilder, content: str, first_line: int, lines: list[str], starts: list[int]) -> None:
    builder.newline()
    code_lines = content.split("\n")
    if code_lines and code_lines[-1] == "":
        code_lines.pop()
    for offset, code in enumerate(code_lines):
        line_number = first_line + offset
        line = lines[line_number] if line_number < len(lines) else ""
        found = line.rfind(code) if code else -1
        if code and found >= 0:
            builder.text(code, starts[line_number] + found)
        elif code.strip():
            core = code.strip()  # a tab in the indentation was expanded: keep the rest
            found = line.rfind(core)
            builder.text(core, starts[line_number] + found if found >= 0 else None)
        builder.newline()
