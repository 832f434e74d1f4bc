"""Markdown inline markup stripped with exact offsets: emphasis, links and images (their
text kept), code spans (their code kept), autolinks, HTML tags and comments, backslash escapes
and entities.

CommonMark's emphasis rules depend on the punctuation next to the delimiters and leave
`**“引号”**` or `**粗体。**后面` unrendered, asterisks and all, which is common in Chinese text.
Here a delimiter run opens when no whitespace follows it and closes when no whitespace
precedes it (`_` not inside a word, `~` in pairs); pairing is CommonMark's otherwise.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from index.source_map import Alignment, TextBuilder

ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_PLAIN = re.compile(r"[^\\`!\[<*_~&\n]+")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_AUTOLINK = re.compile(
    r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9]"
    r"(?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*)>"
)
_ATTRIBUTE = r"""\s+[A-Za-z_:][A-Za-z0-9_.:\-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?"""
_HTML_TAG = re.compile(
    rf"<(?:(?P<open>[A-Za-z][A-Za-z0-9\-]*)(?:{_ATTRIBUTE})*\s*/?>|/[A-Za-z][A-Za-z0-9\-]*\s*>)"
)
# Inline HTML other than tags: opener, what closes it.
_HTML_OTHER = (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>"), ("<!", ">"))
_LINK_TARGET = re.compile(
    r"""\s*(?:<[^<>\n]*>|[^\s<>]*)(?:\s+(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\((?:\\.|[^()\\])*\)))?\s*""",
    re.DOTALL,
)
MAX_NESTING = 16
"""Links nested deeper than this are left as text."""


@dataclass
class _Delimiter:
    char: str
    start: int
    length: int
    can_open: bool
    can_close: bool
    used_left: int = 0
    used_right: int = 0

    @property
    def remaining(self) -> int:
        return self.length - self.used_left - self.used_right


def emit_inline(
    builder: TextBuilder, content: Alignment, references: frozenset[str], hard_breaks: set[int], start: int
) -> None:
    """Write the text of the inline content `content.content[start:]` to `builder`.
    `references` are the defined link labels (normalised); `hard_breaks` the positions of
    the line breaks that are hard breaks."""
    scanner = _InlineScanner(content.content, references, hard_breaks)
    for item in scanner.scan(start, len(content.content), 0):
        kind = item[0]
        if kind == "text":
            content.emit_flowing(builder, item[1], item[2])
        elif kind == "code":
            content.emit_lines(builder, item[1], item[2], builder.space)  # a break in code is a space
        elif kind == "replaced":
            content.emit_replaced(builder, item[3], item[1], item[2])
        elif kind == "soft":
            builder.soft_break()
        else:
            builder.newline()


class _InlineScanner:
    def __init__(self, text: str, references: frozenset[str], hard_breaks: set[int]):
        self.text = text
        self.references = references
        self.hard_breaks = hard_breaks
        self._backtick_runs: dict[int, list[int]] = {}
        for match in re.finditer(r"`+", text):
            self._backtick_runs.setdefault(len(match.group()), []).append(match.start())
        self._occurrences: dict[str, list[int]] = {}
        # Matching brackets and parentheses, found once: searching from each `[` would be
        # quadratic on bracket soup.
        self._brackets = self._matching_brackets() if "[" in text else {}
        self._parens = _matching(text, "(", ")") if "(" in text else {}

    def scan(self, start: int, end: int, depth: int) -> list[tuple]:
        """Items for text[start:end]: ("text", a, b), ("code", a, b), ("replaced", a, b,
        text), ("soft",), ("hard",). Emphasis delimiters that pair are left out."""
        text = self.text
        items: list[tuple] = []
        i = start
        while i < end:
            plain = _PLAIN.match(text, i, end)
            if plain:
                items.append(("text", i, plain.end()))
                i = plain.end()
                continue
            char = text[i]
            if char == "\\":
                if i + 1 < end and text[i + 1] in ASCII_PUNCTUATION:
                    items.append(("text", i + 1, i + 2))
                    i += 2
                elif i + 1 < end and text[i + 1] == "\n":
                    items.append(("hard",))
                    i += 2
                else:
                    items.append(("text", i, i + 1))
                    i += 1
            elif char == "`":
                i = self._code_span(i, end, items)
            elif char in "![":
                bracket = i + 1 if char == "!" else i  # an image's alt text, a link's text
                link = self._link(bracket, end, depth) if bracket < end and text[bracket] == "[" else None
                if link:
                    items.extend(self.scan(link[0], link[1], depth + 1))
                    i = link[2]
                else:
                    items.append(("text", i, i + 1))
                    i += 1
            elif char == "<":
                i = self._angle(i, end, items)
            elif char == "&":
                entity = _ENTITY.match(text, i, end)
                decoded = html.unescape(entity.group()) if entity else ""
                if entity and decoded != entity.group():
                    items.append(("replaced", i, entity.end(), decoded))
                    i = entity.end()
                else:
                    items.append(("text", i, i + 1))
                    i += 1
            elif char == "\n":
                items.append(("hard",) if i in self.hard_breaks else ("soft",))
                i += 1
            else:  # * _ ~
                i = self._delimiter_run(i, start, end, items)
        _pair_delimiters(items)
        resolved = []
        for item in items:
            if item[0] != "delimiter":
                resolved.append(item)
            elif item[1].remaining:  # unpaired delimiter characters are text
                first = item[1].start + item[1].used_left
                resolved.append(("text", first, first + item[1].remaining))
        return resolved

    def _code_span(self, i: int, end: int, items: list[tuple]) -> int:
        text = self.text
        n = 1
        while i + n < end and text[i + n] == "`":
            n += 1
        runs = self._backtick_runs.get(n, [])
        k = bisect_right(runs, i)
        if k < len(runs) and runs[k] + n <= end:  # the next run of exactly n backticks
            closing = runs[k]
            a, b = i + n, closing
            if b - a >= 2 and text[a] in " \n" and text[b - 1] in " \n" and text[a:b].strip(" \n"):
                a, b = a + 1, b - 1
            items.append(("code", a, b))
            return closing + n
        items.append(("text", i, i + n))
        return i + n

    def _angle(self, i: int, end: int, items: list[tuple]) -> int:
        autolink = _AUTOLINK.match(self.text, i, end)
        if autolink:
            items.append(("text", i + 1, autolink.end() - 1))
            return autolink.end()
        tag_end = self._html_end(i, end)
        if tag_end:
            tag = _HTML_TAG.match(self.text, i, tag_end)
            if tag and (tag.group("open") or "").lower() == "br":
                items.append(("hard",))
            return tag_end
        items.append(("text", i, i + 1))
        return i + 1

    def _html_end(self, i: int, end: int) -> int | None:
        """The end of the inline HTML (tag, comment, ...) starting at i, if any."""
        text = self.text
        for opener, closer in _HTML_OTHER:
            if text.startswith(opener, i):
                if opener == "<!" and not (i + 2 < end and text[i + 2].isalpha()):
                    return None
                if opener == "<!--" and text.startswith(("<!-->", "<!--->"), i):
                    return text.index(">", i) + 1
                close = self._next(closer, i + len(opener))
                return close + len(closer) if 0 <= close and close + len(closer) <= end else None
        tag = _HTML_TAG.match(text, i, end)
        return tag.end() if tag else None

    def _next(self, token: str, start: int) -> int:
        """Position of the first `token` at or after `start`, or -1."""
        positions = self._occurrences.get(token)
        if positions is None:
            positions = self._occurrences[token] = [m.start() for m in re.finditer(re.escape(token), self.text)]
        k = bisect_left(positions, start)
        return positions[k] if k < len(positions) else -1

    def _delimiter_run(self, i: int, start: int, end: int, items: list[tuple]) -> int:
        text = self.text
        char = text[i]
        n = 1
        while i + n < end and text[i + n] == char:
            n += 1
        before = text[i - 1] if i > start else " "
        after = text[i + n] if i + n < end else " "
        can_open, can_close = not after.isspace(), not before.isspace()
        if char == "_":
            can_open = can_open and not before.isalnum()
            can_close = can_close and not after.isalnum()
        if char == "~" and n < 2:
            can_open = can_close = False
        items.append(("delimiter", _Delimiter(char, i, n, can_open, can_close)))
        return i + n

    def _link(self, i: int, end: int, depth: int) -> tuple[int, int, int] | None:
        """For a `[` at i: (text start, text end, end of the link) when a link or image
        starts here (inline, or a defined reference), else None."""
        if depth >= MAX_NESTING:
            return None
        text = self.text
        close = self._brackets.get(i, -1)
        if close < 0 or close >= end:
            return None
        after = close + 1
        if after < end and text[after] == "(":
            target_end = self._parens.get(after, -1)
            if 0 <= target_end < end and _LINK_TARGET.fullmatch(text, after + 1, target_end):
                return i + 1, close, target_end + 1
        if after < end and text[after] == "[":
            label_end = text.find("]", after + 1, min(end, after + 1000))
            if label_end >= 0:
                label = text[after + 1 : label_end] or text[i + 1 : close]
                if self._defined(label):
                    return i + 1, close, label_end + 1
        if self._defined(text[i + 1 : close]):
            return i + 1, close, after
        return None

    def _defined(self, label: str) -> bool:
        from markdown_it.common.utils import normalizeReference

        return bool(label.strip()) and normalizeReference(label) in self.references

    def _matching_brackets(self) -> dict[int, int]:
        """`[` position -> its `]`, skipping escapes, code spans, autolinks and HTML (which
        bind tighter than link brackets)."""
        text = self.text
        matches: dict[int, int] = {}
        open_positions: list[int] = []
        j = 0
        while j < len(text):
            char = text[j]
            if char == "\\":
                j += 2
                continue
            if char == "`":
                j = self._code_span(j, len(text), [])
                continue
            if char == "<":
                autolink = _AUTOLINK.match(text, j)
                skip_to = autolink.end() if autolink else self._html_end(j, len(text))
                if skip_to:
                    j = skip_to
                    continue
            if char == "[":
                open_positions.append(j)
            elif char == "]" and open_positions:
                matches[open_positions.pop()] = j
            j += 1
        return matches


def _matching(text: str, opening: str, closing: str) -> dict[int, int]:
    """Opening position -> its closing one, skipping backslash escapes."""
    matches: dict[int, int] = {}
    open_positions: list[int] = []
    j = 0
    while j < len(text):
        char = text[j]
        if char == "\\":
            j += 1
        elif char == opening:
            open_positions.append(j)
        elif char == closing and open_positions:
            matches[open_positions.pop()] = j
        j += 1
    return matches


def _pair_delimiters(items: list[tuple]) -> None:
    """Mark the emphasis delimiters that pair up as used (their characters are dropped).

    CommonMark's procedure without its punctuation rules: a closer pairs with the nearest
    opener of the same character; openers of other characters in between are discarded."""
    stacks: dict[str, list[tuple[int, _Delimiter]]] = {"*": [], "_": [], "~": []}
    for index, item in enumerate(items):
        if item[0] != "delimiter":
            continue
        delimiter: _Delimiter = item[1]
        stack = stacks[delimiter.char]
        if delimiter.can_close:
            while delimiter.remaining and stack:
                opener_index, opener = stack[-1]
                if delimiter.char == "~":
                    if opener.remaining < 2 or delimiter.remaining < 2:
                        break
                    used = 2
                else:
                    used = 2 if opener.remaining >= 2 and delimiter.remaining >= 2 else 1
                opener.used_right += used
                delimiter.used_left += used
                for other in stacks.values():
                    while other and other[-1][0] > opener_index:
                        other.pop()
                if not opener.remaining:
                    stack.pop()
        if delimiter.remaining and delimiter.can_open:
            stack.append((index, delimiter))
