"""HTML to plain text with exact source offsets.

The tokenizer is the standard library's `html.parser`: it reports the position of every tag,
text run and character reference, which the HTML5 tree builders (selectolax, lxml) do not, so
every character of the text maps back to the file. What is dropped: script, style, head and
other non-content elements, comments, tags. Block elements end their line; table cells are
separated by a space; runs of whitespace become one space (line breaks in the source join
lines, without a space between CJK characters), except inside <pre>.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from index.source_map import Alignment, ExtractedText, TextBuilder

SKIPPED = frozenset(
    "head title script style template noscript svg math iframe object canvas select".split()
)
BLOCKS = frozenset(
    """address article aside blockquote body br caption dd details dialog div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main nav
    ol option p pre section summary table tbody tfoot thead tr ul""".split()
)
CELLS = frozenset(("td", "th"))
LISTS = frozenset(("ul", "ol"))
STRUCTURE = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "ul", "ol"))
"""Elements recorded as blocks (index.source_map.TextBlock): headings, table rows, code, lists."""
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_PLACEHOLDER = "\x00"
_OPENERS = re.compile(r"<!--|<!\[")
_COMMENT_CLOSE = re.compile(r"--\s*>")  # what html.parser ends a comment with
_SECTION_CLOSE = re.compile(r"]\s*]\s*>")


class _Events(HTMLParser):
    """Records (kind, value, (line, column)) for every token, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.events: list[tuple[str, str, tuple[int, int]]] = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        # <x/> is taken as closed (XHTML), so a self-closed <svg/> does not hide the rest.
        self.events.append(("start", tag, self.getpos()))
        if tag not in VOID:
            self.events.append(("end", tag, self.getpos()))

    def handle_endtag(self, tag):
        self.events.append(("end", tag, self.getpos()))

    def handle_data(self, data):
        self.events.append(("data", data, self.getpos()))

    def handle_entityref(self, name):
        self.events.append(("ref", "&" + name, self.getpos()))

    def handle_charref(self, name):
        self.events.append(("ref", "&#" + name, self.getpos()))


def extract_html(raw: str) -> ExtractedText:
    """The visible text of an HTML document and where each character came from in `raw`."""
    builder = TextBuilder()
    emit_html(builder, Alignment.identity(raw))
    return builder.build()


def emit_html(builder: TextBuilder, content: Alignment) -> None:
    """Append the text of the HTML in `content.content` to `builder` (also used for HTML
    blocks inside Markdown, whose content is aligned with the Markdown file)."""
    source = content.content
    tokenized = _defused(source)
    parser = _Events()
    parser.feed(tokenized)
    parser.close()
    line_starts = [0]
    for line in source.split("\n")[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    skipped: list[str] = []
    preformatted = 0
    row_cells: list[str] | None = None  # the cell tags of the table row being read
    in_header = 0
    lists = 0
    for kind, value, (line, column) in parser.events:
        position = line_starts[line - 1] + column
        if kind == "start":
            if value == "body" and "head" in skipped:  # an unclosed <head> ends at <body>
                del skipped[skipped.index("head") :]
            if skipped or value in SKIPPED:
                if value in SKIPPED and value not in VOID:
                    skipped.append(value)
                continue
            if value in STRUCTURE and (value not in LISTS or not lists):
                builder.begin_block("code" if value == "pre" else value)
            elif value in BLOCKS:
                builder.newline()
            elif value in CELLS:
                builder.space()
            if value == "tr":
                row_cells = []
            elif value in CELLS and row_cells is not None:
                row_cells.append(value)
            in_header += value == "thead"
            lists += value in LISTS
            preformatted += value == "pre"
        elif kind == "end":
            if skipped:
                if value in skipped:
                    del skipped[len(skipped) - 1 - skipped[::-1].index(value) :]
                continue
            lists = max(0, lists - (value in LISTS))
            if value == "tr":
                header = in_header or (row_cells and all(c == "th" for c in row_cells))
                builder.end_block("tr", "thead" if header else "tr")
                row_cells = None
            elif value in STRUCTURE and (value not in LISTS or not lists):
                builder.end_block("code" if value == "pre" else value, "list" if value in LISTS else None)
            elif value in BLOCKS:
                builder.newline()
            elif value in CELLS:
                builder.space()
            if value == "pre":
                preformatted = max(0, preformatted - 1)
            in_header = max(0, in_header - (value == "thead"))
        elif skipped:
            continue
        elif kind == "data":
            end = position + len(value)
            if tokenized[position:end] != value:  # never seen; keep the text, unmapped
                _emit_unaligned(builder, value)
            elif preformatted:
                content.emit_lines(builder, position, end, builder.newline)
            else:
                content.emit_flowing(builder, position, end)
        else:
            length = len(value) + (source.startswith(";", position + len(value)))
            reference = source[position : position + length]
            decoded = html.unescape(reference)
            if decoded == reference:
                content.emit(builder, position, position + length)
            else:
                content.emit_replaced(builder, decoded, position, position + length)


def _defused(source: str) -> str:
    """`source` with every `<` that cannot start a complete tag, comment or marked section
    (nothing closes it before the end) replaced by a placeholder of the same length.

    html.parser rescans such a construct from each `<` to the end of the input, which is
    quadratic on garbage like `<a b=c ` repeated (fixed only in later CPython releases). The
    text is copied from the original, so the placeholder never shows."""
    last_close = source.rfind(">")
    defused = source[: last_close + 1] + source[last_close + 1 :].replace("<", _PLACEHOLDER)
    comment_closes = [m.start() for m in _COMMENT_CLOSE.finditer(defused)]
    section_closes = [m.start() for m in _SECTION_CLOSE.finditer(defused)]
    last_comment = comment_closes[-1] if comment_closes else -1
    last_section = section_closes[-1] if section_closes else -1
    unclosed = [
        m.start() for m in _OPENERS.finditer(defused)
        if (m.group() == "<!--" and m.start() + 4 > last_comment)
        or (m.group() == "<![" and m.start() + 3 > last_section)
    ]
    if not unclosed:
        return defused
    chars = list(defused)
    for position in unclosed:
        chars[position] = _PLACEHOLDER
    return "".join(chars)


def _emit_unaligned(builder: TextBuilder, text: str) -> None:
    words = text.split()
    for k, word in enumerate(words):
        if k:
            builder.space()
        builder.text(word)
