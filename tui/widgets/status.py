"""One line under the transcript: loading (indicator, stage, progress), ready, or failed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, LoadingIndicator, ProgressBar

from qa.render import safe_inline


class LoadStatus(Horizontal):
    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield Label("Starting…", id="stage", markup=False)
        yield ProgressBar(total=1.0, show_eta=False, id="stage-progress")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False

    def show_stage(self, stage: str, fraction: float) -> None:
        self.query_one("#stage", Label).update(Content(safe_inline(stage)))
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(progress=max(0.0, min(1.0, fraction)))

    def show_ready(self, text: str) -> None:
        self._finish(text, "-ready")

    def show_failed(self, text: str) -> None:
        self._finish(text, "-failed")

    def _finish(self, text: str, kind: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one(ProgressBar).display = False
        self.query_one("#stage", Label).update(Content(safe_inline(text)))
        self.add_class(kind)
