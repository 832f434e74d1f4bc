"""The trained span reader at answering time: the shipped weights (qa/reading/weights),
checked by sha256, exported once to an OpenVINO IR in the cache (like the encoder), read in
one batch per question.

    <cache>/models/citeqa-reader-<sha256[:12]>-ov/   model.xml, model.bin, COMPLETE
"""

from __future__ import annotations

import hashlib
import json
import shutil
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from index.errors import ModelError
from index.openvino_model import IR_NAME, compile_ir, export_ir, parallel_streams
from qa.reading.spans import PairEncoding, best_span, encode_pairs
from qa.reading.subset_tokenizer import SubsetTokenizer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = "reader.safetensors"
INFO_FILE = "reader.json"
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """p(answer) = sigmoid(scale * answer_margin + bias) (SpanReading), fitted on CMRC trial
    asked with and without its context (bench/calibrate_reader.py)."""

    scale: float = 1.0
    bias: float = 0.0
    threshold: float = 0.5
    """Answer when p(answer) reaches this; abstain below."""
    read_k: int = 3
    """How many retrieved passages the reader reads."""
    rank_penalty: float = 0.0
    """The answer comes from the passage whose (best span's) margin, less this much per place below the first
    retrieved passage, is highest: cross-language margins are noisy, and retrieval order breaks
    near-ties (chosen on trial with read_k)."""
    first_read: int = 0
    """A reading cascade: read this many passages first, and the rest of read_k only when the
    best span among them has hopeless <= p(answer) < confident (0: read all read_k at once).
    confident >= threshold > hopeless, so stopping early answers only what reading all would
    answer as well (rarely with another span), and abstains only when the first passages are
    far from an answer; it saves rounds of reading (chosen on trial, bench/calibrate_reader.py)."""
    confident: float = 1.0
    hopeless: float = 0.0
    second_threshold: float = 0.9
    """Another passage's span is cited too when its p(answer) reaches this."""
    cross_language: Calibration | None = None
    """The same, fitted on questions in another language than the documents (their margins
    are lower, and their answer is more often below the first passage); None: use this one."""

    def for_question(self, question_language: str, passage_language: str) -> Calibration:
        if question_language != passage_language and self.cross_language is not None:
            return self.cross_language
        return self

    def probability(self, answer_margin: float) -> float:
        z = self.scale * answer_margin + self.bias
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


@dataclass(frozen=True)
class SpanReading:
    """The reader's best span in one passage (character offsets in the passage text)."""

    start: int
    end: int
    margin: float
    """The span's score - the no-answer score (logits): it ranks the passages read."""
    answer_margin: float
    """Any span's score - the no-answer score (SpanScore.any_score): Calibration turns it into
    p(answer)."""


class PassageReader(Protocol):
    """Reads passages for one question: the best span of each (None: no span at all), taken
    only from the character ranges `allowed` gives per passage (None: anywhere)."""

    def read(
        self, question: str, passages: Sequence[str], allowed: Sequence[Sequence[tuple[int, int]]] | None = None,
    ) -> list[SpanReading | None]: ...


def load_calibration(weights_dir: Path = WEIGHTS_DIR) -> Calibration:
    path = weights_dir / CALIBRATION_FILE
    if not path.is_file():
        return Calibration()
    return _calibration(json.loads(path.read_text(encoding="utf-8")))


def _calibration(data: dict) -> Calibration:
    fields = {k: v for k, v in data.items() if k in Calibration.__dataclass_fields__}
    if isinstance(fields.get("cross_language"), dict):
        fields["cross_language"] = _calibration(fields["cross_language"])
    return Calibration(**fields)


def verified_weights(weights_dir: Path = WEIGHTS_DIR) -> tuple[Path, str]:
    """The weights file and its sha256, after checking it against reader.json."""
    weights = weights_dir / WEIGHTS_FILE
    try:
        expected = json.loads((weights_dir / INFO_FILE).read_text(encoding="utf-8"))["weights_sha256"]
        actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(f"cannot read the reader's weights in {weights_dir}: {error}") from None
    if actual != expected:
        raise ModelError(f"the reader's weights {weights} are damaged (sha256 {actual[:12]}, expected {expected[:12]}); reinstall them")
    return weights, actual


def export_reader(default_model_dir: Path, cache_dir: Path, weights_dir: Path = WEIGHTS_DIR, progress=None) -> Path:
    """The OpenVINO IR of the trained reader, exported on first use."""
    weights, sha = verified_weights(weights_dir)

    def write(work: Path) -> None:
        import openvino
        import torch

        from qa.reading.model import build_reader_module, load_trained_state

        with torch.no_grad():
            module = build_reader_module(default_model_dir).eval()
            load_trained_state(module, weights)
            example = (torch.tensor([[0, 6, 2, 2, 7, 2], [0, 6, 2, 2, 7, 1]]), torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]]))
            converted = openvino.convert_model(module, example_input=example)
        openvino.save_model(converted, str(work / IR_NAME))

    target = export_ir(cache_dir / "models" / f"citeqa-reader-{sha[:12]}-ov", write, "the reader", progress)
    for stale in target.parent.glob("citeqa-reader-*-ov"):
        if stale != target:  # the export of weights shipped before (~235 MB each)
            shutil.rmtree(stale, ignore_errors=True)
    return target


class OpenVINOSpanReader:
    """The trained reader on OpenVINO. The passages of a question are read one request each,
    unpadded, spread over parallel streams (index.openvino_model.parallel_streams), so that
    a core taken by another process slows one stream instead of every step of one batch.

    Loading runs on two background threads: the tokenizer's piece table (~0.1 s; the full
    tokenizer would take 0.9 s and the GIL, see subset_tokenizer.py) beside the compiled model
    and one warm-up request per stream (~0.6 s), so a one-shot `qa ask` opens the index and
    retrieves meanwhile; the first read waits for both, and a failed load is raised there, as
    ModelError."""

    def __init__(self, ir_dir: Path, default_model_dir: Path) -> None:
        self._ir_dir = ir_dir
        loading = ThreadPoolExecutor(max_workers=2, thread_name_prefix="citeqa-reader-load")
        self._tokenizer_loading = loading.submit(SubsetTokenizer, default_model_dir)
        self._queue_loading = loading.submit(_warm_queue, ir_dir, parallel_streams())
        loading.shutdown(wait=False)

    @cached_property
    def _loaded(self) -> tuple[Any, Any]:
        try:
            return self._tokenizer_loading.result(), self._queue_loading.result()
        except Exception as error:  # noqa: BLE001
            raise ModelError(f"cannot load the reader in {self._ir_dir}: {str(error).splitlines()[0] if str(error) else error!r}") from None

    def logits(self, pairs: list[PairEncoding]) -> list[np.ndarray]:
        """Per pair, [tokens, 2] start and end logits."""
        found: list[np.ndarray | None] = [None] * len(pairs)

        def done(request, row: int) -> None:
            found[row] = np.array(request.get_output_tensor(0).data[0], dtype=np.float32)

        _, queue = self._loaded
        queue.set_callback(done)
        # Longest first: the short ones then fill in on whichever stream frees up first.
        for row in sorted(range(len(pairs)), key=lambda r: -len(pairs[r].ids)):
            ids = np.asarray([pairs[row].ids], dtype=np.int64)
            queue.start_async([ids, np.ones_like(ids)], userdata=row)
        queue.wait_all()
        return found  # type: ignore[return-value]

    def read(
        self, question: str, passages: Sequence[str], allowed: Sequence[Sequence[tuple[int, int]]] | None = None,
    ) -> list[SpanReading | None]:
        if not passages:
            return []
        tokenizer, _ = self._loaded
        pairs = encode_pairs(tokenizer, [question] * len(passages), list(passages))
        logits = self.logits(pairs)
        ranges = allowed if allowed is not None else [None] * len(passages)
        spans = [
            best_span(pair, text, rows[:, 0], rows[:, 1], where)
            for pair, text, rows, where in zip(pairs, passages, logits, ranges)
        ]
        return [None if s is None else SpanReading(s.start, s.end, s.score - s.null_score, s.any_score - s.null_score) for s in spans]


def _warm_queue(ir_dir: Path, streams: int) -> Any:
    """The compiled reader's request queue, after one short request per stream: a stream's
    first request costs ~60 ms more than later ones (measured on the development machine)."""
    import openvino

    queue = openvino.AsyncInferQueue(compile_ir(ir_dir, streams=streams), streams)
    ids = np.zeros((1, 4), dtype=np.int64)
    for _ in range(streams):
        queue.start_async([ids, np.ones_like(ids)])
    queue.wait_all()
    return queue


def load_span_reader(default_model_dir: Path, cache_dir: Path, progress=None) -> OpenVINOSpanReader:
    if progress:
        progress("loading the reader", 0.0)
    ir_dir = export_reader(default_model_dir, cache_dir, progress=progress)
    return OpenVINOSpanReader(ir_dir, default_model_dir)
