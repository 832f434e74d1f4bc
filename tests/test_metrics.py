from __future__ import annotations

import pytest

from qa.metrics import (
    abstention_scores, answer_hit, cmrc_em, cmrc_f1, cmrc_tokens, mrr_at, percentile, recall_at,
)


def test_recall_and_mrr_on_hand_computed_ranks():
    ranks = [1, 3, None, 2, 11]
    assert recall_at(ranks, 1) == pytest.approx(1 / 5)
    assert recall_at(ranks, 3) == pytest.approx(3 / 5)
    assert recall_at(ranks, 5) == pytest.approx(3 / 5)
    assert mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 2) / 5)
    assert recall_at([], 5) == 0.0


def test_answer_hit_normalises_width_case_and_spaces():
    assert answer_hit("售价为５２.９９万元。[1]", ["52.99万元"])
    assert answer_hit("The SU7  Ultra costs", ["su7 ultra"])
    assert not answer_hit("售价为52.9万元", ["52.99万元"])
    assert not answer_hit("anything", [""])


@pytest.mark.parametrize("answer,gold,hit", [
    ("--cache-size 512 MB", "2", False),
    ("月产能2.5万辆", "5万辆", False),
    ("月产能2.5万辆", "2", False),
    ("一季度订单112万", "12万", False),
    ("溢价18%", "8%", False),
    ("默认 2 个 worker，缓存512 MB", "2", True),
    ("共2、3两期", "2", True),
    ("售价52.99万元", "52.99万", True),
    ("第12.5万辆车", "12.5万辆", True),
    ("SU7 Ultra", "su7", True),
    ("第1000名", "1000名", True),
    ("青禾 S1 2499元 5000mAh", "2499元", True),
    ("52.99 万元", "52.99万", True),
])
def test_a_gold_number_must_not_be_a_piece_of_a_longer_number(answer, gold, hit):
    assert answer_hit(answer, [gold]) is hit


def test_cmrc_em_ignores_case_and_cmrc_punctuation_only():
    assert cmrc_em("《战国无双3》", ["战国无双3"]) == 1.0
    assert cmrc_em("光荣和ω-force。", ["光荣和ω-FORCE"]) == 1.0  # '-' and '。' are in P
    assert cmrc_em("39764.0", ["39764"]) == 0.0  # '.' is not in P
    assert cmrc_em("1,000", ["1000"]) == 0.0  # nor ','
    assert cmrc_em(None, ["x"]) == 0.0
    assert cmrc_em("b", ["a", "b"]) == 1.0  # best over gold answers


def test_cmrc_tokens_split_cjk_characters_and_keep_other_runs():
    assert cmrc_tokens("SU7 Ultra以52.99万元") == ["su7", "ultra", "以", "52", ".", "99", "万", "元"]
    assert cmrc_tokens("「战史演武」&「自由演武」") == ["战", "史", "演", "武", "&", "自", "由", "演", "武"]


def test_cmrc_f1_worked_examples():
    # prediction 北京工厂 (4 tokens) vs gold 小米北京工厂 (6 tokens): LCS 4 -> P=1, R=4/6
    assert cmrc_f1("北京工厂", ["小米北京工厂"]) == pytest.approx(2 * 1 * (4 / 6) / (1 + 4 / 6))
    # mixed script: "52.99万元" tokens [52 . 99 万 元] vs "52.99万" [52 . 99 万]: LCS 4
    assert cmrc_f1("52.99万元", ["52.99万"]) == pytest.approx(2 * 0.8 * 1.0 / 1.8)
    # the longest common run must be contiguous: 甲乙丙丁 vs 甲丙 -> LCS 1
    assert cmrc_f1("甲乙丙丁", ["甲丙"]) == pytest.approx(2 * 0.25 * 0.5 / 0.75)
    assert cmrc_f1("完全不同", ["xyz"]) == 0.0
    assert cmrc_f1("，。", ["答案"]) == 0.0  # only punctuation: no tokens
    assert cmrc_f1(None, ["x"]) == 0.0


def test_abstention_scores():
    answerable = [True, True, True, False, False]
    abstained = [False, True, False, True, False]
    scores = abstention_scores(answerable, abstained)
    assert scores.precision == pytest.approx(1 / 2)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(1 / 2)
    assert scores.wrong_abstention_rate == pytest.approx(1 / 3)
    perfect = abstention_scores([True, False], [False, True])
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.wrong_abstention_rate) == (1, 1, 1, 0)


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) in (50, 51)
    assert percentile(values, 95) == 95
    assert percentile([], 50) == 0.0
