"""OpenAI's chat-completion format for an extractive answer: what `POST /v1/chat/completions`
of `qa serve` returns (citeqa/serve.py). The message is the cited answer text; the citations
also come as structured data, an extension OpenAI clients ignore."""

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from index.errors import UsageError

MODEL_NAME = "citeqa"
"""The one model id of /v1/models, and the `model` of every chat completion."""


def message_text(content: Any) -> str:
    """An OpenAI message's text: a string, or the `text` parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")
    raise UsageError("a message's content must be a string or a list of text parts")


def cited_text(answer) -> str:
    """The answer, then one line per citation: `[1] doc.txt:120-168 «quote»`."""
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines += [f"[{c.n}] {c.doc}:{c.start}-{c.end} «{c.text}»" for c in answer.citations]
    return "\n".join(lines)


def rough_tokens(text: str) -> int:
    """About as many tokens as a tokenizer would count: a CJK character or a word each."""
    return len(re.findall(r"[\u3400-\u9fff]|[^\W\u3400-\u9fff]+|[^\w\s]", text))


def chat_completion(answer, prompt_tokens: int = 0) -> dict:
    content = cited_text(answer)
    completion_tokens = rough_tokens(content)
    data = answer.to_json()
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        "system_fingerprint": None,
        # Extensions: the structured citations (as /ask gives them) and the short answer.
        "citations": data["citations"],
        "abstained": data["abstained"],
        "short_answer": data["short_answer"],
    }


def completion_events(completion: dict) -> Iterator[str]:
    """The completion as OpenAI's `chat.completion.chunk` events: the role, the content a line
    at a time, then the finish reason with the citations, then `[DONE]`."""
    head = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}

    def event(delta: dict, finish: str | None = None, **extra: Any) -> str:
        chunk = {**head, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in completion["choices"][0]["message"]["content"].splitlines(keepends=True):
        yield event({"content": piece})
    yield event({}, "stop", usage=completion["usage"], citations=completion["citations"], abstained=completion["abstained"], short_answer=completion["short_answer"])
    yield "data: [DONE]\n\n"
