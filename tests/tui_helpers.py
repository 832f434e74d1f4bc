"""Shared by the TUI pilot and snapshot tests: apps over a tiny corpus indexed with the fake
encoder (through the real factory), and waiting for what the workers report."""

from __future__ import annotations

import time
from pathlib import Path

from qa.reading.heuristic.abstention import AbstentionModel
from conftest import make_answerer
from qa.reading.heuristic import AnswerPolicy
from qa.factory import index_documents, open_answerer
from qa.settings import Settings
from qa.types import Answer, Citation, PassageHit
from tui.app import ChatApp
from tui.rendering import QUOTE_STYLE
from tui.widgets.question_input import QuestionInput

DOC = (
    "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。\n"
    "一季度累计订单已达12万辆。\n"
    "The second factory opens in April."
)
QUESTION = "北京工厂月产能是多少？"
STRICT = AnswerPolicy(AbstentionModel.always_abstains())


def index_corpus(folder: Path, text: str = DOC, name: str = "factory.txt") -> Settings:
    """Index `text` as `corpus/<name>` with the fake encoder (the fixture must be active)."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings.from_env()
    index_documents(settings, [corpus])
    return settings


def loader_for(settings: Settings, policy: AnswerPolicy | None = None):
    """What `qa chat` hands the app: settings in, answerer out (optionally a stricter one)."""

    def load(progress):
        answerer = open_answerer(settings, progress)
        return answerer if policy is None else make_answerer(answerer.index, policy, encoder=answerer.retriever.encoder)

    return load


async def wait_until(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.01)
    await pilot.pause()


async def wait_ready(pilot) -> None:
    app: ChatApp = pilot.app
    await wait_until(pilot, lambda: app.answerer is not None or app.load_error is not None)


async def ask(pilot, question: str) -> None:
    """Type `question`, press Enter, wait until it is answered (or failed)."""
    app: ChatApp = pilot.app
    before = len(app.conversation)
    failures = len(app.query(".-error"))
    app.query_one(QuestionInput).value = question
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(app.conversation) > before or len(app.query(".-error")) > failures)


def styled(content, style: str) -> list[str]:
    """The texts of `content` carrying `style`."""
    return [content.plain[s.start : s.end] for s in content.spans if s.style == style]


def highlighted(content) -> list[str]:
    """The quoted (highlighted) stretches of a passage; a short answer inside a quote splits
    its spans, so contiguous spans are joined."""
    stretches: list[list[int]] = []
    for span in sorted((s for s in content.spans if s.style == QUOTE_STYLE), key=lambda s: s.start):
        if stretches and stretches[-1][1] == span.start:
            stretches[-1][1] = span.end
        else:
            stretches.append([span.start, span.end])
    return [content.plain[start:end] for start, end in stretches]


def screen_text(widget) -> str:
    """What the screen shows where `widget` is (its children included)."""
    strips = widget.app.screen._compositor.render_strips()
    region = widget.region
    return "\n".join(strips[y].crop(region.x, region.right).text for y in range(region.y, region.bottom))


def handmade_answer(question: str, sentences: list[str]) -> Answer:
    """An answer citing each sentence of a one-passage document (for selection tests)."""
    text = "".join(sentences)
    hit = PassageHit(0, "doc.txt", 0, len(text), 0.9, text)
    citations, start = [], 0
    for n, sentence in enumerate(sentences, start=1):
        citations.append(Citation(n, "doc.txt", start, start + len(sentence), sentence, 0, 0.5))
        start += len(sentence)
    answer_text = "".join(f"{c.text}[{c.n}]" for c in citations)
    return Answer(question, answer_text, False, tuple(citations), (hit,))


class ScriptedAnswerer:
    def __init__(self, *answers: Answer) -> None:
        self.answers = {a.question: a for a in answers}

    def ask(self, question, top_k, context=None):
        return self.answers[question]
