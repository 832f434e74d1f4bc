"""The help screen: what the bot does and every key."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = (
    "Every answer is made of sentences quoted from your documents, each followed by [n]: "
    "its source. The Sources panel shows the selected answer's sources, the quoted sentence "
    "highlighted in its passage. When the documents do not answer, the bot says so."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "app.pop_screen", "Close help")]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys
        """(key, what it does) rows."""

    def compose(self) -> ComposeResult:
        width = max(len(key) for key, _ in self.keys)
        rows = Content("\n").join(
            Content.assemble(Content(key.ljust(width + 2)).stylize("bold $text-accent"), what)
            for key, what in self.keys
        )
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Help"
            body.border_subtitle = "Esc closes"
            yield Static(ABOUT, markup=False, id="help-about")
            yield Static(rows, markup=False, id="help-keys")
