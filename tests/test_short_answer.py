from __future__ import annotations

import pytest

from qa.reading.heuristic.short_answer import expected_type, find_short_answer


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
        # the unit the question asks for beats a nearer figure in another unit
        ("这条街有多长？", "这是城里的一条老街，全长1,122米，宽约5米。", "1,122米"),
        ("公园有几处入口？", "公园一共有7处入口，其中两处在北面。", "7处"),
        # a change from one figure to another: the question says which end it asks for
        ("公司把全年销售目标提高到了多少台？", "公司宣布将全年销售目标从100万台上调至150万台，股价随之上涨。", "150万台"),
        ("全年销售目标调整为多少台？", "公司宣布将全年销售目标从100万台上调至150万台，股价随之上涨。", "150万台"),
        ("全年销售目标原先是从多少台上调的？", "公司宣布将全年销售目标从100万台上调至150万台，股价随之上涨。", "100万台"),
        ("雷达的距离精度是多少？", "该雷达追踪距离20km，距离精度±10m。", "10m"),
        ("他的纪录是多少？", "他游出了3分33秒62的成绩，打破纪录。", "3分33秒62"),
        ("男女生比例是多少？", "学校男女生比例约为1：7。", "1：7"),
        ("香港在这个分区属于第几区？", "香港在这个分区属第三区，英国则属第二区。", "第三区"),
        # a year is not an amount unless years are asked for
        ("他有几个孩子？", "他于1996年加入公司，已婚，育有3名子女。", "3名"),
        # both sides of the question word locate the date
        ("这座城市是何时设立的？", "1954年发现石油，1959年设立该市，1964年降格为镇。", "1959年"),
        # a gloss in parentheses after the subject is skipped; the clause next to the right anchor wins
        ("胜利广场是哪儿的一个圆形广场？", "胜利广场（Place des Victoires）是巴黎的一个圆形广场。", "巴黎"),
        ("狄尔泰是哪国的哲学家？", "狄尔泰（Wilhelm Dilthey，），德国哲学家。", "德国"),
        # the answer stands before the question's words
        ("本市的主街道是什么？", "州立公路13号是本市的主街道。", "州立公路13号"),
        # the noun after the question word belongs to the answer
        ("陈明毕业于哪所大学？", "陈明毕业于香港大学地理系。", "香港大学"),
    ],
)
def test_short_answer_is_a_typed_or_slot_span_of_the_sentence(question, sentence, expected):
    found = find_short_answer(question, sentence)
    assert found is not None and found.text == expected
    assert sentence[found.start : found.end] == found.text


def test_a_span_that_only_repeats_the_question_is_no_answer():
    assert find_short_answer("金帐汗国的建立者是谁？", "1242年，他率部撤退，建立金帐汗国。") is None


def test_no_short_answer_when_nothing_fits():
    assert find_short_answer("这座桥有多长？", "这座桥很有名，游客很多。") is None
    assert find_short_answer("Why?", "无关的句子。") is None
