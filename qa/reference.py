"""The background corpus of the abstention signal: passages of broad topics (half of the
CMRC 2018 trial contexts, CC BY-SA 4.0; built by bench/make_reference_passages.py).

A question is answered from the user's documents only when their best passage beats what
this background offers by a calibrated margin; the margin, unlike a raw cosine, stays
comparable across question languages (see docs/calibration.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from index.encoders import Encoder, ProgressCallback

REFERENCE_TOP = 5
"""The baseline is the mean cosine of the question's top REFERENCE_TOP background passages."""


def reference_texts() -> list[str]:
    raw = resources.files("qa").joinpath("reference_passages.jsonl").read_text("utf-8")
    return [json.loads(line)["text"] for line in raw.splitlines() if line.strip()]


def reference_vectors(
    encoder: Encoder, cache_dir: Path, progress: ProgressCallback | None = None
) -> np.ndarray:
    """The background passages embedded by `encoder`, cached per model in `cache_dir`."""
    texts = reference_texts()
    key = hashlib.sha256("\n".join([encoder.model_id, *texts]).encode("utf-8")).hexdigest()[:24]
    path = cache_dir / "reference" / f"{key}.npy"
    if path.is_file():
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape == (len(texts), encoder.dimension):
                return vectors.astype(np.float32)
        except (OSError, ValueError):
            pass

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress("embedding the background passages (once per model)", fraction)

    vectors = encoder.encode_passages(texts, progress=report).astype(np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial.npy")
        np.save(partial, vectors, allow_pickle=False)
        os.replace(partial, path)
    except OSError:
        pass  # a read-only cache only costs time
    return vectors


def reference_baseline(reference: np.ndarray, query_vector: np.ndarray) -> float:
    """Mean cosine of the question with its closest background passages (0 without any)."""
    if len(reference) == 0:
        return 0.0
    scores = reference @ query_vector
    top = min(REFERENCE_TOP, len(scores))
    return float(np.partition(scores, -top)[-top:].mean())
