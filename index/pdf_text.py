"""PDF to plain text, page by page.

pdfminer.six's layout analysis groups a page's characters into text boxes (paragraphs,
headings, captions, columns) in reading order. Each box starts a new line; inside a box, a
line that runs to the box's right edge was wrapped and is joined with the next one (without
a space between CJK characters), so sentences are not cut at every line end.

pdfminer leaves the strings inside the font dictionaries of an encrypted file undeciphered,
so a copy-protected PDF with a standard CJK font (no embedded Unicode map) comes out as
`(cid:1467)(cid:4162)...`. Such a file is read again with pypdf, which decrypts it, keeping
its lines (joined where a line does not end a sentence). A PDF has no character positions to
cite, so the text carries page numbers only.
"""

from __future__ import annotations

import io
import logging
import re

from index.errors import DocumentError
from index.source_map import ExtractedText, TextBuilder

WRAP_TOLERANCE = 2.0
"""A line ending within this many line heights of its box's right edge was wrapped."""
LINE_ENDS = "。！？!?；;:：…」』”\"）)"
"""A line ending with one of these is not joined with the next (pypdf fallback)."""
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")


def extract_pdf(data: bytes, name: str) -> ExtractedText:
    """The text of a PDF, with the offset where each page starts. Raise DocumentError for a
    file that is not a readable PDF (damaged, encrypted with a password, no text)."""
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{name}: not a PDF file (no %PDF- header)")
    extracted = _with_pdfminer(data, name)
    if _mostly_unmapped(extracted.text):
        extracted = _with_pypdf(data, name)
        if _mostly_unmapped(extracted.text):
            raise DocumentError(f"{name}: the PDF's fonts have no Unicode mapping (its text cannot be extracted)")
    if not extracted.text.strip():
        raise DocumentError(f"{name}: no text in the PDF (scanned pages or images only?)")
    return extracted


def _with_pdfminer(data: bytes, name: str) -> ExtractedText:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer, LTTextLine
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    # pdfminer logs every oddity of a file it reads; a warning per page is noise here.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    builder = TextBuilder()
    try:
        for page in extract_pages(io.BytesIO(data), laparams=LAParams()):
            builder.start_page()
            for box in page:
                if not isinstance(box, LTTextContainer):
                    continue
                lines = [line for line in box if isinstance(line, LTTextLine)]
                for k, line in enumerate(lines):
                    text = line.get_text().strip()
                    if not text:
                        continue
                    builder.text(text)
                    wrapped = k + 1 < len(lines) and line.x1 >= box.x1 - WRAP_TOLERANCE * line.height
                    if not wrapped:
                        builder.newline()
                    elif not text.endswith("-"):  # a hyphen at a wrap joins directly
                        builder.soft_break()
                builder.newline()
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise DocumentError(f"{name}: encrypted PDF (cannot extract its text without the password)") from None
    except Exception as error:  # noqa: BLE001 - pdfminer raises many kinds on damaged files
        raise DocumentError(f"{name}: cannot read PDF ({_describe(error)})") from None
    return builder.build()


def _with_pypdf(data: bytes, name: str) -> ExtractedText:
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    builder = TextBuilder()
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        for page in reader.pages:
            builder.start_page()
            for line in page.extract_text().split("\n"):
                line = line.strip()
                if line:
                    builder.text(line)
                    if line.endswith(tuple(LINE_ENDS)):
                        builder.newline()
                    else:
                        builder.soft_break()
    except Exception as error:  # noqa: BLE001 - as above
        raise DocumentError(f"{name}: cannot read PDF ({_describe(error)})") from None
    return builder.build()


def _mostly_unmapped(text: str) -> bool:
    """Glyphs without a Unicode mapping make up a third or more of the text."""
    unmapped = sum(len(m.group()) for m in _UNMAPPED_GLYPH.finditer(text))
    return unmapped > 0 and unmapped * 3 >= len(text.replace("\n", "").replace(" ", ""))


def _describe(error: BaseException) -> str:
    lines = f"{type(error).__name__}: {error}".strip().splitlines()
    return lines[0][:200]
