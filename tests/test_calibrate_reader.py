"""The choice of the reading cascade in bench/calibrate_reader.py, on synthetic trial readings
(3 passages per question and STREAMS = 2: reading all at once takes 2 rounds, and so does
reading 1 and then the other 2)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from calibrate_reader import choose_cascade  # noqa: E402


def probability(margin: float) -> float:
    return 1.0 if margin >= 5 else 0.3 if margin >= 0 else 0.001


def row(spans: list[tuple[float, str]], answer: str, with_context: bool = True) -> dict:
    """Each span's answer margin equal to its margin."""
    return {"q": SimpleNamespace(answers=[answer]), "with_context": with_context, "spans": [(m, text, m) for m, text in spans]}


def test_a_confident_first_passage_is_enough_when_reading_on_never_helps():
    rows = [row([(9.0, "甲"), (1.0, "乙"), (0.5, "丙")], "甲") for _ in range(9)]
    rows += [row([(1.0, "乙"), (2.0, "丁"), (0.5, "丙")], "丁"), row([(0.0, "乙"), (0.0, "丙"), (0.0, "丁")], "无", False)]
    cascade, _ = choose_cascade(rows, 3, 0.0, 0.2, probability)
    assert (cascade.first_read, cascade.confident, cascade.hopeless) == (1, 0.5, 0.0)
    assert cascade.mean_rounds == (9 * 1 + 2 * (1 + 1)) / 11 and cascade.f1_after_abstention == 100.0


def test_hopeless_first_passages_abstain_at_once_when_reading_on_never_answers():
    # Off-topic questions whose first passage is far from any answer, and never answered later.
    rows = [row([(9.0, "甲"), (1.0, "乙"), (0.5, "丙")], "甲") for _ in range(4)]
    rows += [row([(-3.0, "乙"), (0.0, "丙"), (0.0, "丁")], "无", False) for _ in range(6)]
    cascade, _ = choose_cascade(rows, 3, 0.0, 0.2, probability)
    assert cascade.first_read == 1 and 0.001 < cascade.hopeless < 0.2 and cascade.mean_rounds == 1.0


def test_no_early_abstention_when_a_later_passage_holds_the_answer():
    rows = [row([(-3.0, "乙"), (9.0, "丙"), (0.0, "丁")], "丙") for _ in range(4)]
    rows += [row([(-3.0, "乙"), (0.0, "丙"), (0.0, "丁")], "无", False) for _ in range(6)]
    cascade, _ = choose_cascade(rows, 3, 0.0, 0.2, probability)
    assert cascade.f1_after_abstention == 100.0
    assert cascade.first_read == 0 or cascade.hopeless <= 0.001


def test_no_cascade_when_stopping_early_would_lose_answers():
    # Confident but wrong first spans: the right one is always in the third passage.
    rows = [row([(9.0, "甲"), (1.0, "乙"), (12.0, "丙")], "丙") for _ in range(5)]
    cascade, _ = choose_cascade(rows, 3, 0.0, 0.2, probability)
    assert (cascade.first_read, cascade.f1_after_abstention, cascade.mean_rounds) == (0, 100.0, 2.0)
