"""Speed of the spine on this machine: answer latency, CLI start-up, index throughput.

    .venv/bin/python bench/latency.py            # prints a table, writes bench/results/latency.json

Uses throw-away index directories and the user's model cache ($QA_CACHE_DIR), which must
already hold the converted model for 'warm' numbers (any earlier `bin/qa` run does that).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import load_contexts, load_questions  # noqa: E402

from index.encoders import DEFAULT_MODEL_ID, load_encoder  # noqa: E402
from index.build import build_index  # noqa: E402
from index.store import read_manifest  # noqa: E402
from qa.factory import open_answerer  # noqa: E402
from qa.reference import reference_vectors  # noqa: E402
from qa.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).parent / "qa")
# Questions about the seed article, plus CMRC trial questions it cannot answer.
SEED_QUESTIONS = [
    "文章的作者是谁？", "年度交付目标提高到了多少？", "北京工厂的月产能是多少？", "第二工厂什么时候投产？",
    "用户共创生态系统是什么？", "小米的供应链有哪些应对措施？", "百度搜索指数增长了多少？",
    "What is the price of the SU7 Ultra?", "How long did development take?", "Who wrote the article?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def wall_times(command: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def peak_rss_mb(command: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of one run of `command` (GNU time's maximum RSS)."""
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], env=env, cwd=REPO, check=True,
                          capture_output=True, text=True)
    return round(int(done.stderr.strip().splitlines()[-1]) / 1024, 1)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main() -> None:
    results: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings.from_env(index_dir=Path(scratch) / "index")
        env = {**os.environ, "QA_INDEX_DIR": str(settings.index_dir), "QA_CACHE_DIR": str(settings.cache_dir)}

        # Indexed in its own process, as a user does: an encoder loaded for indexing in this
        # process keeps OpenVINO's throughput threads, which would slow the answers below.
        started = time.perf_counter()
        subprocess.run([QA, "index", "seeds"], env=env, cwd=REPO, check=True, capture_output=True)
        results["seed_index_build_s"] = round(time.perf_counter() - started, 2)
        results["seed_passages"] = read_manifest(settings.index_dir).passage_count

        answerer = open_answerer(settings)
        questions = SEED_QUESTIONS + [q.question for q in load_questions("trial", limit=90)]
        for question in questions[:5]:
            answerer.ask(question)  # warm-up
        latencies = [answerer.ask(q).timings_ms["total"] for q in questions]
        results["answer_ms_p50"] = round(statistics.median(latencies), 1)
        results["answer_ms_p95"] = round(percentile(latencies, 95), 1)
        results["answer_questions"] = len(latencies)

        # The same with one of the cores taken by another process (a busy laptop).
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)
            busy_latencies = [answerer.ask(q).timings_ms["total"] for q in questions]
            busy_asks = wall_times([QA, "ask", "北京工厂的月产能是多少？"], 3, env)
        finally:
            busy.kill()
            busy.wait()
        results["busy_core_answer_ms_p50"] = round(statistics.median(busy_latencies), 1)
        results["busy_core_answer_ms_p95"] = round(percentile(busy_latencies, 95), 1)
        results["busy_core_ask_s_median"] = round(statistics.median(busy_asks), 3)

        help_times = wall_times([QA, "--help"], 7, env)
        results["help_s_median"] = round(statistics.median(help_times), 3)
        ask_times = wall_times([QA, "ask", "北京工厂的月产能是多少？"], 5, env)
        results["ask_s_median"] = round(statistics.median(ask_times), 3)
        results["ask_s_max"] = round(max(ask_times), 3)
        results["ask_peak_rss_mb"] = peak_rss_mb([QA, "ask", "北京工厂的月产能是多少？"], env)
        results["reindex_unchanged_peak_rss_mb"] = peak_rss_mb([QA, "index", "seeds"], env)
        fresh_env = {**env, "QA_INDEX_DIR": str(Path(scratch) / "fresh-index")}
        results["index_build_peak_rss_mb"] = peak_rss_mb([QA, "index", "seeds"], fresh_env)

        # Embedding throughput of the index build (the `auto` engine: OpenVINO when installed).
        encoder = load_encoder(DEFAULT_MODEL_ID, "auto", settings.cache_dir, for_queries=False)
        documents = load_contexts("trial")[:60]
        started = time.perf_counter()
        index = build_index(documents, encoder, reference_vectors=reference_vectors(encoder, settings.cache_dir))
        seconds = time.perf_counter() - started
        texts = index.manifest.passage_count + index.manifest.sentence_count
        results["throughput_corpus"] = f"{len(documents)} CMRC trial contexts"
        results["throughput_passages"] = index.manifest.passage_count
        results["throughput_sentences"] = index.manifest.sentence_count
        results["throughput_texts_per_s"] = round(texts / seconds, 1)
        results["throughput_passages_per_s"] = round(index.manifest.passage_count / seconds, 1)
        # The encoder alone on the same texts, best of 3: passages, then sentences.
        for kind, texts_of_kind in (("passages", [p.text for p in index.passages]), ("sentences", [s.text for s in index.sentences])):
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                encoder.encode_passages(texts_of_kind)
                runs.append(time.perf_counter() - started)
            results[f"encoder_{kind}_per_s"] = round(len(texts_of_kind) / min(runs), 1)
        results["encoder_passage_chars_mean"] = round(sum(len(p.text) for p in index.passages) / len(index.passages))

    print(f"machine: {results['machine']}")
    rows = [
        ("answer latency in process, p50 / p95", f"{results['answer_ms_p50']} / {results['answer_ms_p95']} ms", "p50 <= 150, p95 <= 300 ms"),
        ("the same with one core busy, p50 / p95", f"{results['busy_core_answer_ms_p50']} / {results['busy_core_answer_ms_p95']} ms", "p50 within 2x of idle"),
        ("one-shot `qa ask` with one core busy (median of 3)", f"{results['busy_core_ask_s_median']} s", ""),
        ("`qa --help` wall time (median of 7)", f"{results['help_s_median']} s", "<= 0.3 s"),
        ("one-shot `qa ask`, caches warm (median / max of 5)", f"{results['ask_s_median']} / {results['ask_s_max']} s", "<= 1.5 s"),
        ("peak memory: one-shot `qa ask` / unchanged re-index / fresh seed build",
         f"{results['ask_peak_rss_mb']:.0f} / {results['reindex_unchanged_peak_rss_mb']:.0f} / "
         f"{results['index_build_peak_rss_mb']:.0f} MB", ""),
        ("seed index build, one `qa index seeds` process", f"{results['seed_index_build_s']} s ({results['seed_passages']} passages)", ""),
        ("index embedding throughput", f"{results['throughput_passages_per_s']} passages/s "
         f"({results['throughput_texts_per_s']} texts/s incl. sentences)", ""),
        ("encoder alone, same texts (best of 3): passages / sentences",
         f"{results['encoder_passages_per_s']} / {results['encoder_sentences_per_s']} a second "
         f"(passages of {results['encoder_passage_chars_mean']} characters on average)", ">= 30 passages/s"),
    ]
    print("| measure | result | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    out = REPO / "bench" / "results" / "latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
