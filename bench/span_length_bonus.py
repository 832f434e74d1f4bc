"""What a per-token length bonus on span scores would do to the reader's EM / F1 on CMRC
trial given the gold passage (docs/reader-training.md, "A span length bonus").

    .venv/bin/python bench/span_length_bonus.py [--bonus 0 0.02 0.05 ...] [--limit N]

Adding b to every start logit's negative position and to every end logit's position
(start - b*i, end + b*j) adds b*(j - i) to span (i, j): the bonus, without touching the
decoder. Prints EM / F1 per language and bonus, and for the first bonus where the exact
misses lie: inside the gold answer (too short), holding it (too long), or neither.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from index.default_model import build_default_model  # noqa: E402
from index.encoders import default_model_dir  # noqa: E402
from qa.metrics import cmrc_em, cmrc_f1, cmrc_normalise  # noqa: E402
from qa.reading.model import build_reader_module, load_trained_state  # noqa: E402
from qa.reading.spans import best_span, encode_pairs, load_tokenizer  # noqa: E402
from qa.reading.train import WEIGHTS_DIR, cpu_has_bf16, gold_answers, pair_logits  # noqa: E402
from qa.reading.training_data import DATA, build_examples  # noqa: E402
from qa.settings import Settings  # noqa: E402


def trial_logits(model_dir: Path, limit: int | None):
    """Trial positives (as training builds them, seed 1), their gold answers, pairs and logits."""
    examples = [e for e in build_examples(DATA / "trial", seed=1) if e.answerable][:limit]
    pairs = encode_pairs(load_tokenizer(model_dir), [e.question for e in examples], [e.passage for e in examples])
    module = build_reader_module(model_dir)
    load_trained_state(module, WEIGHTS_DIR / "reader.safetensors")
    return examples, gold_answers(DATA / "trial", examples), pairs, pair_logits(module, pairs, cpu_has_bf16())


def spans_with_bonus(examples, pairs, logits, bonus: float) -> list[str]:
    predictions = []
    for example, pair, logit in zip(examples, pairs, logits):
        position = np.arange(len(logit), dtype=np.float32)
        span = best_span(pair, example.passage, logit[:, 0] - bonus * position, logit[:, 1] + bonus * position)
        predictions.append("" if span is None else example.passage[span.start : span.end])
    return predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bonus", type=float, nargs="+", default=[0.0, 0.02, 0.03, 0.05, 0.07, 0.1, 0.2])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    model_dir = build_default_model(default_model_dir(Settings.from_env().cache_dir))
    examples, answers, pairs, logits = trial_logits(model_dir, args.limit)
    languages = sorted({e.language for e in examples})
    for k, bonus in enumerate(args.bonus):
        predictions = spans_with_bonus(examples, pairs, logits, bonus)
        cells = []
        for language in languages:
            chosen = [(p, a) for e, p, a in zip(examples, predictions, answers) if e.language == language]
            em = 100 * np.mean([cmrc_em(p, a) for p, a in chosen])
            f1 = 100 * np.mean([cmrc_f1(p, a) for p, a in chosen])
            cells.append(f"{language} {em:.1f} / {f1:.1f}")
        print(f"bonus {bonus:g}: " + ", ".join(cells))
        if k == 0:
            for language in languages:
                inside = holding = other = 0
                for e, p, a in zip(examples, predictions, answers):
                    if e.language != language or cmrc_em(p, a):
                        continue
                    pred, golds = cmrc_normalise(p), [cmrc_normalise(x) for x in a]
                    if any(pred and pred in g for g in golds):
                        inside += 1
                    elif any(g in pred for g in golds):
                        holding += 1
                    else:
                        other += 1
                total = sum(e.language == language for e in examples)
                print(f"  {language}: of {total}, exact misses inside the gold answer {inside}, holding it {holding}, neither {other}")


if __name__ == "__main__":
    main()
