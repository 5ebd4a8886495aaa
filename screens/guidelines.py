"""The guidelines panel: the team's Markdown review guidelines, beside nothing, one key away (g).

The file is the team's own, but it still never reaches the terminal raw: control characters are
shown as escapes before the Markdown is rendered (Markdown is rendered, Rich markup is not run).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static

from curator.guidelines import Guidelines
from curator.screens.text import label, visible


class GuidelinesScreen(ModalScreen[None]):
    """The configured guidelines, scrollable; Escape, q or g closes."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape,g,q", "close", "Close")]

    def __init__(self, guidelines: Guidelines) -> None:
        super().__init__()
        self.guidelines = guidelines

    def compose(self) -> ComposeResult:
        g = self.guidelines
        with VerticalScroll(id="guidelines-dialog", classes="dialog"):
            title = Text("Review guidelines", style="bold")
            if g.path is not None:
                title.append("  ")
                title.append_text(label(str(g.path), "dim"))
            yield Label(title, classes="title")
            if g.text is None:
                yield Static(label(g.problem, "bold yellow"), id="guidelines-problem")
            else:
                yield Markdown(visible(g.text), id="guidelines-text")
            yield Static(Text("escape closes", style="dim italic"))

    def on_mount(self) -> None:
        self.query_one("#guidelines-dialog").focus()

    def action_close(self) -> None:
        self.dismiss(None)
