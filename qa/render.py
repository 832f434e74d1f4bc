"""Terminal output of the CLI with rich: answers, sources, progress. Document text is data:
it goes into `rich.text.Text` objects (never parsed as markup) with control characters made
visible, so a document cannot style or move the terminal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text

from index.encoders import ProgressCallback
from qa.types import Answer

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MARKER_STYLE = "bold cyan"
QUOTE_STYLE = "bold black on yellow"
SHORT_STYLE = "bold underline"
CONTEXT_CHARS = 60


def literal(text: str) -> str:
    """`text` with control characters (ESC, bidi overrides, ...) shown as escapes."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def safe_inline(text: str) -> str:
    """`literal`, on one line."""
    return literal(text.replace("\n", " ").replace("\t", " "))


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def answer_text(answer: Answer) -> Text:
    """The answer with its `[n]` markers styled."""
    text = Text()
    if answer.abstained:
        text.append(answer.answer, style="italic")
        return text
    cursor = 0
    body = answer.answer
    for match in re.finditer(r"\[(\d+)\]", body):
        text.append(literal(body[cursor : match.start()]))
        text.append(match.group(), style=MARKER_STYLE)
        cursor = match.end()
    text.append(literal(body[cursor:]))
    return text


PLAIN_QUOTE_MARKS = ("«", "»")
"""Around the quoted sentence inside its passage when output is not a terminal (no colours)."""


def print_answer(answer: Answer, console: Console | None = None) -> None:
    console = console or stdout_console()
    _print_read_as(answer, console)
    if answer.short_answer is not None:
        short = Text("Short answer: ", style="bold")
        short.append(literal(answer.short_answer), style=SHORT_STYLE)
        short.append(f" [{answer.short_answer_citation}]", style=MARKER_STYLE)
        console.print(short, soft_wrap=True)
    console.print(answer_text(answer), soft_wrap=True)
    if answer.abstained:
        return
    console.print()
    console.print(Text("Sources", style="bold underline"))
    hits = {hit.passage_id: hit for hit in answer.passages}
    for citation in answer.citations:
        header = Text()
        header.append(f"[{citation.n}] ", style=MARKER_STYLE)
        header.append(safe_inline(citation.doc), style="bold")
        header.append(f"  {citation.location}", style="dim")
        console.print(header)
        hit = hits.get(citation.passage_id)
        before, after = ("", "") if hit is None else _paragraph_context(hit.text, citation.start - hit.start, citation.end - hit.start)
        context = Text("    ")
        context.append(literal(before), style="dim")
        plain = not console.is_terminal or console.no_color
        if plain and (before or after):
            context.append(PLAIN_QUOTE_MARKS[0])
        context.append_text(_quote(citation, answer))
        if plain and (before or after):
            context.append(PLAIN_QUOTE_MARKS[1])
        context.append(literal(after), style="dim")
        console.print(context, soft_wrap=True)


def _quote(citation, answer: Answer) -> Text:
    """The cited sentence, highlighted, with the short answer marked inside it."""
    quote = Text(style=QUOTE_STYLE)
    if answer.short_answer_citation == citation.n and answer.short_answer_start is not None:
        cut_start = answer.short_answer_start - citation.start
        cut_end = answer.short_answer_end - citation.start
        quote.append(literal(citation.text[:cut_start]))
        quote.append(literal(citation.text[cut_start:cut_end]), style=SHORT_STYLE)
        quote.append(literal(citation.text[cut_end:]))
    else:
        quote.append(literal(citation.text))
    return quote


def _paragraph_context(passage: str, start: int, end: int) -> tuple[str, str]:
    """The text around passage[start:end] within its line, at most CONTEXT_CHARS a side."""
    line_start = passage.rfind("\n", 0, start) + 1
    line_end = passage.find("\n", end)
    line_end = len(passage) if line_end < 0 else line_end
    before = passage[max(line_start, start - CONTEXT_CHARS) : start]
    after = passage[end : min(line_end, end + CONTEXT_CHARS)]
    if start - CONTEXT_CHARS > line_start:
        before = "…" + before
    if end + CONTEXT_CHARS < line_end:
        after += "…"
    return before, after


@contextmanager
def progress_reporter() -> Iterator[ProgressCallback]:
    """A progress callback drawing bars on stderr while something reports; when stderr is
    not a terminal, one line per stage instead."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = stderr_console()
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, transient=True,
    )
    tasks: dict[str, int] = {}

    def report(stage: str, fraction: float) -> None:
        if not console.is_terminal:
            if stage not in tasks:
                tasks[stage] = len(tasks)
                console.print(f"qa: {safe_inline(stage)} ...", markup=False, highlight=False, soft_wrap=True)
            return
        if not progress.live.is_started:
            progress.start()
        if stage not in tasks:
            tasks[stage] = progress.add_task(safe_inline(stage), total=1.0)
        progress.update(tasks[stage], completed=fraction)

    try:
        yield report
    finally:
        if progress.live.is_started:
            progress.stop()


def print_sources(summaries, console: Console | None = None) -> None:
    """The indexed sources as a table (paths are data: never markup)."""
    rows = []
    for s in summaries:
        path = Text(safe_inline(s.path))
        if not s.exists:
            path.append("  (gone)", style="bold red")
        rows.append([path, str(s.documents), str(s.passages), _when(s.indexed_at)])
    columns = [("source", "left", True), ("documents", "right", False), ("passages", "right", False), ("indexed (UTC)", "left", False)]
    _print_table(columns, rows, "No sources indexed.", console)


def print_exchanges(exchanges, console: Console | None = None) -> None:
    """Logged questions, oldest first, each with its answer and cited sources (Markdown-ish)."""
    from qa.export import answer_with_sources

    console = console or stdout_console()
    if not exchanges:
        console.print(Text("No questions logged yet (qa ask and qa chat log them)."))
        return
    for number, exchange in enumerate(exchanges):
        if number:
            console.print()
        answer = exchange.answer
        console.print(Text(f"## {safe_inline(answer.question)}", style="bold"), soft_wrap=True)
        console.print(Text(f"{_when(exchange.asked_at)} UTC · conversation {exchange.conversation_id}", style="dim"))
        _print_read_as(answer, console)
        console.print()
        console.print(Text(answer_with_sources(answer).rstrip("\n")), soft_wrap=True)


def print_conversations(conversations, console: Console | None = None) -> None:
    rows = [[str(c.id), c.origin, _when(c.updated_at), str(c.exchanges), Text(safe_inline(c.title))] for c in conversations]
    columns = [("id", "right", False), ("from", "left", False), ("last used (UTC)", "left", False),
               ("questions", "right", False), ("first question", "left", True)]
    _print_table(columns, rows, "No conversations yet.", console)


def _print_table(columns, rows, empty: str, console: Console | None) -> None:
    """A borderless table; cells are `Text` or plain strings, never parsed as markup.
    `columns`: (header, justify, wraps)."""
    from rich.table import Table

    console = console or stdout_console()
    if not rows:
        console.print(Text(empty))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name, justify, wraps in columns:
        table.add_column(name, justify=justify, no_wrap=not wraps, overflow="fold")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
    console.print(table)


def _print_read_as(answer: Answer, console: Console) -> None:
    """A follow-up's resolved question, before its answer."""
    if answer.resolved_question:
        console.print(Text(f"Read as: {safe_inline(answer.resolved_question)}", style="dim"), soft_wrap=True)


def _when(iso_utc: str) -> str:
    """`2026-12-02T04:31:05.123Z` as `2026-12-02 04:31`."""
    return iso_utc.replace("T", " ")[:16]
