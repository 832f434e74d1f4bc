"""The chat UI's selection and sources through `App.run_test()`, on hand-made answers: answers
and citations chosen by keyboard and mouse, a short answer highlighted in its quote; and the
`qa chat` command composing the app."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import pytest
from rich.cells import cell_len

from qa.types import Answer
from tui.app import ChatApp
from tui.rendering import QUOTE_STYLE, SHORT_ANSWER_STYLE
from tui.widgets.sources import SourcesPanel
from tui.widgets.transcript import AnswerEntry, Transcript
from tui_helpers import DOC, QUESTION, ScriptedAnswerer, ask, handmade_answer, screen_text, styled, wait_ready


@pytest.mark.asyncio
async def test_selecting_answers_and_citations_by_keyboard_and_mouse():
    first = handmade_answer("one?", ["Alpha. ", "Beta. ", "Gamma."])
    second = handmade_answer("two?", ["Delta."])
    app = ChatApp(lambda progress: ScriptedAnswerer(first, second))
    selected = []
    async with app.run_test(size=(120, 35), message_hook=selected.append) as pilot:
        await wait_ready(pilot)
        await ask(pilot, "one?")
        await ask(pilot, "two?")
        sources = app.query_one(SourcesPanel)
        assert sources.answer is second

        # Keyboard: the transcript selects the earlier answer, the sources follow.
        app.query_one(Transcript).focus()
        await pilot.press("up")
        await pilot.pause()
        assert sources.answer is first
        await pilot.press("ctrl+s")
        assert app.focused is sources
        await pilot.press("down", "down")
        assert sources.selected == 2 and sources.cards()[1].has_class("-selected")
        assert [m.citation.n for m in selected if isinstance(m, SourcesPanel.CitationSelected)][-1] == 2

        # Mouse: a click on the [3] marker of the first answer selects citation 3.
        entry = list(app.query(AnswerEntry))[0]
        before_marker = "Alpha. [1]Beta. [2]Gamma."
        x = 2 + cell_len(before_marker)  # border and padding, then the text
        assert await pilot.click(entry, offset=(x, 0))
        await pilot.pause()
        assert sources.selected == 3 and sources.cards()[2].has_class("-selected")

        # Mouse on the citation list: a click on the first card.
        assert await pilot.click(sources.cards()[0], offset=(3, 0))
        await pilot.pause()
        assert sources.selected == 1


@dataclass(frozen=True)
class AnswerWithShortAnswer(Answer):
    """An answer with the short-answer fields (whether or not `Answer` has them yet)."""

    short_answer: str | None = None
    short_answer_citation: int | None = None
    short_answer_start: int | None = None
    short_answer_end: int | None = None


@pytest.mark.asyncio
async def test_a_short_answer_is_shown_and_highlighted_inside_its_quote(monkeypatch):
    plain = handmade_answer("how many?", ["Orders reached 120,000 cars. ", "Capacity is 25,000 a month."])
    given = {f.name: getattr(plain, f.name) for f in fields(Answer) if not f.name.startswith("short_answer")}
    answer = AnswerWithShortAnswer(**given, short_answer="25,000", short_answer_citation=2)
    app = ChatApp(lambda progress: ScriptedAnswerer(answer))
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, "how many?")
        sources = app.query_one(SourcesPanel)
        assert "Short answer: 25,000 [2]" in screen_text(sources)
        first, second = sources.cards()
        assert styled(first.body, SHORT_ANSWER_STYLE) == []  # "120,000" holds no "25,000" anyway
        assert styled(second.body, SHORT_ANSWER_STYLE) == ["25,000"]
        assert styled(second.body, QUOTE_STYLE) == ["Capacity is ", "25,000", " a month."]
        await pilot.press("ctrl+y")
        assert "Short answer: 25,000" in copied[0]


@pytest.mark.asyncio
async def test_sources_show_where_each_quote_is_in_its_file():
    answer = handmade_answer("where?", ["Alpha. ", "Beta. ", "Gamma."])
    first, second, third = answer.citations
    located = replace(
        answer,
        citations=(
            replace(first, line_start=3, line_end=4),
            replace(second, line_start=7, line_end=7),
            replace(third, page=2),
        ),
    )
    app = ChatApp(lambda progress: ScriptedAnswerer(located))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, "where?")
        cards = app.query_one(SourcesPanel).cards()
        headers = [screen_text(card).splitlines()[0] for card in cards]
    assert "chars 0-7, lines 3-4" in headers[0]
    assert "chars 7-13, line 7" in headers[1]
    assert "chars 13-19, p. 2" in headers[2]


def test_qa_chat_hands_the_app_a_loader_and_an_indexer(tmp_path, fake_encoder, monkeypatch):
    """The CLI composes: settings, then a loader (and an indexer for PATHs) for the app."""
    from typer.testing import CliRunner

    from citeqa.cli import app as cli

    started: list[ChatApp] = []
    monkeypatch.setattr(ChatApp, "run", lambda self, **kwargs: started.append(self))
    monkeypatch.setattr("citeqa.chat.has_terminal", lambda: True)
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "factory.txt").write_text(DOC, encoding="utf-8")

    result = CliRunner().invoke(cli, ["chat", "--top-k", "3", str(corpus)])
    assert result.exit_code == 0, result.output
    [app] = started
    assert app.top_k == 3 and app.indexer is not None
    stages: list[str] = []
    assert "1 document(s)" in app.indexer(lambda stage, fraction: stages.append(stage))
    assert app.loader(lambda stage, fraction: None).ask(QUESTION, 3).citations[0].doc == "docs/factory.txt"

    assert CliRunner().invoke(cli, ["chat"]).exit_code == 0 and started[-1].indexer is None
    assert CliRunner().invoke(cli, ["chat", "--engine", "bogus"]).exit_code == 2
