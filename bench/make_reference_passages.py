"""Write qa/reference_passages.jsonl: the background corpus of the abstention signal.

The answerer compares how well the user's documents answer a question with how well a fixed,
broad background corpus does (see docs/calibration.md). The background is every passage of
half of the CMRC 2018 trial contexts (the odd positions in context-id order); the other half
stays the calibration corpus. Text: CMRC 2018, CC BY-SA 4.0 (bench/data/cmrc2018/LICENCE).

    .venv/bin/python bench/make_reference_passages.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import load_contexts  # noqa: E402

from index.passages import split_document  # noqa: E402

TARGET = Path(__file__).resolve().parent.parent / "qa" / "reference_passages.jsonl"


def background_context_ids() -> set[str]:
    ids = sorted(d.id for d in load_contexts("trial"))
    return set(ids[1::2])


def main() -> None:
    chosen = background_context_ids()
    rows = []
    for document in load_contexts("trial"):
        if document.id in chosen:
            _, passages = split_document(document)
            rows.extend({"context_id": document.id, "text": p.text} for p in passages)
    with open(TARGET, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} passages from {len(chosen)} contexts to {TARGET}")


if __name__ == "__main__":
    main()
