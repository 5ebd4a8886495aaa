"""The record screen's table: a real report stays readable in a 100-column terminal.

Header rows and the label column are frozen (they stay on screen while the body scrolls in
either direction), every cell is one line cut with `…` rather than folded mid-word, and the
cell under the cursor is shown whole, with its row label and column headers, in the line below
the grid (`RecordTable.CellShown`).

A line-API widget (like the queue): each line is a few segments cut from rows laid out once
per record, so a new record costs no per-cell rendering (Textual's DataTable renders every
cell through Rich, several times slower for the same table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from curator.screens.widgets.table_grid import (
    cell_path,
    cell_styles,
    column_widths,
    cut,
    header_rows,
    spans,
    spread,
)

#: Spaces on each side of a cell.
PAD = 1
HEADER_STYLE = Style(bold=True)
FROZEN_STYLE = Style(bold=True)
CURSOR_STYLE = Style(reverse=True)


class RecordTable(ScrollView, can_focus=True):
    """A record's table with frozen header rows and label column, cells cut with `…`."""

    DEFAULT_CSS = """
    RecordTable {
        height: auto;
    }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "move(0, -1000)", "First column", show=False),
        Binding("end", "move(0, 1000)", "Last column", show=False),
        Binding("ctrl+home", "move(-100000, 0)", "First row", show=False),
        Binding("ctrl+end", "move(100000, 0)", "Last row", show=False),
    ]

    @dataclass
    class CellShown(Message):
        """The cursor is on a cell: `path` says where (row label · headers), `text` is whole."""

        path: str
        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cells: list[list[str]] = []
        self.widths: list[int] = []
        #: Each row as (text drawn, style) per column, laid out to the column's width.
        self.lines: list[list[tuple[str, Style]]] = []
        self.fixed_rows = 0
        self.fixed_columns = 0
        self.cursor = (0, 0)

    # -- data -------------------------------------------------------------------------------

    def clear(self, columns: bool = True) -> None:
        self.cells, self.widths, self.lines = [], [], []
        self.fixed_rows = self.fixed_columns = 0
        self.cursor = (0, 0)
        self.virtual_size = Size(0, 0)
        self.refresh(layout=True)

    def show_table(
        self,
        rows: Sequence[Sequence[str]],
        *,
        derivation: str = "",
        answer_cells: Sequence[str] = (),
        evidence: Mapping[tuple[int, int], str] | None = None,
        pane_width: int = 80,
    ) -> None:
        """Draw a record's table; the cursor starts on the first cell a judge cites, else on
        the first highlighted cell, else on the first data cell."""
        width = max((len(r) for r in rows), default=0)
        height = len(self.cells)
        self.cells = [list(r) + [""] * (width - len(r)) for r in rows]
        styles = cell_styles(rows, derivation, answer_cells, evidence)
        self.widths = column_widths(self.cells, pane_width)
        n_header = header_rows(rows)
        self.fixed_rows = n_header if n_header < len(rows) else 0
        self.fixed_columns = 1 if width > 1 else 0
        spanning = spans(self.cells, n_header)
        self.lines = []
        for r, row in enumerate(self.cells):
            shown = [cut(cell, self.widths[c]) for c, cell in enumerate(row)]
            right = [c > 0 for c in range(width)]
            for (hr, c), k in spanning.items():
                if hr == r:  # a heading over several columns reads across them
                    shown[c : c + k] = spread(row[c], self.widths[c : c + k])
                    right[c : c + k] = [False] * k
            line = []
            for c, text in enumerate(shown):
                w = self.widths[c]
                body = text.rjust(w) if right[c] else text.ljust(w)
                style = Style.parse(styles[r][c]) if styles[r][c] else Style()
                if r < n_header:
                    style = HEADER_STYLE + style
                line.append((" " * PAD + body + " " * PAD, style))
            self.lines.append(line)
        total = sum(w + 2 * PAD for w in self.widths)
        self.virtual_size = Size(total, len(self.cells))
        start = self._start(styles, n_header)
        self.cursor = start or (0, 0)
        self.scroll_to(0, 0, animate=False)
        if self.size.height:
            self._reveal()  # sized by the record before: the start cell in view at once
        else:
            self.call_after_refresh(self._reveal)
        # A new layout only when the table's height changes (its height is its rows): a layout
        # of the whole screen per record cost more than drawing it.
        self.refresh(layout=len(self.cells) != height)
        if start is not None:
            self._announce()

    def _start(self, styles: list[list[str]], n_header: int) -> tuple[int, int] | None:
        if not self.cells:
            return None
        marked = [
            (r, c)
            for r in range(n_header, len(styles))
            for c in range(len(styles[r]))
            if styles[r][c] not in ("", "bold")
        ]
        if marked:
            return marked[0]
        row = n_header if n_header < len(self.cells) else 0
        return row, 1 if len(self.cells[row]) > 1 else 0

    # -- the cursor ---------------------------------------------------------------------------

    def move_cursor(
        self, *, row: int | None = None, column: int | None = None, animate: bool = False
    ) -> None:
        if not self.cells:
            return
        r = self.cursor[0] if row is None else row
        c = self.cursor[1] if column is None else column
        r = max(0, min(len(self.cells) - 1, r))
        c = max(0, min(len(self.widths) - 1, c))
        if (r, c) != self.cursor:
            self.cursor = (r, c)
            self._reveal()
            self.refresh()
            self._announce()

    def action_move(self, rows: int, columns: int) -> None:
        self.move_cursor(row=self.cursor[0] + rows, column=self.cursor[1] + columns)

    def action_page(self, pages: int) -> None:
        step = max(1, self.scrollable_content_region.height - self.fixed_rows - 1)
        self.action_move(pages * step, 0)

    def _reveal(self) -> None:
        """Scroll so that the cursor's cell is outside the frozen rows and column."""
        r, c = self.cursor
        view = self.scrollable_content_region
        x, y = self.scroll_offset
        if r >= self.fixed_rows:
            body_height = max(1, view.height - self.fixed_rows)
            top = y + self.fixed_rows  # first body row on screen
            if r < top:
                y = r - self.fixed_rows
            elif r >= top + body_height:
                y = r - self.fixed_rows - body_height + 1
        if c >= self.fixed_columns:
            frozen = sum(w + 2 * PAD for w in self.widths[: self.fixed_columns])
            left = sum(w + 2 * PAD for w in self.widths[self.fixed_columns : c])
            cell = self.widths[c] + 2 * PAD
            room = max(1, view.width - frozen)
            if left < x:
                x = left
            elif left + cell > x + room:
                x = left + cell - room
        self.scroll_to(max(0, x), max(0, y), animate=False)

    def _announce(self) -> None:
        r, c = self.cursor
        if 0 <= r < len(self.cells) and 0 <= c < len(self.cells[r]):
            self.post_message(self.CellShown(cell_path(self.cells, r, c), self.cells[r][c]))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the cell under the pointer."""
        hit = self._cell_at(event.x, event.y)
        if hit is not None:
            self.move_cursor(row=hit[0], column=hit[1])

    def _cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        scroll_x, scroll_y = self.scroll_offset
        row = y if y < self.fixed_rows else y + scroll_y
        if not 0 <= row < len(self.cells):
            return None
        frozen = sum(w + 2 * PAD for w in self.widths[: self.fixed_columns])
        at = x if x < frozen else x + scroll_x
        edge = 0
        for c, w in enumerate(self.widths):
            edge += w + 2 * PAD
            if at < edge:
                return row, c
        return None

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width or self.size.width
        row = y if y < self.fixed_rows else y + scroll_y
        base = self.rich_style
        if not 0 <= row < len(self.lines):
            return Strip.blank(width, base)
        segments: list[Segment] = []
        for c, (text, style) in enumerate(self.lines[row]):
            if c < self.fixed_columns:
                style = FROZEN_STYLE + style
            if (row, c) == self.cursor and self.has_focus:
                style = style + CURSOR_STYLE
            elif (row, c) == self.cursor:
                style = style + Style(underline=True)
            segments.append(Segment(text, base + style))
        frozen_width = sum(w + 2 * PAD for w in self.widths[: self.fixed_columns])
        frozen = Strip(segments[: self.fixed_columns]).crop(0, frozen_width)
        body = Strip(segments[self.fixed_columns :]).crop(
            scroll_x, scroll_x + max(0, width - frozen_width)
        )
        strip = Strip.join([frozen, body]).crop(0, width)
        return strip.extend_cell_length(width, base)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
