"""Core errors shown in the UI: the one-line message and what to do about it."""

from __future__ import annotations

from textual.content import Content

from index.errors import DocumentError, IndexStoreError, ModelError, QAError, UsageError
from qa.render import safe_inline

WHAT_TO_DO = [
    (IndexStoreError, "Quit (Ctrl+Q) and build the index with `qa index PATH...`, or start `qa chat PATH...`."),
    (DocumentError, "Check the documents: `qa chat PATH...` takes .txt, .md, .html and .pdf files or folders of them."),
    (ModelError, "Check --model / QA_MODEL and the model cache (QA_CACHE_DIR)."),
    (UsageError, "Check the question or the options."),
]


def error_line(error: BaseException) -> str:
    """The error in one line; unexpected ones name their type."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if not isinstance(error, QAError):
        text = f"unexpected error: {type(error).__name__}" + (f": {text}" if text else "")
    return safe_inline(text)


def what_to_do(error: BaseException) -> str:
    for kind, advice in WHAT_TO_DO:
        if isinstance(error, kind):
            return advice
    if isinstance(error, QAError):
        return "See the message above."
    return "This is a bug: please report it with the message above. Other questions may still work."


def error_content(title: str, error: BaseException) -> Content:
    return Content.assemble(
        Content(f"{title}: ").stylize("bold $text-error"),
        Content(error_line(error)),
        "\n",
        Content(what_to_do(error)).stylize("$foreground-muted"),
    )
