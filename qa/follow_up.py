"""Follow-up questions in a conversation: "那第二工厂呢？", "他呢？", "what about the second one?"

A question that leans on the previous one (it opens with 那/那么/还有, ends with 呢, is a
short "what about ..." / "and ...", or refers back with a pronoun) is resolved against the
previous question:
- when it only names a new subject that shares a word with the previous question's subject
  ("那第二工厂呢？" after "北京工厂的月产能是多少？"), that subject is swapped in:
  "第二工厂的月产能是多少？";
- otherwise (a pronoun, or nothing shared) it is asked together with the previous question,
  so that retrieval and sentence scoring see both.
"""

from __future__ import annotations

import re

_ZH_LEAD = re.compile(r"^(?:那么?|还有|另外|那个)")
_ZH_TAIL = re.compile(r"呢[？?！!。.]*$")
_ZH_PRONOUN = re.compile(r"[他她它][们]?|其|该")
_EN_LEAD = re.compile(r"^(?:what|how) about\b|^and\b|^also\b", re.IGNORECASE)
_EN_PRONOUN = re.compile(r"\b(?:he|she|it|they|him|her|his|its|their|them|that one|this one)\b", re.IGNORECASE)
MAX_FOLLOW_UP_CHARS = 24
MAX_FOLLOW_UP_WORDS = 8


def is_follow_up(question: str) -> bool:
    text = question.strip()
    if re.search(r"[\u4e00-\u9fff]", text):
        if len(text) > MAX_FOLLOW_UP_CHARS:
            return False
        return bool(_ZH_LEAD.search(text) or _ZH_TAIL.search(text) or _ZH_PRONOUN.search(text))
    if len(text.split()) > MAX_FOLLOW_UP_WORDS:
        return False
    return bool(_EN_LEAD.search(text) or _EN_PRONOUN.search(text))


_ZH_MARKERS = re.compile(r"^(?:那么?|还有|另外|那个)|呢?[？?！!。.]*$")
_EN_MARKERS = re.compile(r"^(?:(?:what|how) about|and|also)\s+|[?!.]+$", re.IGNORECASE)
_QUESTION_WORDS = re.compile(r"什么|哪|谁|多少|几|怎|如何|为何|为什么|何|吗|\b(?:what|which|who|when|where|why|how)\b", re.IGNORECASE)
_ZH_BOUNDARY = "的之是在有和与及，、,。？?！! "
_EN_STOP = frozenset("of the a an is are was were what which who how in on for to 's".split())


def resolve_follow_up(question: str, previous: str | None) -> str:
    """The text to answer: the question itself, or the follow-up resolved against `previous`."""
    question = question.strip()
    if not previous or not previous.strip() or not is_follow_up(question):
        return question
    previous = previous.strip()
    swapped = _swap_subject(question, previous)
    return swapped if swapped is not None else f"{previous} {question}"


def _swap_subject(question: str, previous: str) -> str | None:
    chinese = bool(re.search(r"[\u4e00-\u9fff]", question))
    subject = (_ZH_MARKERS if chinese else _EN_MARKERS).sub("", question).strip()
    if not subject or _QUESTION_WORDS.search(subject) or (chinese and _ZH_PRONOUN.search(subject)):
        return None
    if not chinese:
        return _swap_english(subject, previous)
    shared = _longest_shared(subject, previous)
    if len(shared) < 1 or not re.search(r"[\u4e00-\u9fff]", shared):
        return None
    at = previous.find(shared)
    start, end = at, at + len(shared)
    while start > 0 and previous[start - 1] not in _ZH_BOUNDARY and not _QUESTION_WORDS.match(previous, start - 1):
        start -= 1
    while end < len(previous) and previous[end] not in _ZH_BOUNDARY and not _QUESTION_WORDS.match(previous, end):
        end += 1
    return previous[:start] + subject + previous[end:]


def _swap_english(subject: str, previous: str) -> str | None:
    words = previous.split()
    keys = {w.lower().strip("?.,!") for w in subject.split()} - _EN_STOP
    hits = [k for k, w in enumerate(words) if w.lower().strip("?.,!") in keys]
    if not hits:
        return None
    start = end = hits[-1]
    while start > 0 and words[start - 1].lower() not in _EN_STOP:
        start -= 1
    articles = ("the", "a", "an")
    if start > 0 and words[start - 1].lower() in articles and subject.split()[0].lower() in articles:
        start -= 1  # "the first plant" -> "the second plant", not "the the second plant"
    tail = "?" if words[end].endswith("?") else ""
    return " ".join(words[:start] + [subject + tail] + words[end + 1 :])


def _longest_shared(a: str, b: str) -> str:
    best = ""
    for i in range(len(a)):
        for j in range(i + len(best) + 1, len(a) + 1):
            if a[i:j] in b:
                best = a[i:j]
            else:
                break
    return best
