"""When to say "the documents don't say": a calibrated decision from several signals.

Two stages, fitted on CMRC 2018 trial questions asked three ways: as is, with their own
context removed (off topic for the corpus), and with the sentences that hold their answer
removed (on topic, answer absent); see bench/calibrate_abstention.py and docs/calibration.md.
1. Off-topic gate: the best passage must beat a broad background corpus by a margin.
2. On-topic model, for questions in the script of their evidence (Chinese over Chinese
   text): a logistic model over the sentence-level signals below.
Questions in another script (English over Chinese text) have no calibration data and no
lexical overlap: they pass the gate at margin >= 0 (its neutral point) and skip stage 2.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources

FEATURES = (
    "margin", "passage_coverage", "sentence_cosine", "sentence_coverage",
    "typed_span_missing", "short_answer_found",
)


@dataclass(frozen=True)
class AbstentionSignal:
    """What the decision looks at, for one question, its passages and its best sentence."""

    margin: float
    """Best passage cosine minus the background baseline (`qa.reference`)."""
    passage_coverage: float
    """IDF-weighted share of the question's terms in the passage of the best sentence."""
    sentence_cosine: float
    """Cosine of the question with the best sentence."""
    sentence_coverage: float
    """IDF-weighted share of the question's terms in the best sentence."""
    typed_span_missing: float
    """1 when the question asks for a number or a date and the best sentence has none."""
    short_answer_found: float
    """1 when a short answer was found in the best sentence."""
    same_script: bool
    """Whether the question and the best sentence's passage are both Chinese or both not."""

    def vector(self) -> list[float]:
        return [float(getattr(self, name)) for name in FEATURES]


@dataclass(frozen=True)
class AbstentionModel:
    weights: tuple[float, ...]
    """Logistic weights over standardised FEATURES."""
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float
    """Answer when the modelled probability of being answerable reaches this."""
    min_margin: float = 0.0
    """Off-topic gate for every question: the best passage must beat the background corpus by
    this much."""
    cross_script_min_margin: float = 0.0
    """The gate for questions in another script than their evidence (uncalibrated: 0)."""
    margin_only: bool = False
    """For models without calibration: every question is decided by the margin rule."""

    def probability(self, signal: AbstentionSignal) -> float:
        z = self.bias + sum(
            w * (x - m) / s for w, x, m, s in zip(self.weights, signal.vector(), self.means, self.scales)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answerable(self, signal: AbstentionSignal) -> bool:
        if signal.margin < (self.min_margin if signal.same_script else self.cross_script_min_margin):
            return False  # off topic: the background corpus answers as well
        if self.margin_only or not signal.same_script:
            return True
        return self.probability(signal) >= self.threshold

    @classmethod
    def uncalibrated(cls) -> "AbstentionModel":
        """Answer when the documents beat the background corpus at all (margin >= 0)."""
        zeros = tuple(0.0 for _ in FEATURES)
        return cls(zeros, 0.0, zeros, tuple(1.0 for _ in FEATURES), 0.0, 0.0, margin_only=True)

    @classmethod
    def never_abstains(cls) -> "AbstentionModel":
        zeros = tuple(0.0 for _ in FEATURES)
        return cls(zeros, 0.0, zeros, tuple(1.0 for _ in FEATURES), 0.0, -2.0, -2.0, margin_only=True)

    @classmethod
    def always_abstains(cls) -> "AbstentionModel":
        zeros = tuple(0.0 for _ in FEATURES)
        return cls(zeros, 0.0, zeros, tuple(1.0 for _ in FEATURES), 1.01, 2.0, 2.0)


def calibrated_model(model_id: str) -> AbstentionModel:
    """The model fitted for `model_id`; a model without calibration (whose cosines have another
    scale) gets the margin rule alone."""
    calibration = json.loads(resources.files("qa.reading.heuristic").joinpath("calibration.json").read_text("utf-8"))
    entry = calibration.get(model_id)
    if entry is None:
        return AbstentionModel.uncalibrated()
    fitted = entry["abstention"]
    return AbstentionModel(
        weights=tuple(fitted["weights"]), bias=float(fitted["bias"]), means=tuple(fitted["means"]),
        scales=tuple(fitted["scales"]), threshold=float(fitted["threshold"]),
        min_margin=float(entry["min_margin"]),
        cross_script_min_margin=float(entry.get("cross_script_min_margin", 0.0)),
    )
