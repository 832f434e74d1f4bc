"""Fit the abstention model from data (CMRC 2018 trial split, never dev).

The trial contexts that are not background passages (qa/reference_passages.jsonl) form an
open corpus. Every question about them is asked three ways:
- as is: answerable (its context is in the corpus);
- with its own context's passages removed from the results: unanswerable, off-topic;
- with the sentences that contain its answer removed from the candidates: unanswerable, on
  topic (the document is about the subject, the fact is missing).
A logistic regression over the signals of qa/reading/heuristic/abstention.py separates answerable from
unanswerable (the two unanswerable kinds weighted half each, so the classes balance); the
probability threshold that maximises the F1 of abstaining on that balanced set is kept. The
sweep is written to bench/results/abstention-trial.json; --write updates qa/reading/heuristic/calibration.json.

    .venv/bin/python bench/calibrate_abstention.py [--write]
    .venv/bin/python bench/calibrate_abstention.py --measure dev     # no fitting
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import load_contexts, load_questions, open_corpus_index, query_encoder  # noqa: E402
from make_reference_passages import background_context_ids  # noqa: E402

from index.encoders import DEFAULT_MODEL_ID  # noqa: E402
from qa.reading.heuristic.abstention import FEATURES, AbstentionModel, AbstentionSignal  # noqa: E402
from qa.reading.heuristic import AnswerPolicy, HeuristicReader, default_policy  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.metrics import answer_hit  # noqa: E402
from qa.settings import Settings  # noqa: E402

CALIBRATION = Path(__file__).resolve().parent.parent / "qa" / "reading" / "heuristic" / "calibration.json"
RESULTS = Path(__file__).resolve().parent / "results"
TOP_K = 5  # as `qa ask`'s default
KINDS = ("answerable", "off_topic", "on_topic")
MAX_WRONG_ABSTENTIONS = 0.05


def signals(model_id: str, cache_dir: Path, split: str) -> dict[str, list[AbstentionSignal]]:
    if split == "trial":
        background = background_context_ids()
        documents = [d for d in load_contexts("trial") if d.id not in background]
        name = "trial-calibration"
    else:
        documents, name = load_contexts(split), split
    ids = {d.id for d in documents}
    index = open_corpus_index(name, documents, model_id, cache_dir)
    encoder = query_encoder(model_id, cache_dir)
    retriever = Retriever(index, encoder)
    heuristic = HeuristicReader(index, AnswerPolicy(AbstentionModel.never_abstains()))
    questions = [q for q in load_questions(split) if q.context_id in ids and q.question.strip()]
    vectors = encoder.encode_queries([q.question for q in questions])
    rows: dict[str, list[AbstentionSignal]] = {kind: [] for kind in KINDS}
    for question, vector in zip(questions, vectors):
        hits = retriever.search(question.question, vector, 60)
        own = hits[:TOP_K]
        others = [hit for hit in hits if hit.doc != question.context_id][:TOP_K]
        scored = heuristic.score_sentences(question.question, vector, own)
        without_answer = [s for s in scored if not answer_hit(s.sentence.text, question.answers)]
        for kind, found, ranked in (
            ("answerable", own, scored),
            ("off_topic", others, heuristic.score_sentences(question.question, vector, others)),
            ("on_topic", own, without_answer),
        ):
            if found and ranked:
                rows[kind].append(heuristic.abstention_signal(question.question, vector, found, ranked[0]))
    return rows


def rates(rows: dict[str, list[AbstentionSignal]], model: AbstentionModel) -> dict[str, float]:
    return {kind: round(float(np.mean([not model.answerable(s) for s in rows[kind]])), 4) for kind in KINDS}


def f1_of(rate: dict[str, float]) -> tuple[float, float, float]:
    """Precision, recall, F1 of abstaining on a balanced set (unanswerable kinds half each)."""
    tp = (rate["off_topic"] + rate["on_topic"]) / 2
    fp = rate["answerable"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    f1 = 2 * precision * tp / (precision + tp) if precision + tp else 0.0
    return precision, tp, f1


def fit(rows: dict[str, list[AbstentionSignal]]) -> tuple[AbstentionModel, list[dict], dict]:
    """Stage 1: the margin gate at its neutral point; stage 2: a logistic model on answerable vs
    unanswerable (off and on topic, half weight each), thresholded within the budget."""
    margins = np.array([s.margin for s in rows["answerable"]])
    off_topic = np.array([s.margin for s in rows["off_topic"]])
    gate_curve = []
    for threshold in np.round(np.linspace(-0.05, 0.1, 151), 4):
        wrong = float((margins < threshold).mean())
        caught = float((off_topic < threshold).mean())
        gate_curve.append({"min_margin": float(threshold), "answerable_refused": round(wrong, 4), "off_topic_refused": round(caught, 4)})
    # The gate sits at the margin's neutral point (documents beat the background at all); the
    # model learns the rest from both unanswerable kinds.
    gate = min(gate_curve, key=lambda row: abs(row["min_margin"]))
    X = np.array([s.vector() for kind in KINDS for s in rows[kind]])
    y = np.array([1.0 if kind == "answerable" else 0.0 for kind in KINDS for _ in rows[kind]])
    weight = np.array([1.0 if kind == "answerable" else 0.5 for kind in KINDS for _ in rows[kind]])
    means, scales = X.mean(0), X.std(0) + 1e-9
    Z = (X - means) / scales
    w, b = np.zeros(Z.shape[1]), 0.0
    for _ in range(3000):  # weighted logistic regression, plain gradient descent, small L2
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        g = weight * (p - y)
        w -= 0.1 * (Z.T @ g / weight.sum() + 1e-3 * w)
        b -= 0.1 * float(g.sum() / weight.sum())
    curve = []
    for threshold in np.round(np.linspace(0.02, 0.9, 89), 3):
        model = AbstentionModel(tuple(map(float, w)), float(b), tuple(map(float, means)), tuple(map(float, scales)),
                                float(threshold), gate["min_margin"])
        rate = rates(rows, model)
        precision, recall, f1 = f1_of(rate)
        curve.append({"threshold": float(threshold), "precision": round(precision, 4), "recall": round(recall, 4),
                      "f1": round(f1, 4), "abstention_rate": rate})
    allowed = [row for row in curve if row["abstention_rate"]["answerable"] <= MAX_WRONG_ABSTENTIONS]
    best = max(allowed or curve, key=lambda row: row["f1"])
    best = {**best, "gate": gate}
    model = AbstentionModel(tuple(map(float, w)), float(b), tuple(map(float, means)), tuple(map(float, scales)),
                            best["threshold"], gate["min_margin"])
    return model, curve, best


def kind_of(rows: dict[str, list[AbstentionSignal]]) -> list[str]:
    return [kind for kind in KINDS for _ in rows[kind]]


def measure(split: str, model_id: str, cache_dir: Path) -> None:
    """The calibrated decision on another split, per kind of question."""
    model = default_policy(model_id).abstention
    rows = signals(model_id, cache_dir, split)
    rate = rates(rows, model)
    precision, recall, f1 = f1_of(rate)
    result = {"split": split, "questions": len(rows["answerable"]), "abstention_rate": rate,
              "balanced_precision": round(precision, 4), "balanced_recall": round(recall, 4), "balanced_f1": round(f1, 4)}
    print(json.dumps(result))
    (RESULTS / f"abstention-{split}-measured.json").write_text(json.dumps(result, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--measure", metavar="SPLIT", help="measure the calibrated model on SPLIT (e.g. dev) instead of fitting")
    parser.add_argument("--write", action="store_true", help="write the fitted model to qa/reading/heuristic/calibration.json")
    args = parser.parse_args()
    settings = Settings.from_env()
    if args.measure:
        measure(args.measure, args.model, settings.cache_dir)
        return
    rows = signals(args.model, settings.cache_dir, "trial")
    model, curve, best = fit(rows)
    print({kind: len(rows[kind]) for kind in KINDS})
    print("weights:", dict(zip(FEATURES, np.round(model.weights, 3))), "bias", round(model.bias, 3))
    print("threshold  precision  recall  F1     abstains on: answerable / off-topic / on-topic")
    for row in curve[::10]:
        r = row["abstention_rate"]
        print(f"{row['threshold']:.2f}       {row['precision']:.3f}      {row['recall']:.3f}   {row['f1']:.3f}  "
              f"{r['answerable']:.3f} / {r['off_topic']:.3f} / {r['on_topic']:.3f}")
    print("best:", best)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "abstention-trial.json").write_text(json.dumps(
        {"model": args.model, "counts": {k: len(v) for k, v in rows.items()}, "features": FEATURES,
         "weights": model.weights, "bias": model.bias, "min_margin": model.min_margin, "best": best,
         "curve": curve}, indent=1) + "\n")
    if args.write:
        calibration = json.loads(CALIBRATION.read_text(encoding="utf-8"))
        entry = {
            "min_margin": model.min_margin,
            "abstention": {"features": list(FEATURES), "weights": list(model.weights), "bias": model.bias,
                           "means": list(model.means), "scales": list(model.scales), "threshold": model.threshold},
            "cross_script_min_margin": 0.0,
            "cross_script_note": "neutral point of the margin, not calibrated: no cross-lingual calibration data",
            "method": "CMRC 2018 trial questions asked as is, without their context and without their "
                      "answer sentences: margin gate (answerable vs off topic), then logistic regression "
                      "(answerable vs on topic); F1-maximising thresholds refusing <= 5% of answerable "
                      "questions (bench/calibrate_abstention.py)",
            "trial": {k: best[k] for k in ("precision", "recall", "f1", "abstention_rate")},
        }
        calibration = {**calibration, args.model: entry}
        calibration.pop("default", None)
        CALIBRATION.write_text(json.dumps(calibration, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {CALIBRATION}")


if __name__ == "__main__":
    main()
