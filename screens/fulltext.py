"""The whole-text viewer (`w` on the record screen): every field of a record at full length.

The record screen cuts long fields (a 10 MB question is accepted by import) so it never wraps
megabytes into a widget. This screen shows them whole without that cost: the text is escaped and
cut into screen-wide lines in a thread worker, and a `Log` (Textual's line-virtualised view)
draws only the lines on screen. Nothing is rendered as markup; controls are visible escapes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Log
from textual.worker import Worker

from curator.screens.text import wrap_lines
from curator.screens.workers import forward_worker_state


class FullTextScreen(Screen[None]):
    """Titled sections of text, each whole, in one scrollable view."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape,w,q", "back", "Back"),
        Binding("home", "top", "Top", show=False),
        Binding("end", "bottom", "Bottom", show=False),
    ]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_state(self, event)

    def __init__(self, sections: list[tuple[str, str]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        yield Header()
        yield Log(id="fulltext-log", auto_scroll=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.write_line("preparing the text…")
        log.focus()
        # Measured once laid out (at mount the log has no size yet, and the screen's width
        # counted the scrollbar's columns: each line's last character was hidden under it).
        self.call_after_refresh(self._measured)

    def _measured(self) -> None:
        log = self.query_one(Log)
        self.prepare((log.scrollable_content_region.width or self.size.width or 80) - 1)

    @work(thread=True, exclusive=True, exit_on_error=False, description="laying out the text")
    def prepare(self, width: int) -> None:
        lines: list[str] = []
        for title, text in self.sections:
            if lines:
                lines.append(" ")
            lines.append(f"── {title} ({len(text):,} characters) ──")
            # `Log` drops empty strings (it splits each on line ends): a blank line is a space.
            lines.extend(line or " " for line in wrap_lines(text, width))
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        log = self.query_one(Log)
        log.clear()
        log.write_lines(lines, scroll_end=False)
        log.scroll_home(animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_top(self) -> None:
        self.query_one(Log).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(Log).scroll_end(animate=False)
