"""The chat app: lays out the widgets, runs loading and answering in worker threads, and
turns what they report into transcript entries, sources and notices."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header

from qa.export import answer_with_sources, write_markdown
from qa.history import History
from qa.types import Answer
from tui.errors import error_content, error_line
from tui.messages import Answered, AnswerFailed, HistoryFailed, HistoryLoaded, Indexed, Loaded, LoadFailed, LoadProgress
from tui.rendering import notice_content, welcome_content
from tui.screens.conversations import ConversationsScreen
from tui.screens.help import HelpScreen
from tui.widgets.question_input import QuestionInput
from tui.widgets.sources import SourcesPanel
from tui.widgets.status import LoadStatus
from tui.widgets.transcript import AnswerEntry, Transcript

Progress = Callable[[str, float], None]
Loader = Callable[[Progress], Any]
"""Given a progress callback, return an Answerer (anything with `ask(question, top_k)`)."""
Indexer = Callable[[Progress], str]
"""Given a progress callback, index documents and return a one-line summary."""

MAX_QUEUED = 3


class ChatApp(App[None], inherit_bindings=False):
    TITLE = "citeqa"
    SUB_TITLE = "cited answers from your documents"
    CSS_PATH = "chat.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("ctrl+o", "conversations", "Chats", priority=True),
        Binding("ctrl+s", "focus_sources", "Sources", priority=True),
        Binding("ctrl+y", "copy_answer", "Copy", priority=True),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("f1", "help", "Help", key_display="F1"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]
    KEYS = [
        ("Enter", "ask the question typed"),
        ("↑ / ↓ (question box)", "earlier / later questions"),
        ("↑ / ↓ (transcript)", "select an earlier / later answer: Sources follow it"),
        ("↑ / ↓ (sources)", "previous / next citation"),
        ("click [n] or a source", "show that citation in Sources"),
        ("Tab / Shift+Tab", "move between question box, transcript and sources"),
        ("Ctrl+N", "new conversation (the current one is kept)"),
        ("Ctrl+O", "earlier conversations: pick one to continue"),
        ("typing anywhere", "goes to the question box"),
        ("Ctrl+S", "focus the sources"),
        ("Ctrl+Y", "copy the selected answer with its sources"),
        ("Ctrl+E", "export the conversation as Markdown (qa-chat-*.md in the exports folder)"),
        ("Ctrl+P", "command palette (theme: light or dark)"),
        ("F1", "this help"),
        ("Ctrl+Q", "quit"),
    ]

    def __init__(
        self, loader: Loader, indexer: Indexer | None = None, top_k: int = 5, exports_dir: Path | None = None,
        history: History | None = None, resume: bool = True,
    ) -> None:
        super().__init__()
        self.loader = loader
        self.history = history
        """Where conversations are kept (None: nothing is kept, as in tests)."""
        self.resume = resume
        """Reopen the last conversation (False: `qa chat --new`)."""
        self._generation = 0
        """Counts conversations shown since start: an answer is saved to the conversation of
        the generation it was asked in, even if the user moved on before it was written."""
        self._conversation_ids: dict[int, int] = {}
        """Generation -> its conversation in the history (absent until its first answer)."""
        self._history_lock = threading.Lock()
        self._history_broken = False
        self.exports_dir = exports_dir or Path.cwd()
        """Where Ctrl+E writes (Settings.exports_dir; created on the first export)."""
        self.indexer = indexer
        self.top_k = top_k
        self.answerer: Any = None
        self.load_error: BaseException | None = None
        self._previous_question: str | None = None
        """The last question sent for answering: the context of a follow-up question."""
        self.conversation: list[Answer] = []
        """Answered questions of this chat, in order (what export writes)."""
        self._waiting: deque[tuple[int, str, AnswerEntry]] = deque()
        self._in_flight: dict[int, AnswerEntry] = {}
        self._requests = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield Transcript(id="transcript")
            yield SourcesPanel(id="sources")
        yield LoadStatus(id="status")
        yield QuestionInput(id="question")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(QuestionInput).focus()
        self.transcript.add_notice(welcome_content())
        self.load_answerer()
        if self.history is not None:
            self.read_conversation(None, latest=self.resume)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def sources(self) -> SourcesPanel:
        return self.query_one(SourcesPanel)

    # Loading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_answerer(self) -> None:
        last: list[tuple[str, int]] = []

        def progress(stage: str, fraction: float) -> None:
            step = (stage, int(fraction * 100))
            if not last or last[0] != step:
                last[:] = [step]
                self.post_message(LoadProgress(stage, fraction))

        try:
            if self.indexer is not None:
                self.post_message(Indexed(self.indexer(progress)))
            answerer = self.loader(progress)
        except Exception as error:  # noqa: BLE001 - shown in the UI, never a crash
            self.post_message(LoadFailed(error))
        else:
            self.post_message(Loaded(answerer))

    def on_load_progress(self, message: LoadProgress) -> None:
        self.query_one(LoadStatus).show_stage(message.stage, message.fraction)

    def on_indexed(self, message: Indexed) -> None:
        self.transcript.add_notice(notice_content("Indexed", message.summary))

    def on_loaded(self, message: Loaded) -> None:
        self.answerer = message.answerer
        self.query_one(LoadStatus).show_ready(f"Ready · {describe(message.answerer)}")
        self._next_question()

    def on_load_failed(self, message: LoadFailed) -> None:
        self.load_error = message.error
        self.query_one(LoadStatus).show_failed(f"Not ready: {error_line(message.error)}")
        self.transcript.add_notice(error_content("The bot could not start", message.error), "error")
        while self._waiting:
            _, _, entry = self._waiting.popleft()
            entry.show_error(error_content("Not answered", message.error))

    # Asking ----------------------------------------------------------------------------

    def on_question_input_asked(self, message: QuestionInput.Asked) -> None:
        if self.load_error is not None:
            self.transcript.add_notice(
                error_content("Cannot answer: the bot did not start", self.load_error), "error"
            )
            return
        if len(self._waiting) >= MAX_QUEUED:
            self.notify("Still answering your earlier questions; ask again in a moment.", severity="warning")
            self.query_one(QuestionInput).value = message.question
            return
        if self.answerer is None:
            waiting = "Waiting for the model to load…"
        elif self._in_flight or self._waiting:
            waiting = "Queued: answering the previous question first…"
        else:
            waiting = "Answering…"
        self._requests += 1
        self._waiting.append((self._requests, message.question, self.transcript.add_question(message.question, waiting)))
        self._next_question()

    def _next_question(self) -> None:
        if self.answerer is None or self._in_flight or not self._waiting:
            return
        request, question, entry = self._waiting.popleft()
        entry.show_waiting("Answering…")
        self._in_flight[request] = entry
        self.answer_question(request, question, self._previous_question)
        self._previous_question = question

    @work(thread=True, group="ask", exit_on_error=False)
    def answer_question(self, request: int, question: str, context: str | None = None) -> None:
        try:
            result = self.answerer.ask(question, self.top_k, context=context)
        except Exception as error:  # noqa: BLE001 - shown in the UI, never a crash
            self.post_message(AnswerFailed(request, error))
        else:
            self.post_message(Answered(request, result))

    def on_answered(self, message: Answered) -> None:
        entry = self._in_flight.pop(message.request, None)
        if entry is not None and entry.is_attached:
            entry.show_answer(message.answer)
            self.conversation.append(message.answer)
            self.transcript.select(entry)
            if self.history is not None and not self._history_broken:
                self.save_answer(message.answer, self._generation)
        self._next_question()

    def on_answer_failed(self, message: AnswerFailed) -> None:
        entry = self._in_flight.pop(message.request, None)
        if entry is not None and entry.is_attached:
            entry.show_error(error_content("Not answered", message.error))
            self.transcript.scroll_to_bottom()
        self._next_question()

    # History ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="history-read", exit_on_error=False)
    def read_conversation(self, conversation_id: int | None, latest: bool = False) -> None:
        try:
            if latest:
                conversation_id = self.history.latest_conversation("chat")
            exchanges = self.history.exchanges(conversation_id) if conversation_id is not None else []
            questions = self.history.questions()
        except Exception as error:  # noqa: BLE001 - the chat goes on without its history
            self.post_message(HistoryFailed(error))
        else:
            self.post_message(HistoryLoaded(conversation_id, [e.answer for e in exchanges], questions))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.query_one(QuestionInput).history = list(message.questions)
        if message.conversation_id is None or not message.answers:
            return
        if self.conversation or self._waiting or self._in_flight:
            return  # questions were asked before the history arrived: they start a new conversation
        with self._history_lock:
            self._conversation_ids[self._generation] = message.conversation_id
        for answer in message.answers:
            entry = self.transcript.add_question(answer.question, "")
            entry.show_answer(answer)
        self.conversation = list(message.answers)
        self._previous_question = message.answers[-1].question
        self.transcript.add_notice(notice_content(
            "Continued", f"{len(message.answers)} earlier question(s) of this conversation; Ctrl+N starts a new one, Ctrl+O lists them all"))
        self.transcript.select(entry)  # the last answer

    def on_history_failed(self, message: HistoryFailed) -> None:
        self._history_broken = True
        self.transcript.add_notice(error_content("The conversation is not being saved", message.error), "error")

    @property
    def conversation_id(self) -> int | None:
        """The conversation in the history that answers go to; None until its first answer."""
        return self._conversation_ids.get(self._generation)

    @work(thread=True, group="history-write", exit_on_error=False)
    def save_answer(self, answer: Answer, generation: int) -> None:
        # One writer at a time, in order: the first answer of a conversation creates it.
        with self._history_lock:
            try:
                conversation_id, _ = self.history.record(self._conversation_ids.get(generation), answer, origin="chat")
            except Exception as error:  # noqa: BLE001
                self.post_message(HistoryFailed(error))
                return
            self._conversation_ids[generation] = conversation_id

    # Selection -------------------------------------------------------------------------

    async def on_transcript_answer_selected(self, message: Transcript.AnswerSelected) -> None:
        await self.sources.show(message.answer)

    async def on_answer_entry_citation_clicked(self, message: AnswerEntry.CitationClicked) -> None:
        self.transcript.select(message.entry, scroll=False)
        await self.sources.show(message.entry.answer, message.n)

    # Actions ---------------------------------------------------------------------------

    async def action_new_chat(self) -> None:
        """A new, empty conversation; the current one stays in the history."""
        await self._leave_conversation()
        self.transcript.add_notice(welcome_content())
        self.query_one(QuestionInput).focus()

    async def _leave_conversation(self) -> None:
        # A question being answered keeps its place in _in_flight (one worker at a time); its
        # entry is gone, so the answer is dropped when it arrives.
        self._waiting.clear()
        self._previous_question = None
        self.conversation = []
        with self._history_lock:
            self._generation += 1
        await self.transcript.clear()
        await self.sources.show(None)

    @work(group="history-read", exclusive=True)
    async def action_conversations(self) -> None:
        if self.history is None:
            self.notify("Conversations are not kept in this chat.", severity="warning")
            return
        try:
            conversations = self.history.conversations()
        except Exception as error:  # noqa: BLE001
            self.post_message(HistoryFailed(error))
            return
        if not conversations:
            self.notify("No earlier conversations yet.")
            return
        chosen = await self.push_screen_wait(ConversationsScreen(conversations, self.conversation_id))
        if chosen is None or chosen == self.conversation_id:
            return
        await self._leave_conversation()
        self.read_conversation(chosen)
        self.query_one(QuestionInput).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing while the transcript or Sources has focus goes to the question box."""
        box = self.query_one(QuestionInput)
        if isinstance(self.screen, ModalScreen) or self.focused is box or not event.is_printable or not event.character:
            return
        box.focus()
        box.insert_text_at_cursor(event.character)
        event.stop()

    def on_paste(self, event: events.Paste) -> None:
        box = self.query_one(QuestionInput)
        if self.focused is not box and not isinstance(self.screen, ModalScreen):
            box.focus()
            box.insert_text_at_cursor(event.text.replace("\n", " "))
            event.stop()

    def action_focus_sources(self) -> None:
        self.sources.focus()

    def action_copy_answer(self) -> None:
        answer = self._selected_answer()
        if answer is None:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(answer_with_sources(answer))
        self.notify(f"Copied the answer and its {len(answer.citations)} source(s).")

    def action_export(self) -> None:
        if not self.conversation:
            self.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        try:
            self.exports_dir.mkdir(parents=True, exist_ok=True)
            path = write_markdown(self.conversation, self.exports_dir, datetime.now())
        except OSError as error:
            self.notify(f"Export failed: {error.strerror or error}", severity="error")
            return
        self.notify(f"Exported the conversation to {path}")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.KEYS))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("New conversation", "Start a new conversation (the current one is kept)", self.action_new_chat)
        yield SystemCommand("Conversations", "Continue an earlier conversation", self.action_conversations)
        yield SystemCommand("Focus sources", "Move the focus to the Sources panel", self.action_focus_sources)
        yield SystemCommand("Copy answer", "Copy the selected answer with its numbered sources", self.action_copy_answer)
        yield SystemCommand("Export conversation", "Write the conversation as Markdown with citations", self.action_export)
        yield SystemCommand("Help", "What the bot does and all keys", self.action_help)
        yield SystemCommand("Light / dark", "Switch between the light and dark theme", self.action_toggle_theme)
        yield from super().get_system_commands(screen)

    def _selected_answer(self) -> Answer | None:
        selected = self.transcript.selected
        if selected is not None and selected.answer is not None:
            return selected.answer
        return self.conversation[-1] if self.conversation else None


def describe(answerer: Any) -> str:
    """`N document(s), M passages · model`, from what the answerer exposes."""
    index = getattr(answerer, "index", None)
    if index is None:
        return "ready to answer"
    return (
        f"{len(index.manifest.documents)} document(s), {index.manifest.passage_count} passage(s) · "
        f"{index.manifest.model_id}"
    )
