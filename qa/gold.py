"""Gold question sets: JSON Lines of questions with answers, evidence and answerability."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from index.errors import UsageError


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    """Acceptable short answers; one contained in the bot's answer is a hit."""
    evidence: tuple[str, ...]
    """Exact substrings of the document that support the answer."""
    answerable: bool
    kind: str
    doc: str
    """Id of the document the question is about (its path relative to the indexed root)."""
    lang: str = ""


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a gold file; a malformed line is a one-line error naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"{path}: cannot read the gold file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the gold file is not UTF-8") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                GoldQuestion(
                    id=str(row["id"]),
                    question=str(row["question"]),
                    answers=tuple(str(a) for a in row.get("answers", [])),
                    evidence=tuple(str(e) for e in row.get("evidence", [])),
                    answerable=bool(row.get("answerable", True)),
                    kind=str(row.get("kind", "question")),
                    doc=str(row.get("doc", "")),
                    lang=str(row.get("lang", "")),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise UsageError(f"{path}:{number}: not a gold question ({type(error).__name__}: {error})") from None
    if not questions:
        raise UsageError(f"{path}: no questions")
    return questions
