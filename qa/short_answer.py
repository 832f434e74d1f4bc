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
_UNITS = (
    "平方公里|平方米|平方千米|公里|千米|厘米|毫米|公斤|千克|小时|分钟|世纪|美元|港元|欧元|日元|英镑|亿元|万元|"
    "个月|周年|年代|倍|个|年|月|日|号|岁|次|种|名|位|家|天|米|克|吨|人|万|亿|元|辆|台|张|条|项|所|座|部|届|场|秒|周|层|册|集|首|件|只|头|篇|本|分"
)
_DIGITS = r"[0-9]+(?:[.,][0-9]+)*"
_CN_DIGITS = r"[零〇一二两三四五六七八九十百千万亿]+"
_NUMBER = re.compile(
    rf"(?<![A-Za-z0-9.])(?:约|近|超过|逾|达|仅)?(?:{_DIGITS}|{_CN_DIGITS})(?:\s*[-－~～至到]\s*(?:{_DIGITS}|{_CN_DIGITS}))?"
    rf"(?:\s*(?:%|％|‰))?(?:多|余)?(?:{_UNITS})*"
)
_DATE = re.compile(
    rf"(?<![A-Za-z0-9.])(?:公元前?)?{_DIGITS}\s*年(?:\s*{_DIGITS}\s*月(?:\s*{_DIGITS}\s*[日号])?)?|{_DIGITS}\s*月\s*{_DIGITS}\s*[日号]"
    rf"|{_DIGITS}\s*月|{_DIGITS}年代|{_CN_DIGITS}世纪(?:{_DIGITS}年代)?|[0-9]{{1,2}}世纪"
)
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
        pattern = _DATE if kind == "time" else _NUMBER
        typed = [m for m in pattern.finditer(sentence) if m.group().strip() and not _in_question(m.group(), question)]
        if kind == "time" and not typed:
            typed = [m for m in _NUMBER.finditer(sentence) if not _in_question(m.group(), question)]
        if not typed:
            return None  # a number or a date was asked for and the sentence has none
        anchor = _left_anchor(question, sentence) or (_anchor(question, sentence), 0)
        anchor_start, anchor_end = anchor[0], anchor[0] + anchor[1]

        def distance(m: re.Match[str]) -> int:
            return max(0, anchor_start - m.end(), m.start() - anchor_end)

        # A number with a unit or sign beats a bare one; then the one nearest the anchor.
        best = min(typed, key=lambda m: (not re.search(r"[^\d.,\s]", m.group()), distance(m)))
        return ShortAnswer(best.start(), best.end(), best.group())
    if slot is not None:
        return ShortAnswer(*slot, sentence[slot[0] : slot[1]])
    quoted = [m for m in _QUOTED.finditer(sentence) if not _in_question(m.group()[1:-1], question)]
    if len(quoted) == 1:
        match = quoted[0]
        return ShortAnswer(match.start(), match.end(), match.group())
    return None


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
    if start is None:
        start = end
        while start > 0 and not _stops(sentence, start - 1):
            start -= 1
    if end is None:
        end = start
        while end < len(sentence) and not _stops(sentence, end):
            end += 1
    while start < end and sentence[start] in _EDGE:
        start += 1
    while end > start and sentence[end - 1] in _EDGE:
        end -= 1
    if end - start < 1 or end - start > 60:
        return None
    return start, end
