"""The chat transcript: questions, answers (selectable, with clickable `[n]` markers) and
notices. It shows Answer objects; what to ask and when is the app's business."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from qa.types import Answer
from tui.rendering import DIM_STYLE, answer_content, question_content


class QuestionEntry(Static):
    def __init__(self, question: str) -> None:
        super().__init__(question_content(question), markup=False)
        self.question = question


class AnswerEntry(Static):
    """One answer, or its placeholder while it is waited for, or what went wrong."""

    @dataclass
    class Clicked(Message):
        entry: AnswerEntry

    @dataclass
    class CitationClicked(Message):
        """A `[n]` marker of this answer was clicked."""

        entry: AnswerEntry
        n: int

    def __init__(self, waiting: str) -> None:
        super().__init__(Content(waiting).stylize(DIM_STYLE), markup=False, classes="-pending")
        self.answer: Answer | None = None

    def show_waiting(self, text: str) -> None:
        if self.answer is None:
            self.update(Content(text).stylize(DIM_STYLE))

    def show_answer(self, answer: Answer) -> None:
        self.answer = answer
        self.remove_class("-pending")
        self.set_class(answer.abstained, "-abstained")
        self.update(answer_content(answer))

    def show_error(self, content: Content) -> None:
        self.remove_class("-pending")
        self.add_class("-error")
        self.update(content)

    def on_click(self, event: Click) -> None:
        if self.answer is not None:
            self.post_message(self.Clicked(self))

    def action_cite(self, n: int) -> None:
        if self.answer is not None:
            self.post_message(self.CitationClicked(self, n))


class Notice(Static):
    """A message of the app in the transcript (welcome, indexing done, errors)."""

    def __init__(self, content: Content, kind: str = "info") -> None:
        super().__init__(content, markup=False, classes=f"-{kind}")


class Transcript(VerticalScroll, can_focus=True):
    """Questions and answers; up/down select an earlier or later answer."""

    BINDINGS = [
        Binding("up", "select_answer(-1)", "Earlier answer", show=False),
        Binding("down", "select_answer(1)", "Later answer", show=False),
    ]

    @dataclass
    class AnswerSelected(Message):
        """The answer whose sources should be shown changed."""

        answer: Answer

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selected: AnswerEntry | None = None

    def add_question(self, question: str, waiting: str) -> AnswerEntry:
        entry = AnswerEntry(waiting)
        self.mount_all([QuestionEntry(question), entry])
        self.scroll_to_bottom()
        return entry

    def add_notice(self, content: Content, kind: str = "info") -> Notice:
        notice = Notice(content, kind)
        self.mount(notice)
        self.scroll_to_bottom()
        return notice

    def scroll_to_bottom(self) -> None:
        self.call_after_refresh(self.scroll_end, animate=False)

    async def clear(self) -> None:
        self.selected = None
        await self.remove_children()

    def answered(self) -> list[AnswerEntry]:
        return [entry for entry in self.query(AnswerEntry) if entry.answer is not None]

    def select(self, entry: AnswerEntry, scroll: bool = True) -> None:
        if entry.answer is None:
            return
        if self.selected is not entry:
            if self.selected is not None:
                self.selected.remove_class("-selected")
            entry.add_class("-selected")
            self.selected = entry
        if scroll:
            self.call_after_refresh(self.scroll_to_widget, entry, animate=False)
        self.post_message(self.AnswerSelected(entry.answer))

    def action_select_answer(self, step: int) -> None:
        entries = self.answered()
        if not entries:
            return
        if self.selected in entries:
            position = entries.index(self.selected) + step
        else:
            position = len(entries) - 1
        self.select(entries[max(0, min(len(entries) - 1, position))])

    def on_answer_entry_clicked(self, event: AnswerEntry.Clicked) -> None:
        event.stop()
        self.select(event.entry, scroll=False)
