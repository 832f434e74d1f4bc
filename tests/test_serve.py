"""`qa serve`: the HTTP API over a real answerer (the fake encoder and the heuristic reader,
built by the factory once per test), through FastAPI's TestClient; and, on the real model,
the command itself in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citeqa.serve import MAX_QUESTION_CHARS, create_app
from conftest import REPO, SEED_DIR

DOC = (
    "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产，月产能预计突破3.7万辆。\n"
    "一季度累计订单已达12万辆。\n"
    "The second factory opens in April."
)
TOKEN = "s3cret-token"


@pytest.fixture
def settings(tmp_path: Path, fake_encoder):
    from citeqa.common import settings_from
    from qa.factory import index_documents

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "factory.txt").write_text(DOC, encoding="utf-8")
    settings = settings_from()
    index_documents(settings, [folder])
    return settings


@pytest.fixture
def answerer(settings):
    from qa.factory import open_answerer

    return open_answerer(settings)


def serving(app) -> TestClient:
    client = TestClient(app)
    client.__enter__()  # runs the lifespan: loading starts
    deadline = time.monotonic() + 30
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, client.get("/health").json()
        time.sleep(0.01)
    return client


@pytest.fixture
def client(settings, answerer):
    from qa.factory import read_index_manifest

    client = serving(create_app(lambda: answerer, lambda: read_index_manifest(settings), top_k=settings.top_k))
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def secured(settings, answerer):
    from qa.factory import read_index_manifest

    client = serving(create_app(lambda: answerer, lambda: read_index_manifest(settings), TOKEN))
    yield client
    client.__exit__(None, None, None)


def without_timings(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "timings_ms"}


def test_ask_returns_what_the_answerer_gives(client, answerer):
    response = client.post("/ask", json={"question": "北京工厂月产能是多少？", "top_k": 3})
    assert response.status_code == 200
    data = response.json()
    assert without_timings(data) == without_timings(answerer.ask("北京工厂月产能是多少？", 3).to_json())
    assert not data["abstained"] and "2.5万辆" in data["answer"] and len(data["passages"]) <= 3
    text = answerer.index.documents[data["citations"][0]["doc"]].text
    for citation in data["citations"]:
        assert text[citation["start"] : citation["end"]] == citation["text"]
        assert f"[{citation['n']}]" in data["answer"]


def test_follow_up_context_is_resolved(client, answerer):
    body = {"question": "那第二工厂呢？", "context": "北京工厂的月产能是多少？"}
    data = client.post("/ask", json=body).json()
    expected = answerer.ask("那第二工厂呢？", 5, context="北京工厂的月产能是多少？").to_json()
    assert without_timings(data) == without_timings(expected)
    assert data["resolved_question"] and "第二工厂" in data["resolved_question"]
    assert client.post("/ask", json={"question": "那第二工厂呢？"}).json()["resolved_question"] is None


def test_sources_equal_qa_sources_json(client, settings):
    from citeqa.cli import app
    from index.sources import summarize_sources
    from qa.factory import read_index_manifest
    from typer.testing import CliRunner

    manifest = read_index_manifest(settings)
    expected = [s.to_json() for s in summarize_sources(manifest.index_sources(), manifest.documents)]
    response = client.get("/sources")
    assert response.status_code == 200 and response.json() == expected
    printed = CliRunner().invoke(app, ["sources", "--json"])
    assert response.json() == json.loads(printed.stdout)
    assert expected[0]["documents"] == 1


def test_health_reports_the_index(client, answerer):
    data = client.get("/health").json()
    assert data == {
        "status": "ok",
        "model": answerer.index.manifest.model_id,
        "documents": 1,
        "passages": len(answerer.index.passages),
    }


@pytest.mark.parametrize("question,status", [("", 400), ("   ", 400), ("问" * (MAX_QUESTION_CHARS + 1), 400)])
def test_bad_questions_are_one_line_json_errors(client, question, status):
    response = client.post("/ask", json={"question": question})
    assert response.status_code == status
    error = response.json()["error"]
    assert error and "\n" not in error and "Traceback" not in error


@pytest.mark.parametrize(
    "body,where",
    [({"question": "x", "top_k": 0}, "top_k"), ({"question": "x", "top_k": 101}, "top_k"), ({}, "question"), ({"question": "x", "k": 1}, "k")],
)
def test_invalid_bodies_are_422_with_one_line(client, body, where):
    response = client.post("/ask", json=body)
    assert response.status_code == 422
    assert where in response.json()["error"] and "\n" not in response.json()["error"]


def test_broken_json_is_a_one_line_error(client):
    response = client.post("/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "\n" not in response.json()["error"]


def test_token_guards_every_route_but_health(secured):
    assert secured.get("/health").status_code == 200
    for method, path, body in [("POST", "/ask", {"question": "月产能"}), ("GET", "/sources", None), ("GET", "/v1/models", None),
                               ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "月产能"}]}), ("GET", "/docs", None)]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = secured.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["WWW-Authenticate"] == "Bearer" and TOKEN not in response.text
        response = secured.request(method, path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, (path, response.text)


def test_chat_completion_carries_the_cited_answer(client, answerer):
    messages = [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "北京工厂的月产能是多少？"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": [{"type": "text", "text": "那第二工厂呢？"}]},
    ]
    response = client.post("/v1/chat/completions", json={"model": "anything", "messages": messages, "temperature": 0.2, "max_tokens": 5})
    assert response.status_code == 200
    data = response.json()
    expected = answerer.ask("那第二工厂呢？", 5, context="北京工厂的月产能是多少？")
    assert data["object"] == "chat.completion" and data["model"] == "citeqa"
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert content.startswith(expected.answer)
    assert data["citations"] == expected.to_json()["citations"] and data["citations"]
    for citation in data["citations"]:
        assert f"[{citation['n']}] {citation['doc']}:{citation['start']}-{citation['end']} «{citation['text']}»" in content
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_chat_streams_the_same_message_and_ends_with_done(client):
    body = {"messages": [{"role": "user", "content": "第二工厂什么时候投产？"}]}
    whole = client.post("/v1/chat/completions", json=body).json()
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: "):]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == whole["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"] == whole["citations"]


@pytest.mark.parametrize(
    "extra,message",
    [({"n": 2}, "n must be 1"), ({"tools": [{"type": "function"}]}, "tools"), ({"logprobs": True}, "logprobs"),
     ({"messages": [{"role": "system", "content": "hi"}]}, "no user message"), ({"messages": [{"role": "user", "content": " "}]}, "empty")],
)
def test_chat_refuses_what_it_cannot_do(client, extra, message):
    body = {"messages": [{"role": "user", "content": "月产能"}], **extra}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_models_lists_citeqa(client):
    assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["citeqa"]


def test_openapi_documents_the_ask_request(client):
    schema = client.get("/openapi.json").json()
    assert {"question", "top_k", "context"} <= set(schema["components"]["schemas"]["AskRequest"]["properties"])
    assert client.get("/docs").status_code == 200


class SpyAnswerer:
    """The real answerer, counting how many asks run at once; `gate` holds each ask."""

    def __init__(self, answerer) -> None:
        self.answerer = answerer
        self.running = 0
        self.most = 0
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self._count = threading.Lock()

    def ask(self, *args, **kwargs):
        with self._count:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.set()
        try:
            assert self.gate.wait(10)
            time.sleep(0.005)
            return self.answerer.ask(*args, **kwargs)
        finally:
            with self._count:
                self.running -= 1


def test_concurrent_requests_all_succeed_one_ask_at_a_time(settings, answerer):
    from qa.factory import read_index_manifest

    spy = SpyAnswerer(answerer)
    client = serving(create_app(lambda: spy, lambda: read_index_manifest(settings)))
    questions = ["北京工厂月产能是多少？", "第二工厂什么时候投产？", "一季度订单多少？", "When does the second factory open?"] * 2
    try:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda q: client.post("/ask", json={"question": q}), questions))
    finally:
        client.__exit__(None, None, None)
    assert [r.status_code for r in responses] == [200] * 8
    assert [r.json()["question"] for r in responses] == questions
    assert spy.most == 1


def test_health_answers_while_a_question_is_read(settings, answerer):
    from qa.factory import read_index_manifest

    spy = SpyAnswerer(answerer)
    client = serving(create_app(lambda: spy, lambda: read_index_manifest(settings)))
    spy.gate.clear()
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.post, "/ask", json={"question": "月产能"})
            assert spy.started.wait(10)
            assert client.get("/health").status_code == 200  # the event loop is not blocked
            assert not pending.done()
            spy.gate.set()
            assert pending.result(10).status_code == 200
    finally:
        spy.gate.set()
        client.__exit__(None, None, None)


def test_503_while_loading_then_ready(settings, answerer):
    from qa.factory import read_index_manifest

    loaded = threading.Event()

    def slow_factory():
        assert loaded.wait(10)
        return answerer

    client = TestClient(create_app(slow_factory, lambda: read_index_manifest(settings)))
    with client:
        response = client.get("/health")
        assert response.status_code == 503 and response.json() == {"status": "loading"}
        response = client.post("/ask", json={"question": "月产能"})
        assert response.status_code == 503 and "loading" in response.json()["error"]
        loaded.set()
        deadline = time.monotonic() + 10
        while client.get("/health").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert client.post("/ask", json={"question": "月产能"}).status_code == 200


def test_a_failed_load_is_a_one_line_503(settings):
    from index.errors import IndexStoreError

    def broken():
        raise IndexStoreError("no index in /nowhere; build one with `qa index PATH`")

    failures = []
    with TestClient(create_app(broken, lambda: None, on_load_error=failures.append)) as client:
        deadline = time.monotonic() + 10
        while not failures:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "error"
        response = client.post("/ask", json={"question": "月产能"})
        assert response.status_code == 503 and "no index in /nowhere" in response.json()["error"]


def test_an_unexpected_failure_is_500_without_traceback(settings):
    class Exploding:
        def ask(self, *args, **kwargs):
            raise RuntimeError("boom\nsecond line")

    client = serving(create_app(Exploding, lambda: type("M", (), {"model_id": "m", "documents": (), "passage_count": 0})()))
    try:
        response = client.post("/ask", json={"question": "月产能"})
    finally:
        client.__exit__(None, None, None)
    assert response.status_code == 500
    assert response.json() == {"error": "internal error: RuntimeError: boom"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_port_in_use_is_one_line_and_non_zero(tmp_path):
    from citeqa.cli import app
    from typer.testing import CliRunner

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code != 0
    assert result.stderr.strip() == f"qa: error: cannot listen on 127.0.0.1:{port}: the port is in use"


def test_an_empty_token_is_refused():
    from citeqa.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["serve", "--token", " "])
    assert result.exit_code == 2 and "--token is empty" in result.stderr


@pytest.mark.model
def test_qa_serve_answers_over_http(model_cache_dir, tmp_path):
    """The command for real: first use indexes seeds/, prints its URL when ready, answers,
    refuses without the token, and stops on SIGINT."""
    port = free_port()
    env = {**os.environ, "QA_CACHE_DIR": str(model_cache_dir), "QA_SERVE_TOKEN": TOKEN}
    server = subprocess.Popen(
        [sys.executable, "-m", "citeqa", "serve", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def call(path: str, body: dict | None = None, token: str | None = TOKEN):
        request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, method="POST" if body else "GET")
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())

    try:
        deadline = time.monotonic() + 300  # first use: convert the model and index seeds/
        while True:
            assert server.poll() is None, server.communicate()
            try:
                status, health = call("/health", token=None)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "qa serve never became ready"
            time.sleep(0.5)
        assert health["status"] == "ok" and health["documents"] >= 1
        status, data = call("/ask", {"question": "雷军把年度交付目标提高到了多少辆？"})
        assert status == 200 and not data["abstained"] and "35万辆" in data["answer"]
        article = (SEED_DIR / "xiaomi-lei-jun-traffic-carmaking.txt").read_text(encoding="utf-8")
        assert all(article[c["start"] : c["end"]] == c["text"] for c in data["citations"])
        with pytest.raises(urllib.error.HTTPError) as refused:
            call("/ask", {"question": "月产能"}, token=None)
        assert refused.value.code == 401
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
    assert f"qa: serving on {base}" in out
    assert server.returncode == 0, err
    assert TOKEN not in out + err and "Traceback" not in err
