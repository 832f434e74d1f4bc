from __future__ import annotations

import pytest

from qa.short_answer import expected_type, find_short_answer


@pytest.mark.parametrize(
    "question,kind",
    [("这座桥有多长？", "number"), ("公司成立于哪一年？", "time"), ("How many people live there?", "number"),
     ("When did it open?", "time"), ("他的老师是谁？", "other")],
)
def test_expected_type_from_question_words(question, kind):
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    "question,sentence,expected",
    [
        ("这座大桥全长多少米？", "这座大桥于1998年通车，全长约1,650米，是当时最长的悬索桥。", "约1,650米"),
        ("大桥是哪一年通车的？", "这座大桥于1998年通车，全长约1,650米。", "1998年"),
        ("该乐队成立于什么时候？", "该乐队成立于2003年5月12日，成员来自伦敦。", "2003年5月12日"),
        ("手机的售价是多少？", "X9 Pro手机以3,999元的售价上市。", "3,999元"),  # not the 9 of "X9"
        ("这部电影是由哪家公司出品的？", "这部电影是由星光影业出品的一部喜剧。", "星光影业"),
        ("小说的作者是谁？", "这部小说的作者是王小明，他出生于杭州。", "王小明"),
        ("工厂位于哪个区？", "该工厂月产能2.5万辆，位于东城区。", "东城区"),
    ],
)
def test_short_answer_is_a_typed_or_slot_span_of_the_sentence(question, sentence, expected):
    found = find_short_answer(question, sentence)
    assert found is not None and found.text == expected
    assert sentence[found.start : found.end] == found.text


def test_no_short_answer_when_nothing_fits():
    assert find_short_answer("这座桥有多长？", "这座桥很有名，游客很多。") is None
    assert find_short_answer("Why?", "无关的句子。") is None
