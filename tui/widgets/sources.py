"""The sources panel: for the selected answer, its numbered citations, each with the passage
it comes from and the quoted sentence highlighted; for an abstention, what was searched."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from qa.types import Answer, Citation
from qa.export import short_answer_span
from tui.rendering import (
    DIM_STYLE,
    citation_header,
    cited_passage,
    passage_header,
    question_content,
    searched_passage,
    short_answer_content,
)

EMPTY = "Ask a question: the sources of its answer appear here, the quoted sentence highlighted."


class PassageCard(Static):
    """One citation (or, for an abstention, one searched passage): header and passage."""

    @dataclass
    class Clicked(Message):
        card: PassageCard

    def __init__(self, header: Content, body: Content, citation: Citation | None = None) -> None:
        super().__init__(Content.assemble(header, "\n", body), markup=False)
        self.body = body
        """The passage as shown (spans styled), kept for inspection."""
        self.citation = citation

    def on_click(self, event: Click) -> None:
        if self.citation is not None:
            self.post_message(self.Clicked(self))


class SourcesPanel(VerticalScroll, can_focus=True):
    """Citations of one answer; up/down (or a click) select one and scroll to it."""

    BINDINGS = [
        Binding("up", "step(-1)", "Previous source", show=False),
        Binding("down", "step(1)", "Next source", show=False),
    ]

    @dataclass
    class CitationSelected(Message):
        answer: Answer
        citation: Citation

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.answer: Answer | None = None
        self.selected: int | None = None
        """The `n` of the selected citation."""

    def on_mount(self) -> None:
        self.border_title = "Sources"
        self.mount(Static(EMPTY, markup=False, classes="sources-empty"))

    async def show(self, answer: Answer | None, n: int | None = None) -> None:
        """Show `answer`'s sources (nothing to do when they are shown), then select `n`."""
        if answer is not self.answer or answer is None:
            self.answer = answer
            self.selected = None
            await self.remove_children()
            await self.mount_all(list(self._widgets_for(answer)))
            self.scroll_home(animate=False)
        if n is not None:
            self.select(n)

    def _widgets_for(self, answer: Answer | None):
        if answer is None:
            yield Static(EMPTY, markup=False, classes="sources-empty")
            return
        yield Static(question_content(answer.question), markup=False, classes="sources-question")
        if answer.abstained:
            note = "No source: the documents do not answer this. The passages searched, best first:"
            yield Static(Content(note).stylize(DIM_STYLE), markup=False, classes="sources-note")
            for rank, hit in enumerate(answer.passages, start=1):
                yield PassageCard(passage_header(hit, rank), searched_passage(hit))
            return
        short = short_answer_content(answer)
        if short is not None:
            yield Static(short, markup=False, classes="sources-short-answer")
        hits = {hit.passage_id: hit for hit in answer.passages}
        for citation in answer.citations:
            body = cited_passage(citation, hits.get(citation.passage_id), short_answer_span(answer, citation))
            yield PassageCard(citation_header(citation), body, citation)

    def cards(self) -> list[PassageCard]:
        return [card for card in self.query(PassageCard) if card.citation is not None]

    def select(self, n: int) -> None:
        card = next((c for c in self.cards() if c.citation is not None and c.citation.n == n), None)
        if card is None or self.answer is None or card.citation is None:
            return
        for other in self.cards():
            other.set_class(other is card, "-selected")
        self.selected = n
        self.call_after_refresh(self.scroll_to_widget, card, animate=False, top=True)
        self.post_message(self.CitationSelected(self.answer, card.citation))

    def action_step(self, step: int) -> None:
        numbers = [c.citation.n for c in self.cards() if c.citation is not None]
        if not numbers:
            self.scroll_relative(y=step, animate=False)
            return
        position = numbers.index(self.selected) + step if self.selected in numbers else 0
        self.select(numbers[max(0, min(len(numbers) - 1, position))])

    def on_passage_card_clicked(self, event: PassageCard.Clicked) -> None:
        event.stop()
        if event.card.citation is not None:
            self.select(event.card.citation.n)
