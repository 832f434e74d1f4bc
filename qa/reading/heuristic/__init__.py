"""The heuristic reader, kept for comparison (`--reader heuristic`): sentence cosine plus
lexical weights choose the sentences, slot rules the short answer, and a logistic model over
retrieval and lexical signals decides when to abstain (docs/calibration.md)."""

from qa.reading.heuristic.reader import AnswerPolicy, HeuristicReader, default_policy

__all__ = ["AnswerPolicy", "HeuristicReader", "default_policy"]
