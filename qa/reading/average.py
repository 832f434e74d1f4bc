"""Average trained readers' weights (a "model soup"): python -m qa.reading.average --help.

Readers fine-tuned from the same default model on overlapping data sit close together in weight
space, and their element-wise mean is often better than either (Wortsman et al. 2022, "Model
soups"). This writes the mean of two or more reader.safetensors, weighted by --weights, with a
reader.json that names its parts and holds its own trial metrics (gold passage, as after
training). Nothing is trained.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def average_states(states: list[dict], weights: list[float]) -> dict:
    """The weighted element-wise mean of state dicts with the same names and shapes, fp16."""
    names = set(states[0])
    for state in states[1:]:
        if set(state) != names:
            raise ValueError("the readers do not have the same tensors")
    total = sum(weights)
    return {
        name: sum(w / total * state[name].float() for state, w in zip(states, weights)).half().contiguous()
        for name in sorted(names)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="average-readers", description=__doc__.split("\n\n")[0])
    parser.add_argument("readers", nargs="+", type=Path, help="reader.safetensors files")
    parser.add_argument("--weights", type=float, nargs="+", default=None, help="one per reader (default: equal)")
    parser.add_argument("--out", type=Path, required=True, help="folder for reader.safetensors and reader.json")
    parser.add_argument("--model-dir", type=Path, default=None, help="the default model directory (default: the cache's)")
    parser.add_argument("--trial-limit", type=int, default=None, help="evaluate on the first N trial examples only")
    args = parser.parse_args(argv)
    weights = args.weights or [1.0] * len(args.readers)
    if len(args.readers) < 2 or len(weights) != len(args.readers) or min(weights) < 0 or sum(weights) <= 0:
        parser.error("give two or more readers and one non-negative weight per reader")

    import torch
    from safetensors.torch import load_file, save_file

    from index.encoders import default_model_dir
    from qa.reading.model import build_reader_module, load_trained_state
    from qa.reading.spans import load_tokenizer
    from qa.reading.train import _lineage, cpu_has_bf16, trial_metrics, write_info
    from qa.settings import Settings

    try:
        states = [load_file(str(path)) for path in args.readers]
        soup = average_states(states, weights)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "reader.safetensors"
    tmp = target.with_suffix(".tmp")
    save_file(soup, str(tmp))
    os.replace(tmp, target)

    torch.set_num_threads(os.cpu_count() or 1)
    model_dir = args.model_dir or default_model_dir(Settings.from_env().cache_dir)
    module = build_reader_module(model_dir)
    load_trained_state(module, target)
    bf16 = cpu_has_bf16()
    print("evaluating on trial ...", file=sys.stderr)
    metrics = trial_metrics(module, load_tokenizer(model_dir), bf16, args.trial_limit)
    write_info(args.out, {
        "averaged_from": [{"weight": w, **_lineage(path)} for path, w in zip(args.readers, weights)],
        "trial": metrics,
        "bf16_autocast": bf16,
        "command": " ".join(["python -m qa.reading.average", *(sys.argv[1:] if argv is None else argv)]),
    })
    print(json.dumps(metrics, ensure_ascii=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
