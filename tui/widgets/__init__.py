"""Widgets of the chat UI: each gets Answer objects and posts messages, no domain logic."""
