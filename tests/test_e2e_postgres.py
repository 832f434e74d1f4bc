"""End to end on the real default model and a real PostgreSQL: `qa index --store`, `qa ask
--store` and `qa serve --store` answer the seed questions as the FAISS directory does. Slow
tier (`-m model`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO, SEED_ARTICLE

pytestmark = pytest.mark.model
pytest.importorskip("pgserver")

QUESTIONS = ["SU7 Ultra的定价是多少？", "What is the price of the SU7 Ultra?", "珠穆朗玛峰的海拔有多高？"]


def _qa(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "citeqa", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _comparable(answer: dict) -> dict:
    """An answer without what differs by store: timings, the store's own passage ids, and
    float32 rounding in the last digits of cosines (summed in another order)."""
    def same(row: dict) -> dict:
        return {k: v for k, v in row.items() if k not in ("passage_id", "score")}

    answer = {k: v for k, v in answer.items() if k != "timings_ms"}
    answer["citations"] = [same(c) for c in answer["citations"]]
    answer["passages"] = [same(p) for p in answer["passages"]]
    return answer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_index_ask_and_serve_on_postgresql(model_cache_dir, postgres_url, tmp_path):
    env = {**os.environ, "QA_CACHE_DIR": str(model_cache_dir), "QA_DATA_DIR": str(tmp_path / "data"),
           "QA_INDEX_DIR": str(tmp_path / "index")}
    indexed = _qa("index", "--store", postgres_url, str(SEED_ARTICLE), env=env)
    assert indexed.returncode == 0, indexed.stderr
    assert "pgvector-hnsw vector index" in indexed.stderr
    assert _qa("index", str(SEED_ARTICLE), env=env).returncode == 0  # the same documents in a directory

    sources = json.loads(_qa("sources", "--json", "--store", postgres_url, env=env).stdout)
    assert [s["documents"] for s in sources] == [1]
    for question in QUESTIONS:
        from_postgres = _qa("ask", "--json", "--no-log", "--store", postgres_url, question, env=env)
        from_directory = _qa("ask", "--json", "--no-log", question, env=env)
        assert from_postgres.returncode == 0, from_postgres.stderr
        pg_answer, directory_answer = json.loads(from_postgres.stdout), json.loads(from_directory.stdout)
        assert _comparable(pg_answer) == _comparable(directory_answer), question
        assert [p["score"] for p in pg_answer["passages"]] == pytest.approx([p["score"] for p in directory_answer["passages"]], abs=1e-5)

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "citeqa", "serve", "--port", str(port), "--store", postgres_url],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as response:
                    if json.loads(response.read())["status"] == "ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "qa serve did not become healthy"
            time.sleep(0.5)
        request = urllib.request.Request(
            base + "/ask", json.dumps({"question": QUESTIONS[0]}).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            served = json.loads(response.read())
        direct = json.loads(_qa("ask", "--json", "--no-log", "--store", postgres_url, QUESTIONS[0], env=env).stdout)
        assert _comparable(served) == _comparable(direct)
        assert "52.99万" in served["answer"]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
