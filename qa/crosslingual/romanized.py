"""Chinese names written in pinyin, matched against Chinese text.

An English question over Chinese passages has no word in common with them, so BM25 cannot
help; but its names are often pinyin ("Luo Baoming", "Nanning", "Gao Ying") and can be
matched, without tones, against the readings of the passages' characters (pypinyin's table;
traditional characters included). Its numbers and Latin-script codes and names that are not
pinyin ("A380", "1977", "NGC 6231", "Flemming Delfs") are often written as is in Chinese text
too (`verbatim_tokens`). Used by retrieval to re-rank the dense hits of such questions
(qa/retrieval.py).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

_LATIN_WORD = re.compile(r"[A-Za-z]+")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*")
# Tone marks of pypinyin's readings to plain letters (ü is written u in English text).
_PLAIN = str.maketrans(
    {**{c: "a" for c in "āáǎà"}, **{c: "e" for c in "ēéěèêếề"}, **{c: "i" for c in "īíǐì"},
     **{c: "o" for c in "ōóǒò"}, **{c: "u" for c in "ūúǔùüǖǘǚǜ"}, **{c: "n" for c in "ńňǹ"},
     "ḿ": "m", "\u0300": "", "\u0304": "", "\u030c": ""}
)
_VOWEL = re.compile(r"[aeiou]")
_LONGEST_SYLLABLE = 6  # zhuang, shuang


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """pypinyin's table: decimal code point -> comma-separated readings with tones (~0.02 s).
    Read from the package's folder without importing pypinyin, whose import alone takes 0.16 s
    of a one-shot English question."""
    spec = find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pypinyin is not installed; run bin/setup")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return json.loads((folder / "pinyin_dict.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=65536)
def readings(char: str) -> frozenset[str]:
    """The character's readings without tones (绿: lu; 長: zhang, chang); empty when it has none."""
    value = _table().get(str(ord(char)))
    return frozenset(value.translate(_PLAIN).split(",")) if value else frozenset()


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable with a vowel (not the interjections m, n, ng, hm)."""
    every = {s for value in _table().values() for s in value.translate(_PLAIN).split(",")}
    return frozenset(s for s in every if _VOWEL.search(s))


def segment(word: str) -> tuple[str, ...] | None:
    """The word as the fewest pinyin syllables ("Baoming" -> bao, ming), or None if it is not
    pinyin ("Queen")."""
    word = word.lower()
    known = syllables()
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for i in range(len(word)):
        if best[i] is None:
            continue
        for j in range(i + 1, min(len(word), i + _LONGEST_SYLLABLE) + 1):
            candidate = best[i] + (word[i:j],)  # type: ignore[operator]
            if word[i:j] in known and (best[j] is None or len(candidate) < len(best[j])):  # type: ignore[arg-type]
                best[j] = candidate
    return best[len(word)]


def romanized_names(question: str) -> list[tuple[str, ...]]:
    """The names of an English question that read as pinyin, each as its syllables: runs of
    capitalised words that all segment ("Luo Baoming" -> luo, bao, ming). The question's
    first word counts only as part of a longer run, since a sentence starts capitalised."""
    names: list[tuple[str, ...]] = []
    run: list[tuple[str, ...]] = []
    run_starts_question = False
    previous_end = 0

    def close() -> None:
        if run and not (run_starts_question and len(run) == 1):
            names.append(tuple(s for word in run for s in word))
        run.clear()

    for position, match in enumerate(_LATIN_WORD.finditer(question)):
        word = match.group()
        syllables_ = segment(word) if word[0].isupper() else None
        if not syllables_ or question[previous_end : match.start()].strip():
            close()  # a run is broken by any other word or by punctuation
        if syllables_:
            if not run:
                run_starts_question = position == 0
            run.append(syllables_)
        previous_end = match.end()
    close()
    return names


def name_score(text: str, names: list[tuple[str, ...]]) -> float:
    """How much of the names the text holds: each name found as consecutive characters whose
    readings are its syllables counts its syllables (a one-syllable name, which many
    characters read as, counts half)."""
    sounds = [readings(c) for c in text]
    score = 0.0
    for name in names:
        first, rest = name[0], name[1:]
        if any(
            first in sounds[i] and all(s in sounds[i + 1 + n] for n, s in enumerate(rest))
            for i in range(len(sounds) - len(rest))
        ):
            score += len(name) if len(name) > 1 else 0.5
    return score


def verbatim_tokens(question: str) -> list[str]:
    """The words of an English question that Chinese text may hold as they are: those with a
    digit ("1977", "A380"), and capitalised words of two letters or more that are not pinyin
    (romanized_names has those), save the question's first word ("NGC", "Delfs")."""
    tokens = []
    for position, match in enumerate(_TOKEN.finditer(question)):
        word = match.group()
        if any(c.isdigit() for c in word):
            tokens.append(word)
        elif len(word) >= 2 and (word.isupper() or (word[0].isupper() and position > 0)) and not segment(word):
            tokens.append(word)
    return tokens


def verbatim_score(text: str, tokens: list[str]) -> float:
    """How many of the tokens the text holds as whole words, ignoring case ("1977" not inside
    "11977", "A380" not inside "A380X")."""
    lowered = text.lower()
    return float(sum(
        re.search(rf"(?<![a-z0-9]){re.escape(token.lower())}(?![a-z0-9])", lowered) is not None for token in tokens
    ))
