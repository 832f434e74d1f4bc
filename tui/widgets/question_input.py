"""The question box: Enter asks, up/down walk through earlier questions, empty input is
ignored."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class QuestionInput(Input, inherit_bindings=False):
    # Input's bindings without ctrl+e (end of line): ctrl+e exports the conversation.
    BINDINGS = [
        *(binding for binding in Input.BINDINGS if "ctrl+e" not in binding.key),  # type: ignore[union-attr]
        Binding("end", "end", "Go to end", show=False),
        Binding("up", "history(-1)", "Earlier question", show=False),
        Binding("down", "history(1)", "Later question", show=False),
    ]

    @dataclass
    class Asked(Message):
        question: str

    def __init__(self, *, id: str | None = None) -> None:
        # select_on_focus off: typing redirected from another pane must add to the text, not replace it.
        super().__init__(placeholder="Ask about your documents  (Enter: ask, ↑/↓: earlier questions)", id=id, select_on_focus=False)
        self.history: list[str] = []
        self._position: int | None = None
        """Index into history while walking it; None when editing a new question."""
        self._draft = ""

    async def action_submit(self) -> None:
        question = self.value.strip()
        if not question:
            return
        if not self.history or self.history[-1] != question:
            self.history.append(question)
        self._position = None
        self._draft = ""
        self.value = ""
        self.post_message(self.Asked(question))

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._position is None:
            if step > 0:
                return
            self._draft = self.value
            position = len(self.history) - 1
        else:
            position = self._position + step
        if position >= len(self.history):
            self._position = None
            self._show(self._draft)
            return
        self._position = max(0, position)
        self._show(self.history[self._position])

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)
