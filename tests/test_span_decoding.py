"""Span decoding from start/end logits (qa.reading.spans.best_span), on hand-made logits."""

from __future__ import annotations

import numpy as np
import pytest

from qa.reading.spans import PairEncoding, best_span

PASSAGE = "该国徽于1965年采用。"


def _pair(passage: str) -> PairEncoding:
    offsets = [(-1, -1)] + [(k, k + 1) for k in range(len(passage))]  # token t is character t - 1
    return PairEncoding(ids=tuple(range(len(offsets))), offsets=tuple(offsets), passage_start=1, passage_end=len(offsets))


def _logits(passage: str, starts: dict[int, float], ends: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    start, end = np.full(len(passage) + 1, -5.0), np.full(len(passage) + 1, -5.0)
    start[0] = end[0] = 1.0  # no answer
    for token, value in starts.items():
        start[token] = value
    for token, value in ends.items():
        end[token] = value
    return start, end


def test_the_span_the_likely_candidates_agree_on_wins_over_a_slightly_better_fragment():
    # "19" alone scores highest, but most of the probability is on spans that run on to
    # "1965" and "1965年": the expected-F1 choice takes "1965", which overlaps both most.
    start, end = _logits(PASSAGE, {5: 4.0}, {6: 4.0, 8: 3.9, 9: 3.9})
    chosen = best_span(_pair(PASSAGE), PASSAGE, start, end)
    assert PASSAGE[chosen.start : chosen.end] == "1965"
    assert chosen.score == 8.0, "the margin for abstention is the best span's score, whatever is chosen"
    assert chosen.null_score == 2.0


def test_one_clear_span_is_kept():
    start, end = _logits(PASSAGE, {5: 9.0, 4: 1.0}, {8: 9.0, 9: 1.0})
    chosen = best_span(_pair(PASSAGE), PASSAGE, start, end)
    assert PASSAGE[chosen.start : chosen.end] == "1965"


def test_a_span_never_runs_across_a_line_break():
    # The best start is on the first line and the best end on the byline below it: the span
    # "…议题。\n作者 / 魏力" would join two lines; the best span within one line wins instead.
    passage = "社会议题。\n作者 / 魏力"
    start, end = _logits(passage, {2: 6.0, 12: 3.0}, {4: 1.0, 13: 6.0})  # token t is character t - 1
    chosen = best_span(_pair(passage), passage, start, end)
    assert "\n" not in passage[chosen.start : chosen.end]
    assert passage[chosen.start : chosen.end] == "魏力"


def test_any_score_sums_the_probability_of_every_span_the_reader_may_give():
    """Two equally likely answers hold twice the probability of one: the answer margin
    (any_score - null_score) rises by about log 2 per side while the best span's score stays."""
    start, end = _logits(PASSAGE, {5: 6.0}, {8: 6.0})
    one = best_span(_pair(PASSAGE), PASSAGE, start, end)
    assert one.any_score == pytest.approx(np.logaddexp.reduce(start[1:]) + np.logaddexp.reduce(end[1:]), abs=1e-4)
    two = best_span(_pair(PASSAGE), PASSAGE, *_logits(PASSAGE, {5: 6.0, 2: 6.0}, {8: 6.0, 3: 6.0}))
    assert one.score == two.score == 12.0 and one.null_score == two.null_score
    assert 1.3 < two.any_score - one.any_score < 2 * np.log(2)


def test_any_score_counts_only_the_tokens_a_span_may_start_or_end_on():
    start, end = _logits(PASSAGE, {2: 9.0, 5: 4.0}, {3: 9.0, 8: 4.0})  # 国徽 scores best
    free = best_span(_pair(PASSAGE), PASSAGE, start, end)
    kept = best_span(_pair(PASSAGE), PASSAGE, start, end, allowed=[(3, len(PASSAGE))])  # from 于 on
    assert PASSAGE[kept.start : kept.end] == "1965"
    assert kept.any_score < free.any_score - 8, "the mass on 国徽, which may not be given, does not count"
