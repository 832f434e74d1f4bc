"""Terminal output of `qa eval`: the metrics table per kind, then one line per failure."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa.evaluate import EvaluationReport, Scores
from qa.render import safe_inline

ROWS = [
    ("questions", lambda s: f"{s.questions}"),
    ("passage recall@1", lambda s: _rate(s.recall_at_1)),
    ("passage recall@3", lambda s: _rate(s.recall_at_3)),
    ("passage recall@5", lambda s: _rate(s.recall_at_5)),
    ("passage MRR@10", lambda s: _rate(s.mrr_at_10)),
    ("answer hit", lambda s: f"{s.hit:.3f}"),
    ("short answer EM", lambda s: f"{s.em:.1f}"),
    ("short answer F1", lambda s: f"{s.f1:.1f}"),
    ("median answer chars", lambda s: f"{s.median_answer_chars:.0f}"),
    ("citation validity", lambda s: f"{s.citation_validity:.3f}"),
    ("citation support", lambda s: f"{s.citation_support:.3f}"),
    ("abstention precision", lambda s: f"{s.abstention_precision:.3f}"),
    ("abstention recall", lambda s: f"{s.abstention_recall:.3f}"),
    ("abstention F1", lambda s: f"{s.abstention_f1:.3f}"),
    ("wrong abstentions", lambda s: f"{s.wrong_abstention_rate:.3f}"),
    ("latency p50 ms", lambda s: f"{s.latency_p50_ms:.0f}"),
    ("latency p95 ms", lambda s: f"{s.latency_p95_ms:.0f}"),
]


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def scores_table(report: EvaluationReport) -> Table:
    """Metrics as rows, `all` and each kind as columns (fits 80 columns for a few kinds)."""
    table = Table(title="retrieval, answers, citations, abstention", title_justify="left")
    columns: list[tuple[str, Scores]] = [("all", report.overall), *report.by_kind.items()]
    table.add_column("metric", no_wrap=True)
    for name, _ in columns:
        table.add_column(safe_inline(name), justify="right", no_wrap=True)
    for label, cell in ROWS:
        table.add_row(label, *(_cell(label, cell, scores) for _, scores in columns))
    return table


def _cell(label: str, cell, scores: Scores) -> str:
    """A metric that needs a kind of question the group lacks is shown as '-'."""
    unanswerable = scores.questions - scores.answerable
    if label.startswith("abstention") and unanswerable == 0:
        return "-"
    if scores.answerable == 0 and not label.startswith(("abstention", "questions", "citation validity", "latency", "median")):
        return "-"
    return cell(scores)


def print_report(report: EvaluationReport, console: Console) -> None:
    table = scores_table(report)
    if not console.is_terminal:
        table.width = None
        console = Console(width=max(console.width, 120), highlight=False, soft_wrap=False, file=console.file)
    console.print(table)
    overall = report.overall
    console.print(
        f"short answers given: {overall.short_answers} of {overall.answerable} answerable "
        "(EM/F1 count a missing short answer as 0)", highlight=False, markup=False,
    )
    if overall.retrieval_judged < overall.answerable:
        console.print(
            f"passage recall and MRR: over {overall.retrieval_judged} of {overall.answerable} answerable questions "
            "(the others name no document and carry no evidence, so relevance cannot be judged)",
            highlight=False, markup=False,
        )
    failures = report.failures
    console.print(Text(f"\nfailures ({len(failures)} of {overall.questions})", style="bold"))
    for result in failures:
        expected = " / ".join(result.expected) if result.answerable else "(abstain)"
        got = "(abstained)" if result.abstained else result.answer
        line = Text()
        line.append(f"[{result.kind}] ", style="dim")
        line.append(safe_inline(result.question))
        line.append("  expected: ", style="dim")
        line.append(safe_inline(expected)[:60])
        line.append("  got: ", style="dim")
        line.append(safe_inline(got)[:100])
        console.print(line, soft_wrap=True)
