"""Probe: what if sentence vectors came from the passage pass ("late chunking") instead of a
pass of their own? Measures answer quality only; the app does not do this (yet).

    .venv/bin/python bench/late_chunking_probe.py [--split dev]

Takes the cached CMRC index of bench/cmrc_eval.py (built on first use), embeds each passage
once with the OpenVINO model, mean-pools the token states of each of its sentences (the first
passage holding a sentence gives its vector), writes a copy of the index with those sentence
vectors to bench/.cache/late-chunking/, evaluates it as bench/cmrc_eval.py does and prints
both reports side by side. Writes bench/results/late-chunking-<split>.json.

A build would then skip the sentence pass: about half of the embedding time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmrc  # noqa: E402
from cmrc import load_contexts, load_questions, open_corpus_index, query_encoder  # noqa: E402
from make_reference_passages import background_context_ids  # noqa: E402

from index.ann import save_exact_vectors  # noqa: E402
from index.encoders import DEFAULT_MODEL_ID, load_encoder  # noqa: E402
from index.store import PassageIndex, load_index  # noqa: E402
from qa.answerer import Answerer  # noqa: E402
from qa.reading.heuristic import HeuristicReader  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.evaluate import evaluate  # noqa: E402
from qa.gold import GoldQuestion  # noqa: E402
from qa.settings import Settings  # noqa: E402

PREFIX = "passage: "
METRICS = ("recall_at_5", "hit", "em", "f1", "citation_support", "wrong_abstention_rate", "median_answer_chars")


def late_chunked_sentence_vectors(index: PassageIndex, model_dir: Path) -> np.ndarray:
    """[sentence_count, d]: each sentence's token states, mean-pooled within its first passage."""
    import openvino
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(512)
    request = openvino.Core().compile_model(str(model_dir / "model.xml"), "CPU").create_infer_request()
    vectors = np.asarray(index.sentence_vectors, dtype=np.float32).copy()
    pooled = np.zeros(len(vectors), dtype=bool)
    for passage in index.passages:
        encoding = tokenizer.encode(PREFIX + passage.text)
        ids = np.array([encoding.ids], dtype=np.int64)
        hidden = request.infer({"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        for sentence_id in passage.sentence_ids:
            if pooled[sentence_id]:
                continue
            sentence = index.sentences[sentence_id]
            start = len(PREFIX) + sentence.start - passage.start
            end = len(PREFIX) + sentence.end - passage.start
            rows = [i for i, (a, b) in enumerate(encoding.offsets) if b > a and a < end and b > start]
            if rows:
                vector = hidden[rows].mean(axis=0)
                vectors[sentence_id] = vector / np.linalg.norm(vector)
                pooled[sentence_id] = True
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "trial"), default="dev")
    args = parser.parse_args()
    settings = Settings.from_env()
    documents = load_contexts(args.split)
    name = args.split
    if args.split == "trial":  # as bench/cmrc_eval.py: the other half is the background
        background = background_context_ids()
        documents = [d for d in documents if d.id not in background]
        name = "trial-calibration"
    open_corpus_index(name, documents, DEFAULT_MODEL_ID, settings.cache_dir)
    source = cmrc.CACHE / f"{name}-{DEFAULT_MODEL_ID.replace('/', '--')}"
    target = cmrc.CACHE / "late-chunking" / source.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    index = load_index(target)
    encoder = load_encoder(DEFAULT_MODEL_ID, "openvino", settings.cache_dir, for_queries=False)  # exports the IR once
    del encoder
    started = time.perf_counter()
    vectors = late_chunked_sentence_vectors(index, settings.cache_dir / "models" / "multilingual-e5-small-ov")
    seconds = time.perf_counter() - started
    own = np.asarray(index.sentence_vectors, dtype=np.float32)
    agreement = (vectors * own).sum(axis=1)
    snapshot = next(p for p in target.iterdir() if p.name.startswith("snapshot-"))
    save_exact_vectors(snapshot / "sentence_vectors.npy", vectors)

    context_ids = {d.id for d in documents}
    gold = [
        GoldQuestion(q.id, q.question, q.answers, (), True, "cmrc", q.context_id)
        for q in load_questions(args.split)
        if q.context_id in context_ids
    ]
    reports = {}
    for label, directory in (("own pass", source), ("late chunking", target)):
        loaded = load_index(directory)
        answerer = Answerer(loaded, Retriever(loaded, query_encoder(DEFAULT_MODEL_ID, settings.cache_dir)), HeuristicReader(loaded))
        report = evaluate(answerer, gold, {d.id: d for d in documents}, top_k=5).to_json()
        reports[label] = {k: report["overall"][k] for k in METRICS}
    print(f"{len(index.passages)} passages embedded once in {seconds:.0f} s; cosine of late-chunked "
          f"to own sentence vectors: mean {agreement.mean():.4f}, min {agreement.min():.4f}")
    print("| metric | own pass | late chunking |\n|---|---|---|")
    for metric in METRICS:
        print(f"| {metric} | {reports['own pass'][metric]:.4f} | {reports['late chunking'][metric]:.4f} |")
    out = Path(__file__).resolve().parent / "results" / f"late-chunking-{args.split}.json"
    out.write_text(json.dumps({
        "split": args.split, "questions": len(gold), "pooling_seconds": round(seconds, 1),
        "cosine_mean": float(agreement.mean()), "cosine_min": float(agreement.min()), "reports": reports,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
