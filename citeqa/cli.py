"""The `qa` command line: `qa index`, `qa sources`, `qa ask`, `qa eval` (and `qa chat`, in
citeqa.chat).

Heavy modules (numpy, faiss, torch) are imported inside the commands so that `qa --help`
and usage errors answer at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from citeqa.common import (
    EngineOption, IndexDirOption, ModelOption, ReaderOption, RetrieverOption, StoreOption, errors_to_exit_codes, settings_from,
)
from index.errors import QAError

EVAL_BELOW_THRESHOLD_EXIT = 1

app = typer.Typer(
    name="qa",
    help="Ask questions about your documents; every answer sentence is quoted from them and cited.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("citeqa")
        except PackageNotFoundError:  # run from a checkout that was never installed
            number = "unknown"
        sys.stdout.write(f"qa (citeqa) {number}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    show_version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Ask questions about your documents; every answer sentence is quoted from them and cited."""


@app.command("index")
def index_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders of .txt, .md, .html and .pdf documents to add or refresh (default: refresh every indexed source; the first time, seeds/).", show_default=False)] = None,
    remove: Annotated[Optional[list[Path]], typer.Option("--remove", metavar="PATH", help="Drop an indexed source (see `qa sources`). Repeatable.", show_default=False)] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    engine: EngineOption = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Embed every document again instead of reusing unchanged ones.")] = False,
    vector_index: Annotated[Optional[str], typer.Option("--vector-index", help="FAISS index: auto (by corpus size), flat, hnsw, hnsw-sq8, ivf-sq8 or ivf-pq4fs [env: QA_VECTOR_INDEX].", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Add or refresh files and folders in the index; every other indexed source stays. The
    previous index stays live until the new one is complete; unchanged documents are not
    embedded again."""
    with errors_to_exit_codes():
        from qa.factory import index_documents
        from qa.render import progress_reporter, safe_inline, stderr_console

        settings = settings_from(index_dir=index_dir, model=model, engine=engine, vector_index=vector_index, store=store)
        console = stderr_console()
        warn = _warner(console)

        with progress_reporter() as progress:
            report = index_documents(settings, list(paths or []), progress, warn, rebuild, list(remove or []))
        for source in report.removed_sources:
            console.print(f"removed source {safe_inline(source)}", markup=False, highlight=False, soft_wrap=True)
        changes = report.changes
        console.print(
            f"{changes.added} added, {changes.changed} changed, {changes.removed} removed, "
            f"{changes.unchanged} unchanged; {changes.embedded_texts} passages and sentences embedded",
            markup=False, highlight=False, soft_wrap=True,
        )
        stderr_console().print(
            f"Indexed {report.documents} document(s), {report.characters} characters: "
            f"{report.passages} passages, {report.sentences} sentences in {report.seconds:.1f} s "
            f"({safe_inline(report.model_id)} on {report.engine}, {report.vector_index} vector index) "
            f"-> {safe_inline(report.location)}",
            markup=False, highlight=False, soft_wrap=True,
        )


@app.command("copy-index")
def copy_index_command(
    source: Annotated[Optional[Path], typer.Option("--from", metavar="DIR", help="The index directory to copy [default: --index-dir's, env QA_INDEX_DIR].", show_default=False)] = None,
    store: StoreOption = None,
    replace_existing: Annotated[bool, typer.Option("--replace", help="Overwrite the index the store already holds.")] = False,
    index_dir: IndexDirOption = None,
) -> None:
    """Copy an index directory into a PostgreSQL store (--store) with its vectors: nothing is
    embedded again. The copy commits at once: readers of the store see the old index or the
    new one."""
    with errors_to_exit_codes():
        from qa.factory import copy_directory_index
        from qa.render import safe_inline, stderr_console

        settings = settings_from(index_dir=index_dir, store=store)
        console = stderr_console()
        warn = _warner(console)

        started = time.perf_counter()
        origin = source or settings.index_dir
        manifest, location = copy_directory_index(settings, origin, replace_existing, warn)
        console.print(
            f"Copied {len(manifest.documents)} document(s): {manifest.passage_count} passages, "
            f"{manifest.sentence_count} sentences from {safe_inline(str(origin))} in {time.perf_counter() - started:.1f} s "
            f"({safe_inline(manifest.vector_index_spec.factory)}) -> {safe_inline(location)}",
            markup=False, highlight=False, soft_wrap=True,
        )


@app.command("sources")
def sources_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the sources as one JSON array.")] = False,
    index_dir: IndexDirOption = None,
    store: StoreOption = None,
) -> None:
    """List the indexed files and folders: documents, passages, when last indexed."""
    with errors_to_exit_codes():
        from index.sources import summarize_sources
        from qa.factory import read_index_manifest
        from qa.render import print_sources

        manifest = read_index_manifest(settings_from(index_dir=index_dir, store=store))
        summaries = summarize_sources(manifest.index_sources(), manifest.documents)
        if as_json:
            sys.stdout.write(json.dumps([s.to_json() for s in summaries], ensure_ascii=False) + "\n")
        else:
            print_sources(summaries)


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help='The question; "-" reads one question per line from stdin and prints JSON Lines.')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=100, help="Passages to retrieve [default: 5].", show_default=False)] = None,
    context: Annotated[Optional[str], typer.Option("--context", help="The previous question, for a follow-up such as \"那第二工厂呢？\".", show_default=False)] = None,
    retriever: RetrieverOption = None,
    reader: ReaderOption = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    engine: EngineOption = None,
    store: StoreOption = None,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not record the question and answer in the history (qa log).")] = False,
) -> None:
    """Answer a question with sentences quoted from the documents, each cited (and logged:
    see qa log)."""
    with errors_to_exit_codes():
        from qa.factory import open_answerer
        from qa.render import print_answer, progress_reporter

        settings = settings_from(index_dir=index_dir, model=model, engine=engine, top_k=top_k, retriever=retriever, reader=reader, store=store)
        if question != "-" and not question.strip():
            from index.errors import UsageError

            raise UsageError("the question is empty")
        with progress_reporter() as progress:
            answerer = open_answerer(settings, progress)
        log = None if no_log else _AskLog(settings.history_path)
        if question == "-":
            _answer_stdin_lines(answerer, settings.top_k, log)
            return
        answer = answerer.ask(question, settings.top_k, context=context)
        if log:
            log.record(answer)
        if as_json:
            sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        else:
            print_answer(answer)
        _teardown.skip = True


@app.command("eval")
def eval_command(
    gold: Annotated[Optional[Path], typer.Argument(metavar="[GOLD]", help="Gold questions, JSON Lines (default: seeds/*.gold.jsonl).", show_default=False)] = None,
    docs: Annotated[Optional[list[Path]], typer.Option("--docs", metavar="PATH", help="Documents to index (default: the documents the gold file names).", show_default=False)] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Passages retrieved per question.")] = 5,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Ask only the first N questions.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print all metrics, failures and per-question results as JSON.")] = False,
    fail_under: Annotated[Optional[list[str]], typer.Option("--fail-under", metavar="METRIC=VALUE", help="METRIC=VALUE: exit 1 when the metric is below VALUE (e.g. hit=0.9). Repeatable.", show_default=False)] = None,
    model: ModelOption = None,
    retriever: RetrieverOption = None,
    reader: ReaderOption = None,
    engine: EngineOption = None,
) -> None:
    """Evaluate the bot on a gold question set: retrieval, answers, citations, abstention."""
    with errors_to_exit_codes():
        from index.errors import UsageError
        from qa.eval_render import print_report
        from qa.evaluate import evaluate
        from qa.factory import open_evaluation
        from qa.gold import load_gold
        from qa.render import progress_reporter, stdout_console

        thresholds = _parse_thresholds(fail_under or [])
        settings = settings_from(model=model, engine=engine, retriever=retriever, reader=reader)
        gold_path = gold or _default_gold()
        questions = load_gold(gold_path)[:limit]
        paths = docs or sorted({Path(q.doc) for q in questions if q.doc})
        if not paths:
            raise UsageError("the gold file names no documents; pass --docs PATH")
        with progress_reporter() as progress:
            answerer, documents = open_evaluation(settings, paths, progress)
            missing = sorted({q.doc for q in questions if q.doc and q.doc not in documents})
            if missing:
                raise UsageError(f"gold questions refer to documents not indexed: {', '.join(missing[:3])}; check --docs")
            report = evaluate(answerer, questions, documents, top_k=k, progress=progress)
        if as_json:
            sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
        else:
            print_report(report, stdout_console())
        failed = []
        for name, minimum in thresholds:
            try:
                value = report.metric(name)
            except KeyError:
                raise UsageError(f"--fail-under: unknown metric {name!r}") from None
            except ValueError as error:
                raise UsageError(f"--fail-under: {error}") from None
            if value < minimum:
                failed.append(f"{name} {value:.4g} < {minimum:g}")
        if failed:
            sys.stderr.write("qa: eval below threshold: " + "; ".join(failed) + "\n")
            raise typer.Exit(EVAL_BELOW_THRESHOLD_EXIT)


def _parse_thresholds(items: list[str]) -> list[tuple[str, float]]:
    from index.errors import UsageError

    thresholds = []
    for item in items:
        name, _, value = item.partition("=")
        try:
            thresholds.append((name.strip().lower(), float(value)))
        except ValueError:
            raise UsageError(f"--fail-under expects METRIC=VALUE, not {item!r}") from None
    return thresholds


def _default_gold() -> Path:
    from index.errors import UsageError

    found = sorted(Path("seeds").glob("*.gold.jsonl"))
    if not found:
        raise UsageError("no gold file given and none in seeds/*.gold.jsonl")
    return found[0]


class _AskLog:
    """`qa ask` answers into the history, one conversation per command; a history that
    cannot be written is a warning, never a failed answer."""

    def __init__(self, path: Path) -> None:
        from qa.history import History

        self._history = History(path)
        self._conversation: int | None = None
        self._broken = False

    def record(self, answer) -> None:
        if self._broken:
            return
        try:
            self._conversation, _ = self._history.record(self._conversation, answer, origin="ask")
        except QAError as error:
            self._broken = True
            from qa.render import safe_inline

            sys.stderr.write(f"qa: warning: not logged: {safe_inline(str(error))}\n")


def _answer_stdin_lines(answerer, top_k: int, log: _AskLog | None) -> None:
    """One JSON object per non-empty input line; a bad line gets an `error` object."""
    for line in sys.stdin:
        question = line.strip()
        if not question:
            continue
        try:
            answer = answerer.ask(question, top_k)
        except QAError as error:
            result = {"question": question, "error": str(error)}
        else:
            result = answer.to_json()
            if log:
                log.record(answer)
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()


from citeqa.chat import chat_command  # noqa: E402 - registered after the app exists
from citeqa.log import log_command  # noqa: E402
from citeqa.serve import serve_command  # noqa: E402

app.command("chat")(chat_command)
app.command("log")(log_command)
app.command("serve")(serve_command)


def _warner(console) -> Callable[[str], None]:
    """`qa: warning: ...` lines on `console` (stderr), document text shown literally."""
    from qa.render import safe_inline

    def warn(message: str) -> None:
        console.print(f"qa: warning: {safe_inline(message)}", markup=False, highlight=False, soft_wrap=True)

    return warn


class _teardown:
    skip = False
    """Set once a one-shot answer is out: nothing is left to write, and the interpreter's
    teardown (OpenVINO's compiled models, the encoder, the index: ~0.3 s of a 1.5 s `qa ask`
    on 2 cores) only delays the prompt."""


def main() -> None:
    try:
        app()
    except SystemExit as done:
        if not _teardown.skip:
            raise
        code = done.code if isinstance(done.code, int) else 0
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe (`qa ask ... | head -1`)
                code = code or 1
        os._exit(code)


if __name__ == "__main__":
    main()
