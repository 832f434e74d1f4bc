"""`qa log`: past questions with their answers and citations, from the history database."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from citeqa.common import errors_to_exit_codes, settings_from


def log_command(
    count: Annotated[int, typer.Option("-n", "--count", min=0, help="How many of the latest questions to show (0: all).")] = 3,
    query: Annotated[Optional[str], typer.Option("-q", "--query", help="Only questions or answers containing TEXT (full-text search).", show_default=False)] = None,
    conversation: Annotated[Optional[int], typer.Option("-c", "--conversation", help="Only the questions of conversation ID.", show_default=False)] = None,
    list_conversations: Annotated[bool, typer.Option("--conversations", help="List the conversations instead (latest first).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: an array of questions with their answers.")] = False,
) -> None:
    """Show past questions (qa chat and qa ask) with their answers and citations."""
    with errors_to_exit_codes():
        from qa.history import History
        from qa.render import print_conversations, print_exchanges

        history = History(settings_from().history_path)
        limit = count or 1_000_000_000
        if list_conversations:
            found = history.conversations(limit=limit)
            if as_json:
                sys.stdout.write(json.dumps([vars(c) for c in found], ensure_ascii=False) + "\n")
            else:
                print_conversations(found)
            return
        exchanges = history.recent(limit, query=query, conversation_id=conversation)
        if as_json:
            sys.stdout.write(json.dumps([e.to_json() for e in exchanges], ensure_ascii=False) + "\n")
        else:
            print_exchanges(exchanges)
