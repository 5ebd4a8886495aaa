"""The record screen's table: a real report stays readable in a 100-column terminal.

Header rows and the label column are frozen (they stay on screen while the body scrolls in
either direction), every cell is one line cut with `…` rather than folded mid-word, and the
cell under the cursor is shown whole, with its row label and column headers, in the line below
the grid (`RecordTable.CellShown`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from curator.screens.widgets.table_grid import (
    cell_path,
    cell_styles,
    column_widths,
    cut,
    header_rows,
    spans,
    spread,
)


class RecordTable(DataTable[Text]):
    """A record's table with frozen header rows and label column, cells cut with `…`."""

    @dataclass
    class CellShown(Message):
        """The cursor is on a cell: `path` says where (row label · headers), `text` is whole."""

        path: str
        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(show_header=False, cursor_type="cell", zebra_stripes=False, id=id)
        self.cells: list[list[str]] = []
        self.widths: list[int] = []

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
        self.cells = [list(r) + [""] * (width - len(r)) for r in rows]
        styles = cell_styles(rows, derivation, answer_cells, evidence)
        self.widths = column_widths(self.cells, pane_width)
        n_header = header_rows(rows)
        self.clear(columns=True)
        self.fixed_rows = n_header if n_header < len(rows) else 0
        self.fixed_columns = 1 if width > 1 else 0
        for c, w in enumerate(self.widths):
            self.add_column("", width=w, key=str(c))
        spanning = spans(self.cells, n_header)
        for r, row in enumerate(self.cells):
            shown = [cut(cell, self.widths[c]) for c, cell in enumerate(row)]
            justify = ["left" if c == 0 else "right" for c in range(width)]
            for (hr, c), k in spanning.items():
                if hr == r:  # a heading over several columns reads across them
                    shown[c : c + k] = spread(row[c], self.widths[c : c + k])
                    justify[c : c + k] = ["left"] * k
            self.add_row(
                *[
                    Text(text, style=styles[r][c], justify=justify[c], no_wrap=True, end="")  # type: ignore[arg-type]
                    for c, text in enumerate(shown)
                ],
                height=1,
                key=str(r),
            )
        start = self._start(styles, n_header)
        if start is not None:
            self.move_cursor(row=start[0], column=start[1], animate=False)
            self._announce(*start)

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

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._announce(event.coordinate.row, event.coordinate.column)

    def _announce(self, row: int, col: int) -> None:
        if 0 <= row < len(self.cells) and 0 <= col < len(self.cells[row]):
            self.post_message(self.CellShown(cell_path(self.cells, row, col), self.cells[row][col]))
