"""Which file formats become which text: plain text as is; Markdown and HTML converted to
plain text with a map back to the file; PDF page by page (see index.source_map)."""

from __future__ import annotations

from index.errors import DocumentError
from index.source_map import ExtractedText

PLAIN_SUFFIXES = (".txt",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = PLAIN_SUFFIXES + MARKDOWN_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES


def is_binary_format(suffix: str) -> bool:
    """Files read as bytes by their converter rather than decoded as text."""
    return suffix.lower() in PDF_SUFFIXES


def extract_text(raw: str, suffix: str, name: str = "document") -> ExtractedText | None:
    """The plain text of a decoded file of this suffix, or None when the file's text is used
    as it is (.txt and unknown suffixes). Raise DocumentError when conversion fails."""
    suffix = suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        from index.markdown_text import extract_markdown as convert

        kind = "Markdown"
    elif suffix in HTML_SUFFIXES:
        from index.html_text import extract_html as convert

        kind = "HTML"
    else:
        return None
    try:
        return convert(raw)
    except Exception as error:  # noqa: BLE001 - one bad file is skipped with a message, not a traceback
        detail = f"{type(error).__name__}: {error}".strip().splitlines()[0][:200]
        raise DocumentError(f"{name}: cannot convert {kind} to text ({detail})") from None


def extract_binary(data: bytes, suffix: str, name: str = "document") -> ExtractedText:
    """The text of a binary document (PDF)."""
    from index.pdf_text import extract_pdf

    return extract_pdf(data, name)
