"""Tune how answer sentences are chosen, on the CMRC 2018 trial split (never dev).

For every trial question about the calibration half (the other half is the abstention
background), the top-5 passages' sentences are scored as
    sentence_weight x cosine + passage_weight x passage cosine + lexical_weight x coverage
and the answer takes the best sentence plus those within `sentence_margin` of it, up to
`max_sentences`. The grid reports the answer hit rate and the median answer length; the best
setting with a median answer of at most 80 characters is printed (and written to
bench/results/selection-trial.json).

    .venv/bin/python bench/tune_selection.py
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import load_contexts, load_questions, open_corpus_index, query_encoder  # noqa: E402
from make_reference_passages import background_context_ids  # noqa: E402

from index.encoders import DEFAULT_MODEL_ID  # noqa: E402
from qa.reading.heuristic import HeuristicReader  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.metrics import answer_hit  # noqa: E402
from qa.settings import Settings  # noqa: E402

MAX_MEDIAN_CHARS = 80
GRID = {
    "passage_weight": (0.0, 0.25, 0.5, 1.0),
    "lexical_weight": (0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
    "sentence_margin": (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1),
    "max_sentences": (1, 2, 3, 4),
}


def main() -> None:
    settings = Settings.from_env()
    background = background_context_ids()
    documents = [d for d in load_contexts("trial") if d.id not in background]
    index = open_corpus_index("trial-calibration", documents, DEFAULT_MODEL_ID, settings.cache_dir)
    encoder = query_encoder(DEFAULT_MODEL_ID, settings.cache_dir)
    retriever = Retriever(index, encoder)
    heuristic = HeuristicReader(index)
    questions = [q for q in load_questions("trial") if q.context_id not in background and q.question.strip()]
    vectors = encoder.encode_queries([q.question for q in questions])
    cases = []
    for question, vector in zip(questions, vectors):
        hits = retriever.search(question.question, vector, 5)
        candidates, features = heuristic.sentence_features(question.question, vector, hits)
        texts = [index.sentences[sid].text for sid, _ in candidates]
        cases.append((features, np.array([answer_hit(t, question.answers) for t in texts]), np.array([len(t) for t in texts])))
    rows = []
    for pw, lw, margin, most in itertools.product(*GRID.values()):
        hits, lengths = 0, []
        for features, contains, length in cases:
            scores = features @ np.array([1.0, pw, lw])
            order = np.argsort(-scores)
            chosen = [i for i in order[:most] if scores[i] >= scores[order[0]] - margin]
            hits += bool(contains[chosen].any())
            lengths.append(int(length[chosen].sum()))
        rows.append({"passage_weight": pw, "lexical_weight": lw, "sentence_margin": margin,
                     "max_sentences": most, "hit": round(hits / len(cases), 4),
                     "median_chars": statistics.median(lengths)})
    eligible = [r for r in rows if r["median_chars"] <= MAX_MEDIAN_CHARS]
    best = max(eligible, key=lambda r: (r["hit"], -r["median_chars"]))
    top_one = max((r for r in rows if r["max_sentences"] == 1), key=lambda r: r["hit"])
    print(f"{len(cases)} trial questions")
    print("best single sentence:", top_one)
    print(f"best with median answer <= {MAX_MEDIAN_CHARS} chars:", best)
    for r in sorted(rows, key=lambda r: -r["hit"])[:10]:
        print(r)
    out = Path(__file__).resolve().parent / "results" / "selection-trial.json"
    out.write_text(json.dumps({"questions": len(cases), "best": best, "best_single": top_one, "grid": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
