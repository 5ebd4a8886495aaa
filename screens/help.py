"""F1 / ?: every key of every screen, read from the bindings themselves so it never drifts."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import KEY_DISPLAY_ALIASES, format_key
from textual.screen import ModalScreen
from textual.widgets import Static


def _shown(key: str) -> str:
    """A key as the reviewer types it: `!` for Textual's `exclamation_mark` (as the key bar
    shows it); named keys (escape, down, space) stay words, as they are written in `[keys]`."""
    return key if key in KEY_DISPLAY_ALIASES else format_key(key)


def _keys(bindings: list[Any], keymap: dict[str, str]) -> list[tuple[str, str]]:
    """(keys, what) of each binding, with the `[keys]` remapping applied."""
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            bound = keymap.get(b.id, b.key) if b.id else b.key
            keys = " / ".join(_shown(k.strip()) for k in bound.split(","))
            rows.append((keys, b.description or b.action))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Any]] = [Binding("escape,f1,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        from curator.screens.eval import EvalScreen
        from curator.screens.queue import QueueScreen
        from curator.screens.record import ReviewScreen
        from curator.screens.stats import StatsScreen

        table = Table(title="curator keys", show_header=True, expand=True)
        table.add_column("screen", style="bold")
        table.add_column("key")
        table.add_column("does")
        for name, bindings in (
            ("record", ReviewScreen.BINDINGS),
            ("queue", QueueScreen.BINDINGS),
            ("stats", StatsScreen.BINDINGS),
            ("eval", EvalScreen.BINDINGS),
            ("everywhere", type(self.app).BINDINGS),  # the app, without importing it
        ):
            for i, (keys, what) in enumerate(_keys(bindings, getattr(self.app, "keys", {}))):
                table.add_row(name if i == 0 else "", keys, what)
        table.add_row("everywhere", "ctrl+p", "command palette: every action by name")
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static(table)
            yield Static(
                Text(
                    "The table: arrows, page up/down, home/end (ctrl for rows) move the cell "
                    "cursor; its header rows and labels stay while it scrolls, and the line "
                    "under it shows the cell whole. Keys can be remapped in the config's [keys]. "
                    "A decision is saved before the next record shows. u undoes your last "
                    "decision; U picks an earlier one. Escape closes this help.",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)
