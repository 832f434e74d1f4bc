"""Retrieving: the passages of an index that best match a question (dense, BM25, or both
fused by reciprocal rank), each with its cosine to the question."""

from __future__ import annotations

import numpy as np

from index.encoders import Encoder
from index.errors import UsageError
from index.stores import SearchableIndex
from qa.crosslingual.glosses import gloss_groups, holds
from qa.crosslingual.romanized import name_score, romanized_names, verbatim_score, verbatim_tokens
from qa.settings import RETRIEVERS
from qa.text import question_language
from qa.types import PassageHit

MAX_QUESTION_CHARS = 2000
FUSION_DEPTH = 50
"""How many passages each retriever contributes to reciprocal rank fusion."""
RRF_K = 60
NAME_DEPTH = 100
"""How many dense hits of an English question over Chinese passages are re-ranked by the
pinyin names, verbatim tokens and dictionary glosses they hold."""
NAME_RRF_K = 5


class Retriever:
    """Finds passages in one index with one (query) encoder; `mode` is one of RETRIEVERS.
    With `route_by_language`, `hybrid` drops BM25 for a question in another language than
    the corpus (English over Chinese): it has no words to match there."""

    def __init__(self, index: SearchableIndex, encoder: Encoder, mode: str = "hybrid", route_by_language: bool = True) -> None:
        if mode not in RETRIEVERS:
            raise UsageError(f"unknown retriever {mode!r}; choose one of {', '.join(RETRIEVERS)}")
        self.index = index
        self.encoder = encoder
        self.mode = mode
        self.route_by_language = route_by_language
        sample = index.sample_passages(200)
        self.corpus_language = (
            "zh" if sum(question_language(p.text) == "zh" for p in sample) * 2 >= max(1, len(sample)) else "en"
        )

    def embed(self, question: str) -> np.ndarray:
        """The question's vector (callers cut it to MAX_QUESTION_CHARS first)."""
        return self.encoder.encode_queries([question])[0]

    def retrieve(self, question: str, k: int) -> list[PassageHit]:
        """The k passages that best match the question, best first."""
        question = question.strip()[:MAX_QUESTION_CHARS]
        return self.search(question, self.embed(question), k)

    def search(self, question: str, query_vector: np.ndarray, k: int) -> list[PassageHit]:
        """Like `retrieve`, with the question already embedded."""
        lexical_useful = not (self.route_by_language and question_language(question) == "en" and self.corpus_language == "zh")
        if self.mode == "dense" or (self.mode == "hybrid" and not lexical_useful):
            # An English question has no words in common with Chinese passages: BM25 would
            # only add noise to the fusion (bench/cmrc_eval.py --english measures it). Its
            # names in pinyin, numbers and Latin-script words can still be matched
            # (qa/crosslingual/romanized.py), and its words through a dictionary (glosses.py).
            if self.mode == "hybrid":
                names, tokens, glosses = romanized_names(question), verbatim_tokens(question), gloss_groups(question)
                if names or tokens or glosses:
                    return self._by_held_words(query_vector, names, tokens, glosses, k)
            return [self.hit(pid, score) for pid, score in self.index.search(query_vector, k)]
        depth = max(k, FUSION_DEPTH)
        rankings = [[pid for pid, _ in self.index.lexical_search(question, depth)]]
        if self.mode == "hybrid":
            rankings.append([pid for pid, _ in self.index.search(query_vector, depth)])
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, pid in enumerate(ranking):
                fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank + 1)
        chosen = sorted(fused, key=lambda pid: -fused[pid])[:k]
        cosines = self.index.passage_cosines(chosen, query_vector)
        return [self.hit(pid, float(score)) for pid, score in zip(chosen, cosines)]

    def _by_held_words(
        self, query_vector: np.ndarray, names: list[tuple[str, ...]], tokens: list[str], glosses: list[frozenset[str]], k: int
    ) -> list[PassageHit]:
        """The dense hits fused by reciprocal rank with two more orders: by the names and
        verbatim tokens they hold, and by the glosses they hold, each gloss weighted by how few
        hits hold it (inverse document frequency over the hits). Only hits holding something
        take part in an order; what most hits hold (a common year, 公司) tells them apart no
        better than the dense order and is left out."""
        hits = [self.hit(pid, score) for pid, score in self.index.search(query_vector, max(k, NAME_DEPTH))]
        held_tokens = _holding(hits, tokens, lambda text, token: verbatim_score(text, [token]))
        held_glosses = _holding(hits, glosses, holds)
        rare_tokens = 2 * held_tokens.sum(axis=0) <= len(hits)
        gloss_frequency = held_glosses.sum(axis=0)
        gloss_weight = np.where(2 * gloss_frequency <= len(hits), np.log((len(hits) + 1) / (gloss_frequency + 1)), 0.0)
        held_names = [name_score(hit.text, names) + float(held_tokens[i] @ rare_tokens) for i, hit in enumerate(hits)]
        fused = [1.0 / (NAME_RRF_K + rank + 1) for rank in range(len(hits))]
        for held in (held_names, list(held_glosses @ gloss_weight)):
            order = sorted((i for i in range(len(hits)) if held[i] > 0), key=lambda i: -held[i])
            for rank, i in enumerate(order):
                fused[i] += 1.0 / (NAME_RRF_K + rank + 1)
        return [hits[i] for i in sorted(range(len(hits)), key=lambda i: -fused[i])[:k]]

    def hit(self, passage_id: int, score: float) -> PassageHit:
        passage = self.index.passage(passage_id)
        return PassageHit(passage_id, passage.doc_id, passage.start, passage.end, score, passage.text)


def _holding(hits: list[PassageHit], items: list, holds_item) -> np.ndarray:
    """(hits, items) matrix: 1.0 where the hit's text holds the item."""
    return np.array([[float(holds_item(hit.text, item)) for item in items] for hit in hits], dtype=float).reshape(len(hits), len(items))
