"""`qa serve`: the bot over HTTP (FastAPI + uvicorn). `POST /ask` answers like `qa ask --json`,
`GET /sources` lists like `qa sources --json`, `POST /v1/chat/completions` speaks enough of
OpenAI's chat API for its clients. See docs/serve.md.

The index, encoder and reader load once per process, in a background thread started by the
app's lifespan: `GET /health` answers 503 until they are ready. FastAPI and uvicorn are
imported inside the functions (this module is imported by `qa --help`), which is also why
there is no `from __future__ import annotations` here: FastAPI reads the request models
defined inside `create_app` from the endpoints' annotations.
"""

import hmac
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from citeqa.common import (
    EngineOption, IndexDirOption, ModelOption, ReaderOption, RetrieverOption, StoreOption, errors_to_exit_codes,
    settings_from,
)
from citeqa.openai_chat import MODEL_NAME, chat_completion, completion_events, message_text, rough_tokens
from index.errors import QAError, UsageError

MAX_QUESTION_CHARS = 2000
"""Longer questions are refused (400); the retriever would cut them there anyway."""
TOKEN_ENV = "QA_SERVE_TOKEN"
PUBLIC_PATHS = ("/health",)
"""Open without the bearer token (load balancers and orchestrators probe it)."""


class ServiceUnavailable(QAError):
    """Still loading, or loading failed: the client may retry later (HTTP 503)."""


class InternalError(QAError):
    """An unexpected failure inside the answerer, reported as one line (HTTP 500)."""

    exit_code = 70


def http_status(error: QAError) -> int:
    from index.errors import IndexStoreError, ModelError

    if isinstance(error, UsageError):
        return 400
    if isinstance(error, (ServiceUnavailable, IndexStoreError, ModelError)):
        return 503
    return 500  # DocumentError, InternalError: the server's problem, not the request's


def one_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else "error"


class _Loaded:
    """What the loader thread hands the endpoints: the answerer and the manifest, or the
    error that stopped loading."""

    def __init__(self) -> None:
        self.answerer = None
        self.manifest = None
        self.error: QAError | None = None
        self.ready = threading.Event()
        self.ask_lock = threading.Lock()
        """The answerer is not known to be thread-safe (OpenVINO infer requests): one ask at a time."""


def create_app(
    answerer_factory: Callable[[], Any],
    manifest_reader: Callable[[], Any],
    token: str | None = None,
    *,
    top_k: int = 5,
    on_ready: Callable[[Any], None] | None = None,
    on_load_error: Callable[[QAError], None] | None = None,
):
    """The HTTP API over the answerer `answerer_factory()` builds (called once, at startup,
    in a thread) and the index manifest `manifest_reader()` reads. With `token`, every path but
    /health needs `Authorization: Bearer <token>`. `on_ready(manifest)` / `on_load_error(error)`
    are called from the loader thread."""
    from contextlib import asynccontextmanager

    import anyio
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from pydantic import BaseModel, ConfigDict, Field
    from starlette.exceptions import HTTPException

    state = _Loaded()
    default_top_k = top_k  # the request models' class bodies cannot see `top_k` itself

    def load() -> None:
        try:
            answerer = answerer_factory()
            manifest = manifest_reader()
        except QAError as error:
            state.error = error
        except Exception as error:  # noqa: BLE001 - reported in one line, like the CLI does
            state.error = InternalError(one_line(f"internal error: {type(error).__name__}: {error}"))
        else:
            state.answerer, state.manifest = answerer, manifest
            state.ready.set()
            if on_ready:
                on_ready(manifest)
            return
        if on_load_error:
            on_load_error(state.error)

    @asynccontextmanager
    async def lifespan(app):
        app.state.ask_limiter = anyio.CapacityLimiter(1)  # waiting requests hold no thread
        threading.Thread(target=load, name="qa-serve-load", daemon=True).start()
        yield

    app = FastAPI(
        title="citeqa",
        summary="Cited, extractive answers from your documents.",
        description="Every answer sentence is quoted from the indexed documents and cited. See docs/serve.md.",
        lifespan=lifespan,
    )

    def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": one_line(message)}, status_code=status, headers=headers)

    @app.exception_handler(QAError)
    async def qa_error(request: Request, error: QAError) -> JSONResponse:
        status = http_status(error)
        return error_response(status, str(error), {"Retry-After": "5"} if status == 503 else None)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = first.get("msg", "invalid request")
        return error_response(422, f"{where}: {message}" if where else message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return error_response(error.status_code, str(error.detail), getattr(error, "headers", None))

    if token:
        expected = f"Bearer {token}".encode()

        @app.middleware("http")
        async def require_token(request: Request, call_next):
            if request.url.path in PUBLIC_PATHS:
                return await call_next(request)
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return error_response(401, "missing or wrong bearer token (Authorization: Bearer <token>)", {"WWW-Authenticate": "Bearer"})
            return await call_next(request)

    def loaded():
        if state.error is not None:
            raise ServiceUnavailable(f"the bot failed to load: {state.error}")
        if not state.ready.is_set():
            raise ServiceUnavailable("still loading the index and the model; try again shortly")
        return state.answerer

    def ask_locked(answerer, question: str, k: int, context: str | None):
        with state.ask_lock:
            try:
                return answerer.ask(question, k, context=context)
            except QAError:
                raise
            except Exception as error:  # noqa: BLE001 - one line to the client, never a traceback
                raise InternalError(one_line(f"internal error: {type(error).__name__}: {error}")) from error

    async def answer(request: Request, question: str, k: int, context: str | None):
        if not question.strip():
            raise UsageError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise UsageError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        answerer = loaded()
        return await anyio.to_thread.run_sync(
            ask_locked, answerer, question, k, context, limiter=request.app.state.ask_limiter
        )

    class AskRequest(BaseModel):
        """A question, as `qa ask` takes it."""

        model_config = ConfigDict(extra="forbid")
        question: str = Field(description=f"The question (at most {MAX_QUESTION_CHARS} characters).")
        top_k: int = Field(default_top_k, ge=1, le=100, description="Passages to retrieve.")
        context: Optional[str] = Field(None, description='The previous question, for a follow-up such as "那第二工厂呢？".')

    class Health(BaseModel):
        status: str = Field(description="`ok` once the index and the model are loaded.")
        model: str = Field(description="The model the index was built with.")
        documents: int
        passages: int

    @app.get("/health", response_model=Health, responses={503: {"description": "Still loading, or loading failed."}})
    async def health():
        """Whether the bot is ready; open without the token."""
        if state.error is not None:
            return JSONResponse({"status": "error", "error": one_line(str(state.error))}, status_code=503)
        if not state.ready.is_set():
            return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "5"})
        manifest = state.manifest
        return Health(status="ok", model=manifest.model_id, documents=len(manifest.documents), passages=manifest.passage_count)

    @app.post("/ask", responses={400: {"description": "Empty or too long question."}, 503: {"description": "Still loading."}})
    async def ask(body: AskRequest, request: Request) -> JSONResponse:
        """Answer a question: exactly what `qa ask --json` prints (citations quote the
        documents at their character spans)."""
        result = await answer(request, body.question, body.top_k, body.context)
        return JSONResponse(result.to_json())

    @app.get("/sources")
    async def sources() -> JSONResponse:
        """The indexed files and folders: exactly what `qa sources --json` prints."""
        from index.sources import summarize_sources

        manifest = await anyio.to_thread.run_sync(manifest_reader)
        summaries = summarize_sources(manifest.index_sources(), manifest.documents)
        return JSONResponse([s.to_json() for s in summaries])

    class ChatMessage(BaseModel):
        model_config = ConfigDict(extra="allow")
        role: str
        content: Any = Field(None, description="A string, or a list of parts of which the `text` ones are read.")

    class ChatRequest(BaseModel):
        """OpenAI's chat completion request. Read: `messages` (the last user message is the
        question, the user message before it the follow-up context), `stream`, `n` (1 only),
        `top_k` (an extension). Refused: `tools`/`functions`, `logprobs`, `n` > 1. Every other
        parameter (temperature, max_tokens, stop, seed, ...) is accepted and ignored."""

        model_config = ConfigDict(extra="allow")
        model: str = MODEL_NAME
        messages: list[ChatMessage] = Field(min_length=1)
        stream: bool = False
        n: int = 1
        top_k: int = Field(default_top_k, ge=1, le=100, description="Extension: passages to retrieve.")
        tools: Optional[list[Any]] = None
        functions: Optional[list[Any]] = None
        logprobs: Optional[bool] = None

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request):
        """An OpenAI-compatible chat completion whose message is the cited extractive answer;
        `citations` (an extension) holds them as /ask does. `stream: true` sends the same
        message as server-sent events."""
        if body.n != 1:
            raise UsageError("n must be 1: there is one extractive answer")
        if body.tools or body.functions:
            raise UsageError("tools and functions are not supported: the bot only quotes documents")
        if body.logprobs:
            raise UsageError("logprobs are not supported: nothing is generated")
        asked = [message_text(m.content) for m in body.messages if m.role == "user"]
        if not asked:
            raise UsageError("no user message: the last user message is the question")
        context = asked[-2] if len(asked) > 1 and asked[-2].strip() else None
        result = await answer(request, asked[-1], body.top_k, context)
        completion = chat_completion(result, prompt_tokens=sum(rough_tokens(t) for t in asked))
        if not body.stream:
            return JSONResponse(completion)
        return StreamingResponse(completion_events(completion), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/v1/models")
    async def models() -> JSONResponse:
        """The one model id the chat endpoint answers as."""
        return JSONResponse({"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "citeqa"}]})

    return app


# --- the command -------------------------------------------------------------------------


def _stage_printer() -> Callable[[str, float], None]:
    """A progress callback that prints each loading stage once, on stderr."""
    seen: set[str] = set()

    def progress(stage: str, fraction: float) -> None:
        if stage not in seen:
            seen.add(stage)
            sys.stderr.write(f"qa: {stage} ...\n")
            sys.stderr.flush()

    return progress


def app_from_env(on_ready: Callable[[Any], None] | None = None, on_load_error: Callable[[QAError], None] | None = None):
    """The app with settings from QA_* variables and the token from QA_SERVE_TOKEN: what each
    uvicorn worker builds (`citeqa.serve:app_from_env`, factory=True)."""
    from qa.factory import open_answerer, read_index_manifest

    settings = settings_from()
    pid = os.getpid()

    def ready(manifest) -> None:
        sys.stderr.write(f"qa: worker {pid} ready ({len(manifest.documents)} documents)\n")
        sys.stderr.flush()

    def failed(error: QAError) -> None:
        sys.stderr.write(f"qa: error: worker {pid}: {one_line(str(error))}\n")
        sys.stderr.flush()

    return create_app(
        lambda: open_answerer(settings, _stage_printer()),
        lambda: read_index_manifest(settings),
        os.environ.get(TOKEN_ENV) or None,
        top_k=settings.top_k,
        on_ready=on_ready or ready,
        on_load_error=on_load_error or failed,
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind now, so that a port in use is one line and an exit code, not uvicorn's log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = "the port is in use" if error.errno in (98, 48, 10048) else (error.strerror or str(error))
        raise QAError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)  # uvicorn's workers are spawned with it
    return sock


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface; behind a reverse proxy keep 127.0.0.1).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Processes, each with its own copy of the model.")] = 1,
    token: Annotated[Optional[str], typer.Option("--token", envvar=TOKEN_ENV, help="Require `Authorization: Bearer TOKEN` on every path but /health (prefer the variable: a flag shows in `ps`).", show_default=False)] = None,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option("--forwarded-allow-ips", help="Proxy addresses whose X-Forwarded-* headers are trusted (comma-separated, or *) [default: 127.0.0.1].", show_default=False)] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=100, help="Default passages to retrieve [default: 5].", show_default=False)] = None,
    store: StoreOption = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    engine: EngineOption = None,
    reader: ReaderOption = None,
    retriever: RetrieverOption = None,
) -> None:
    """Serve the bot over HTTP: POST /ask, GET /sources, GET /health and an OpenAI-compatible
    POST /v1/chat/completions (docs at /docs). The model loads once per worker."""
    with errors_to_exit_codes():
        if token is not None and not token.strip():
            raise UsageError("--token is empty")
        # The options travel to the workers as the QA_* variables Settings reads.
        given = {"QA_STORE": store, "QA_INDEX_DIR": index_dir, "QA_MODEL": model, "QA_ENGINE": engine,
                 "QA_READER": reader, "QA_RETRIEVER": retriever, "QA_TOP_K": top_k, TOKEN_ENV: token}
        for name, value in given.items():
            if value is not None:
                os.environ[name] = str(value)
        settings_from()  # a bad option value fails here, before anything listens
        import uvicorn

        sock = listening_socket(host, port)
        shown_host = f"[{host}]" if ":" in host else host
        url = f"http://{shown_host}:{sock.getsockname()[1]}"
        if not token and host not in ("127.0.0.1", "localhost", "::1"):
            sys.stderr.write(f"qa: warning: listening on {host} without --token: anyone who can reach it can ask\n")
        options = dict(log_level="warning", proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips, access_log=False)
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            config = uvicorn.Config("citeqa.serve:app_from_env", factory=True, workers=workers, **options)
            sys.stdout.write(f"qa: serving on {url} with {workers} workers (docs: {url}/docs); each loads the model\n")
            sys.stdout.flush()
            Multiprocess(config, sockets=[sock]).run()
            return
        failure: list[QAError] = []
        server: Any = None

        def ready(manifest) -> None:
            sys.stdout.write(f"qa: serving on {url} (docs: {url}/docs): {len(manifest.documents)} documents, model {manifest.model_id}\n")
            sys.stdout.flush()

        def failed(error: QAError) -> None:
            failure.append(error)
            server.should_exit = True

        server = uvicorn.Server(uvicorn.Config(app_from_env(ready, failed), **options))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on
            sys.stderr.write("qa: stopped\n")
        if failure:
            raise failure[0]
