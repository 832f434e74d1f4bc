"""The default model as an OpenVINO IR, exported once from the local sentence-transformers
directory: embeds passages 2.7x cheaper than sentence-transformers fp32 with the same vectors
(bench/embedding_speed.py: cosine >= 0.99999, same top-1 passage on 200 dev questions).

    <cache>/models/multilingual-e5-small-ov/   model.xml, model.bin (fp16 weights),
                                               tokenizer.json, config.json, COMPLETE

Exporting needs torch and transformers (already installed for sentence-transformers) and takes
~13 s; loading the IR afterwards needs neither.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from index.errors import ModelError

MARKER_FILE = "COMPLETE"
IR_NAME = "model.xml"


def openvino_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def export_ir(
    target: Path, write: Callable[[Path], None], what: str, progress: Callable[[str, float], None] | None = None
) -> Path:
    """Export a model to an OpenVINO IR in `target` once: `write(work_dir)` converts and saves
    it into a temporary sibling, renamed to `target` when complete (so an interrupted export
    leaves nothing half-written behind); every failure is a one-line ModelError."""
    if (target / MARKER_FILE).is_file():
        return target
    report = progress or (lambda _stage, _fraction: None)
    stage = f"exporting {what} to OpenVINO (first use only)"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as error:
        raise ModelError(f"cannot create the model directory {target}: {error}") from None
    try:
        report(stage, 0.0)
        for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                            ("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TOKENIZERS_PARALLELISM", "false")):
            os.environ.setdefault(name, value)
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        # Tracing warns about data-dependent branches of the attention mask; the exported
        # models were checked against torch on padded batches.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write(work)
        (work / MARKER_FILE).write_text("1\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.rename(work, target)
        report(stage, 1.0)
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure reaches the user as ModelError
        raise ModelError(f"cannot export {what} to OpenVINO: {str(error).splitlines()[0] if str(error) else error!r}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def compile_ir(ir_dir: Path, hint: str = "LATENCY", streams: int | None = None):
    """The IR in `ir_dir` compiled for the CPU. The compiled blob is cached beside it
    (OpenVINO's CACHE_DIR), so a new process loads it instead of compiling again. With
    `streams`, that many independent streams share the cores (see `parallel_streams`)."""
    import openvino

    config: dict = {"PERFORMANCE_HINT": hint, "CACHE_DIR": str(ir_dir / "compiled")}
    if streams:
        config.update({"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": usable_cores()})
    return openvino.Core().compile_model(str(ir_dir / IR_NAME), "CPU", config)


def usable_cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def parallel_streams() -> int:
    """Streams for latency under load: a request on one stream never waits for a thread on a
    busy core, which a single stream spread over all cores does (measured on 2 cores with one
    taken by another process: 3 passages 247 -> 149 ms, idle 152 -> 140 ms)."""
    return min(2, usable_cores())


def build_openvino_model(
    source: Path, target: Path, progress: Callable[[str, float], None] | None = None
) -> Path:
    """Export the sentence-transformers model in `source` to an OpenVINO IR in `target`."""

    def write(work: Path) -> None:
        import openvino
        import torch
        from transformers import AutoModel

        with torch.no_grad():
            model = AutoModel.from_pretrained(str(source)).eval()
            example = {
                "input_ids": torch.tensor([[0, 6, 2], [0, 6, 1]]),
                "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
            }
            converted = openvino.convert_model(model, example_input=example)
        openvino.save_model(converted, str(work / IR_NAME))  # weights compressed to fp16
        for name in ("tokenizer.json", "config.json"):
            shutil.copy2(source / name, work / name)

    return export_ir(target, write, "the model", progress)
