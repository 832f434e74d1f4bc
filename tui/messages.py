"""What the app's workers report back to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from qa.types import Answer


@dataclass
class LoadProgress(Message):
    """Model conversion, loading or embedding advanced."""

    stage: str
    fraction: float
    """0..1 of the stage."""


@dataclass
class Indexed(Message):
    """The documents given to `qa chat` were indexed."""

    summary: str


@dataclass
class Loaded(Message):
    """The answerer is ready."""

    answerer: Any
    """A `qa.answerer.Answerer` (typed loosely: the UI only calls `ask`)."""


@dataclass
class LoadFailed(Message):
    error: BaseException


@dataclass
class Answered(Message):
    request: int
    """Which question this answers (see `ChatApp.ask`)."""
    answer: Answer


@dataclass
class AnswerFailed(Message):
    request: int
    error: BaseException


@dataclass
class HistoryLoaded(Message):
    """A conversation was read from the history (at start, or when switching)."""

    conversation_id: int | None
    """None when there is none to continue: the next answer starts one."""
    answers: list[Answer]
    questions: list[str]
    """Every question asked (oldest first): the question box's ↑ history."""


@dataclass
class HistoryFailed(Message):
    """The history could not be read or written; the chat goes on without it."""

    error: BaseException
