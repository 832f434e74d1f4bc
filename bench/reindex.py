"""Incremental re-indexing on the CMRC 2018 dev corpus (848 contexts): how long `qa index`
takes when nothing changed and when one document is added, against a full build.

    .venv/bin/python bench/reindex.py [--full]

Uses the cached dev index of bench/cmrc_eval.py as the previous index (building it once takes
~15 minutes here). Without --full the full-build time is the one recorded in that index's
manifest; --full rebuilds everything now. Each step runs the same code as `qa index`
(build_index_incrementally with the lazy encoder, then save_index into a scratch directory).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import load_contexts, open_corpus_index  # noqa: E402

from index.build import build_index_incrementally  # noqa: E402
from index.encoders import DEFAULT_MODEL_ID, load_encoder  # noqa: E402
from index.store import save_index  # noqa: E402
from qa.settings import Settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also time a full build now")
    args = parser.parse_args()
    settings = Settings.from_env()
    documents = load_contexts("dev")
    open_corpus_index("dev", documents, DEFAULT_MODEL_ID, settings.cache_dir)  # builds it if missing
    started = time.perf_counter()
    previous = open_corpus_index("dev", documents, DEFAULT_MODEL_ID, settings.cache_dir)
    load_seconds = time.perf_counter() - started  # `qa index` loads the previous index too
    scratch = Path(tempfile.mkdtemp(prefix="reindex-"))
    rows = {}

    def step(name: str, docs, prior) -> None:
        encoder = load_encoder(DEFAULT_MODEL_ID, "auto", settings.cache_dir, for_queries=False, lazy=True)
        started = time.perf_counter()
        index, changes = build_index_incrementally(
            docs, encoder, reference_vectors=previous.reference_vectors, previous=prior
        )
        save_index(index, scratch / name)
        seconds = time.perf_counter() - started + (load_seconds if prior is not None else 0.0)
        rows[name] = {
            "seconds": round(seconds, 2), "embedded_texts": changes.embedded_texts,
            "added": changes.added, "unchanged": changes.unchanged, "model_loaded": encoder.loaded,
            "peak_rss_mb_so_far": round(peak_rss_mb()),
        }

    step("unchanged", documents, previous)
    extra = load_contexts("trial")[0]
    step("one document added", documents + [extra], previous)
    full_seconds = previous.manifest.build_seconds
    if args.full:
        step("full", documents, None)
        full_seconds = rows["full"]["seconds"]
    print(f"CMRC dev corpus: {len(documents)} documents, {previous.manifest.passage_count} passages, "
          f"{previous.manifest.sentence_count} sentences\n")
    print("| re-index | seconds | share of a full build | texts embedded | model loaded |\n|---|---|---|---|---|")
    print(f"| full build{'' if args.full else ' (recorded in the cached index)'} | {full_seconds:.0f} | 100% | "
          f"{previous.manifest.passage_count + previous.manifest.sentence_count} | yes |")
    for name, row in rows.items():
        if name != "full":
            print(f"| {name} | {row['seconds']:.2f} | {100 * row['seconds'] / full_seconds:.2f}% | "
                  f"{row['embedded_texts']} | {'yes' if row['model_loaded'] else 'no'} |")
    print(f"\n(re-index times include {load_seconds:.2f} s to load the previous index)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reindex.json").write_text(json.dumps(
        {"documents": len(documents), "full_build_seconds": full_seconds, "full_measured_now": args.full,
         "steps": rows}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
