"""The queue as a virtualised list: draws only the visible lines, asks for pages as it scrolls.

Rows arrive a keyset page at a time from the store (through a worker); the view keeps the rows
seen so far and renders each line on demand (Textual's line API), so a million-record store
costs what the reviewer has scrolled through, never the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from curator import safe_text
from curator.prompts import render_answer

#: Widest verdicts column and answer column of a queue line (longer text ends in `…`).
VERDICT_CHARS = 40
ANSWER_CHARS = 18
STATUS_MARK = {"pending": "·", "accepted": "✓", "edited": "✎", "rejected": "✗", "flagged": "!"}
VERDICT_STYLE = {
    "correct": "green",
    "incorrect": "bold red",
    "uncertain": "yellow",
    "unparsed": "magenta",
    "error": "red",
}


class QueueView(ScrollView, can_focus=True):
    """Rows of the review queue with a cursor."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("pagedown", "cursor(20)", "Page down", show=False),
        Binding("pageup", "cursor(-20)", "Page up", show=False),
        Binding("home", "cursor(-1000000)", "Top", show=False),
        Binding("enter", "open", "Open", show=True),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class MoreWanted(Message):
        """The cursor is near the last loaded row and more rows exist."""

        view: QueueView

    @dataclass
    class Opened(Message):
        row: Any

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.rows: list[Any] = []
        self.exhausted = False
        self.loading = False
        self.blind = False
        #: Width of the verdicts column: the widest `judge verdict …` of the loaded rows.
        self.verdict_width = len("verdicts")
        self.cursor_uid: str | None = None

    def columns(self) -> None:
        """Size the verdicts column to the loaded rows (whole words, never `r:corre`)."""
        widest = max((len(verdict_text(r.verdicts)) for r in self.rows), default=0)
        self.verdict_width = min(VERDICT_CHARS + 2, max(len("verdicts"), widest)) + 1

    def header(self) -> str:
        """The column titles, aligned with the rows."""
        return (
            f"   {'status':<9}{'verdicts':<{self.verdict_width}}{'type':<11}"
            f"{'answer':<{ANSWER_CHARS + 1}}question"
        )

    # -- data -------------------------------------------------------------------------------

    def _resize(self) -> None:
        extra = 0 if self.exhausted else 1
        self.virtual_size = Size(self.size.width, len(self.rows) + extra)

    @property
    def current(self) -> Any | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # -- behaviour --------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self.current))

    def watch_cursor(self, cursor: int) -> None:
        # Remembered by uid: rows loaded before it shift its index, not the record it is on.
        self.cursor_uid = self.current.uid if self.current is not None else None
        self.scroll_to_region(Region(0, cursor, 1, 1), animate=False)
        self.refresh()
        if not self.exhausted and not self.loading and cursor >= len(self.rows) - 10:
            self.loading = True
            self.post_message(self.MoreWanted(self))

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.size.width
        if index >= len(self.rows):
            if index == len(self.rows) and not self.exhausted:
                return Strip([Segment(" loading…".ljust(width), Style(dim=True))])
            return Strip.blank(width)
        row = self.rows[index]
        selected = index == self.cursor
        base = (
            Style(reverse=True)
            if selected and self.has_focus
            else (Style(bold=True) if selected else Style())
        )
        mark = STATUS_MARK.get(row.status, "?")
        segments = [Segment(f" {mark} {row.status:<8} ", base)]
        if self.blind:
            segments.append(Segment("(hidden)".ljust(self.verdict_width), base + Style(dim=True)))
        else:
            used = 0
            for judge, verdict in sorted(row.verdicts.items()):
                text = safe_text.visible(f"{_short(judge)} {verdict}")
                gap = 2 if used else 0
                if used + gap + len(text) > VERDICT_CHARS:
                    segments.append(Segment(" …", base))
                    used += 2
                    break
                segments.append(Segment(" " * gap, base))
                segments.append(Segment(text, base + Style.parse(VERDICT_STYLE.get(verdict, ""))))
                used += gap + len(text)
            segments.append(Segment(" " * max(1, self.verdict_width - used), base))
        segments.append(Segment(f"{row.answer_type:<11}", base))
        answer = safe_text.one_line(render_answer(row.answer, row.scale)[:200])
        if len(answer) > ANSWER_CHARS:
            answer = answer[: ANSWER_CHARS - 1] + "…"
        segments.append(Segment(f"{answer:<{ANSWER_CHARS}} ", base + Style(bold=True)))
        # Only what a line can show is escaped: a 10 MB question costs no more than a short one.
        question = safe_text.one_line(row.question[: 2 * (scroll_x + width) + 64])
        segments.append(Segment(question, base))
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, base)


def _short(judge: str) -> str:
    """A judge's name in a queue line: whole up to 12 characters."""
    return judge if len(judge) <= 12 else judge[:11] + "…"


def verdict_text(verdicts: dict[str, str]) -> str:
    """A row's latest verdicts as the queue draws them: `judge verdict`, two spaces apart."""
    return "  ".join(f"{_short(j)} {v}" for j, v in sorted(verdicts.items()))
