"""Question + passage as one token sequence with character offsets, and span decoding.

Shared by training and answering, so that both see the same input and every span maps back
to exact character offsets of the passage. Layout (XLM-R pairs, as the default model was
trained): `<s> question </s></s> passage </s>`; position 0 (`<s>`) stands for "no answer".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from index.passages import trim_span

MAX_TOKENS = 256
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 48
CANDIDATES = 5
"""Spans weighed by best_span's minimum-risk choice. Chosen on CMRC trial given the gold
passage (600 positives, stage-6 reader): F1 zh / zh-hant / en 66.4 / 63.9 / 57.0 with the single
best span, 68.0 / 65.3 / 59.7 with 5, 68.6 / 66.2 / 60.3 with 10 (English EM 24.1 -> 21.8);
5 is the most that lowers no EM."""
BOS, EOS = 0, 2


@dataclass(frozen=True)
class PairEncoding:
    ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    """Per token: its character span in the passage; (-1, -1) for question and special tokens."""
    passage_start: int
    """Index of the first passage token."""
    passage_end: int
    """One past the last passage token (the passage may have been cut to fit MAX_TOKENS)."""


def encode_pairs(tokenizer: Any, questions: Sequence[str], passages: Sequence[str]) -> list[PairEncoding]:
    """Encode (question, passage) pairs; `tokenizer` is a `tokenizers.Tokenizer` of the
    default model, with padding and truncation off."""
    encoded_q = tokenizer.encode_batch(list(questions), add_special_tokens=False)
    encoded_p = tokenizer.encode_batch(list(passages), add_special_tokens=False)
    pairs = []
    for q, p in zip(encoded_q, encoded_p):
        q_ids = q.ids[:MAX_QUESTION_TOKENS]
        room = MAX_TOKENS - len(q_ids) - 4
        p_ids, p_offsets = p.ids[:room], p.offsets[:room]
        ids = (BOS, *q_ids, EOS, EOS, *p_ids, EOS)
        none = (-1, -1)
        offsets = (none,) * (len(q_ids) + 3) + tuple(tuple(o) for o in p_offsets) + (none,)
        start = len(q_ids) + 3
        pairs.append(PairEncoding(ids, offsets, start, start + len(p_ids)))
    return pairs


def token_span(pair: PairEncoding, char_start: int, char_end: int) -> tuple[int, int] | None:
    """The tokens covering passage characters [char_start, char_end), inclusive; None when
    the span lies (partly) beyond the encoded passage."""
    start = end = None
    for t in range(pair.passage_start, pair.passage_end):
        a, b = pair.offsets[t]
        if a <= char_start < b:
            start = t  # the last such token: a lone "▁" shares its offsets with the next one
        if end is None and a < char_end <= b:
            end = t
    if start is None or end is None or end < start:
        return None
    return start, end


@dataclass(frozen=True)
class SpanScore:
    start: int
    """Character offsets in the passage, half-open."""
    end: int
    score: float
    """start logit + end logit of the best span."""
    null_score: float
    """start logit + end logit at position 0: the reader's score for "no answer here"."""
    any_score: float
    """log-sum-exp of the start logits + that of the end logits, over the tokens a span may start
    or end on: the reader's score for "some answer here", all spans together. Less the null
    score it tells answerable from unanswerable better than the best span's score does (CMRC
    trial, stage 9, calibrated to 1.8% wrongly refused: abstained on without context 76.3% ->
    79.5%; asked end to end, the project's unanswerable questions 53.2% -> 55.2%;
    docs/reader-training.md)."""


def best_span(
    pair: PairEncoding, passage: str, start_logits: np.ndarray, end_logits: np.ndarray,
    allowed: Sequence[tuple[int, int]] | None = None,
) -> SpanScore | None:
    """The answer span of passage tokens (at most MAX_ANSWER_TOKENS long), as characters of
    `passage` without the whitespace around them; None when nothing is left.

    Of the CANDIDATES highest-scoring spans it returns the one with the highest expected
    overlap F1 against the others, weighted by the reader's own softmax over their scores
    (minimum Bayes risk): the reader's single best span is often a shorter piece of the
    answer that the other candidates extend. `score` stays the best span's, so that
    abstention does not depend on this choice."""
    lo, hi = pair.passage_start, pair.passage_end
    if hi <= lo:
        return None
    starts = start_logits[lo:hi].astype(np.float32)
    ends = end_logits[lo:hi].astype(np.float32)
    n = hi - lo
    scores = starts[:, None] + ends[None, :]
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]
    scores[(offset < 0) | (offset >= MAX_ANSWER_TOKENS)] = -np.inf
    # A span stays on one line: a line break ends a heading, a byline or a paragraph.
    line_breaks = [i for i, char in enumerate(passage) if char == "\n"]
    line = np.searchsorted(line_breaks, [a for a, _ in pair.offsets[lo:hi]])
    scores[line[:, None] != line[None, :]] = -np.inf
    if allowed is not None:  # only tokens inside the allowed character ranges start or end a span
        if not allowed:
            return None
        tokens, ranges = np.asarray(pair.offsets[lo:hi]), np.asarray(allowed)
        inside = ((ranges[None, :, 0] <= tokens[:, None, 0]) & (tokens[:, None, 1] <= ranges[None, :, 1])).any(axis=1)
        if not inside.any():
            return None
        scores[~inside, :] = -np.inf
        scores[:, ~inside] = -np.inf
        starts, ends = starts[inside], ends[inside]
    any_score = float(np.logaddexp.reduce(starts.astype(np.float64)) + np.logaddexp.reduce(ends.astype(np.float64)))
    flat = scores.ravel()
    top = np.argpartition(-flat, min(CANDIDATES, flat.size) - 1)[:CANDIDATES]
    top = top[np.isfinite(flat[top])]
    spans = []  # (score, char start, char end), best first
    for index in top[np.argsort(-flat[top], kind="stable")]:
        s, e = divmod(int(index), n)
        char_start, char_end = trim_span(passage, pair.offsets[lo + s][0], pair.offsets[lo + e][1])
        if char_start < char_end:
            spans.append((float(flat[index]), char_start, char_end))
    if not spans:
        return None
    score = np.array([x[0] for x in spans])
    weight = np.exp(score - score[0])
    weight /= weight.sum()
    a = np.array([x[1] for x in spans])
    b = np.array([x[2] for x in spans])
    overlap = np.clip(np.minimum(b[:, None], b[None, :]) - np.maximum(a[:, None], a[None, :]), 0, None)
    f1 = 2 * overlap / ((b - a)[:, None] + (b - a)[None, :])
    chosen = int(np.argmax(f1 @ weight))  # ties go to the higher-scoring span
    return SpanScore(int(a[chosen]), int(b[chosen]), float(score[0]), float(start_logits[0] + end_logits[0]), any_score)


def load_tokenizer(model_dir: Any) -> Any:
    """The default model's tokenizer with padding and truncation off (encode_pairs does both)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer
