"""`qa chat`: checks that there is a terminal and that the arguments hold, then hands the
chat app a loader (and an indexer for PATHs) that run in its worker threads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from citeqa.common import (
    EngineOption, IndexDirOption, ModelOption, ReaderOption, RetrieverOption, StoreOption, errors_to_exit_codes, settings_from,
)


def chat_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Documents to index before chatting, like `qa index` (default: chat over the existing index).", show_default=False)] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=100, help="Passages to retrieve [default: 5].", show_default=False)] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    retriever: RetrieverOption = None,
    reader: ReaderOption = None,
    engine: EngineOption = None,
    store: StoreOption = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new conversation instead of continuing the last one.")] = False,
) -> None:
    """Chat in the terminal: ask questions, read cited answers, inspect their sources. The
    conversation is kept (qa log) and continued next time."""
    with errors_to_exit_codes():
        from index.errors import UsageError
        from qa.preflight import check_chat_arguments

        if not has_terminal():
            raise UsageError("qa chat needs a terminal; in scripts use `qa ask` (`qa ask -` reads questions from stdin)")
        settings = settings_from(index_dir=index_dir, model=model, engine=engine, top_k=top_k, retriever=retriever, reader=reader, store=store)
        check_chat_arguments(settings, list(paths or []))
        from tui.app import ChatApp

        # Both run in a worker thread of the app; the heavy modules load there, not here.
        def load_answerer(progress):
            from qa.factory import open_answerer

            return open_answerer(settings, progress)

        def index_paths(progress):
            from qa.factory import index_documents

            report = index_documents(settings, list(paths or []), progress)
            return (
                f"{report.documents} document(s), {report.characters} characters: {report.passages} passages, "
                f"{report.sentences} sentences in {report.seconds:.1f} s -> {report.location}"
            )

        from qa.history import History

        ChatApp(
            load_answerer, index_paths if paths else None, settings.top_k, settings.exports_dir,
            history=History(settings.history_path), resume=not new,
        ).run()


def has_terminal() -> bool:
    """A full-screen app reads keys from stdin and draws on stdout: both must be terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


