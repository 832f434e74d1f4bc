"""`qa serve` under load: throughput and latency with 1 and 2 worker processes, 8 concurrent
clients, over the FAISS directory store and the PostgreSQL store, on loopback.

    .venv/bin/python bench/serve_load.py                       # ~5 minutes on 2 cores
    .venv/bin/python bench/serve_load.py --requests 80 --clients 8 --workers 1,2

The questions are the seed gold set's (seeds/*.gold.jsonl: Chinese, English, unanswerable),
asked round-robin; each client sends its next request when the previous one is answered
(closed loop), so throughput is what the server sustains with 8 requests in flight. Every
configuration serves the seed article, indexed once per store (the PostgreSQL server is the
pgserver wheel's, in a temporary directory). Latency is measured at the client: request sent
to JSON parsed. Prints a Markdown table and writes bench/results/serve-load.json.
Uses the user's model cache ($QA_CACHE_DIR); run any `qa` command once before, so that the
model is converted and the reader exported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).parent / "qa")
SEED_GOLD = REPO / "seeds" / "xiaomi-lei-jun-traffic-carmaking.gold.jsonl"
SEED_ARTICLE = REPO / "seeds" / "xiaomi-lei-jun-traffic-carmaking.txt"
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict, timeout: float = 120) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_healthy(base: str, process: subprocess.Popen) -> float:
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(f"qa serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if json.loads(response.read()).get("status") == "ok":
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError("qa serve did not become healthy")


def load(base: str, questions: list[str], requests: int, clients: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def client() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            try:
                answer = post(base + "/ask", {"question": questions[n % len(questions)]})
                assert "answer" in answer
            except Exception as error:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests,
        "answered": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(seconds, 2),
        "throughput_per_s": round(len(latencies) / seconds, 2),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1) if latencies else None,
    }


def serve(env: dict, store_args: list[str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [QA, "serve", "--port", str(port), "--workers", str(workers), *store_args],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--stores", default="faiss,postgresql")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in SEED_GOLD.read_text("utf-8").splitlines() if line.strip()]
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "clients": args.clients,
        "requests": args.requests,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="citeqa-serve-load-") as scratch:
        env = {**os.environ, "QA_DATA_DIR": str(Path(scratch) / "data"), "QA_INDEX_DIR": str(Path(scratch) / "index")}
        env.pop("QA_STORE", None)
        server = None
        for store in args.stores.split(","):
            store_args: list[str] = []
            if store == "postgresql":
                import pgserver

                server = pgserver.get_server(Path(scratch) / "pg", cleanup_mode="stop")
                store_args = ["--store", server.get_uri()]
            subprocess.run([QA, "index", *store_args, str(SEED_ARTICLE)], env=env, cwd=REPO, check=True, capture_output=True)
            for workers in [int(w) for w in args.workers.split(",")]:
                process, base = serve(env, store_args, workers)
                try:
                    startup = wait_healthy(base, process)
                    post(base + "/ask", {"question": questions[0]})  # warm each worker's first request
                    run = {"store": store, "workers": workers, "startup_s": round(startup, 1),
                           **load(base, questions, args.requests, args.clients)}
                finally:
                    stop(process)
                results["runs"].append(run)
                print(json.dumps(run, ensure_ascii=False), flush=True)
        if server is not None:
            server.cleanup()
    out = REPO / "bench" / "results" / "serve-load.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\n{args.clients} concurrent clients, {args.requests} requests, loopback\n")
    print("| store | workers | answers/s | p50 ms | p95 ms | errors | start-up s |")
    print("|---|---|---|---|---|---|---|")
    for r in results["runs"]:
        print(f"| {r['store']} | {r['workers']} | {r['throughput_per_s']} | {r['p50_ms']} | {r['p95_ms']} | {r['errors']} | {r['startup_s']} |")


if __name__ == "__main__":
    main()
