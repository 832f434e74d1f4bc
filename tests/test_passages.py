from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from index.documents import Document
from index.passages import split_document, split_sentence_spans


def sentences_of(text: str, max_chars: int = 300) -> list[str]:
    return [text[a:b] for a, b in split_sentence_spans(text, max_chars)]


def document(text: str) -> Document:
    return Document("doc.txt", text, "0" * 64, Path("doc.txt"), "utf-8")


def test_chinese_terminators_and_line_breaks():
    assert sentences_of("第一句。第二句！第三句？第四句；第五\n第六") == [
        "第一句。", "第二句！", "第三句？", "第四句；", "第五", "第六",
    ]


def test_closing_quotes_and_brackets_stay_with_their_sentence():
    assert sentences_of("他说：“明天见。”然后走了。（完。）再见") == [
        "他说：“明天见。”", "然后走了。", "（完。）", "再见",
    ]
    assert sentences_of('他坦言:"不是愁订单。"这种失衡。"新句子"开始了。') == [
        '他坦言:"不是愁订单。"', "这种失衡。", '"新句子"开始了。',
    ]


def test_numbers_ranges_and_ellipses_are_never_split():
    text = "售价52.99万元,比竞品低15%-20%。25-35岁群体占62%……后来呢...还在涨。版本1.2.3发布"
    assert sentences_of(text) == [
        "售价52.99万元,比竞品低15%-20%。", "25-35岁群体占62%……后来呢...还在涨。", "版本1.2.3发布",
    ]


def test_english_periods_end_sentences_only_at_sentence_ends():
    text = "Dr. Smith paid $3.50 for it. It was e.g. cheap. J. K. Rowling agreed! Did she? Yes."
    assert sentences_of(text) == [
        "Dr. Smith paid $3.50 for it.", "It was e.g. cheap.", "J. K. Rowling agreed!", "Did she?", "Yes.",
    ]


def test_consecutive_terminators_stay_together():
    assert sentences_of("真的吗？！当然。") == ["真的吗？！", "当然。"]


def test_long_sentence_is_split_at_commas_not_inside_numbers():
    clause = "小米汽车在北京工厂的月产能达到了1,250辆"
    text = "，".join([clause] * 20) + "。"
    pieces = sentences_of(text, max_chars=100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(p.endswith(("，", "。")) for p in pieces)
    assert "".join(pieces) == text


def test_unpunctuated_run_is_cut_hard_within_the_limit():
    text = "字" * 1000
    pieces = sentences_of(text, max_chars=300)
    assert [len(p) for p in pieces] == [300, 300, 300, 100]


def test_passages_are_sentence_windows_with_one_sentence_overlap():
    text = "".join(f"这是第{k}个句子，它有一些内容用来填充长度。" for k in range(30))
    sentences, passages = split_document(document(text), max_chars=120)
    assert len(passages) > 3
    for previous, current in zip(passages, passages[1:]):
        assert current.sentence_ids[0] == previous.sentence_ids[-1]
    for passage in passages:
        assert passage.end - passage.start <= 120
        assert passage.start == sentences[passage.sentence_ids[0]].start
        assert passage.end == sentences[passage.sentence_ids[-1]].end
    assert passages[-1].sentence_ids[-1] == len(sentences) - 1


MIXED_ALPHABET = st.sampled_from(
    list("小米汽车工厂产能订单雷军京东的了是在")
    + list("abcXYZ 0123456789")
    + list("。！？!?；;，,、.:：\"'“”‘’（）()《》…-%\n\r\t ")
    + ["52.99", "25-35岁", "Dr.", "...", "……", "\u3000", "😀", "\u200b"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(MIXED_ALPHABET, max_size=400).map("".join), st.integers(min_value=20, max_value=300))
def test_offsets_always_quote_the_document_exactly(text, max_chars):
    doc = document(text)
    sentences, passages = split_document(doc, max_chars=max_chars)
    previous_end = 0
    for sentence in sentences:
        assert doc.text[sentence.start : sentence.end] == sentence.text
        assert sentence.text.strip() == sentence.text and sentence.text
        assert len(sentence.text) <= max_chars
        assert sentence.start >= previous_end
        previous_end = sentence.end
    covered = set()
    for sentence in sentences:
        covered.update(range(sentence.start, sentence.end))
    assert all(text[k].isspace() for k in range(len(text)) if k not in covered)
    for passage in passages:
        assert doc.text[passage.start : passage.end] == passage.text
        ids = passage.sentence_ids
        assert list(ids) == list(range(ids[0], ids[-1] + 1))
    assert sorted({i for p in passages for i in p.sentence_ids}) == [s.id for s in sentences]
