"""Short-answer extraction alone: each CMRC question against the sentence that holds its gold
answer, so that retrieval and sentence choice do not blur the extractor's own EM/F1.

    .venv/bin/python bench/short_answer_oracle.py [--split trial|dev] [--max-gold N] [--show N]

Tune on trial (all of it: no index is involved); dev is the test set. `--max-gold 12` keeps
questions whose gold answer is a short span, the kind that dominates dev (median 7 characters,
against 19 on trial).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import SPLITS  # noqa: E402

from index.passages import split_sentence_spans  # noqa: E402
from qa.metrics import cmrc_em, cmrc_f1  # noqa: E402
from qa.reading.heuristic.short_answer import expected_type, find_short_answer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def oracle_cases(split: str, max_gold: int | None) -> list[tuple[str, tuple[str, ...], str]]:
    """(question, gold answers, sentence holding the first gold answer)."""
    folder = SPLITS[split]
    contexts = {}
    for line in (folder / "contexts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        contexts[row["context_id"]] = row["context"]
    cases = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        question, answers = row["question"].strip(), tuple(row["answers"])
        if not question or not answers or (max_gold and len(answers[0]) > max_gold):
            continue
        text = contexts[row["context_id"]]
        start = row.get("answer_starts", [-1])[0]
        if start < 0 or text[start : start + len(answers[0])] != answers[0]:
            start = text.find(answers[0])
        if start < 0:
            continue
        for begin, end in split_sentence_spans(text):
            if begin <= start and start + len(answers[0]) <= end:
                cases.append((question, answers, text[begin:end]))
                break
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=tuple(SPLITS), default="trial")
    parser.add_argument("--max-gold", type=int, default=12)
    parser.add_argument("--show", type=int, default=0, help="print N random misses")
    args = parser.parse_args()
    cases = oracle_cases(args.split, args.max_gold)
    by_type: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
    misses = []
    for question, answers, sentence in cases:
        short = find_short_answer(question, sentence)
        text = short.text if short else None
        em, f1 = cmrc_em(text, answers), cmrc_f1(text, answers)
        for key in ("all", expected_type(question)):
            by_type[key].append((em, f1, short is not None))
        if not em:
            misses.append((expected_type(question), question, answers[0], text, sentence))
    print("| type | questions | EM | F1 | with a short answer |\n|---|---|---|---|---|")
    summary = {}
    for key, rows in sorted(by_type.items()):
        n = len(rows)
        summary[key] = {
            "questions": n, "em": 100 * sum(r[0] for r in rows) / n,
            "f1": 100 * sum(r[1] for r in rows) / n, "answered": sum(r[2] for r in rows) / n,
        }
        s = summary[key]
        print(f"| {key} | {n} | {s['em']:.1f} | {s['f1']:.1f} | {s['answered']:.2f} |")
    random.seed(0)
    for kind, question, gold, text, sentence in random.sample(misses, min(args.show, len(misses))):
        print(f"{kind} | {question} | gold: {gold} | got: {text} | {sentence[:100]}")
    RESULTS.mkdir(exist_ok=True)
    name = f"short-answer-oracle-{args.split}" + (f"-gold{args.max_gold}" if args.max_gold else "")
    (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
