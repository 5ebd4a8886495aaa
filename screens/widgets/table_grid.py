"""A record's table drawn as a grid, header rows recognised, the derivation's cells highlighted."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from curator.numbers import numbers_in, parse_number
from curator.screens.text import literal

#: Characters of a cell drawn in the grid (the whole-text view, `w`, shows every cell whole).
CELL_CHARS = 500


def header_rows(rows: Sequence[Sequence[str]]) -> int:
    """Leading rows with no plain amounts (years are headers, not data)."""
    for i, row in enumerate(rows):
        for cell in row[1:]:
            value = parse_number(cell) if cell.strip() else None
            if value is not None and not re.fullmatch(r"\s*(19|20)\d\d\s*", cell):
                return i
    return min(1, len(rows))


def derivation_numbers(derivation: str) -> set[float]:
    """The absolute values a derivation uses (what to highlight in the table)."""
    if "##" in derivation:
        return set()
    return {abs(v) for v in numbers_in(derivation)}


#: How a cell a judge cites as evidence is drawn, by that judge's verdict.
EVIDENCE_STYLE = {"incorrect": "bold white on red", "correct": "bold black on green"}


def table_grid(
    rows: Sequence[Sequence[str]],
    derivation: str = "",
    answer_cells: Sequence[str] = (),
    evidence: Mapping[tuple[int, int], str] | None = None,
) -> Table:
    """A rich Table of the cells; cells whose number the derivation uses are highlighted, and
    cells a judge cites as evidence (row, col -> that judge's verdict) stand out most."""
    cited = evidence or {}
    used = derivation_numbers(derivation)
    answers = {" ".join(a.lower().split()) for a in answer_cells}
    n_header = header_rows(rows)
    width = max((len(r) for r in rows), default=0)
    table = Table(box=box.SIMPLE_HEAD, show_header=False, expand=True, pad_edge=False)
    for col in range(width):
        table.add_column(justify="left" if col == 0 else "right", overflow="fold")
    for r, row in enumerate(rows):
        cells: list[Text] = []
        for c, cell in enumerate(list(row) + [""] * (width - len(row))):
            style = "bold" if r < n_header else ""
            value = parse_number(cell) if cell.strip() else None
            if (r, c) in cited:
                style = EVIDENCE_STYLE.get(cited[(r, c)], "bold black on magenta")
            elif r >= n_header and value is not None and abs(value) in used:
                style = "bold black on yellow"
            elif " ".join(cell.lower().split()) in answers and cell.strip():
                style = "bold black on cyan"
            cells.append(literal(cell, style, limit=CELL_CHARS))
        table.add_row(*cells, end_section=r == n_header - 1)
    return table
