"""Language detection and the lexical tokens used to compare questions with sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.lexical import fold, to_simplified, to_traditional

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*%?|[^\W_]+", re.UNICODE)
# Function words of questions: they say what is asked, not what it is about.
_CHINESE_QUESTION_CHARS = set("的了吗呢吧啊是在有和与及或么什怎哪几多少谁为何")
_ENGLISH_STOPWORDS = frozenset(
    """a an the of in on at to for from by with about as and or but is are was were be been
    being do does did has have had what which who whom whose when where why how much many
    this that these those it its their there than then into does did can could would should
    will shall may might not no yes""".split()
)


def question_language(text: str) -> str:
    """`zh` when the text has any Chinese character, else `en`."""
    return "zh" if _CJK.search(text) else "en"


def writes_traditional(text: str) -> bool:
    """Whether the text uses traditional Chinese characters: converting it to simplified
    changes it (characters both scripts share, as in 多少, leave it as written)."""
    return to_simplified(text) != text


def in_script_of(question: str, texts: Sequence[str]) -> str:
    """The question in the Chinese script the texts are written in: a traditional question
    over simplified texts is read simplified (OpenCC t2s) and a simplified one over
    traditional texts traditional (s2t), since the reader matches characters as tokens and
    was trained on questions and passages in the same script. Unchanged when it is in the
    texts' script already (s2t would change variants, 才 -> 纔), when they mix scripts, or
    when it has no Chinese."""
    if not _CJK.search(question) or not texts:
        return question
    if writes_traditional(question):
        return question if any(map(writes_traditional, texts)) else to_simplified(question)
    return to_traditional(question) if all(map(writes_traditional, texts)) else question


def lexical_terms(text: str) -> set[str]:
    """Terms for lexical matching: Chinese character bigrams (and single characters of
    one-character runs), lower-cased Latin words and numbers, after `fold` (full-width forms to
ASCII, traditional to simplified Chinese)."""
    text = fold(text)
    terms: set[str] = set()
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text):
        if len(run) == 1:
            if run not in _CHINESE_QUESTION_CHARS:
                terms.add(run)
            continue
        for k in range(len(run) - 1):
            bigram = run[k : k + 2]
            if not (bigram[0] in _CHINESE_QUESTION_CHARS and bigram[1] in _CHINESE_QUESTION_CHARS):
                terms.add(bigram)
    for word in _WORD.findall(_CJK.sub(" ", text)):
        if word not in _ENGLISH_STOPWORDS and (len(word) > 1 or word.isdigit()):
            terms.add(word)
    return terms
