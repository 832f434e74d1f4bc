"""Evaluation metrics: retrieval ranks, answer hits, the CMRC 2018 EM/F1, abstention.

Pure functions over plain values; `qa.evaluate` applies them to answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The CMRC 2018 punctuation set, compared character by character (so its "……" entry never
# matches, exactly as in the official script).
CMRC_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』")
_CMRC_CJK = re.compile(r"[\u4e00-\u9fa5]")
_NON_CJK_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def normalise_for_hit(text: str) -> str:
    """NFKC, lower case, no whitespace: how gold answers are looked for in answers."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def answer_hit(answer: str, gold_answers: Iterable[str]) -> bool:
    """Whether any gold answer is in the answer, both normalised (whitespace ignored), and not
    as a piece of a longer number: "2" is not in "512 MB" or "2.5万", "12万" not in "112万";
    whitespace still parts numbers ("2499元" is in "S1 2499元")."""
    haystack = " ".join(unicodedata.normalize("NFKC", answer).lower().split())
    return any(_gold_pattern(needle).search(haystack) for gold in gold_answers if (needle := normalise_for_hit(gold)))


def _gold_pattern(needle: str) -> re.Pattern[str]:
    before = r"(?<!\d)(?<!\d\.)" if needle[0].isdigit() else ""
    after = r"(?!\d)(?!\.\d)" if needle[-1].isdigit() else ""
    return re.compile(before + " ?".join(map(re.escape, needle)) + after)


def cmrc_normalise(text: str) -> str:
    """Lower case, strip, delete the CMRC punctuation characters (the EM comparison form)."""
    return "".join(ch for ch in text.lower().strip() if ch not in CMRC_PUNCTUATION)


def cmrc_tokens(text: str) -> list[str]:
    """CMRC F1 tokens: each CJK character alone; runs of other text split at whitespace and
    punctuation; CMRC punctuation deleted."""
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            tokens.extend(_NON_CJK_TOKEN.findall("".join(run)))
            run.clear()

    for char in text.lower().strip():
        if char in CMRC_PUNCTUATION:
            flush()
        elif _CMRC_CJK.match(char):
            flush()
            tokens.append(char)
        else:
            run.append(char)
    flush()
    return tokens


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def cmrc_em(prediction: str | None, gold_answers: Iterable[str]) -> float:
    """1.0 when the prediction equals a gold answer after `cmrc_normalise`, else 0.0."""
    if prediction is None:
        return 0.0
    predicted = cmrc_normalise(prediction)
    return float(any(predicted == cmrc_normalise(gold) for gold in gold_answers))


def cmrc_f1(prediction: str | None, gold_answers: Iterable[str]) -> float:
    """The CMRC F1: longest common contiguous token run against each gold answer, best one."""
    if prediction is None:
        return 0.0
    predicted = cmrc_tokens(prediction)
    best = 0.0
    for gold in gold_answers:
        expected = cmrc_tokens(gold)
        common = _longest_common_run(predicted, expected)
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(expected)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first relevant passage is ranked within k (ranks are 1-based;
    None: no relevant passage retrieved)."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


@dataclass(frozen=True)
class AbstentionScores:
    precision: float
    """Of the abstentions, the share on unanswerable questions."""
    recall: float
    """Of the unanswerable questions, the share abstained on."""
    f1: float
    wrong_abstention_rate: float
    """Of the answerable questions, the share abstained on."""


def abstention_scores(answerable: Sequence[bool], abstained: Sequence[bool]) -> AbstentionScores:
    true_positive = sum(1 for a, x in zip(answerable, abstained) if not a and x)
    false_positive = sum(1 for a, x in zip(answerable, abstained) if a and x)
    unanswerable = sum(1 for a in answerable if not a)
    answerable_count = len(answerable) - unanswerable
    precision = true_positive / (true_positive + false_positive) if true_positive + false_positive else (1.0 if unanswerable == 0 else 0.0)
    recall = true_positive / unanswerable if unanswerable else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    wrong = false_positive / answerable_count if answerable_count else 0.0
    return AbstentionScores(precision, recall, f1, wrong)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]
