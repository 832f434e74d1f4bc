"""The short answer: the span inside the best cited sentence that answers the question.

Two general mechanisms, no knowledge of any document:
- the question's expected answer type (a number, a date or time, a quoted term) found from
  its question words, and spans of that type in the sentence;
- slot filling: the words around the question word (左 ... 多少 ... 右) are located in the
  sentence and what stands between them is the answer.
Returns None when neither finds a plausible span.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NUMBER_QUESTION = re.compile(
    r"多少|几(?!乎)|百分之|比例|多大|多长|多高|多远|多久|多重|多快|多深|\bhow (?:many|much|long|old|far|tall|big)\b|percentage|what share",
    re.IGNORECASE,
)
_TIME_QUESTION = re.compile(
    r"何时|哪年|哪一年|什么时候|什么时间|哪天|哪一天|几月|几号|几年|哪个月|日期|\bwhen\b|what (?:year|date|day|month)",
    re.IGNORECASE,
)
_QUESTION_WORD = re.compile(
    r"为什么|为何|怎么样|怎样|怎么|如何|什么时候|什么时间|什么样的?|什么|哪一?(?:个|些|位|家|里|年|天|种|国|条|部|座|所|支|款|次|项|场|名|月)?"
    r"|谁|多少|几(?:个|年|月|日|岁|次|种|名|位|家|天|号)?|何时|何地|何处|何人|多(?:大|长|高|远|久|重|快|深)"
)
_DETERMINER = re.compile(r"什么|哪一?(?:个|些|家|所|种|部|座|支|款|条|项|场|名|位)?|何")
_UNITS = (
    "平方公里|平方米|平方千米|公里|千米|厘米|毫米|公斤|千克|小时|分钟|世纪|美元|港元|欧元|日元|英镑|亿元|万元|"
    "日圆|日币|新台币|人民币|港币|台币|公分|公尺|公顷|个月|周年|年代|英尺|英里|英寸|海里|公顷|毫升|千瓦|兆瓦|倍|个|年|月|日|号|岁|次|种|名|位|家|天|米|克|吨|人|万|亿|元|辆|台|张|条|项|所|座|部|届|场|秒|周|层|册|集|首|件|只|头|篇|本|分|类|区|级|期|章|卷|代|世|季|轮|局|枚|架|艘|亩|升|度|股|份|户|栋|间|块|片|支|门|节|站|队|国|省|县|村|球|处"
    r"|(?:km/h|km|cm|mm|kg|mg|mph|m|g|t|MB|GB|TB|MHz|GHz|kW|MW|W|V|Hz|ft|mi|in|mil|lb|CM|KM|M)(?![A-Za-z])[²³]?"
)
_DIGITS = r"[0-9]+(?:[.,][0-9]+)*"
_CN_DIGITS = r"[零〇一二两三四五六七八九十百千万亿]+"
_NUMBER = re.compile(
    r"(?<![0-9])[0-9]+\s*[:：比]\s*[0-9]+(?![0-9])|"  # ratios: 1：7
    rf"(?<![A-Za-z0-9.])(?:约|近|超过|逾|达|仅|第)?(?:{_DIGITS}|{_CN_DIGITS})(?:\s*(?:{_UNITS}))*(?:\s*[-－~～至到]\s*(?:{_DIGITS}|{_CN_DIGITS}))?"
    rf"(?:\s*(?:%|％|‰))?(?:多|余)?(?:{_UNITS})*"
    rf"(?:(?<=[分秒米时点])[0-9]+(?:{_UNITS})*)*"  # 3分33秒62, 1米80
)
_DATE = re.compile(
    rf"(?<![A-Za-z0-9.])(?:公元前?)?{_DIGITS}\s*年(?:\s*{_DIGITS}\s*月(?:\s*{_DIGITS}\s*[日号])?)?|{_DIGITS}\s*月\s*{_DIGITS}\s*[日号]"
    rf"|{_DIGITS}\s*月|{_DIGITS}年代|{_CN_DIGITS}世纪(?:{_DIGITS}年代)?|[0-9]{{1,2}}世纪"
)
_YEAR = re.compile(r"(?:公元前?)?[0-9]{3,4}\s*年(?:代|初|底|末)?")
_LENGTH_UNITS = ("米", "公里", "公分", "公尺", "英尺", "英里", "英寸", "海里", "km", "cm", "mm", "m", "ft", "mi")
_QUANTITY_UNITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"多长|多远|多高|多深|多宽|长度|距离|身高|体长|高度|深度|宽度|海拔|how (?:long|far|tall|high|deep)", _LENGTH_UNITS),
    (r"多重|重量|体重|how heavy", ("克", "吨", "斤", "磅", "kg", "g", "t", "lb")),
    (r"面积", ("平方", "公顷", "亩", "km", "m²")),
    (r"多久|多长时间|how long", ("年", "月", "天", "日", "小时", "分钟", "秒", "周", "世纪")),
    (r"多少钱|价格|售价|定价|造价|耗资|花费|费用|收入|资金|how much", ("元", "圆", "美元", "镑", "$", "￥", "€")),
    (r"多少人|人口|how many people", ("人",)),
    (r"百分之|比例|比率|占比|percentage|share", ("%", "％", "成", "：", ":")),
)
_TO_VALUE_QUESTION = re.compile(r"(?:到|至|为|成)了?(?:多少|几)")
"""提高到多少, 增至几, 降为多少: the value a change ends at (从X提升至Y: Y)."""
_FROM_VALUE_QUESTION = re.compile(r"从(?:多少|几)")
_QUOTED = re.compile(r"《[^》]{1,40}》|“[^”]{1,40}”|「[^」]{1,40}」|『[^』]{1,40}』|\"[^\"]{1,40}\"")
_EDGE = "，。！？；：、,.!?;:（）()「」“”\"'《》 \t\n是为的了在于由"
_STOP_AT = "，。！？；：,.!?;:"


@dataclass(frozen=True)
class ShortAnswer:
    start: int
    """Offset inside the sentence (half-open span)."""
    end: int
    text: str


def expected_type(question: str) -> str:
    """`time`, `number`, `quote` or `other` from the question's words."""
    if _TIME_QUESTION.search(question):
        return "time"
    if _NUMBER_QUESTION.search(question):
        return "number"
    return "other"


def find_short_answer(question: str, sentence: str) -> ShortAnswer | None:
    question = unicodedata.normalize("NFKC", question).strip().rstrip("？?。.！! ")
    kind = expected_type(question)
    slot = _slot(question, sentence)
    if kind in ("time", "number"):
        typed = _typed_span(question, sentence, kind)
        if typed is None:
            return None  # a number or a date was asked for and the sentence has none
        return ShortAnswer(*typed, sentence[typed[0] : typed[1]])
    if slot is not None:
        return ShortAnswer(*slot, sentence[slot[0] : slot[1]])
    quoted = [m for m in _QUOTED.finditer(sentence) if not _in_question(m.group()[1:-1], question)]
    if len(quoted) == 1:
        match = quoted[0]
        return ShortAnswer(match.start(), match.end(), match.group())
    return None


def _typed_span(question: str, sentence: str, kind: str) -> tuple[int, int] | None:
    """The number or date of the sentence that answers the question: one in the unit the
    question asks for (多少米, 几个, 多长), not a bare figure, nearest the question's words."""
    pattern = _DATE if kind == "time" else _NUMBER
    typed = [m for m in pattern.finditer(sentence) if m.group().strip() and not _in_question(m.group(), question)]
    if kind == "time" and not typed:
        typed = [m for m in _NUMBER.finditer(sentence) if not _in_question(m.group(), question)]
    if kind == "number" and "年" not in question:
        typed = [m for m in typed if not _YEAR.fullmatch(m.group().strip())]
    if not typed:
        return None
    asked_units = _asked_units(question)
    # (anchor, whether the answer is expected after it): the question's words before its
    # question word precede the answer, those after it follow the answer.
    anchors = [(a, after) for a, after in ((_left_anchor(question, sentence), True), (_right_anchor(question, sentence), False)) if a]
    if not anchors:
        anchors = [((_anchor(question, sentence), 1), True)]

    def cost(m: re.Match[str]) -> tuple[bool, bool, bool, float]:
        text = m.group()
        wrong_unit = bool(asked_units) and not any(unit in text for unit in asked_units)
        wrong_end = _wrong_end_of_change(question, sentence[max(0, m.start() - 2) : m.start()])
        # A bare figure, or 一 with a measure word (一座, 一条: an article, not an amount).
        bare = bool(re.fullmatch(rf"\s*(?:{_DIGITS}|{_CN_DIGITS})\s*|一(?:{_UNITS})", text))
        # Longer anchors are surer evidence of where the answer stands.
        distance = sum(size * _distance(m, at, size, after) for (at, size), after in anchors)
        return wrong_unit, wrong_end, bare, distance / sum(size for (_, size), _ in anchors)

    best = min(typed, key=cost)
    return best.start(), best.end()


def _wrong_end_of_change(question: str, before: str) -> bool:
    """For a question about where a change ends (提高到多少) or starts (从多少), whether the
    two characters `before` a figure fail to mark that end (至/到/为/成, or 从)."""
    if _TO_VALUE_QUESTION.search(question):
        return not re.search(r"[到至为成]了?$", before)
    if _FROM_VALUE_QUESTION.search(question):
        return not before.endswith("从")
    return False


def _distance(m: re.Match[str], at: int, size: int, after: bool) -> int:
    """Characters between a span and an anchor; on the unexpected side of it they count double."""
    if m.end() <= at:
        return (at - m.end()) * (2 if after else 1) + (2 if after else 0)
    if m.start() >= at + size:
        return (m.start() - at - size) * (1 if after else 2) + (0 if after else 2)
    return 0


def _asked_units(question: str) -> tuple[str, ...]:
    """Units or measure words the question asks for: the one after 多少/几, or those of the
    quantity named (多长 -> lengths)."""
    found = re.search(rf"(?:多少|几)({_UNITS})", question)
    if found and found.group(1) not in ("个",):
        return (found.group(1),)
    for words, units in _QUANTITY_UNITS:
        if re.search(words, question, re.IGNORECASE):
            return units
    return (found.group(1),) if found else ()


def _stops(sentence: str, k: int) -> bool:
    """Whether sentence[k] ends a clause (a '.' or ',' between digits does not: 2.5, 1,650)."""
    if sentence[k] not in _STOP_AT:
        return False
    between_digits = 0 < k < len(sentence) - 1 and sentence[k - 1].isdigit() and sentence[k + 1].isdigit()
    return not (sentence[k] in ".," and between_digits)


def _in_question(span: str, question: str) -> bool:
    return len(span) >= 2 and span in question


def _anchor(question: str, sentence: str) -> int:
    """Where the question's words concentrate in the sentence (the middle of the longest
    shared run, or the sentence start)."""
    best, where = 0, 0
    for size in (4, 3, 2):
        for k in range(len(question) - size + 1):
            found = sentence.find(question[k : k + size])
            if found >= 0 and size > best:
                best, where = size, found
        if best:
            break
    return where


def _best_anchor(sentence: str, text: str, groups: list[list[tuple[int, int]]], after: int) -> tuple[int, int] | None:
    """(position in sentence, length) of a piece text[i:j] (2 to 12 characters) found in the
    sentence at or after `after`. `groups` come nearest to the question word first; the first
    group with a match wins, and within it the longest piece."""
    for group in groups:
        found = [
            (sentence.find(text[i:j], after), j - i) for i, j in group if 2 <= j - i <= 12
        ]
        found = [(position, size) for position, size in found if position >= 0]
        if found:
            return max(found, key=lambda item: item[1])
    return None


def _right_anchor(question: str, sentence: str) -> tuple[int, int] | None:
    """(position, length) in the sentence of the question's words just after its question word."""
    match = _QUESTION_WORD.search(question)
    if not match:
        return None
    right = question[match.end() :]
    groups = [[(i, j) for j in range(len(right), i, -1)] for i in range(min(len(right), 5))]
    return _best_anchor(sentence, right, groups, 0)


def _left_anchor(question: str, sentence: str) -> tuple[int, int] | None:
    """(position, length) in the sentence of the question's words just before its question word."""
    match = _QUESTION_WORD.search(question)
    if not match:
        return None
    left = question[: match.start()]
    groups = [[(i, j) for i in range(j)] for j in range(len(left), max(len(left) - 4, 1) - 1, -1)]
    return _best_anchor(sentence, left, groups, 0)


def _slot(question: str, sentence: str) -> tuple[int, int] | None:
    """The sentence span standing where the question word stands in the question."""
    match = _QUESTION_WORD.search(question)
    if not match:
        return None
    right = question[match.end() :]
    # The anchors may skip a few words next to the question word (叫/是/两个公司...).
    found_left = _left_anchor(question, sentence)
    start = found_left[0] + found_left[1] if found_left else None
    right_groups = [[(i, j) for j in range(len(right), i, -1)] for i in range(min(len(right), 7))]
    found_right = _best_anchor(sentence, right, right_groups, start or 0)
    end = found_right[0] if found_right else None
    if start is None and end is None:
        return None
    if start is not None and found_left:
        start = _skip_parenthesis(sentence, start, end)
    if start is None:
        start = end
        while start > 0 and not _stops(sentence, start - 1):
            start -= 1
    if end is None:
        end = start
        while end < len(sentence) and not _stops(sentence, end):
            end += 1
    elif found_left:
        # Both anchors found: of several clauses between them, the one next to the right
        # anchor is what the question word stands for.
        cut = max((k for k in range(start, end) if _stops(sentence, k)), default=None)
        if cut is not None:
            start = cut + 1
    start, end = _trim_edges(sentence, start, end)
    if found_right and end == found_right[0] and _DETERMINER.fullmatch(match.group()):
        # 哪所大学 / 什么王国的首都: the noun after the question word belongs to the answer
        # (香港大学, 奇穆王国) when the sentence has it right after the slot.
        head = re.match(r"[^的是为在于了，。,.]{1,4}", right)
        size = next((n for n in range(len(head.group()) if head else 0, 0, -1) if sentence.startswith(right[:n], end)), 0)
        if end > start:
            end += size
    if end <= start and found_left and not found_right:
        # Nothing follows the words of the question: the answer comes before them
        # (问: X的首都是哪里？ 句: Y是X的首都。).
        end = found_left[0]
        start = end
        while start > 0 and not _stops(sentence, start - 1):
            start -= 1
        start, end = _trim_edges(sentence, start, end)
    if end - start < 1 or _in_question(sentence[start:end], question):
        return None
    if end - start > 60:
        return None
    return start, end


def _trim_edges(sentence: str, start: int, end: int) -> tuple[int, int]:
    while start < end and sentence[start] in _EDGE:
        start += 1
    while end > start and sentence[end - 1] in _EDGE:
        end -= 1
    return start, end


def _skip_parenthesis(sentence: str, start: int, end: int | None) -> int:
    """Past a parenthesis that opens at `start` (a name's gloss: 胜利广场（Place des Victoires）是巴黎...)."""
    if start < len(sentence) and sentence[start] in "（(":
        close = sentence.find("）" if sentence[start] == "（" else ")", start)
        if 0 < close - start <= 60 and (end is None or close + 1 < end):
            return close + 1
    return start
