"""The chat remembers: a reopened chat continues the last conversation, Ctrl+N starts a new
one without deleting the old, Ctrl+O switches between them, ↑ walks questions of earlier
sessions, and typing while another pane has focus goes to the question box."""

from __future__ import annotations

import pytest

from qa.history import History
from tui.app import ChatApp
from tui.screens.conversations import ConversationsScreen
from tui.widgets.question_input import QuestionInput
from tui.widgets.sources import SourcesPanel
from tui.widgets.transcript import AnswerEntry, QuestionEntry, Transcript
from tui_helpers import QUESTION, ask, index_corpus, loader_for, wait_ready, wait_until

SECOND = "第二工厂什么时候投产？"


@pytest.fixture
def settings(tmp_path, fake_encoder):
    return index_corpus(tmp_path)


@pytest.fixture
def history(tmp_path) -> History:
    return History(tmp_path / "data" / "history.sqlite3")


def questions_shown(app: ChatApp) -> list[str]:
    return [entry.question for entry in app.query(QuestionEntry)]


async def wait_saved(pilot, history: History, count: int) -> None:
    await wait_until(pilot, lambda: len(history.recent(1000)) >= count)


@pytest.mark.asyncio
async def test_a_reopened_chat_continues_the_last_conversation(settings, history):
    app = ChatApp(loader_for(settings), history=history)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        await wait_saved(pilot, history, 1)
        first = app.conversation[0]
    again = ChatApp(loader_for(settings), history=history)
    async with again.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await wait_until(pilot, lambda: again.conversation)
        assert questions_shown(again) == [QUESTION] and again.conversation == [first]
        assert again.query_one(QuestionInput).history == [QUESTION]
        assert again.query_one(SourcesPanel).answer == first  # the last answer is selected
        await ask(pilot, "那第二工厂呢？")  # a follow-up of the restored question
        assert again.conversation[-1].resolved_question is not None
        await wait_saved(pilot, history, 2)
    [conversation] = history.conversations()
    assert conversation.exchanges == 2


@pytest.mark.asyncio
async def test_new_starts_empty_but_keeps_the_question_history(settings, history):
    app = ChatApp(loader_for(settings), history=history)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        await wait_saved(pilot, history, 1)
    fresh = ChatApp(loader_for(settings), history=history, resume=False)
    async with fresh.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await wait_until(pilot, lambda: fresh.query_one(QuestionInput).history)
        assert questions_shown(fresh) == [] and fresh.conversation == []
        await pilot.press("up")
        assert fresh.query_one(QuestionInput).value == QUESTION


@pytest.mark.asyncio
async def test_ctrl_n_keeps_the_old_conversation_and_ctrl_o_switches_back(settings, history):
    app = ChatApp(loader_for(settings), history=history)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        await wait_saved(pilot, history, 1)
        first_id = app.conversation_id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert questions_shown(app) == [] and app.conversation_id is None
        await ask(pilot, SECOND)
        await wait_saved(pilot, history, 2)
        assert app.conversation_id not in (None, first_id)
        assert [c.exchanges for c in history.conversations()] == [1, 1]

        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        await pilot.press("down", "enter")  # the older one is listed second
        await wait_until(pilot, lambda: questions_shown(app) == [QUESTION])
        assert app.conversation_id == first_id
        await ask(pilot, "那第二工厂呢？")
        await wait_saved(pilot, history, 3)
    assert [len(history.exchanges(c.id)) for c in history.conversations()] == [2, 1]
    assert history.conversations()[0].id == first_id


@pytest.mark.asyncio
async def test_typing_while_another_pane_has_focus_goes_to_the_question_box(settings):
    app = ChatApp(loader_for(settings))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        for pane in (app.query_one(Transcript), app.query_one(SourcesPanel)):
            pane.focus()
            await pilot.pause()
            box = app.query_one(QuestionInput)
            box.value = ""
            await pilot.press("j", "k", "?")  # letters the panes once used as keys, and help's "?"
            assert app.focused is box and box.value == "jk?"
        app.query_one(Transcript).focus()
        await pilot.press("up")  # keys the pane uses still work there
        assert app.focused is app.query_one(Transcript)


@pytest.mark.asyncio
async def test_an_unusable_history_is_a_notice_and_the_chat_goes_on(settings, tmp_path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"garbage" * 100)
    app = ChatApp(loader_for(settings), history=History(path))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_ready(pilot)
        await wait_until(pilot, lambda: app._history_broken)
        await ask(pilot, QUESTION)
        assert app.query(AnswerEntry).last().answer is not None
        assert "not being saved" in " ".join(str(n.content) for n in app.query(".-error"))
    assert path.read_bytes() == b"garbage" * 100
