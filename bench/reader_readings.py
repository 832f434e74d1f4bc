"""Why the trained reader answered or refused: for each question of a gold set, every retrieved
passage with the reader's best span in it, its margins and its p(answer) under the calibration
the question gets, and whether the passage holds a gold answer (*).

    .venv/bin/python bench/reader_readings.py seeds/xiaomi-lei-jun-traffic-carmaking.gold.jsonl --kinds paraphrase

The answerer itself reads only the first `read_k` of these (the calibration's, printed per
question), and the first `first_read` of them before deciding to read on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator

from index.errors import QAError
from qa.answerer import Answerer
from qa.factory import open_evaluation
from qa.gold import GoldQuestion, load_gold
from qa.reading.trained import TrainedReader
from qa.settings import Settings
from qa.text import question_language


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gold", type=Path, help="a gold set (JSON Lines, as `qa eval --gold` takes)")
    parser.add_argument("--kinds", default="", help="only these kinds, comma-separated (default: all)")
    parser.add_argument("--passages", type=int, default=8, help="how many retrieved passages to read (default 8)")
    args = parser.parse_args(argv)
    try:
        gold = load_gold(args.gold)
        kinds = {k for k in args.kinds.split(",") if k}
        chosen = [g for g in gold if not kinds or g.kind in kinds]
        answerer, _ = open_evaluation(Settings.from_env(), sorted({Path(g.doc) for g in gold if g.doc}, key=str))
    except QAError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not isinstance(answerer.reader, TrainedReader):
        print("error: the heuristic reader has no spans to show (unset QA_READER)", file=sys.stderr)
        return 2
    for line in readings_report(answerer, chosen, args.passages):
        print(line)
    return 0


def readings_report(answerer: Answerer, questions: list[GoldQuestion], passages: int) -> Iterator[str]:
    """Per question a header line, then one line per retrieved passage, best first."""
    reader = answerer.reader
    for g in questions:
        hits = answerer.retrieve(g.question, passages)
        if not hits:
            yield f"{g.id} [{g.kind}] {g.question}: nothing retrieved"
            continue
        calibration = reader.calibration.for_question(question_language(g.question), question_language(hits[0].text))
        yield (
            f"{g.id} [{g.kind}] {g.question}  gold {list(g.answers) or 'none'}  "
            f"(threshold {calibration.threshold:.3f}, read_k {calibration.read_k}, first_read {calibration.first_read})"
        )
        for rank, (reading, hit) in enumerate(zip(reader.read_spans(g.question, hits), hits)):
            holds = "*" if any(a in hit.text for a in g.answers) else " "
            if reading is None:
                yield f"  {rank} {holds} no span may be taken"
                continue
            span = answerer.index.passage(hit.passage_id).text[reading.start : reading.end]
            p = calibration.probability(reading.answer_margin)
            yield f"  {rank} {holds} margin {reading.margin:7.2f}  answer margin {reading.answer_margin:7.2f}  p {p:.3f}  {span[:40]!r}"


if __name__ == "__main__":
    sys.exit(main())
