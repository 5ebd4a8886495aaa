"""A record's table drawn as a grid, header rows recognised, the derivation's cells highlighted."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rich import box
from rich.table import Table

from curator import safe_text
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


def cell_styles(
    rows: Sequence[Sequence[str]],
    derivation: str = "",
    answer_cells: Sequence[str] = (),
    evidence: Mapping[tuple[int, int], str] | None = None,
) -> list[list[str]]:
    """The style of every cell (rows padded to the widest): header rows bold, cells a judge
    cites as evidence by its verdict, then cells whose number the derivation uses, then cells
    that are the answer."""
    cited = evidence or {}
    used = derivation_numbers(derivation)
    answers = {" ".join(a.lower().split()) for a in answer_cells}
    n_header = header_rows(rows)
    width = max((len(r) for r in rows), default=0)
    styles: list[list[str]] = []
    for r, row in enumerate(rows):
        line: list[str] = []
        for c, cell in enumerate(list(row) + [""] * (width - len(row))):
            style = "bold" if r < n_header else ""
            value = parse_number(cell) if cell.strip() else None
            if (r, c) in cited:
                style = EVIDENCE_STYLE.get(cited[(r, c)], "bold black on magenta")
            elif r >= n_header and value is not None and abs(value) in used:
                style = "bold black on yellow"
            elif " ".join(cell.lower().split()) in answers and cell.strip():
                style = "bold black on cyan"
            line.append(style)
        styles.append(line)
    return styles


def table_grid(
    rows: Sequence[Sequence[str]],
    derivation: str = "",
    answer_cells: Sequence[str] = (),
    evidence: Mapping[tuple[int, int], str] | None = None,
) -> Table:
    """A rich Table of the cells (for printing whole); the record screen uses `RecordTable`."""
    styles = cell_styles(rows, derivation, answer_cells, evidence)
    n_header = header_rows(rows)
    width = max((len(r) for r in rows), default=0)
    table = Table(box=box.SIMPLE_HEAD, show_header=False, expand=True, pad_edge=False)
    for col in range(width):
        table.add_column(justify="left" if col == 0 else "right", overflow="fold")
    for r, row in enumerate(rows):
        cells = [
            literal(cell, styles[r][c], limit=CELL_CHARS)
            for c, cell in enumerate(list(row) + [""] * (width - len(row)))
        ]
        table.add_row(*cells, end_section=r == n_header - 1)
    return table


def cut(text: str, width: int) -> str:
    """One line of at most `width` cells: whole when it fits, else its start and `…`. Never
    folded mid-word onto a second line; the full text is shown for the cell under the cursor."""
    line = safe_text.one_line(" ".join(text[: CELL_CHARS + 1].split()))
    if len(line) <= width:
        return line
    return line[: max(0, width - 1)].rstrip() + "…"


def spans(rows: Sequence[Sequence[str]], n_header: int) -> dict[tuple[int, int], int]:
    """Header cells that head several columns: (row, col) -> how many columns, counting the
    blank header cells to their right (`Year Ended December 31,` over `2019` and `2018`)."""
    out: dict[tuple[int, int], int] = {}
    for r in range(min(n_header, len(rows))):
        row = rows[r]
        for c in range(1, len(row)):
            if not row[c].strip():
                continue
            k = 1
            while c + k < len(row) and not row[c + k].strip():
                k += 1
            if k > 1:
                out[(r, c)] = k
    return out


def column_widths(rows: Sequence[Sequence[str]], pane_width: int) -> list[int]:
    """Each column's width: its longest cell, capped so that a wide report still shows its
    labels and a few columns in a narrow pane (the rest scroll horizontally). A heading that
    spans columns does not widen the first of them (it is drawn across them). The label
    column gets up to ~40% of the pane, a data column up to 18 characters (22 when wide)."""
    width = max((len(r) for r in rows), default=0)
    spanning = spans(rows, header_rows(rows))
    natural = [
        max(
            1,
            max(
                (
                    len(" ".join(row[c].split()))
                    for r, row in enumerate(rows)
                    if c < len(row) and (r, c) not in spanning
                ),
                default=0,
            ),
        )
        for c in range(width)
    ]

    def drawn(widths: list[int]) -> int:
        return sum(w + 2 for w in widths)  # each cell is padded by one space on both sides

    if drawn(natural) <= pane_width:
        out = natural
    else:
        label_cap = max(14, min(44, pane_width * 2 // 5))
        data_cap = 22 if pane_width >= 120 else 18
        out = [min(n, label_cap if c == 0 else data_cap) for c, n in enumerate(natural)]
        spare = pane_width - drawn(out)
        if spare > 0 and out and natural[0] > out[0]:
            out[0] = min(natural[0], out[0] + spare)  # room left: the labels first
    # Room still left: widen the last column a heading spans until the heading fits.
    for (r, c), k in sorted(spanning.items()):
        spare = pane_width - drawn(out)
        while spare > 0 and spread(rows[r][c], out[c : c + k])[-1].endswith("…"):
            out[c + k - 1] += 1
            spare -= 1
    return out


def spread(text: str, widths: Sequence[int]) -> list[str]:
    """A heading laid across the columns it spans, whole words per column (the gap between
    columns stands for a space), the last part cut with `…` when it does not all fit."""
    words = safe_text.one_line(" ".join(text[: CELL_CHARS + 1].split())).split(" ")
    parts: list[str] = []
    for i, w in enumerate(widths):
        if i == len(widths) - 1:
            parts.append(cut(" ".join(words), w))
            break
        line = ""
        while words and len(line) + (1 if line else 0) + len(words[0]) <= w:
            line = f"{line} {words.pop(0)}" if line else words.pop(0)
        if not line and words:  # one word longer than the column: it goes on, cut at the end
            parts.append(cut(" ".join(words), w))
            words = []
        else:
            parts.append(line)
    return parts + [""] * (len(widths) - len(parts))


def cell_path(rows: Sequence[Sequence[str]], row: int, col: int) -> str:
    """Where a cell sits, in words: its row label and the header cells above its column."""
    n_header = header_rows(rows)
    label = rows[row][0].strip() if rows[row] else ""
    heads = []
    for r in range(n_header):
        # A header cell left blank sits under a heading that spans it (`December 31,` over two
        # years): the nearest filled cell to its left names it.
        filled = [c for c in range(1, min(col, len(rows[r]) - 1) + 1) if rows[r][c].strip()]
        if filled:
            heads.append(" ".join(rows[r][filled[-1]].split()))
    parts = [p for p in (label if col else "", " ".join(heads)) if p]
    return " · ".join(parts)
