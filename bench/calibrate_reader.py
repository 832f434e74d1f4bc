"""Calibrate the trained reader on CMRC trial (never dev): qa/reading/weights/calibration.json.

    .venv/bin/python bench/calibrate_reader.py [--limit N]

Every trial question (the half of trial that is not the abstention background, Chinese and the
project's English translations) is asked over the open trial corpus twice: as is, and with
its own context's passages removed from the retrieved list (the documents then do not hold
the answer). From the reader's margins (best span score - no-answer score, which choose the
passage answered from) and answer margins (all spans' score - no-answer score, SpanScore.any_score):
- scale and bias of p(answer) = sigmoid(scale * answer_margin + bias): logistic regression of
  "asked with its context" on the answer margin of the passage answered from (SpanReading);
- threshold: the highest p that wrongly refuses at most 2% of the with-context questions;
- read_k and rank_penalty: the answer comes from the passage whose margin less rank_penalty per
  place below the first retrieved one is highest; the fewest passages read (1..8), then the
  smallest penalty (RANK_PENALTIES), whose F1 is within 0.5 of the best pair;
- first_read, confident and hopeless: a reading cascade (`choose_cascade`) that reads the first
  passages and stops there when they are confident, or far from any answer;
- second_threshold: the p above which another passage's span is also cited: 0.95, or the
  threshold when that is higher (set by hand, not tuned).
With --paraphrases the Chinese questions include the project's paraphrases of them
(trial/questions-paraphrase.jsonl: worded without copying the text, as users ask), so that the
threshold does not refuse questions for not copying their passage; it also lowers the threshold
and so abstains less (the shipped calibration is fitted without them; README, "The trained
reader"). All of it twice: for questions in the documents' language (Chinese) and for questions in another language (the English translations: `cross_language`), whose margins are lower and
whose answer is more often below the first passage (English R@1 is lower).
Writes the chosen values and the trial figures behind them. `--rows FILE` keeps the readings
(the slow part, ~7 minutes) and refits from them when the file exists.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import load_contexts, load_questions, open_corpus_index, query_encoder  # noqa: E402
from make_reference_passages import background_context_ids  # noqa: E402

from index.encoders import DEFAULT_MODEL_ID  # noqa: E402
from qa.factory import open_reader  # noqa: E402
from qa.metrics import cmrc_em, cmrc_f1  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.reading.reader import CALIBRATION_FILE, WEIGHTS_DIR  # noqa: E402
from qa.reading.training_data import load_paraphrases, load_translations  # noqa: E402
from qa.settings import Settings  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "cmrc2018" / "trial"
MAX_K = 8
MAX_WRONG_REFUSALS = 0.02
RANK_PENALTIES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 200) -> tuple[float, float]:
    """1-D logistic regression by Newton's method: (scale, bias)."""
    w = np.zeros(2)
    X = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(X @ w)))
        gradient = X.T @ (p - y)
        hessian = (X * (p * (1 - p))[:, None]).T @ X + 1e-6 * np.eye(2)
        w -= np.linalg.solve(hessian, gradient)
    return float(w[0]), float(w[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rows", type=Path, default=None, help="keep the trial readings in this file, and reuse them when it exists")
    parser.add_argument("--paraphrases", action="store_true", help="also fit on the trial paraphrases")
    args = parser.parse_args()
    settings = Settings.from_env()
    background = background_context_ids()
    documents = [d for d in load_contexts("trial") if d.id not in background]
    index = open_corpus_index("trial-calibration", documents, DEFAULT_MODEL_ID, settings.cache_dir)
    reader = open_reader(replace(settings, reader="trained"), index).span_reader
    retriever = Retriever(index, query_encoder(DEFAULT_MODEL_ID, settings.cache_dir))
    kept = {d.id for d in documents}
    english = load_translations(DATA)
    paraphrases = load_paraphrases(DATA) if args.paraphrases else {}
    asked = []
    for q in load_questions("trial"):
        if q.context_id in kept:
            asked.append((q, q.question, "zh"))
            if q.id in paraphrases:
                asked.append((q, paraphrases[q.id], "zh"))
            if q.id in english:
                asked.append((q, english[q.id], "en"))
    asked = asked[: args.limit]
    rows = pickle.loads(args.rows.read_bytes()) if args.rows and args.rows.is_file() else None
    if rows and any(len(span) != len(NO_SPAN) for row in rows for span in row["spans"]):
        print(f"{args.rows} holds readings without answer margins (before 2026-12-07): reading trial again", file=sys.stderr)
        rows = None
    if rows is None:
        rows = read_trial(asked, reader, retriever)
        if args.rows:
            args.rows.write_bytes(pickle.dumps(rows))
    same = [r for r in rows if r["language"] == "zh"]
    cross = [r for r in rows if r["language"] != "zh"]
    calibration = calibrate(same)
    if cross:
        calibration["cross_language"] = calibrate(cross)
    (WEIGHTS_DIR / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(calibration, indent=2))


def read_trial(asked: list, reader, retriever) -> list[dict]:
    """Per question and condition (with or without its context): margin, span text and answer
    margin of each of the top MAX_K passages, in retrieval order."""
    rows = []
    for n, (q, text, language) in enumerate(asked):
        hits = retriever.retrieve(text, MAX_K + 12)
        conditions = {True: hits[:MAX_K], False: [h for h in hits if h.doc != q.context_id][:MAX_K]}
        needed = list({h.passage_id: h for chosen in conditions.values() for h in chosen}.values())
        read = dict(zip((h.passage_id for h in needed), reader.read(text, [h.text for h in needed])))
        for with_context, chosen in conditions.items():
            spans = [(r.margin, h.text[r.start:r.end], r.answer_margin) if (r := read[h.passage_id]) else NO_SPAN for h in chosen]
            rows.append({"q": q, "language": language, "with_context": with_context, "spans": spans})
        if n % 100 == 0:
            print(f"\r{n}/{len(asked)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows


NO_SPAN = (-1e9, "", -1e9)


def best(row: dict, k: int, rank_penalty: float = 0.0) -> tuple[float, str, float]:
    """The span the reader answers with (margin, text, answer margin): of the first k passages,
    the one whose margin less rank_penalty per place below the first is highest."""
    spans = row["spans"][:k]
    if not spans:
        return NO_SPAN
    return max(enumerate(spans), key=lambda rank_span: rank_span[1][0] - rank_penalty * rank_span[0])[1]


def calibrate(rows: list[dict]) -> dict:
    """read_k, rank_penalty, p(answer) and the threshold for one group of questions, with the trial
    figures behind them."""
    answerable = [r for r in rows if r["with_context"]]
    f1 = {
        (penalty, k): 100 * float(np.mean([cmrc_f1(best(r, k, penalty)[1], r["q"].answers) for r in answerable]))
        for penalty in RANK_PENALTIES for k in range(1, MAX_K + 1)
    }
    top = max(f1.values())
    # The fewest passages, then the smallest penalty, within 0.5 F1 of the best pair.
    rank_penalty, read_k = min(((p, k) for (p, k), v in f1.items() if v >= top - 0.5), key=lambda pk: (pk[1], pk[0]))
    by_k = {k: f1[(rank_penalty, k)] for k in range(1, MAX_K + 1)}
    margins = np.array([best(r, read_k, rank_penalty)[2] for r in rows])
    labels = np.array([1.0 if r["with_context"] else 0.0 for r in rows])
    finite = margins > -1e8
    scale, bias = fit_logistic(np.clip(margins[finite], -30, 30), labels[finite])
    probability = 1 / (1 + np.exp(-(scale * np.clip(margins, -30, 30) + bias)))
    probability[~finite] = 0.0
    answerable_p = np.sort(probability[labels == 1])
    threshold = float(answerable_p[int(MAX_WRONG_REFUSALS * len(answerable_p))])
    cascade, read_all = choose_cascade(rows, read_k, rank_penalty, threshold, lambda m: float(1 / (1 + np.exp(-(scale * np.clip(m, -30, 30) + bias)))))
    answered = [(best(r, read_k, rank_penalty)[1], r, p >= threshold) for r, p in zip(rows, probability) if r["with_context"]]
    return {
        "scale": round(scale, 5), "bias": round(bias, 5), "threshold": round(threshold, 5),
        "read_k": read_k, "rank_penalty": rank_penalty, "second_threshold": round(max(threshold, 0.95), 5),
        "first_read": cascade.first_read, "confident": round(cascade.confident, 5), "hopeless": round(cascade.hopeless, 5),
        "trial": {
            "cascade": {
                "f1_after_abstention": [round(read_all.f1_after_abstention, 1), round(cascade.f1_after_abstention, 1)],
                "mean_rounds": [round(read_all.mean_rounds, 2), round(cascade.mean_rounds, 2)],
                "mean_passages_read": [round(read_all.mean_passages_read, 2), round(cascade.mean_passages_read, 2)],
                "note": "[reading all read_k at once, with the cascade]; rounds of STREAMS parallel passages",
            },
            "questions": len(answerable), "f1_by_read_k": {k: round(v, 1) for k, v in by_k.items()},
            "f1_by_rank_penalty": {p: round(f1[(p, read_k)], 1) for p in RANK_PENALTIES},
            "em_after_abstention": round(100 * float(np.mean([cmrc_em(span, r["q"].answers) if ok else 0 for span, r, ok in answered])), 1),
            "f1_after_abstention": round(100 * float(np.mean([cmrc_f1(span, r["q"].answers) if ok else 0 for span, r, ok in answered])), 1),
            "wrongly_refused": round(float(np.mean(answerable_p < threshold)), 3),
            "abstained_without_context": round(float(np.mean(probability[labels == 0] < threshold)), 3),
        },
    }


CONFIDENT = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
HOPELESS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1)
MAX_F1_LOSS = 0.2
STREAMS = 2
"""The reader's parallel streams on 2 or more cores (index.openvino_model.parallel_streams):
reading n passages takes ceil(n / STREAMS) rounds of one passage's time."""


@dataclass(frozen=True)
class Cascade:
    first_read: int
    confident: float
    hopeless: float
    f1_after_abstention: float
    """Over the answerable questions (a refusal scores 0)."""
    mean_rounds: float
    """Over all the questions, with and without context."""
    mean_passages_read: float


def rounds(passages: int) -> int:
    return -(-passages // STREAMS)


def choose_cascade(rows: list[dict], read_k: int, rank_penalty: float, threshold: float, probability) -> tuple[Cascade, Cascade]:
    """The cascade that reads in the fewest rounds on average over all the questions (with and
    without context) whose F1 after abstention is within MAX_F1_LOSS of reading all read_k at
    once: read first_read passages; stop there when their best span has p >= confident
    (answer) or p < hopeless (abstain); read the rest otherwise. confident >= threshold >
    hopeless, so stopping early answers only what reading all would answer too, and abstains
    only when the first passages are far from an answer. None better: first_read 0. Returned
    with the figures of reading all read_k at once."""
    answerable = [r for r in rows if r["with_context"]]

    def answer(row: dict, k: int) -> tuple[float, str]:
        _, span, margin = best(row, k, rank_penalty)
        return (probability(margin) if margin > -1e8 else 0.0), span

    def outcome(row: dict, first: int, confident: float, hopeless: float) -> tuple[str | None, int]:
        p, span = answer(row, first)
        if first < read_k and hopeless <= p < confident:
            (p, span), first = answer(row, read_k), read_k
        return (span if p >= threshold else None), first

    def measured(first: int, confident: float, hopeless: float) -> Cascade:
        outcomes = [outcome(r, first, confident, hopeless) for r in rows]
        f1 = [cmrc_f1(span, r["q"].answers) if span is not None else 0.0 for (span, _), r in zip(outcomes, rows) if r["with_context"]]
        read = [n for _, n in outcomes]
        cost = [rounds(n) if n == first else rounds(first) + rounds(n - first) for n in read]
        return Cascade(first, confident, hopeless, 100 * float(np.mean(f1)) if answerable else 0.0, float(np.mean(cost)), float(np.mean(read)))

    def cost(cascade: Cascade) -> tuple[float, float, float]:
        return (round(cascade.mean_rounds, 9), round(cascade.mean_passages_read, 9), -cascade.f1_after_abstention)

    everything = measured(read_k, 1.0, 0.0)
    chosen = replace(everything, first_read=0)
    for first in range(1, read_k):
        for confident in sorted({max(c, threshold) for c in CONFIDENT}):
            for hopeless in sorted({h for h in HOPELESS if h < threshold}):
                candidate = measured(first, confident, hopeless)
                if candidate.f1_after_abstention >= everything.f1_after_abstention - MAX_F1_LOSS and cost(candidate) < cost(chosen):
                    chosen = candidate
    return chosen, everything


if __name__ == "__main__":
    main()
