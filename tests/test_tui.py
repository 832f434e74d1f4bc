"""The chat UI driven through `App.run_test()`: asking, answers with `[n]` markers, the quoted
sentence highlighted in the sources, abstention, literal document text, history, copy,
export, errors. Indexes are built with the fake encoder through the real factory."""

from __future__ import annotations

import threading

import pytest

from index.errors import IndexStoreError
from tui.app import ChatApp
from tui.messages import Answered, Loaded, LoadFailed
from tui.rendering import MARKER_STYLE, QUOTE_STYLE
from tui.screens.help import HelpScreen
from tui.widgets.question_input import QuestionInput
from tui.widgets.sources import PassageCard, SourcesPanel
from tui.widgets.transcript import AnswerEntry, Notice, QuestionEntry, Transcript
from tui_helpers import (
    DOC, QUESTION, STRICT, ask, highlighted, index_corpus, loader_for, screen_text, styled, wait_ready, wait_until,
)


@pytest.fixture
def settings(tmp_path, fake_encoder):
    return index_corpus(tmp_path)


@pytest.mark.asyncio
async def test_question_is_answered_with_markers_and_the_quote_highlighted(settings):
    messages = []
    app = ChatApp(loader_for(settings))
    async with app.run_test(size=(120, 35), message_hook=messages.append) as pilot:
        await wait_ready(pilot)
        assert app.focused is app.query_one(QuestionInput)
        await ask(pilot, QUESTION)
        [answered] = [m for m in messages if isinstance(m, Answered)]
        answer = answered.answer
        assert not answer.abstained and "2.5万辆" in answer.answer
        assert any(isinstance(m, Loaded) for m in messages)

        entry = app.query_one(AnswerEntry)
        assert entry.answer is answer and entry.has_class("-selected")
        shown = entry.content
        assert shown.plain == answer.answer
        markers = styled(shown, MARKER_STYLE)
        assert markers == [f"[{c.n}]" for c in answer.citations] and markers[0] == "[1]"
        clickable = [s for s in shown.spans if not isinstance(s.style, str)]
        assert [shown.plain[s.start : s.end] for s in clickable] == markers
        assert clickable[0].style.meta["@click"] == "cite(1)"

        sources = app.query_one(SourcesPanel)
        assert sources.answer is answer
        cards = sources.cards()
        assert [card.citation for card in cards] == list(answer.citations)
        first = answer.citations[0]
        hit = next(p for p in answer.passages if p.passage_id == first.passage_id)
        assert cards[0].body.plain == hit.text
        assert highlighted(cards[0].body) == [first.text]
        quote_start = min(s.start for s in cards[0].body.spans if s.style == QUOTE_STYLE)
        assert quote_start == first.start - hit.start
        assert "corpus/factory.txt" in screen_text(cards[0]) and f"chars {first.start}-{first.end}" in screen_text(cards[0])


@pytest.mark.asyncio
async def test_abstention_is_shown_as_such_with_what_was_searched(settings):
    app = ChatApp(loader_for(settings, STRICT))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, "火星上有多少座火山？")
        [answer] = app.conversation
        assert answer.abstained and answer.answer == "文中没有找到相关信息。"
        entry = app.query_one(AnswerEntry)
        assert entry.has_class("-abstained")
        assert entry.content.plain.startswith("文中没有找到相关信息。") and "No passage" in entry.content.plain
        assert styled(entry.content, MARKER_STYLE) == []
        sources = app.query_one(SourcesPanel)
        assert sources.cards() == []  # no citation to select
        searched = list(sources.query(PassageCard))
        assert len(searched) == len(answer.passages) >= 1
        assert all(QUOTE_STYLE not in {s.style for s in card.body.spans} for card in searched)
        assert "the documents do not answer this" in screen_text(sources)


MARKUP = "The [bold]red[/] line [link=https://evil.example]opens[/link] in April \x1b[31mtoday\x1b[0m [/]."


@pytest.mark.asyncio
async def test_markup_and_escape_sequences_in_documents_and_questions_render_literally(tmp_path, fake_encoder):
    settings = index_corpus(tmp_path, f"{MARKUP}\n北京工厂当前月产能2.5万辆。")
    app = ChatApp(loader_for(settings))
    question = "When does the [bold]red[/] line [link=x]open[/link] \x1b[31m?"
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, question)
        [answer] = app.conversation
        assert not answer.abstained and "[bold]red[/]" in answer.answer
        literal_line = MARKUP.replace("\x1b", "\\x1b")

        shown_question = app.query_one(QuestionEntry)
        assert shown_question.content.plain == question.replace("\x1b", "\\x1b")
        assert shown_question.content.spans == []
        entry = app.query_one(AnswerEntry)
        assert literal_line in entry.content.plain
        assert "\x1b" not in entry.content.plain
        # Only our own styles: nothing in the text became bold, a link or a colour.
        assert {s.style for s in entry.content.spans if isinstance(s.style, str)} == {MARKER_STYLE}
        card = app.query_one(SourcesPanel).cards()[0]
        assert highlighted(card.body) == [literal_line]

        # And on screen: the characters as typed, the layout intact.
        for piece in ("The [bold]red[/] line", "[link=https://evil.example]opens[/link]", "\\x1b[31mtoday\\x1b[0m [/]."):
            assert piece in screen_text(entry) and piece in screen_text(card)
        assert entry.size.height <= 4 and shown_question.size.height <= 2
        assert app.query_one(QuestionInput).region.bottom <= app.size.height


@pytest.mark.asyncio
async def test_input_history_and_empty_input(settings):
    app = ChatApp(loader_for(settings))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        box = app.query_one(QuestionInput)
        await pilot.press("space", "space", "enter")
        assert not app.query(QuestionEntry)  # empty input ignored
        await ask(pilot, "first question")
        await ask(pilot, QUESTION)
        assert box.value == ""
        await pilot.press(*"dra", "f", "t")
        await pilot.press("up")
        assert box.value == QUESTION
        await pilot.press("up")
        assert box.value == "first question"
        await pilot.press("up")
        assert box.value == "first question"
        await pilot.press("down")
        assert box.value == QUESTION
        await pilot.press("down")
        assert box.value == "draft"


@pytest.mark.asyncio
async def test_questions_asked_while_loading_are_queued_and_answered_in_order(settings):
    release = threading.Event()
    load = loader_for(settings)

    def slow_loader(progress):
        progress("loading the test model", 0.5)
        release.wait(10)
        return load(progress)

    app = ChatApp(slow_loader)
    async with app.run_test(size=(120, 35)) as pilot:
        box = app.query_one(QuestionInput)
        assert app.focused is box and app.answerer is None
        for question in ("first question", QUESTION):
            box.value = question
            await pilot.press("enter")
        entries = list(app.query(AnswerEntry))
        assert [e.answer for e in entries] == [None, None]
        assert "Waiting for the model" in entries[0].content.plain
        assert "loading the test model" in screen_text(app.query_one("#status"))
        release.set()
        await wait_until(pilot, lambda: len(app.conversation) == 2)
        assert [a.question for a in app.conversation] == ["first question", QUESTION]
        assert [e.answer for e in app.query(AnswerEntry)] == app.conversation


@pytest.mark.asyncio
async def test_copy_puts_the_answer_and_numbered_sources_on_the_clipboard(settings, monkeypatch):
    app = ChatApp(loader_for(settings))
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await pilot.press("ctrl+y")
        assert copied == []  # nothing to copy yet
        await ask(pilot, QUESTION)
        await pilot.press("ctrl+y")
        [answer] = app.conversation
        [text] = copied
        assert text.startswith(answer.answer + "\n\n") and "\nSources\n[1] " in text
        for citation in answer.citations:
            assert f"[{citation.n}] corpus/factory.txt, {citation.location}\n    {citation.text}" in text


@pytest.mark.asyncio
async def test_export_writes_markdown_with_citations_in_the_exports_folder(settings, tmp_path, monkeypatch):
    out = tmp_path / "data" / "exports"  # created on the first export
    monkeypatch.chdir(tmp_path)
    app = ChatApp(loader_for(settings), exports_dir=out)
    notices: list[str] = []
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kwargs: notices.append(message))
        await ask(pilot, QUESTION)
        await ask(pilot, "Where is Mars?")
        await pilot.press("ctrl+e")
        [path] = list(out.glob("qa-chat-*.md"))
        assert path.name[len("qa-chat-") :].removesuffix(".md").replace("-", "").isdigit()
        assert str(path) in notices[-1]
        markdown = path.read_text(encoding="utf-8")
        first = app.conversation[0]
        assert f"## {QUESTION}\n\n{first.answer}\n" in markdown
        for citation in first.citations:
            assert f"{citation.n}. `corpus/factory.txt, {citation.location}`\n   > {citation.text}" in markdown
        assert "## Where is Mars?" in markdown
        assert not list(tmp_path.glob("qa-chat-*.md"))  # nothing in the working directory


@pytest.mark.asyncio
async def test_loader_error_is_shown_in_the_transcript_not_a_crash(fake_encoder):
    def broken(progress):
        raise IndexStoreError("no index in /nowhere; build one with `qa index PATH`")

    messages = []
    app = ChatApp(broken)
    async with app.run_test(size=(120, 35), message_hook=messages.append) as pilot:
        await wait_ready(pilot)
        assert any(isinstance(m, LoadFailed) for m in messages)
        [notice] = app.query(Notice).filter(".-error")
        text = notice.content.plain
        assert "no index in /nowhere" in text and "qa index PATH" in text and "qa chat PATH" in text
        assert "Not ready" in screen_text(app.query_one("#status"))
        app.query_one(QuestionInput).value = "anything?"
        await pilot.press("enter")
        assert len(app.query(Notice).filter(".-error")) == 2  # refused politely, again with what to do
        assert app.is_running


class FailingAnswerer:
    def ask(self, question, top_k, context=None):
        raise RuntimeError("boom")


@pytest.mark.asyncio
async def test_unexpected_error_while_answering_is_shown_and_the_app_keeps_going():
    app = ChatApp(lambda progress: FailingAnswerer())
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, "anything?")
        entry = app.query_one(AnswerEntry)
        assert entry.has_class("-error")
        assert "unexpected error: RuntimeError: boom" in entry.content.plain
        assert app.is_running


@pytest.mark.asyncio
async def test_narrow_terminal_puts_sources_under_the_transcript(settings):
    app = ChatApp(loader_for(settings))
    async with app.run_test(size=(60, 30)) as pilot:
        await wait_ready(pilot)
        assert app.screen.has_class("-narrow")
        transcript, sources = app.query_one(Transcript), app.query_one(SourcesPanel)
        assert sources.region.y >= transcript.region.bottom and sources.region.width == transcript.region.width
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        assert app.screen.has_class("-wide") and sources.region.x >= transcript.region.right


@pytest.mark.asyncio
async def test_new_chat_help_theme_and_palette(settings):
    app = ChatApp(loader_for(settings))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        app.query_one(Transcript).focus()
        await pilot.press("question_mark")  # typed text, not a key: it goes to the question box
        assert not isinstance(app.screen, HelpScreen) and app.query_one(QuestionInput).value == "?"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.conversation == [] and not app.query(AnswerEntry)
        assert app.query_one(SourcesPanel).answer is None
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"New conversation", "Conversations", "Focus sources", "Copy answer", "Export conversation", "Help", "Light / dark", "Quit", "Theme"} <= titles
        dark = app.current_theme.dark
        app.action_toggle_theme()
        assert app.current_theme.dark is not dark


@pytest.mark.asyncio
async def test_documents_given_to_chat_are_indexed_in_a_worker_first(tmp_path, fake_encoder):
    from qa.factory import index_documents
    from qa.settings import Settings

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "factory.txt").write_text(DOC, encoding="utf-8")
    settings = Settings.from_env()

    def indexer(progress):
        report = index_documents(settings, [corpus], progress)
        return f"{report.documents} document(s)"

    app = ChatApp(loader_for(settings), indexer)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        assert app.load_error is None
        assert any("Indexed: 1 document(s)" in n.content.plain for n in app.query(Notice))
        await ask(pilot, QUESTION)
        assert app.conversation[0].citations[0].doc == "docs/factory.txt"
