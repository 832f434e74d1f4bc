"""How fast can index building embed passages on this machine, and at what cost in quality?

    .venv/bin/python bench/embedding_speed.py                  # ~300 passages, all variants
    .venv/bin/python bench/embedding_speed.py --passages 100 --variants st-fp32,ort-int8

Embeds the same CMRC 2018 passages (the first dev contexts, split by `index.passages`) with
each variant in a subprocess of its own, so that memory, threads and imports do not leak, and
compares its vectors with sentence-transformers fp32 as the project loads it: cosine per text,
and retrieval of dev questions on those contexts (top-1 passage the same as fp32's, Recall@5
of the gold context) plus top-1 agreement on CMRC trial questions, whose contexts are not in
the set (near ties, the hard case). Prints a Markdown table and writes
bench/results/embedding-speed.json.

ONNX and OpenVINO variants run a model exported from the local sentence-transformers
directory into bench/.cache/embedding-speed/ (once; the export is timed and reported). They
need `onnxruntime` and `onnx` (and `openvino`) from PyPI; variants whose packages are missing
fail with the import error in their row. The variants and the subprocess that runs one are in
bench/embedding_variants.py. Uses the converted default model in $QA_CACHE_DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embedding_variants import BASELINE, BATCH, DATA, EXPORT_DIR, REPO, VARIANTS  # noqa: E402

RESULTS = REPO / "bench" / "results" / "embedding-speed.json"
WORKER = Path(__file__).resolve().parent / "embedding_variants.py"


# ---------------------------------------------------------------- data (main process)

def load_texts(n_passages: int, n_questions: int) -> dict:
    """Passages of the first dev contexts, the dev questions on them, and trial questions."""
    import hashlib

    from index.documents import Document
    from index.passages import split_document

    passages, sentences, doc_of = [], [], []
    for line in (DATA / "contexts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row["context"]
        doc = Document(row["context_id"], text, hashlib.sha256(text.encode()).hexdigest(), Path(row["context_id"]), "utf-8")
        doc_sentences, doc_passages = split_document(doc)
        passages += [p.text for p in doc_passages]
        sentences += [s.text for s in doc_sentences]
        doc_of += [doc.id] * len(doc_passages)
        if len(passages) >= n_passages:
            break
    passages, doc_of = passages[:n_passages], doc_of[:n_passages]
    documents = set(doc_of)
    dev = [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    dev = [q for q in dev if q["context_id"] in documents][:n_questions]
    trial = [json.loads(line) for line in (DATA / "trial" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return {
        "passages": passages, "passage_docs": doc_of, "sentences": sentences, "documents": len(documents),
        "dev_questions": [q["question"] for q in dev], "dev_gold": [q["context_id"] for q in dev],
        "trial_questions": [q["question"] for q in trial[:n_questions]],
    }


# ---------------------------------------------------------------- comparison (main process)

def unit_rows(path: Path) -> np.ndarray:
    """Rows as saved, renormalised in float32 (a bf16 model's 'unit' rows are not quite)."""
    rows = np.load(path).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def compare(base: Path, other: Path, data: dict) -> dict:
    p0, p1 = unit_rows(base / "passages.npy"), unit_rows(other / "passages.npy")
    cosines = (p0 * p1).sum(1)
    result = {"cos_mean": float(cosines.mean()), "cos_min": float(cosines.min()),
              "norm_max_error": float(np.abs(np.linalg.norm(np.load(other / "passages.npy"), axis=1) - 1).max())}
    docs = np.array(data["passage_docs"])
    q0, q1 = unit_rows(base / "dev_questions.npy"), unit_rows(other / "dev_questions.npy")
    top0, top1 = (q0 @ p0.T).argmax(1), (q1 @ p1.T).argmax(1)
    result["dev_top1_agree"] = float((top0 == top1).mean())
    top5 = np.argsort(-(q1 @ p1.T), axis=1)[:, :5]
    result["dev_recall@5"] = float(np.mean([gold in set(docs[row]) for gold, row in zip(data["dev_gold"], top5)]))
    result["dev_recall@1"] = float(np.mean(docs[top1] == np.array(data["dev_gold"])))
    t0, t1 = unit_rows(base / "trial_questions.npy"), unit_rows(other / "trial_questions.npy")
    result["trial_top1_agree"] = float(((t0 @ p0.T).argmax(1) == (t1 @ p1.T).argmax(1)).mean())
    result["query_cos_min"] = float(min((q0 * q1).sum(1).min(), (t0 * t1).sum(1).min()))
    return result


def float16_storage(base: Path, data: dict) -> dict:
    """What storing the fp32 vectors as float16 would change: cosines and rankings."""
    p = np.load(base / "passages.npy")
    q = np.concatenate([np.load(base / "dev_questions.npy"), np.load(base / "trial_questions.npy")])
    half = p.astype(np.float16).astype(np.float32)
    exact, stored = q @ p.T, q @ half.T
    both = q.astype(np.float16).astype(np.float32) @ half.T
    return {
        "max_abs_cos_diff_passages_fp16": float(np.abs(exact - stored).max()),
        "max_abs_cos_diff_both_fp16": float(np.abs(exact - both).max()),
        "self_cos_min": float((p * half).sum(1).min()),
        "top1_agree": float((exact.argmax(1) == stored.argmax(1)).mean()),
    }


def spawn(args: list[str], label: str) -> dict:
    started = time.perf_counter()
    load = os.getloadavg()[0]
    process = subprocess.run([sys.executable, str(WORKER), *args], capture_output=True, text=True, cwd=REPO)
    if process.returncode != 0:
        tail = (process.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {label}: failed: {tail}", file=sys.stderr)
        return {"error": tail}
    report = json.loads((Path(args[-1]) / "report.json").read_text())
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["loadavg_before"] = round(load, 2)
    return report


def table(rows: list[dict], with_sentences: bool) -> str:
    head = ["variant", "passages/s", "CPU ms/passage", "load + 1st batch s", "peak RSS MB", "cos mean / min",
            "top-1 = fp32 (dev / trial)", "R@1 / R@5 (dev)"] + (["sentences/s"] if with_sentences else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['name']} | failed: {row['error'][:80]} |" + " |" * (len(head) - 2))
            continue
        cells = [row["name"], f"{row['passages_per_s']:.1f}", f"{1000 * row['cpu_s_per_passage']:.0f}",
                 f"{row['load_s'] + row['warmup_s']:.1f}", str(row["peak_rss_mb"]), f"{row['cos_mean']:.5f} / {row['cos_min']:.5f}",
                 f"{row['dev_top1_agree']:.3f} / {row['trial_top1_agree']:.3f}",
                 f"{row['dev_recall@1']:.3f} / {row['dev_recall@5']:.3f}"]
        if with_sentences:
            cells.append(f"{row['sentences_per_s']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=300, help="passages to embed (default 300)")
    parser.add_argument("--questions", type=int, default=200, help="dev and trial questions each (default 200)")
    parser.add_argument("--variants", default=",".join(v.name for v in VARIANTS),
                        help=f"comma-separated, from: {', '.join(v.name for v in VARIANTS)}")
    parser.add_argument("--sentences", action="store_true",
                        help="also embed the documents' sentences (what a build embeds besides passages)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="embed the passages this many times per variant and keep the fastest (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    parser.add_argument("--re-export", action="store_true", help="export the ONNX models again")
    args = parser.parse_args()
    from index.encoders import default_model_dir

    cache = Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "citeqa")
    model_dir = default_model_dir(cache)
    if not (model_dir / "model.safetensors").exists():
        sys.exit(f"no converted model in {model_dir}: run `bin/qa ask 测试` (with this QA_CACHE_DIR) first")
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = set(names) - {v.name for v in VARIANTS}
    if unknown:
        sys.exit(f"unknown variants: {', '.join(sorted(unknown))}")
    names = [BASELINE] + [n for n in names if n != BASELINE]
    data = load_texts(args.passages, args.questions)
    print(f"{len(data['passages'])} passages from {data['documents']} CMRC dev contexts "
          f"({np.mean([len(p) for p in data['passages']]):.0f} chars on average), "
          f"{len(data['sentences'])} sentences, {len(data['dev_questions'])} dev + "
          f"{len(data['trial_questions'])} trial questions", file=sys.stderr)
    results: dict = {"machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
                     "date": time.strftime("%Y-%m-%d %H:%M"), "passages": len(data["passages"]),
                     "sentences": len(data["sentences"]), "documents": data["documents"],
                     "dev_questions": len(data["dev_questions"]), "trial_questions": len(data["trial_questions"]),
                     "batch_size": BATCH, "repeat": args.repeat,
                     "model_dir": str(model_dir)}
    spec = json.dumps({"model_dir": str(model_dir)})
    with tempfile.TemporaryDirectory(prefix="embedding-speed-") as tmp:
        work = Path(tmp)
        files = {v.model_file for v in VARIANTS if v.name in names and v.model_file}
        needs_export = bool(files)
        if needs_export and (args.re_export or not all((EXPORT_DIR / f).exists() for f in files)):
            print("exporting ONNX models ...", file=sys.stderr)
            (work / "export").mkdir()
            results["export"] = spawn(["--export", spec, "-", str(work / "export")], "export")
        elif needs_export:
            results["export"] = "reused " + str(EXPORT_DIR)
        data_file = work / "data.json"
        data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        rows = []
        for name in names:
            variant = next(v for v in VARIANTS if v.name == name)
            out = work / name
            out.mkdir()
            print(f"{name} ...", file=sys.stderr)
            options = json.dumps({"model_dir": str(model_dir), "variant": name, "with_sentences": args.sentences,
                                  "repeat": args.repeat})
            report = spawn(["--variant", options, str(data_file), str(out)], name)
            if "error" not in report:
                report.update(compare(work / BASELINE, out, data))
            rows.append({"name": name, "label": variant.label, **asdict(variant), **report})
        if (work / BASELINE / "passages.npy").exists():
            results["float16_storage"] = float16_storage(work / BASELINE, data)
    results["variants"] = rows
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(table(rows, args.sentences))
    if "float16_storage" in results:
        print("\nfloat16 storage of the fp32 vectors:", json.dumps(results["float16_storage"]))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
