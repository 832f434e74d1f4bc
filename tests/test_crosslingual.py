"""English questions over Chinese passages: their pinyin names and verbatim tokens
(qa/crosslingual/romanized.py), their words' Chinese glosses (qa/crosslingual/glosses.py), and
the retrieval that uses them."""

from __future__ import annotations

from pathlib import Path

from conftest import FakeEncoder
from index.build import build_index
from index.documents import load_documents
from qa.retrieval import Retriever
from qa.crosslingual.glosses import gloss_groups, holds
from qa.crosslingual.romanized import name_score, readings, romanized_names, segment, verbatim_score, verbatim_tokens


def test_words_segment_into_the_fewest_pinyin_syllables_or_none():
    assert segment("Baoming") == ("bao", "ming")
    assert segment("Nanning") == ("nan", "ning")
    assert segment("zhuangshuang") == ("zhuang", "shuang")
    assert segment("Dairy") is None and segment("Which") is None


def test_readings_drop_tones_and_cover_traditional_characters():
    assert "lu" in readings("绿") and {"zhang", "chang"} <= readings("長")
    assert readings("a") == frozenset() and readings("，") == frozenset()


def test_names_are_runs_of_capitalised_pinyin_words():
    assert romanized_names("What position did Luo Baoming hold in April 2017?") == [("luo", "bao", "ming")]
    # The first word is a name only as part of a run: "What", "Are" start a sentence.
    assert romanized_names("Gao Ying was the empress of which emperor?") == [("gao", "ying")]
    assert romanized_names("Are the hotels in Taiwan, or in Hong Kong?") == [("tai", "wan"), ("hong", "kong")]
    assert romanized_names("Are all participants required to be naked?") == []


def test_a_name_scores_only_as_consecutive_characters():
    luo_baoming = [("luo", "bao", "ming")]
    assert name_score("罗保铭，男，汉族。", luo_baoming) == 3
    assert name_score("罗先生保护了铭文。", luo_baoming) == 0  # the syllables, not in a row
    assert name_score("羅保銘", luo_baoming) == 3  # traditional characters read the same
    assert name_score("高英是皇后。", [("gao",), ("ying",)]) == 1.0  # one-syllable names count half


def test_english_question_finds_the_passage_that_names_its_person(tmp_path: Path):
    # Dense retrieval (a hashing encoder here) has nothing to go on for English over Chinese;
    # the passage that writes the question's name in characters is moved to the top.
    filler = "这一段在2017年4月讲的是别的事情，和问题里的人没有关系，只是一些普通的内容。"
    index = _index_of_filler_and(tmp_path, filler, "person.txt", "罗保铭，男，汉族，天津人，曾任全国人大华侨委员会副主任委员。")
    question = "What position did Luo Baoming hold in April 2017?"
    hybrid, dense = Retriever(index, FakeEncoder()), Retriever(index, FakeEncoder(), mode="dense")
    assert hybrid.retrieve(question, 1)[0].doc.endswith("person.txt")
    assert dense.retrieve(question, 1)[0].doc.endswith("other.txt")  # it prefers the text sharing "2017"


def test_verbatim_tokens_are_numbers_codes_and_names_that_are_not_pinyin():
    assert verbatim_tokens("What are the latitude and longitude of NGC 6231?") == ["NGC", "6231"]
    assert verbatim_tokens("Whom did Flemming Delfs defeat in 1977?") == ["Flemming", "Delfs", "1977"]
    assert verbatim_tokens("What is the price of the SU7 Ultra?") == ["SU7", "Ultra"]
    assert verbatim_tokens("When did Feng Sufu die?") == []  # pinyin: romanized_names matches it
    assert verbatim_tokens("What did the company sell?") == []  # the first word is capitalised anyway


def test_a_verbatim_token_counts_only_as_a_whole_word():
    assert verbatim_score("1977年在瑞典马尔默赢得首届世锦赛。", ["1977", "Malmo"]) == 1.0
    assert verbatim_score("小米SU7 Ultra定价52.99万元", ["su7", "ULTRA"]) == 2.0  # case is ignored
    assert verbatim_score("共有12024人和SU7X车型", ["2024", "SU7"]) == 0.0


def test_english_question_finds_the_passage_that_holds_its_code(tmp_path: Path):
    filler = "How far is the open cluster from Earth? 这一段讲的是别的星团，和问题里的天体没有关系。"
    index = _index_of_filler_and(tmp_path, filler, "cluster.txt", "NGC 6231是天蝎座的一个疏散星团，距离地球约5900光年。")
    question = "How far from Earth is the open cluster NGC 6231?"
    assert Retriever(index, FakeEncoder()).retrieve(question, 1)[0].doc.endswith("cluster.txt")
    assert Retriever(index, FakeEncoder(), mode="dense").retrieve(question, 1)[0].doc.endswith("other.txt")


def test_english_words_gloss_to_chinese_words_in_both_scripts():
    groups = gloss_groups("What is the boiling point of water at sea level?")
    assert any({"沸点", "沸點"} <= group for group in groups)  # a phrase, simplified and traditional
    assert any("海平面" in group for group in groups)
    assert any("水" in group for group in groups)
    assert not any("什么" in group or "是" in group for group in groups)  # what, is: function words
    assert gloss_groups("Which factories were built?") and any("工厂" in g for g in gloss_groups("Which factories were built?"))
    assert gloss_groups("What is it?") == [] and gloss_groups("") == []
    assert holds("水在海平面的沸点是100摄氏度。", next(g for g in groups if "沸点" in g))


def test_the_shipped_glosses_are_cc_cedict_rebuilt():
    import gzip
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from make_glosses import cedict_text

    from qa.crosslingual.glosses import GLOSSES_FILE, glosses_file_text, parse_cedict

    assert gzip.decompress(GLOSSES_FILE.read_bytes()).decode("utf-8") == glosses_file_text(parse_cedict(cedict_text()))


def test_cedict_lines_become_glosses_without_references_or_notes():
    lines = "\n".join([
        "# CC-CEDICT comment",
        "工廠 工厂 [gong1 chang3] /factory/CL:家[jia1],座[zuo4]/",
        "北京 北京 [Bei3 jing1] /Beijing, capital of the People's Republic of China/",
        "吃 吃 [chi1] /to eat/see also 喫/",
        "說明書 说明书 [shuo1 ming2 shu1] /(technical) manual; a long description of a thing that is not a phrase/",
    ])
    from qa.crosslingual.glosses import parse_cedict

    assert parse_cedict(lines) == {
        "beijing": ["北京"], "eat": ["吃"], "factory": ["工厂", "工廠"], "manual": ["說明書", "说明书"],
    }


def test_english_question_finds_the_passage_that_holds_its_words_in_chinese(tmp_path: Path):
    # No name, number or code to match: only the dictionary links "boiling point" to 沸点.
    filler = "这一段讲的是别的事情，和问题没有关系，只是一些普通的内容。boiling point"
    index = _index_of_filler_and(tmp_path, filler, "water.txt", "在标准大气压下，水的沸点是100摄氏度，海平面上的冰点是0摄氏度。")
    question = "What is the boiling point of water at sea level?"
    assert Retriever(index, FakeEncoder()).retrieve(question, 1)[0].doc.endswith("water.txt")
    assert Retriever(index, FakeEncoder(), mode="dense").retrieve(question, 1)[0].doc.endswith("other.txt")


def _index_of_filler_and(folder: Path, filler: str, name: str, text: str):
    """An index of 30 passages of filler in other.txt and one document `name` holding text."""
    (folder / "other.txt").write_text("\n\n".join(f"第{n}段。" + filler * 4 for n in range(30)), encoding="utf-8")
    (folder / name).write_text(text, encoding="utf-8")
    return build_index(load_documents([folder]), FakeEncoder())
