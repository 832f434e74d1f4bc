"""SVG snapshots of the chat UI (pytest-textual-snapshot); `--snapshot-update` rewrites them
after a deliberate change. Indexes are built with the fake encoder: no timings or dates are
shown, so the pictures are deterministic."""

from __future__ import annotations

import pytest

from tui.app import ChatApp
from tui_helpers import QUESTION, STRICT, ask, index_corpus, loader_for, wait_ready


@pytest.fixture
def settings(tmp_path, fake_encoder):
    return index_corpus(tmp_path)


def test_first_screen(snap_compare, settings):
    assert snap_compare(ChatApp(loader_for(settings)), terminal_size=(120, 35), run_before=wait_ready)


def test_answer_with_sources(snap_compare, settings):
    async def run_before(pilot):
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()  # the selected answer scrolls into view after a refresh

    assert snap_compare(ChatApp(loader_for(settings)), terminal_size=(120, 35), run_before=run_before)


def test_abstention(snap_compare, settings):
    async def run_before(pilot):
        await wait_ready(pilot)
        await ask(pilot, "火星上有多少座火山？")

    assert snap_compare(ChatApp(loader_for(settings, STRICT)), terminal_size=(120, 35), run_before=run_before)


def test_help_screen(snap_compare, settings):
    async def run_before(pilot):
        await wait_ready(pilot)
        await pilot.press("f1")

    assert snap_compare(ChatApp(loader_for(settings)), terminal_size=(120, 35), run_before=run_before)


def test_narrow_terminal(snap_compare, settings):
    async def run_before(pilot):
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()  # the selected answer scrolls into view after a refresh

    assert snap_compare(ChatApp(loader_for(settings)), terminal_size=(60, 35), run_before=run_before)
