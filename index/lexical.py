"""Lexical retrieval: BM25 (bm25s) over Chinese-aware tokens, persisted with the index.

Texts are folded first (NFKC, lower case, traditional to simplified Chinese). Tokens are CJK
characters and character bigrams (no dictionary to load, robust to words a
segmenter does not know; on CMRC trial they retrieve better than jieba words), plus
lower-cased Latin words and numbers, after NFKC (full-width forms fold to ASCII). So
"12.5万元" yields 12.5, 万, 元, 万元 and matches "12.5万".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

TOKENIZER_ID = "t2s+cjk-unigram-bigram+words-v2"
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*%?|[^\W_]+", re.UNICODE)
# A placeholder that occurs in no text, so that a query with no known token is valid.
_NOTHING = "\u0000"


def fold(text: str) -> str:
    """NFKC, lower case, traditional Chinese characters to simplified: the form in which
    texts are compared word for word, so a simplified question matches a traditional text."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


def to_traditional(text: str) -> str:
    """Simplified Chinese characters to traditional (OpenCC s2t); other text as it is."""
    return _to_traditional().convert(text)


@lru_cache(maxsize=1)
def _to_traditional() -> Any:
    from opencc import OpenCC

    return OpenCC("s2t")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (OpenCC t2s); other text as it is."""
    return _to_simplified().convert(text)


@lru_cache(maxsize=1)
def _to_simplified() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


def lexical_tokens(text: str) -> list[str]:
    text = fold(text)
    tokens: list[str] = []
    for run in _CJK_RUN.findall(text):
        tokens.extend(run)
        tokens.extend(run[k : k + 2] for k in range(len(run) - 1))
    tokens.extend(_WORD.findall(_CJK_RUN.sub(" ", text)))
    return tokens


class LexicalIndex:
    """BM25 over passages; row i is passage i."""

    def __init__(self, retriever: Any, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25()
        corpus = [lexical_tokens(t) or [_NOTHING] for t in texts]
        if texts:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, len(texts))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Up to k (passage id, BM25 score) with a positive score, best first."""
        k = min(k, self.size)
        if k <= 0:
            return []
        vocabulary = self._retriever.vocab_dict
        tokens = [t for t in lexical_tokens(query) if t in vocabulary]
        if not tokens:
            return []
        ids, scores = self._retriever.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]

    def save(self, folder: Path) -> None:
        if self.size:
            self._retriever.save(str(folder), allow_pickle=False)
        else:
            folder.mkdir(parents=True, exist_ok=True)

    @classmethod
    def load(cls, folder: Path, size: int) -> "LexicalIndex":
        import bm25s

        if size == 0:
            return cls(bm25s.BM25(), 0)
        retriever = bm25s.BM25.load(str(folder), allow_pickle=False, load_corpus=False)
        if int(retriever.scores.get("num_docs", -1)) != size:
            raise ValueError(f"BM25 index holds {retriever.scores.get('num_docs')} passages, not {size}")
        return cls(retriever, size)
