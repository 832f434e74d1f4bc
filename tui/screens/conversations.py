"""The conversation list: pick an earlier conversation to continue (Enter), or close (Esc)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from qa.history import Conversation
from qa.render import safe_inline


class ConversationsScreen(ModalScreen[int | None]):
    """Dismissed with the chosen conversation's id, or None."""

    BINDINGS = [Binding("escape,ctrl+o", "dismiss_none", "Close")]

    def __init__(self, conversations: Sequence[Conversation], current: int | None) -> None:
        super().__init__()
        self.conversations = conversations
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(self._label(c), id=str(c.id)) for c in self.conversations]
        with Vertical(id="conversations-body") as body:
            body.border_title = "Conversations"
            body.border_subtitle = "Enter opens · Esc closes"
            yield OptionList(*options, id="conversations")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [c.id for c in self.conversations]
        options.highlighted = ids.index(self.current) if self.current in ids else 0 if ids else None
        options.focus()

    def _label(self, conversation: Conversation) -> Content:
        when = conversation.updated_at.replace("T", " ")[:16]
        mark = "● " if conversation.id == self.current else "  "
        return Content.assemble(
            Content(mark).stylize("$text-accent"),
            Content(f"{when}  ").stylize("$foreground-muted"),
            Content(safe_inline(conversation.title)[:80]),
            Content(f"  {conversation.exchanges} question(s) · {conversation.origin}").stylize("$foreground-muted"),
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
