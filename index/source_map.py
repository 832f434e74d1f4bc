"""Text extracted from a converted file (Markdown, HTML, PDF) and where each part came from.

A converter writes the plain text through a `TextBuilder`, saying for every piece whether it
is copied from the source (verbatim), stands for a source span it replaces (an HTML entity),
or is synthetic (a newline ending a block, a space joining two lines). The builder keeps a
`SourceMap`: run-length segments from text offsets to source offsets, so that any half-open
span of the text maps back to the span of the file it was taken from.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Segment = tuple[int, int, int, int]
"""(text_start, source_start, text_length, source_length). Equal lengths: the text is a
verbatim copy, character for character. Different lengths: the text replaces the source span
as a whole (an entity such as `&amp;`)."""

_FLOWING = re.compile(r"[ \t\n\r\f]+|[^ \t\n\r\f]+")


@dataclass(frozen=True)
class SourceMap:
    segments: tuple[Segment, ...] = ()
    """Sorted by text_start, not overlapping. Text characters outside every segment are
    synthetic: newlines and spaces the converter inserted."""
    page_starts: tuple[int, ...] = ()
    """PDF only: the text offset where page k + 1 begins (non-decreasing, the first is 0)."""
    _text_starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_text_starts", [s[0] for s in self.segments])

    def source_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The source span holding text[start:end] (half-open), from its first to its last
        character that came from the source; None when none did (or there is no source)."""
        segments = self.segments
        if start >= end or not segments:
            return None
        i = bisect_right(self._text_starts, start) - 1
        if i < 0 or segments[i][0] + segments[i][2] <= start:
            i += 1  # start is in a synthetic gap: the span begins at the next segment
        if i >= len(segments) or segments[i][0] >= end:
            return None
        text_start, source_start, text_length, source_length = segments[i]
        verbatim = text_length == source_length
        first = source_start + (start - text_start) if verbatim and start >= text_start else source_start
        j = bisect_left(self._text_starts, end) - 1
        text_start, source_start, text_length, source_length = segments[j]
        if text_length == source_length and end < text_start + text_length:
            last = source_start + (end - text_start)
        else:
            last = source_start + source_length
        return first, last

    def page_at(self, offset: int) -> int | None:
        """1-based page of the text character at `offset`; None when there are no pages."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"segments": [list(s) for s in self.segments]}
        if self.page_starts:
            data["pages"] = list(self.page_starts)
        return data

    @classmethod
    def from_json(cls, data: Any, text_length: int, source_length: int | None) -> SourceMap:
        """Read back `to_json`, checking that every segment lies inside the text and the
        source (when there is one); raise ValueError when not."""
        if not isinstance(data, dict):
            raise ValueError("source map is not an object")
        segments = tuple(tuple(int(v) for v in s) for s in data.get("segments", []))
        pages = tuple(int(p) for p in data.get("pages", []))
        text_end = 0
        for segment in segments:
            if len(segment) != 4:
                raise ValueError(f"bad source map segment {list(segment)}")
            t_start, s_start, t_length, s_length = segment
            if (
                t_start < text_end or t_length <= 0 or s_length <= 0 or s_start < 0
                or t_start + t_length > text_length
                or source_length is None or s_start + s_length > source_length
            ):
                raise ValueError(f"source map segment {list(segment)} out of range")
            text_end = t_start + t_length
        if pages and (pages[0] != 0 or any(b < a for a, b in zip(pages, pages[1:])) or pages[-1] > text_length):
            raise ValueError("bad page starts in source map")
        return cls(segments, pages)  # type: ignore[arg-type]


BLOCK_KINDS = ("h1", "h2", "h3", "h4", "h5", "h6", "thead", "tr", "code", "list")
"""Structure a converter records (see `TextBlock`); text outside blocks is prose."""


@dataclass(frozen=True)
class TextBlock:
    """A span of the extracted text with a structural role: a heading (`h1`..`h6`), a
    table's header row (`thead`) or one of its rows (`tr`), a code block, a list."""

    start: int
    end: int
    """Half-open offsets into the extracted text (no newline at either end)."""
    kind: str


@dataclass(frozen=True)
class ExtractedText:
    text: str
    """The plain text: what passages, embeddings and BM25 see, and what citations quote."""
    source_map: SourceMap
    blocks: tuple[TextBlock, ...] = ()
    """Headings, table rows, code blocks and lists, in order (index.sections uses them)."""


def is_wide(char: str) -> bool:
    """East Asian wide or fullwidth (CJK characters and punctuation): no space is put between
    two of them when lines are joined."""
    return unicodedata.east_asian_width(char) in ("W", "F")


class TextBuilder:
    """Accumulates plain text with its source map. Whitespace is normalised as it goes:
    `space`, `soft_break` and `newline` never leave a space at the start or end of a line,
    two newlines in a row, or a newline at the start of the text."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._segments: list[list[int]] = []
        self._last_verbatim = False
        self._length = 0
        self._last_char = "\n"
        self._pending: tuple[str, int | None] | None = None
        self._page_starts: list[int] = []
        self._blocks: list[TextBlock] = []
        self._open_block: tuple[str, int] | None = None

    def begin_block(self, kind: str) -> None:
        """Start a block of `kind` on a new line (a block already open, the outer one, wins)."""
        self.newline()
        if self._open_block is None:
            self._open_block = (kind, self._length)

    def end_block(self, kind: str, recorded_as: str | None = None) -> None:
        """End the line, and the open block if it is a `kind` one (recorded as `recorded_as`
        when given: a row is a header row once its cells are known)."""
        self._pending = None
        if self._open_block is not None and self._open_block[0] == kind:
            start = self._open_block[1]
            end = self._length - (self._last_char == "\n")
            if end > start:
                self._blocks.append(TextBlock(start, end, recorded_as or kind))
            self._open_block = None
        self.newline()

    def text(self, text: str, source_start: int | None = None) -> None:
        """Append `text`: copied from source[source_start:], or synthetic when None."""
        if not text:
            return
        self._flush_pending(text[0])
        if source_start is not None:
            last = self._segments[-1] if self._segments else None
            if (
                last is not None and self._last_verbatim
                and last[0] + last[2] == self._length and last[1] + last[3] == source_start
            ):
                last[2] += len(text)
                last[3] += len(text)
            else:
                self._segments.append([self._length, source_start, len(text), len(text)])
            self._last_verbatim = True
        self._append(text)

    def replaced(self, text: str, source_start: int, source_length: int) -> None:
        """Append `text` standing for source[source_start:source_start + source_length]."""
        if not text:
            return
        self._flush_pending(text[0])
        self._segments.append([self._length, source_start, len(text), source_length])
        self._last_verbatim = False
        self._append(text)

    def space(self, source_start: int | None = None) -> None:
        """A space before the next text on this line (the source's " " at `source_start`)."""
        self._pending = ("space", source_start)

    def soft_break(self) -> None:
        """A line break inside a paragraph: joined with a space, or with nothing between two
        wide (CJK) characters."""
        if self._pending is None:
            self._pending = ("soft", None)

    def newline(self) -> None:
        """End the current line (block), unless it is empty."""
        self._pending = None
        if self._last_char != "\n":
            self._append("\n")

    def start_page(self) -> None:
        self.newline()
        self._page_starts.append(self._length)

    def build(self) -> ExtractedText:
        self._pending = None
        segments = tuple((s[0], s[1], s[2], s[3]) for s in self._segments)
        return ExtractedText("".join(self._parts), SourceMap(segments, tuple(self._page_starts)), tuple(self._blocks))

    def _flush_pending(self, next_char: str) -> None:
        pending, self._pending = self._pending, None
        if pending is None or self._last_char == "\n" or next_char == "\n":
            return
        kind, source_start = pending
        if self._last_char.isspace() or next_char.isspace():
            return
        if kind == "soft" and is_wide(self._last_char) and is_wide(next_char):
            return
        self.text(" ", source_start)

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)
        self._last_char = text[-1]


class Alignment:
    """Maps positions of a string a converter parses (`content`) to positions in the source:
    runs where content[c:c + n] == source[s:s + n]. Content outside every run (such as the
    line breaks between a block's lines, which are not the source's) emits as synthetic."""

    def __init__(self, content: str, runs: list[tuple[int, int, int]]):
        self.content = content
        self.runs = sorted(r for r in runs if r[2] > 0)
        self._starts = [r[0] for r in self.runs]

    @classmethod
    def identity(cls, content: str, offset: int = 0) -> Alignment:
        return cls(content, [(0, offset, len(content))])

    def source_of(self, position: int) -> int | None:
        i = bisect_right(self._starts, position) - 1
        if i >= 0:
            c_start, s_start, length = self.runs[i]
            if position < c_start + length:
                return s_start + position - c_start
        return None

    def emit(self, builder: TextBuilder, start: int, end: int) -> None:
        """Append content[start:end] to `builder`, verbatim where it is aligned."""
        position = start
        i = max(0, bisect_right(self._starts, start) - 1)
        while position < end:
            if i < len(self.runs):
                c_start, s_start, length = self.runs[i]
                if c_start + length <= position:
                    i += 1
                    continue
                if c_start <= position:
                    stop = min(end, c_start + length)
                    builder.text(self.content[position:stop], s_start + position - c_start)
                    position = stop
                    continue
                stop = min(end, c_start)
            else:
                stop = end
            builder.text(self.content[position:stop])
            position = stop

    def emit_lines(
        self, builder: TextBuilder, start: int, end: int, between: Callable[[], None]
    ) -> None:
        """`emit` content[start:end] line by line, calling `between` where a line break was."""
        position = start
        while position < end:
            stop = self.content.find("\n", position, end)
            stop = end if stop < 0 else stop
            self.emit(builder, position, stop)
            if stop < end:
                between()
            position = stop + 1

    def emit_replaced(self, builder: TextBuilder, text: str, start: int, end: int) -> None:
        """Append `text` standing for content[start:end]."""
        first, last = self.source_of(start), self.source_of(end - 1)
        if first is None or last is None or last < first:
            builder.text(text)
        else:
            builder.replaced(text, first, last + 1 - first)

    def emit_flowing(self, builder: TextBuilder, start: int, end: int) -> None:
        """Append content[start:end] as running text: each run of whitespace becomes one
        space (a soft break when it holds a line break)."""
        for match in _FLOWING.finditer(self.content, start, end):
            run = match.group()
            if not run[0].isspace():
                self.emit(builder, match.start(), match.end())
            elif "\n" in run:
                builder.soft_break()
            else:
                builder.space(self.source_of(match.start()) if run[0] == " " else None)


def align_suffix(line: str, line_start: int, piece: str, content_start: int) -> list[tuple[int, int, int]]:
    """Runs aligning `piece` (at content_start) with its last occurrence in `line` (which
    starts at line_start in the source); character by character when it is not a substring
    (markup removed inside it), and nothing for characters not found at all."""
    if not piece:
        return []
    position = line.rfind(piece)
    if position >= 0:
        return [(content_start, line_start + position, len(piece))]
    return align_greedy(line, line_start, piece, content_start, 0)[0]


def align_greedy(
    line: str, line_start: int, piece: str, content_start: int, cursor: int
) -> tuple[list[tuple[int, int, int]], int]:
    """Runs aligning each character of `piece` with its next occurrence in line[cursor:];
    also the cursor after the last character aligned."""
    runs: list[tuple[int, int, int]] = []
    for k, char in enumerate(piece):
        found = line.find(char, cursor)
        if found < 0:
            continue
        source = line_start + found
        if runs and runs[-1][0] + runs[-1][2] == content_start + k and runs[-1][1] + runs[-1][2] == source:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((content_start + k, source, 1))
        cursor = found + 1
    return runs, cursor
