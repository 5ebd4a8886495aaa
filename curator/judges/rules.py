"""The offline rules judge: deterministic checks that need no model and no key.

It says `correct` only on positive evidence: the derivation recomputes to the answer from numbers
found in the context, or a span sits in the cell whose row and column the question names (or in a
sentence that matches the question). It says `incorrect` when a check fails outright (the
arithmetic does not add up, a span is nowhere in the context, the count disagrees with the items
listed, the scale contradicts the calculation). Everything else is `uncertain`, so that an LLM
pass or a person can be aimed at exactly those records. Calling a wrong answer correct is the
error that matters most, so every doubtful path ends in `uncertain`.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from curator.domain import AnswerValue, NewVerdict, Paragraph, QARecord, WorkItem
from curator.numbers import (
    SMALL_CONSTANTS,
    DerivationError,
    Evaluation,
    decimals_of,
    evaluate,
    matches,
    numbers_in,
    parse_number,
)
from curator.wording import counted

JUDGE_NAME = "rules"
#: Bumped whenever the rules change what they decide; stored as the verdict's "prompt hash".
RULES_VERSION = "rules-v2"

_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "on",
        "for",
        "to",
        "from",
        "by",
        "at",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "which",
        "how",
        "much",
        "many",
        "did",
        "does",
        "do",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "with",
        "between",
        "year",
        "years",
        "fiscal",
        "total",
        "net",
        "per",
        "than",
        "during",
        "end",
        "ended",
        "ending",
        "as",
        "of",
        "company",
        "company's",
        "s",
    ]
)
_PERCENT_WORDS = re.compile(
    r"percent|%|\brates?\b|\bratios?\b|\bmargins?\b|proportion|share of|\byields?\b|growth"
    r"|change in .* as a",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a verdict rests on, so a reviewer can check it at a glance.

    kind is "cell" (row and col index the table as stored, header rows included), "sentence",
    "calculation" or "list"; text says it in words (the row label and column header for a cell).
    """

    kind: str
    text: str
    row: int = -1
    col: int = -1

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "text": self.text}
        if self.kind == "cell":
            out["row"], out["col"] = self.row, self.col
        return out


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    verdict: str  # correct | incorrect | uncertain
    reason: str
    evidence: tuple[Evidence, ...] = ()


#: Labels, questions and sentences are reduced to words and normal form again and again (per
#: row, per candidate cell, per record of a context): both are memoised, bounded.
_TEXT_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=_TEXT_CACHE_SIZE)
def _words(text: str) -> frozenset[str]:
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or _YEAR.fullmatch(w):
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") else w)
    return frozenset(out)


_CURRENCY_SPACE = re.compile(r"([$€£])\s+")


@functools.lru_cache(maxsize=_TEXT_CACHE_SIZE)
def _norm(text: str) -> str:
    s = " ".join(text.lower().split())
    s = _CURRENCY_SPACE.sub(r"\1", s)
    return s.strip(" .;:")


def _same_value(a: str, b: str) -> bool:
    if _norm(a) == _norm(b):
        return True
    x, y = parse_number(a), parse_number(b)
    return x is not None and y is not None and abs(x - y) < 1e-9


# -- the context ----------------------------------------------------------------------------


_FY = re.compile(r"\b(?:FY|F)\s?'?(\d{2})\b", re.I)


def _with_fiscal_years(text: str) -> str:
    """ "FY19" also says 2019."""
    return _FY.sub(lambda m: f"{m.group(0)} 20{m.group(1)}", text)


_PLACEHOLDER = re.compile(r"\s*(none|nil|n/?a|-+|—+|–+)\s*", re.I)
_EARLY_MONTH = re.compile(r"\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?)\b", re.I)


class Grid:
    """A TAT-QA table with its header rows, row labels and column headers worked out.

    A grid never changes once built, and one serves every question of its context, so what
    the checks ask of it again and again (headers, years, sections, which cells hold a value)
    is worked out once and memoised here. Callers must not mutate what it returns.
    """

    def __init__(self, rows: Sequence[Sequence[str]]) -> None:
        width = max((len(r) for r in rows), default=0)
        self.rows = [list(r) + [""] * (width - len(r)) for r in rows]
        self.width = width
        self.header_rows = self._header_rows()
        self.numbers = [[parse_number(c) for c in row] for row in self.rows]
        #: every non-blank cell: (row, col, normal form, number)
        self._cells = [
            (r, c, _norm(cell), self.numbers[r][c])
            for r, row in enumerate(self.rows)
            for c, cell in enumerate(row)
            if cell.strip()
        ]
        self._normal = [norm for _, _, norm, _ in self._cells]
        self._headers: dict[int, str] = {}
        self._years: dict[int, frozenset[str]] = {}
        self._sections: dict[int, str] = {}
        self._data_columns: list[int] | None = None
        self._equal: dict[str, list[tuple[int, int]]] = {}
        #: _row_score per (row, question words)
        self.row_scores: dict[tuple[int, frozenset[str]], tuple[float, float]] = {}

    def _header_rows(self) -> int:
        for i, row in enumerate(self.rows):
            data = [c for c in row[1:] if c.strip()]
            if any(parse_number(c) is not None and not _YEAR.fullmatch(c.strip()) for c in data):
                return i
            # A labelled row of placeholders ("None", "—") is data too, not a header.
            if i and row[0].strip() and data and all(_PLACEHOLDER.fullmatch(c) for c in data):
                return i
            # A labelled row with no values right under a header row is a section heading.
            if i and row[0].strip() and not data and any(c.strip() for c in self.rows[i - 1][1:]):
                return i
        return min(1, len(self.rows))

    def column_header(self, col: int) -> str:
        found = self._headers.get(col)
        if found is None:
            found = self._headers[col] = self._column_header(col)
        return found

    def _column_header(self, col: int) -> str:
        parts = []
        for r in range(self.header_rows):
            cell = self.rows[r][col]
            if not cell.strip():
                # A header spanning several columns is written once, left or right of them.
                for c in list(range(col - 1, 0, -1)) + list(range(col + 1, self.width)):
                    if self.rows[r][c].strip():
                        cell = self.rows[r][c]
                        break
            if cell.strip() and not _PLACEHOLDER.fullmatch(cell) and cell not in parts:
                parts.append(cell.strip())
        return " ".join(parts)

    def own_header(self, col: int) -> str:
        """The header cells written in this very column (no spreading from neighbours)."""
        return " ".join(self.rows[r][col] for r in range(self.header_rows))

    def column_has_percent(self, col: int) -> bool:
        return any("%" in row[col] for row in self.rows)

    def column_years(self, col: int) -> frozenset[str]:
        """The years a column header names; a fiscal year ending early in a calendar year
        ("February 1, 2019") is also the previous year's (fiscal 2018), so both count."""
        found = self._years.get(col)
        if found is None:
            header = _with_fiscal_years(self.column_header(col))
            years = set(_YEAR.findall(header))
            if _EARLY_MONTH.search(header):
                years |= {str(int(y) - 1) for y in years}
            found = self._years[col] = frozenset(years)
        return found

    def section(self, row: int) -> str:
        """The heading a row sits under: the nearest labelled row above it with no values."""
        found = self._sections.get(row)
        if found is None:
            found = self._sections[row] = self._section(row)
        return found

    def _section(self, row: int) -> str:
        for r in range(row - 1, self.header_rows - 1, -1):
            label = self.rows[r][0].strip()
            if label and not any(c.strip() for c in self.rows[r][1:]):
                return label
        return ""

    def cell_text(self, row: int, col: int) -> str:
        """A cell named the way a reviewer finds it: row label (under its heading) and column."""
        label = self.row_label(row).strip() or "(unlabelled row)"
        heading = self.section(row)
        if heading and heading != label:
            label = f"{heading} › {label}"
        header = self.column_header(col).strip() or f"column {col + 1}"
        return f"row {label!r}, column {header!r} = {self.rows[row][col].strip()!r}"

    def cell_evidence(self, row: int, col: int) -> Evidence:
        return Evidence("cell", self.cell_text(row, col), row, col)

    def label_frequency(self, word: str) -> int:
        """In how many row labels a (normalised) word occurs; at least 1."""
        if not hasattr(self, "_label_words"):
            self._label_words = [_words(self.row_label(r)) for r in range(len(self.rows))]
        return max(1, sum(word in words for words in self._label_words))

    def row_label(self, row: int) -> str:
        label = self.rows[row][0]
        if not label.strip():
            return ""
        return label

    def data_columns(self) -> list[int]:
        if self._data_columns is None:
            self._data_columns = [
                c
                for c in range(1, self.width)
                if any(
                    self.numbers[r][c] is not None for r in range(self.header_rows, len(self.rows))
                )
            ]
        return self._data_columns

    def normal_cells(self) -> list[str]:
        """The normal form (`_norm`) of every non-blank cell, row by row."""
        return self._normal

    def cells_equal(self, text: str) -> list[tuple[int, int]]:
        """Every non-blank cell holding `text` (`_same_value`: the same normal form, or the
        same number)."""
        found = self._equal.get(text)
        if found is None:
            target, value = _norm(text), parse_number(text)
            found = self._equal[text] = [
                (r, c)
                for r, c, norm, number in self._cells
                if norm == target
                or (value is not None and number is not None and abs(number - value) < 1e-9)
            ]
        return found


_SCALE_MENTIONS = {
    "thousand": re.compile(
        r"thousand|[\'’]000|\b000s\b|\$000|\(000\)|in 000|\b000['’]?s\b"
        r"|\b(usd|us\$|eur|gbp|aud|rmb|hk\$|s\$|a\$|\$|€|£)\s?k\b",
        re.I,
    ),
    "million": re.compile(
        r"million|\bmn\b|\bmm\b|\bm\b|in millions"
        r"|(usd|us\$|eur|gbp|aud|rmb|hk\$|s\$|a\$|\$|€|£|¥)\s?mn?\b",
        re.I,
    ),
    "billion": re.compile(r"billion|\bbn\b|(usd|us\$|eur|gbp|\$|€|£)\s?b\b", re.I),
}
#: A sentence stating the unit of the table ("(in millions)", "in thousands of dollars").
_UNIT_NOTE = re.compile(
    r"\(\s*in (thousands|millions|billions)\b|\bin (thousands|millions) of\b", re.I
)
#: Labels that make a number a percentage only weakly (a "gross margin" row may hold amounts).
_PERCENT_LABEL = re.compile(r"%|\bpercent|\brates?\b|\bmargins?\b|\bratios?\b|\byields?\b", re.I)
#: Labels that say outright that the numbers under them are percentages ("% of revenue"; not
#: the "%" of "4.875% Senior Notes", not "in thousands, except percentages").
_PERCENT_STRONG = re.compile(r"(?<![\d.])%|\bpercent(age)?s?\b", re.I)
_EXCEPT_PERCENT = re.compile(
    r"except\s+(for\s+)?(per[- ]share\s+(data|amounts)?\s*(and|,)\s*)?percent\w*", re.I
)


@dataclass(frozen=True, slots=True)
class _Number:
    value: float
    #: written or labelled as a percentage, even loosely ("rate" in the row label)
    pct: bool
    #: written with a % sign, or under a label or header with % or "percent"
    strong: bool
    #: where it is: a cell (row, col) or the sentence's text
    cell: tuple[int, int] | None
    sentence: str = ""

    def evidence(self, grid: Grid) -> Evidence:
        if self.cell is not None:
            return grid.cell_evidence(*self.cell)
        return Evidence("sentence", self.sentence.strip())


# The cheap test first: the abbreviation checks run only after a full stop (or ; ! ?), not at
# every character of every paragraph (the same matches: all are tests of one position).
_SENTENCE_END = re.compile(
    r"(?<=[.;!?])(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bNo\.)(?<!Mrs\.)(?<!Inc\.)(?<!\bCo\.)"
    r"(?<!\bvs\.)(?<!\bSt\.)\s+(?=[A-Z(])"
)


_CLAUSE_END = re.compile(r"(?<=[.;])\s+")
_TOKEN_MAYBE_PERCENT = re.compile(r"\S+(?:\s+percent)?")
_DIGIT = re.compile(r"\d")


@dataclass
class _Context:
    """A table and its paragraphs as every question about them is judged: built once per
    context (see `context_of`) and memoising what the checks look up repeatedly."""

    grid: Grid
    paragraphs: list[Paragraph]
    text: str
    #: every number in the context, with whether and how surely it is a percentage there
    numbers: list[_Number]
    _places: dict[float, list[_Number]] = field(default_factory=dict, init=False, repr=False)
    _scales: dict[str, bool] = field(default_factory=dict, init=False, repr=False)
    _by_size: list[tuple[float, int]] | None = field(default=None, init=False, repr=False)
    _sentences: tuple[tuple[str, ...], ...] | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, table: Sequence[Sequence[str]], paragraphs: Sequence[Paragraph]) -> _Context:
        grid = Grid(table)
        text = "\n".join(p.text for p in paragraphs)
        numbers: list[_Number] = []
        for sentence in _CLAUSE_END.split(text):
            if not _DIGIT.search(sentence):
                continue  # no number to find (numbers_in needs a digit)
            for token in _TOKEN_MAYBE_PERCENT.findall(sentence):
                if not _DIGIT.search(token):
                    continue
                for value in numbers_in(token):
                    pct = "%" in token or "percent" in token
                    numbers.append(_Number(value, pct, pct, None, sentence))
        # Whether a label or a column's own header says "percent" depends on the row or the
        # column alone: worked out once each, not per cell.
        strong_cols = [
            bool(_PERCENT_STRONG.search(_EXCEPT_PERCENT.sub(" ", grid.own_header(c))))
            for c in range(grid.width)
        ]
        for r, row in enumerate(grid.rows):
            label = grid.row_label(r)
            strong_label = bool(_PERCENT_STRONG.search(_EXCEPT_PERCENT.sub(" ", label)))
            loose_label = bool(_PERCENT_LABEL.search(label))
            for c, cell in enumerate(row):
                parsed = grid.numbers[r][c]
                found = [parsed] if parsed is not None else numbers_in(cell)
                if not found:
                    continue
                strong = "%" in cell or strong_label or strong_cols[c]
                pct = strong or loose_label
                numbers += [_Number(v, pct, strong, (r, c)) for v in found]
        return cls(grid, list(paragraphs), text, numbers)

    def places(self, value: float) -> list[_Number]:
        """Every place the number occurs (sign ignored), in the order of `numbers`."""
        found = self._places.get(value)
        if found is None:
            size = abs(value)
            tolerance = 1e-9 * max(1.0, size)
            if self._by_size is None:
                self._by_size = sorted((abs(n.value), i) for i, n in enumerate(self.numbers))
            # Candidates from a window twice the tolerance wide, then the exact test on them.
            by_size = self._by_size
            at = bisect.bisect_left(by_size, (size - 2 * tolerance, -1))
            hits = []
            while at < len(by_size) and by_size[at][0] <= size + 2 * tolerance:
                candidate, i = by_size[at]
                if abs(candidate - size) <= tolerance:
                    hits.append(i)
                at += 1
            found = self._places[value] = [self.numbers[i] for i in sorted(hits)]
        return found

    def sources(self, value: float) -> list[bool]:
        """For each place the number occurs (sign ignored): is it (loosely) a percentage there?"""
        return [n.pct for n in self.places(value)]

    def surely_percent(self, value: float) -> bool:
        """Every place the number occurs says plainly that it is a percentage."""
        found = self.places(value)
        return bool(found) and all(n.strong for n in found)

    def amount_cell(self, value: float) -> Evidence | None:
        """A cell holding the number as a plain amount: no percentage anywhere in its column or
        label, in a table whose header states its unit ("in millions", "$'000")."""
        grid = self.grid
        head = " ".join(" ".join(grid.rows[r]) for r in range(grid.header_rows))
        if not any(p.search(head) for p in _SCALE_MENTIONS.values()) and not _UNIT_NOTE.search(
            self.text
        ):
            return None
        found = self.places(value)
        if not found or any(n.pct for n in found):
            return None
        for n in found:
            if n.cell is not None and not grid.column_has_percent(n.cell[1]):
                return grid.cell_evidence(*n.cell)
        return None

    def has_number(self, value: float) -> bool:
        return bool(self.places(value))

    def mentions_scale(self, scale: str) -> bool:
        found = self._scales.get(scale)
        if found is None:
            pattern = _SCALE_MENTIONS[scale]
            # The cells searched as one text, joined by a character no pattern matches (not a
            # word character, not a space), so no match spans two cells: one search, not one
            # per cell.
            found = self._scales[scale] = bool(pattern.search(self.text)) or bool(
                pattern.search("\0".join(cell for row in self.grid.rows for cell in row))
            )
        return found

    def in_any_cell(self, span: str) -> bool:
        target = _norm(span)
        return bool(target) and any(target in norm for norm in self.grid.normal_cells())

    def sentences(self) -> list[str]:
        return [s for group in self.paragraph_sentences() for s in group]

    def paragraph_sentences(self) -> tuple[tuple[str, ...], ...]:
        """Each paragraph's sentences ("Mr. Post" and "No. 3" do not end one)."""
        if self._sentences is None:
            self._sentences = tuple(
                tuple(s for s in _SENTENCE_END.split(p.text) if s.strip()) for p in self.paragraphs
            )
        return self._sentences


def _question_years(question: str) -> set[str]:
    return set(_YEAR.findall(question))


def _row_words(grid: Grid, row: int) -> frozenset[str]:
    """The words of a row label together with the heading it sits under."""
    return _words(grid.row_label(row)) | _words(grid.section(row))


def _row_score(grid: Grid, row: int, question_words: frozenset[str]) -> tuple[float, float]:
    """How well a row (label and heading) matches the question: the share of its words the
    question uses, and those hits weighted by rarity (a word in many labels, like "revenue",
    tells rows apart less). A row whose own label shares nothing with the question scores 0."""
    key = (row, question_words)
    found = grid.row_scores.get(key)
    if found is not None:
        return found
    own = _words(grid.row_label(row))
    if not own or not own & question_words:
        found = (0.0, 0.0)
    else:
        words = own | _words(grid.section(row))
        hits = words & question_words
        found = (len(hits) / len(words), sum(1.0 / grid.label_frequency(w) for w in hits))
    grid.row_scores[key] = found
    return found


def _label_share(grid: Grid, row: int, question_words: frozenset[str]) -> float:
    own = _words(grid.row_label(row))
    return len(own & question_words) / len(own) if own else 0.0


def _year_columns(grid: Grid, years: set[str]) -> list[int]:
    return [c for c in range(1, grid.width) if years & grid.column_years(c)]


_CHANGE_WORDS = re.compile(
    r"\b(change|changes|increase|decrease|difference|growth|grew|declined?|rose|fell|variance)\b",
    re.I,
)


_YEAR_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*(?:to|through|until|-|–)\s*((?:19|20)\d\d)\b")


def _ordered_years(question: str) -> list[str]:
    """The years a question names, in its order; "2019 to 2017" is 2019, 2018, 2017."""
    out: list[str] = []
    text = _YEAR_RANGE.sub(
        lambda m: " ".join(
            str(y)
            for y in range(
                int(m.group(1)),
                int(m.group(2)) + (1 if m.group(2) >= m.group(1) else -1),
                1 if m.group(2) >= m.group(1) else -1,
            )
        ),
        question,
    )
    for y in _YEAR.findall(text):
        if y not in out:
            out.append(y)
    return out


def _row_fits(grid: Grid, row: int, qwords: frozenset[str]) -> bool:
    """The row is (one of) the best match for the question, and a good one."""
    score = _row_score(grid, row, qwords)
    best = max(
        (_row_score(grid, i, qwords) for i in range(grid.header_rows, len(grid.rows))),
        default=(0.0, 0.0),
    )
    return score[0] >= 0.5 and score >= best


def _columns_for_years(grid: Grid, years: list[str]) -> list[int] | None:
    """The one data column of each year, in the question's order; None when any is ambiguous."""
    data = grid.data_columns()
    out = []
    for y in years:
        cols = [c for c in _year_columns(grid, {y}) if c in data]
        if len(cols) != 1:
            return None
        out.append(cols[0])
    return out if len(set(out)) == len(out) else None


def _wrong_period(ctx: _Context, span: str, question: str) -> RuleVerdict | None:
    """The span sits in the row the question names but under another period's column: the
    question's own column in that row holds something else (a swapped year), or the question
    asks for a change between two years and the span is one year's value alone."""
    grid = ctx.grid
    years = _ordered_years(question)
    cols = _columns_for_years(grid, years) if years else None
    if not cols:
        return None
    qwords = _words(question)
    for r, c in grid.cells_equal(span):
        if r < grid.header_rows or c not in grid.data_columns() or not grid.column_years(c):
            continue
        if not _row_fits(grid, r, qwords):
            continue
        asked = [(r, k) for k in cols]
        if any(not grid.rows[r][k].strip() or _same_value(grid.rows[r][k], span) for _, k in asked):
            continue
        if not grid.column_years(c) & set(years):
            return RuleVerdict(
                "incorrect",
                f"{span!r} is {grid.cell_text(r, c)}, another period than the question's "
                f"{', '.join(years)}; the question's cell is "
                + "; ".join(grid.cell_text(*rc) for rc in asked),
                (*(grid.cell_evidence(*rc) for rc in asked), grid.cell_evidence(r, c)),
            )
    return None


def _one_year_of_a_change(ctx: _Context, span: str, question: str) -> RuleVerdict | None:
    """ "What was the change in X between 2018 and 2019?" answered with X's 2018 value."""
    grid = ctx.grid
    years = _ordered_years(question)
    if len(years) != 2 or not _CHANGE_WORDS.search(question):
        return None
    cols = _columns_for_years(grid, years)
    if not cols:
        return None
    qwords = _words(question)
    for r, c in grid.cells_equal(span):
        if r >= grid.header_rows and c in cols and _row_fits(grid, r, qwords):
            other = cols[1 - cols.index(c)]
            if _same_value(grid.rows[r][other], span) or not grid.rows[r][other].strip():
                return None
            return RuleVerdict(
                "incorrect",
                f"the question asks for a change between {years[0]} and {years[1]}, but "
                f"{span!r} is one year's value alone: {grid.cell_text(r, c)}",
                (grid.cell_evidence(r, c), grid.cell_evidence(r, other)),
            )
    return None


def _cell_fits_question(ctx: _Context, r: int, c: int, question: str) -> tuple[bool, str]:
    """Is cell (r, c) in the row the question names and the column of its year or period?"""
    grid = ctx.grid
    qwords = _words(question)
    if r < grid.header_rows:
        return False, "the answer is a header cell"
    label = grid.row_label(r)
    score = _row_score(grid, r, qwords)
    best = max(
        (_row_score(grid, i, qwords) for i in range(grid.header_rows, len(grid.rows))),
        default=(0.0, 0.0),
    )
    if score[0] < 0.5 or score < best:
        return False, f"its row {label!r} is not the line item the question names"
    years = _question_years(question)
    header = grid.column_header(c)
    if years:
        if not grid.column_years(c) & years:
            return False, f"its column {header.strip()!r} is not the year the question asks about"
        data = grid.data_columns()
        for year in sorted(grid.column_years(c) & years):
            if len([col for col in _year_columns(grid, {year}) if col in data]) > 1:
                return False, f"more than one column could be the year {year}"
    elif len(grid.data_columns()) > 1 and not (_words(header) & qwords):
        return False, "the question names no year or column to tell the columns apart"
    return True, grid.cell_text(r, c)


def _expected_cell(ctx: _Context, question: str) -> tuple[int, int, str] | None:
    """The one cell a question like "What was X in 2019?" names, when there is exactly one."""
    grid = ctx.grid
    years = _question_years(question)
    if len(years) != 1:
        return None
    qwords = _words(question)
    scored = [(_row_score(grid, r, qwords), r) for r in range(grid.header_rows, len(grid.rows))]
    best = max((s for s, _ in scored), default=(0.0, 0.0))
    rows = [r for s, r in scored if s == best]
    if best[0] < 1.0 or len(rows) != 1 or _label_share(grid, rows[0], qwords) < 1.0:
        return None
    cols = _year_columns(grid, years)
    if len(cols) != 1:
        return None
    value = grid.rows[rows[0]][cols[0]]
    if not value.strip() or grid.numbers[rows[0]][cols[0]] is None:
        return None
    return rows[0], cols[0], value


def _wrong_row(ctx: _Context, span: str, question: str) -> RuleVerdict | None:
    """A number taken from another line item: the question names one row clearly best, in the
    column of its year (or the table's only column), and that cell holds something else, while
    every row the answer sits in matches the question less."""
    grid = ctx.grid
    years = _ordered_years(question)
    data = grid.data_columns()
    if len(years) > 1:
        return None
    cols = _columns_for_years(grid, years) if years else (data if len(data) == 1 else None)
    if not cols:
        return None
    col = cols[0]
    qwords = _words(question)
    scored = sorted(
        ((_row_score(grid, r, qwords), r) for r in range(grid.header_rows, len(grid.rows))),
        reverse=True,
    )
    if not scored or scored[0][0][0] < 0.5 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    (share, _), row = scored[0]
    if _label_share(grid, row, qwords) < 0.5:
        return None
    value = grid.rows[row][col]
    if (
        grid.numbers[row][col] is None
        or _same_value(value, span)
        or ("%" in span) != ("%" in value)
    ):
        return None
    places = [(r, c) for r, c in grid.cells_equal(span) if r >= grid.header_rows]
    if not places or any(_row_score(grid, r, qwords)[0] >= share for r, _ in places):
        return None
    if _competes(ctx, span, (row, col, value), question):
        return None
    return RuleVerdict(
        "incorrect",
        f"the question names {grid.cell_text(row, col)}; {span!r} is from another line item "
        f"({grid.cell_text(*places[0])})",
        (grid.cell_evidence(row, col), grid.cell_evidence(*places[0])),
    )


def _sentence_fits(ctx: _Context, span: str, question: str) -> tuple[bool, str, str]:
    """(fits, why, the sentence): does a sentence holding the span match the question?"""
    qwords = _words(question)
    target = _norm(span)
    best: tuple[float, str] = (0.0, "")
    for sentence in ctx.sentences():
        if target and target in _norm(sentence):
            rest = _words(_norm(sentence).replace(target, " "))
            overlap = len(qwords & rest) / max(1, len(qwords))
            if overlap >= 0.34:
                return (
                    True,
                    f"the sentence containing it matches the question ({overlap:.0%})",
                    sentence,
                )
            best = max(best, (overlap, sentence))
    return False, "no sentence containing it matches the question", best[1]


_FOOTNOTE = re.compile(r"\s*(\(\s*\w{1,3}\s*\)|\[\d+\]|\*+|\d{1,2}[.)]?\s)")


def _overlap(question_words: frozenset[str], text: str) -> float:
    return len(question_words & _words(text)) / max(1, len(question_words))


def _off_topic_span(ctx: _Context, span: str, question: str) -> RuleVerdict | None:
    """A text span found only in sentences that have nothing to do with the question, while
    another sentence plainly answers it: the span was taken from the wrong place."""
    qwords = _words(question)
    if len(qwords) < 2:
        return None
    target = _norm(span)
    best = (0.0, "")
    mine = 0.0
    found = False
    for sentences in ctx.paragraph_sentences():
        for i, sentence in enumerate(sentences):
            score = _overlap(qwords, sentence)
            best = max(best, (score, sentence))
            if target and target in _norm(sentence):
                if _FOOTNOTE.match(sentences[0]):
                    return None  # a table footnote: its subject is a row label, not a sentence
                # A sentence may lean on the one before it ("It excludes ...").
                before = sentences[i - 1] if i else ""
                found = True
                mine = max(mine, score, _overlap(qwords, before + " " + sentence))
    if not found:
        return None  # the span runs over several sentences: no single one to weigh
    mine = max(mine, _overlap(qwords, span))
    if best[0] >= 0.7 and best[0] - mine >= 0.5 and target not in _norm(best[1]):
        return RuleVerdict(
            "incorrect",
            f"{span!r} comes from sentences that match the question far less ({mine:.0%} of its "
            f"words) than this one ({best[0]:.0%}), which does not hold it: "
            f"{best[1].strip()[:200]!r}",
            (Evidence("sentence", best[1].strip()),),
        )
    return None


def _in_text(ctx: _Context, span: str) -> bool:
    return _norm(span) in _norm(ctx.text)


# -- answer types ---------------------------------------------------------------------------


def _substantive(span: str, question: str) -> bool:
    """A span that can carry evidence: not a lone symbol, not a year the question itself names."""
    core = span.strip(" $€£%.,;:()-")
    if len(core) < 1 or not any(ch.isalnum() for ch in core):
        return False
    return not (_YEAR.fullmatch(core) and core in question)


def _competes(ctx: _Context, span: str, expected: tuple[int, int, str], question: str) -> bool:
    """Does the answer sit in the asked column in a row that names the question as well as the
    expected row does (a sub-item under a heading, say)? Then the rules cannot tell them apart."""
    grid = ctx.grid
    qwords = _words(question)
    r0, c0, _ = expected
    mine = len(_row_words(grid, r0) & qwords)
    return any(
        c == c0 and r >= grid.header_rows and len(_row_words(grid, r) & qwords) >= mine
        for r, c in grid.cells_equal(span)
    )


def _judge_span(ctx: _Context, question: str, spans: list[str], answer_from: str) -> RuleVerdict:
    reasons: list[str] = []
    evidence: list[Evidence] = []
    use_table = answer_from in ("table", "table-text")
    use_text = answer_from in ("text", "table-text")
    grid = ctx.grid
    for span in spans:
        cells = grid.cells_equal(span)
        in_text = _in_text(ctx, span)
        if not cells and not in_text:
            if ctx.in_any_cell(span):
                return RuleVerdict("uncertain", f"{span!r} occurs only inside a longer cell")
            return RuleVerdict(
                "incorrect",
                f"{span!r} occurs nowhere in the table or the text",
                (Evidence("search", f"no cell and no sentence contains {span!r}"),),
            )
        if not _substantive(span, question):
            return RuleVerdict("uncertain", f"{span!r} is too slight a span to verify")
        fits = [(rc, _cell_fits_question(ctx, *rc, question)) for rc in cells] if use_table else []
        good = [(rc, why) for rc, (ok, why) in fits if ok]
        if good and len(spans) == 1 and (change := _one_year_of_a_change(ctx, span, question)):
            return change
        if good:
            reasons.append(f"{span!r} is the cell at {good[0][1]}")
            evidence.append(grid.cell_evidence(*good[0][0]))
            continue
        text_why = ""
        if in_text and use_text and not cells and len(spans) == 1 and not _YEAR.fullmatch(span):
            off = _off_topic_span(ctx, span, question)
            if off is not None:
                return off
        if in_text and use_text:
            ok, text_why, sentence = _sentence_fits(ctx, span, question)
            if ok:
                reasons.append(f"{span!r} is in the text and {text_why}")
                evidence.append(Evidence("sentence", sentence.strip()))
                continue
        expected = (
            _expected_cell(ctx, question)
            if use_table and not use_text and parse_number(span) is not None
            else None
        )
        if expected is not None and ("%" in span) != ("%" in expected[2]):
            expected = None  # a percentage asked about an amount's row: a different figure
        if (
            expected is not None
            and not _same_value(expected[2], span)
            and not _competes(ctx, span, expected, question)
        ):
            r, c, _ = expected
            return RuleVerdict(
                "incorrect",
                f"the question asks for {grid.cell_text(r, c)}, not {span!r}",
                (grid.cell_evidence(r, c), *(grid.cell_evidence(*rc) for rc in cells[:1])),
            )
        if use_table and parse_number(span) is not None:
            moved = _wrong_period(ctx, span, question)
            if moved is not None:
                return moved
            if not in_text and (other_row := _wrong_row(ctx, span, question)) is not None:
                return other_row
        if answer_from == "text" and not in_text and cells and len(spans) == 1:
            return RuleVerdict(
                "incorrect",
                f"the answer is said to come from the text, but {span!r} is in no sentence; "
                f"it is only {grid.cell_text(*cells[0])}",
                (grid.cell_evidence(*cells[0]),),
            )
        if fits:
            why_not = fits[0][1][1]
        elif text_why:
            why_not = text_why
        else:
            why_not = f"not where the answer source ({answer_from}) says"
        return RuleVerdict("uncertain", f"{span!r} occurs in the context but {why_not}")
    return RuleVerdict("correct", "; ".join(reasons), tuple(evidence))


#: Words that start a clause after a list rather than another item of it.
_CLAUSE_WORDS = frozenset(
    [
        "which",
        "that",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "while",
        "respectively",
        "as",
        "but",
        "although",
        "though",
        "each",
        "both",
        "all",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "its",
        "their",
        "it",
        "they",
        "we",
        "our",
        "the",
        "this",
        "these",
    ]
)


def _enumeration_cut(ctx: _Context, spans: list[str]) -> str | None:
    """A list item next to the answer's spans in the same sentence that the answer leaves out."""
    for sentence in ctx.sentences():
        low = _norm(sentence)
        places = [low.find(_norm(s)) for s in spans]
        if any(p < 0 for p in places):
            continue
        end = max(p + len(_norm(s)) for p, s in zip(places, spans, strict=True))
        start = min(places)
        after = low[end:]
        before = low[:start]
        more = re.match(r"^\s*(,|;|\band\b|\bor\b)\s*(and\s+|or\s+)?([a-z0-9$][\w$-]*)", after)
        if more and more.group(3) not in _CLAUSE_WORDS:
            return after.strip()[:40]
        if re.search(r"[a-z0-9)]\s*(,|;|\band\b|\bor\b)\s*$", before):
            return before.strip()[-40:]
    return None


def _by_year(ctx: _Context, question: str, spans: list[str]) -> RuleVerdict | None:
    """ "What was X in 2019 and 2018 (respectively)?": one value per year the question names,
    all from the row that names X. The answer must be exactly those values."""
    grid = ctx.grid
    years = _ordered_years(question)
    if len(years) < 2 or any(parse_number(s) is None for s in spans):
        return None
    cols = _columns_for_years(grid, years)
    if cols is None:
        return None
    qwords = _words(question)
    rows = {
        r
        for s in spans
        for r, c in grid.cells_equal(s)
        if r >= grid.header_rows and _row_fits(grid, r, qwords)
    }
    if len(rows) != 1:
        return None
    (r,) = rows
    expected = [grid.rows[r][c] for c in cols]
    if any(not e.strip() or parse_number(e) is None for e in expected):
        return None
    cells = tuple(grid.cell_evidence(r, c) for c in cols)
    want = sorted(parse_number(e) or 0.0 for e in expected)
    got = sorted(parse_number(s) or 0.0 for s in spans)
    if want == got:
        in_order = all(_same_value(e, s) for e, s in zip(expected, spans, strict=True))
        return RuleVerdict(
            "correct",
            f"one value per year the question names, from row {grid.row_label(r)!r}"
            + ("" if in_order else " (in another order than the question's years)"),
            cells,
        )
    return RuleVerdict(
        "incorrect",
        f"the question names {', '.join(years)}; row {grid.row_label(r)!r} holds "
        + ", ".join(f"{y}: {e.strip()!r}" for y, e in zip(years, expected, strict=True))
        + f", but the answer is {', '.join(repr(s) for s in spans)}",
        cells,
    )


def _label_rows(ctx: _Context, span: str) -> list[int]:
    grid = ctx.grid
    return [
        r for r in range(grid.header_rows, len(grid.rows)) if _same_value(grid.rows[r][0], span)
    ]


def _odd_one_out(
    ctx: _Context, question: str, spans: list[str], answer_from: str
) -> RuleVerdict | None:
    """Items listed from one place with one from elsewhere: row labels of a table answer plus
    a phrase found in no cell, or a sentence's list plus a phrase from another sentence."""
    grid = ctx.grid
    if answer_from == "table":
        labels = [s for s in spans if _label_rows(ctx, s)]
        strays = [s for s in spans if not grid.cells_equal(s) and not ctx.in_any_cell(s)]
        if len(labels) >= 2 and len(strays) == 1:
            return RuleVerdict(
                "incorrect",
                f"the answer comes from the table, whose row labels give the other items; "
                f"{strays[0]!r} is in no cell of it",
                tuple(grid.cell_evidence(_label_rows(ctx, s)[0], 0) for s in labels[:3]),
            )
    if answer_from in ("table", "table-text"):
        labels = [s for s in spans if _label_rows(ctx, s)]
        strays = [s for s in spans if not _label_rows(ctx, s)]
        in_table = bool(re.search(r"\bin the table\b", question, re.I))
        if len(labels) >= 2 and len(strays) == 1:
            stray = strays[0]
            own = _words(stray)
            if (own and own <= _words(question)) or (in_table and not grid.cells_equal(stray)):
                why = (
                    "names what the question asks about, not one of its items"
                    if own and own <= _words(question)
                    else "is not a row of the table the question asks about"
                )
                return RuleVerdict(
                    "incorrect",
                    f"the other items are row labels of the table; {stray!r} {why}",
                    tuple(grid.cell_evidence(_label_rows(ctx, s)[0], 0) for s in labels[:3]),
                )
    if answer_from == "text" and len(spans) >= 3:
        qwords = _words(question)
        for sentence in ctx.sentences():
            low = _norm(sentence)
            outside = [s for s in spans if _norm(s) not in low]
            if len(outside) == 1 and len(spans) - 1 >= 2:
                odd = max(
                    (_overlap(qwords, x) for x in ctx.sentences() if _norm(outside[0]) in _norm(x)),
                    default=0.0,
                )
                if _overlap(qwords, sentence) - odd < 0.3:
                    return None
                return RuleVerdict(
                    "incorrect",
                    f"the other items are listed in one sentence; {outside[0]!r} is not among them",
                    (Evidence("sentence", sentence.strip()),),
                )
    return None


def _label_list(ctx: _Context, spans: list[str]) -> RuleVerdict | None:
    """Row labels listed as the answer ("What items make up X?") with a stray item that is a
    value or header cell of the table, not a label, and appears nowhere in the text."""
    grid = ctx.grid
    rows = {s: _label_rows(ctx, s) for s in spans}
    labels = [s for s in spans if rows[s]]
    if len(labels) < 2:
        return None
    for stray in (s for s in spans if not rows[s]):
        cells = [(r, c) for r, c in grid.cells_equal(stray) if c > 0]
        if cells and not _in_text(ctx, stray) and not _YEAR.fullmatch(stray.strip()):
            return RuleVerdict(
                "incorrect",
                f"the other items are row labels of the table; {stray!r} is not a label but "
                f"{grid.cell_text(*cells[0])}",
                (
                    grid.cell_evidence(*cells[0]),
                    *(grid.cell_evidence(rows[s][0], 0) for s in labels[:2]),
                ),
            )
    return None


def _section_list(ctx: _Context, question: str, spans: list[str]) -> RuleVerdict | None:
    """Row labels of one section, the section the question names ("What does X consist of?"):
    every item row of the section belongs in the answer."""
    grid = ctx.grid
    rows = [_label_rows(ctx, s) for s in spans]
    if len(spans) < 2 or not all(rows):
        return None
    picked = {r[0] for r in rows}
    sections = {grid.section(r) for r in picked}
    if len(sections) != 1:
        return None
    (heading,) = sections
    if not heading or _overlap(_words(heading), question) < 0.6:
        return None
    start = next(r for r in range(len(grid.rows)) if grid.rows[r][0].strip() == heading)
    members = []
    for r in range(start + 1, len(grid.rows)):
        label = grid.rows[r][0].strip()
        if not label or not any(c.strip() for c in grid.rows[r][1:]):
            break
        members.append(r)
    missing = [r for r in members if r not in picked and not _TOTAL.match(grid.rows[r][0])]
    if not missing or len(missing) > 2:
        return None
    return RuleVerdict(
        "incorrect",
        f"the question names the section {heading!r}; its item "
        f"{grid.rows[missing[0]][0].strip()!r} is missing from the answer",
        (grid.cell_evidence(missing[0], 0),),
    )


_TOTAL = re.compile(r"\s*(total|net|sub-?total)\b", re.I)


def _count_per_year(question: str, spans: list[str]) -> RuleVerdict | None:
    """ "What was X in 2019 and 2018 (respectively)?" needs one number per year named."""
    years = _ordered_years(question)
    if len(years) < 2 or any(parse_number(s) is None or _YEAR.fullmatch(s.strip()) for s in spans):
        return None
    if not re.search(
        r"\brespectively\b|\b(in|for|of)\s+((fiscal|fy)\s*)?(19|20)\d\d\s*(,|and)", question, re.I
    ):
        return None
    if len(spans) == len(years):
        return None
    return RuleVerdict(
        "incorrect",
        f"the question names {len(years)} years ({', '.join(years)}) but the answer gives "
        f"{counted(len(spans), 'value')}",
        (Evidence("list", " | ".join(spans)),),
    )


def _years_list(ctx: _Context, question: str, spans: list[str]) -> RuleVerdict | None:
    """Years listed as the answer, with a stray item that is no year."""
    years = [s for s in spans if _YEAR.fullmatch(s.strip())]
    others = [s for s in spans if not _YEAR.fullmatch(s.strip())]
    if len(years) >= 2 and others and _ASKS_YEAR.search(question):
        return RuleVerdict(
            "incorrect",
            f"the question asks which years; {others[0]!r} is not a year",
            (Evidence("list", " | ".join(spans)),),
        )
    return None


def _judge_multispan(
    ctx: _Context, question: str, spans: list[str], answer_from: str
) -> RuleVerdict:
    by_year = _by_year(ctx, question, spans) if answer_from != "text" else None
    if by_year is not None:
        return by_year
    for check in (
        _odd_one_out(ctx, question, spans, answer_from),
        _count_per_year(question, spans),
        _years_list(ctx, question, spans),
        _label_list(ctx, spans),
        _section_list(ctx, question, spans),
    ):
        if check is not None:
            return check
    verdict = _judge_span(ctx, question, spans, answer_from)
    if verdict.verdict != "correct":
        return verdict
    years = _question_years(question)
    in_table = [s for s in spans if ctx.grid.cells_equal(s)]
    # Table cells are complete only when the question names one period per span.
    if in_table and (len(years) < 2 or len(years) != len(spans)):
        return RuleVerdict(
            "uncertain",
            "every span is grounded, but the question does not say how many there should be",
        )
    cut = _enumeration_cut(ctx, spans)
    if cut is not None:
        listing = next((x for x in ctx.sentences() if all(_norm(s) in _norm(x) for s in spans)), "")
        number_words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
        says_count = any(
            re.search(rf"\b{w}\b", question, re.I) and n == len(spans)
            for w, n in number_words.items()
        )
        if (
            answer_from == "text"
            and _overlap(_words(question), listing) >= 0.6
            and not any(ch.isdigit() for s in spans for ch in s)
            and not says_count
            and not re.match(r"\W*(partially|offset|including|primarily|mainly)\b", cut)
        ):
            return RuleVerdict(
                "incorrect",
                f"the sentence that answers the question lists more items than the answer "
                f"(it goes on: {cut!r})",
                (Evidence("sentence", listing.strip()),),
            )
        return RuleVerdict(
            "uncertain", f"every span is grounded, but the list they come from goes on ({cut!r})"
        )
    return RuleVerdict(
        "correct",
        (f"all {len(spans)} spans grounded: " if len(spans) > 1 else "the span is grounded: ")
        + verdict.reason,
        verdict.evidence,
    )


def _scale_check(
    ev: Evaluation, scale: str, question: str, ctx: _Context, as_percent: bool
) -> tuple[str, str, tuple[Evidence, ...]]:
    """("ok" | "bad" | "unknown", why, evidence) for the answer's scale against the calculation."""
    used = [n for n in ev.numbers if abs(n) not in SMALL_CONSTANTS]
    # Percentages only where every place a number occurs labels it so (a table often shows the
    # same figure as an amount and as a share).
    all_pct = bool(used) and all((src := ctx.sources(n)) and all(src) for n in used)
    surely_pct = bool(used) and all(ctx.surely_percent(n) for n in used)
    asks_pct = bool(_PERCENT_WORDS.search(question))
    times_100 = ev.divides_by_variable and any(abs(n) == 100.0 for n in ev.numbers)
    calc = Evidence("calculation", f"{ev.expression} = {ev.value:,.6g}")
    if as_percent or times_100:
        if scale == "percent":
            return "ok", "a ratio times 100, in percent", (calc,)
        if not ev.divides_by_variable:
            return "unknown", "the answer is the derivation times 100 but no ratio", (calc,)
        return (
            "bad",
            f"the derivation {ev.expression} is a ratio, so the answer "
            f"{ev.value * (100 if as_percent else 1):,.4g} is a percentage, "
            f"but the scale is {scale or 'none'!r}",
            (calc,),
        )
    if scale == "percent":
        if all_pct or ev.percent_numbers or ev.divides_by_variable or asks_pct:
            return "ok", "percent values", (calc,)
        amounts = [ctx.amount_cell(n) for n in used]
        if used and all(amounts):
            where = amounts[0]
            assert where is not None
            return (
                "bad",
                f"the scale is percent but {ev.expression} works on amounts ({where.text}, "
                "in a table whose header states its unit), not percentages",
                (calc, where),
            )
        return (
            "unknown",
            "the scale is percent but the derivation is no ratio of percentages",
            (calc,),
        )
    if scale in _SCALE_MENTIONS:
        if surely_pct and not ev.divides_by_variable:
            places = [ctx.places(n)[0].evidence(ctx.grid) for n in used[:3]]
            return (
                "bad",
                f"the numbers in {ev.expression} are percentages where they occur "
                f"({'; '.join(e.text for e in places)}) but the scale is {scale!r}",
                (calc, *places),
            )
        if ctx.mentions_scale(scale):
            return "ok", f"the context is in {scale}s", (calc,)
        return "unknown", f"the context never says its numbers are in {scale}s", (calc,)
    return "ok", "no scale", (calc,)


def _fitting(
    readings: Sequence[Evaluation], value: float, places: int
) -> list[tuple[Evaluation, bool]]:
    """Readings that round to the answer at its precision, and whether each needs "times 100".

    A reading that gives the answer as it stands comes before one that needs "times 100".
    """
    fitting = [(ev, False) for ev in readings if matches(ev.value, value, places)]
    fitting += [(ev, True) for ev in readings if matches(ev.value * 100, value, places)]
    return fitting


@dataclass(frozen=True, slots=True)
class DerivationCheck:
    """A derivation recomputed against an answer exactly as this judge's arithmetic check does
    (the edit form shows it live, so a reviewer sees a mismatch before saving)."""

    state: str  # match | mismatch | unreadable | empty | no-number
    value: float | None = None  # the reading shown: the one that fits, else the first
    as_percent: bool = False  # fits only as a percentage (value x 100)
    places: int = 0  # the answer's decimals: the precision it is compared at
    detail: str = ""  # why it could not be read


def check_derivation(answer: AnswerValue, derivation: str) -> DerivationCheck:
    """Does `derivation` give `answer` at the answer's rounding? `answer` may be form text."""
    if not derivation.strip():
        return DerivationCheck("empty")
    if isinstance(answer, list):
        answer = answer[0] if len(answer) == 1 else ""
    value = answer if isinstance(answer, int | float) else parse_number(str(answer))
    try:
        readings = evaluate(derivation)
    except DerivationError as exc:
        return DerivationCheck("unreadable", detail=str(exc))
    if value is None:
        return DerivationCheck("no-number", readings[0].value)
    places = decimals_of(answer if isinstance(answer, int | float) else str(answer).strip())
    fitting = _fitting(readings, float(value), places)
    if fitting:
        ev, as_percent = fitting[0]
        return DerivationCheck("match", ev.value, as_percent, places)
    return DerivationCheck("mismatch", readings[0].value, False, places)


def _judge_arithmetic(
    ctx: _Context, question: str, answer: AnswerValue, derivation: str, scale: str
) -> RuleVerdict:
    value = answer if isinstance(answer, int | float) else parse_number(str(answer))
    if value is None:
        return RuleVerdict("incorrect", f"the answer {answer!r} is not a number")
    if not derivation.strip():
        return RuleVerdict("uncertain", "no derivation to recompute")
    try:
        readings = evaluate(derivation)
    except DerivationError as exc:
        return RuleVerdict("uncertain", f"could not read the derivation ({exc})")
    places = decimals_of(answer if not isinstance(answer, list) else 0)
    fitting = _fitting(readings, float(value), places)
    if not fitting:
        shown = ", ".join(f"{ev.value:,.4g}" for ev in readings[:2])
        return RuleVerdict(
            "incorrect",
            f"the derivation {derivation.strip()!r} gives {shown}, not {value:g}",
            (Evidence("calculation", f"{derivation.strip()} = {shown}"),),
        )
    ev, as_percent = fitting[0]
    missing = [n for n in ev.numbers if abs(n) not in SMALL_CONSTANTS and not ctx.has_number(n)]
    if missing:
        return RuleVerdict(
            "uncertain",
            "the arithmetic holds, but the derivation uses "
            + ", ".join(f"{n:g}" for n in missing[:3])
            + ", found nowhere in the table or text",
        )
    state, why, evidence = _scale_check(ev, scale, question, ctx, as_percent)
    if state == "bad":
        return RuleVerdict("incorrect", why, evidence)
    if state == "unknown":
        return RuleVerdict("uncertain", f"the arithmetic holds, but {why}")
    # As a percentage the answer is 100 times the derivation's value: both are written out, so
    # a reader need not do that sum to see the rounding ("= -0.121447, -12.1447%").
    how = f", {ev.value * 100:,.6g}%" if as_percent else ""
    return RuleVerdict(
        "correct",
        f"{derivation.strip()} = {ev.value:,.6g}{how}, which rounds to the answer {value:g}; "
        "every number in it is in the context",
        evidence,
    )


def _judge_count(ctx: _Context, answer: AnswerValue, derivation: str) -> RuleVerdict:
    value = answer if isinstance(answer, int | float) else parse_number(str(answer))
    if value is None or float(value) != int(value):
        return RuleVerdict(
            "incorrect",
            f"the count {answer!r} is not a whole number",
            (Evidence("calculation", f"count = {answer!r}"),),
        )
    items = [i for i in derivation.split("##") if i.strip()] if derivation.strip() else []
    if not items:
        return RuleVerdict("uncertain", "no items listed in the derivation to count")
    if len(items) != int(value):
        return RuleVerdict(
            "incorrect",
            f"the derivation lists {counted(len(items), 'item')} but the answer is {int(value)}",
            (Evidence("list", " ## ".join(i.strip() for i in items)),),
        )
    missing = [
        i
        for i in items
        if not ctx.grid.cells_equal(i)
        and not _in_text(ctx, i)
        and not any(_norm(i) in _norm(cell) for row in ctx.grid.rows for cell in row)
    ]
    if missing:
        return RuleVerdict("uncertain", f"counted item {missing[0]!r} is not in the context")
    return RuleVerdict(
        "correct",
        f"the derivation lists {counted(len(items), 'item')}, all in the context",
        (Evidence("list", " ## ".join(i.strip() for i in items)),),
    )


def _scale_vs_span(
    ctx: _Context, spans: list[str], scale: str, question: str
) -> tuple[str, tuple[Evidence, ...]] | None:
    """Why a numeric span's scale contradicts where it comes from (and where), or None."""
    values = [parse_number(s) for s in spans]
    if any(v is None for v in values) or not scale:
        return None
    numbers = [v for v in values if v is not None]
    if not all(ctx.places(v) for v in numbers):
        return None
    where = tuple(ctx.places(v)[0].evidence(ctx.grid) for v in numbers[:3])
    loose = any("%" in s for s in spans) or all(all(ctx.sources(v)) for v in numbers)
    if any(_YEAR.fullmatch(s.strip()) for s in spans):
        return None
    if scale == "percent" and not any(any(ctx.sources(v)) for v in numbers):
        cells = [ctx.amount_cell(v) for v in numbers]
        if not _PERCENT_WORDS.search(question) and all(cells):
            return (
                "the scale is percent but the answer is an amount where it occurs ("
                + "; ".join(e.text for e in cells if e is not None)
                + ")",
                tuple(e for e in cells if e is not None),
            )
        return None
    sure = any("%" in s for s in spans) or all(ctx.surely_percent(v) for v in numbers)
    if scale in _SCALE_MENTIONS and loose and sure:
        return (
            f"the answer is a percentage where it occurs ({'; '.join(e.text for e in where)}) "
            f"but the scale is {scale!r}",
            where,
        )
    return None


_MAX_WORDS = re.compile(
    r"\b(largest|highest|most|greater|greatest|higher|larger|more|bigger|maximum)\b", re.I
)
_MIN_WORDS = re.compile(r"\b(lowest|smallest|least|lower|smaller|less|fewer|minimum)\b", re.I)


def _judge_comparison(ctx: _Context, question: str, span: str, derivation: str) -> RuleVerdict:
    """ "In which year was X the largest?" with a derivation such as `1,496.5>1,202.9>1,107.7`."""
    wants_max = bool(_MAX_WORDS.search(question))
    wants_min = bool(_MIN_WORDS.search(question))
    if wants_max == wants_min:
        return RuleVerdict(
            "uncertain", "a comparison whose direction the question does not make plain"
        )
    values = numbers_in(re.sub(r"[<>=|]", " ", derivation))
    if "|" in derivation:
        # |x| > |y|: the derivation compares sizes, whatever the signs.
        values = [abs(v) for v in values]
    if len(values) < 2:
        return RuleVerdict("uncertain", "a comparison the rules cannot read")
    grid = ctx.grid
    qwords = _words(question)
    # The compared numbers must sit in one row, in columns with different headers.
    for r in range(grid.header_rows, len(grid.rows)):
        cols = []
        for v in values:
            row_numbers = grid.numbers[r]
            match = [
                c
                for c in range(1, grid.width)
                if (n := row_numbers[c]) is not None
                and abs(abs(n) - abs(v)) < 1e-9 * max(1.0, abs(v))
            ]
            if not match:
                break
            cols.append(match[0])
        else:
            if _row_score(grid, r, qwords)[0] < 0.5:
                continue
            pick = max if wants_max else min
            best_col = cols[values.index(pick(values))]
            header = grid.column_header(best_col)
            cells = tuple(grid.cell_evidence(r, c) for c in cols)
            if _norm(span) in _norm(header):
                return RuleVerdict(
                    "correct",
                    f"{span!r} heads the column holding the "
                    f"{'largest' if wants_max else 'smallest'} value in row {grid.row_label(r)!r}",
                    cells,
                )
            others = [grid.column_header(c) for c in cols if c != best_col]
            if any(_norm(span) in _norm(h) for h in others):
                return RuleVerdict(
                    "incorrect",
                    f"the {'largest' if wants_max else 'smallest'} value in row "
                    f"{grid.row_label(r)!r} is under {header.strip()!r}, not {span!r} "
                    f"({derivation.strip()})",
                    cells,
                )
    return RuleVerdict("uncertain", "a comparison the rules could not place in the table")


def _judge_listed_years(ctx: _Context, question: str, spans: list[str]) -> RuleVerdict | None:
    """ "Which years does the table provide information for?": all the table's years, no fewer."""
    if not re.search(r"\byears\b", question, re.I) or re.search(
        r"\b(than|exceed|exceeded|below|above|under|over|when|more|less|greater|higher|lower|"
        r"larger|smaller|increase[ds]?|decrease[ds]?|positive|negative|between|after|before)\b",
        question,
        re.I,
    ):
        return None
    if not all(_YEAR.fullmatch(s.strip()) for s in spans):
        return None
    header_cells = [
        (r, c, y)
        for r in range(ctx.grid.header_rows)
        for c, cell in enumerate(ctx.grid.rows[r])
        for y in _YEAR.findall(cell)
    ]
    header_years = {y for _, _, y in header_cells}
    if not header_years:
        return None
    answer = {s.strip() for s in spans}
    if answer == header_years:
        return RuleVerdict(
            "correct", f"the table's columns cover exactly {', '.join(sorted(answer))}"
        )
    if answer < header_years:
        missing = ", ".join(sorted(header_years - answer))
        return RuleVerdict(
            "incorrect",
            f"the table's header also names {missing}",
            tuple(
                Evidence("cell", f"header cell {ctx.grid.rows[r][c].strip()!r}", r, c)
                for r, c, y in header_cells
                if y not in answer
            ),
        )
    return RuleVerdict("uncertain", "the answer names years the table headers do not show")


_ASKS_YEAR = re.compile(
    r"\b(which|what)\s+(fiscal\s+|financial\s+|calendar\s+)?(years?|fy)\b", re.I
)


_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_COUNTED = re.compile(
    r"\b(?:the|these|those|its|their)\s+(two|three|four|five|six|seven|[2-7])\s+(?!years?\b|months?\b)[a-z]",
    re.I,
)


def _kind_mismatch(ctx: _Context, question: str, spans: list[str]) -> RuleVerdict | None:
    """The answer is not the kind of thing asked: "Which year ...?" answered with an amount, or
    a list of names with a number among them."""
    numeric = [s for s in spans if parse_number(s) is not None and not _YEAR.fullmatch(s.strip())]
    if _ASKS_YEAR.search(question):
        years = sorted(
            {
                y
                for r in range(ctx.grid.header_rows)
                for y in _YEAR.findall(" ".join(ctx.grid.rows[r]))
            }
        )
        if numeric and years:
            return RuleVerdict(
                "incorrect",
                f"the question asks which year; {', '.join(repr(s) for s in numeric)} is an "
                f"amount, not one of the years ({', '.join(years)})",
                (Evidence("list", "years in the table header: " + ", ".join(years)),),
            )
    count = _COUNTED.search(question)
    if count and len(spans) > 1:
        said = _COUNT_WORDS.get(count.group(1).lower()) or int(count.group(1))
        if said != len(spans):
            return RuleVerdict(
                "incorrect",
                f"the question asks for {count.group(0).strip()!r} but the answer has "
                f"{counted(len(spans), 'item')}",
                (Evidence("list", " | ".join(spans)),),
            )
    words_only = [
        s for s in spans if not any(ch.isdigit() for ch in s) and not _YEAR.fullmatch(s.strip())
    ]
    if len(numeric) >= 2 and len(words_only) == 1 and len(numeric) + 1 == len(spans):
        return RuleVerdict(
            "incorrect",
            f"the other items are numbers ({', '.join(repr(n) for n in numeric[:3])}); "
            f"{words_only[0]!r} is not",
            (Evidence("list", " | ".join(spans)),),
        )
    names = [s for s in spans if parse_number(s) is None and not _YEAR.fullmatch(s.strip())]
    label_names = [s for s in names if _label_rows(ctx, s)]
    value_cells = [
        s
        for s in numeric
        if any(c > 0 for _, c in ctx.grid.cells_equal(s)) and not _in_text(ctx, s)
    ]
    if (len(spans) >= 3 and len(names) >= 2 and len(numeric) == 1) or (
        label_names
        and len(label_names) == len(names)
        and value_cells == numeric
        and numeric
        and len(names) >= len(numeric)
    ):
        where = ctx.grid.cells_equal(numeric[0])
        return RuleVerdict(
            "incorrect",
            f"the other items are names ({', '.join(repr(n) for n in names[:3])}); "
            f"{numeric[0]!r} is a number",
            tuple(ctx.grid.cell_evidence(*rc) for rc in where[:1])
            or (Evidence("list", " | ".join(spans)),),
        )
    return None


def judge_record(record: QARecord) -> RuleVerdict:
    """Judge one record (its curated values) against its context."""
    return judge(
        question=record.question,
        answer=record.answer,
        answer_type=record.answer_type,
        answer_from=record.answer_from,
        derivation=record.derivation,
        scale=record.scale,
        table=record.context.table,
        paragraphs=record.context.paragraphs,
    )


def context_of(table: Sequence[Sequence[str]], paragraphs: Sequence[Paragraph]) -> _Context:
    """The judged form of a context, built once for its run of questions: a context's
    questions come one after another (store order), so the last few are kept, by content.

    Records of one page share their context's very table and paragraphs objects: the last
    ones asked for (tuples, which cannot change) are recognised by identity first (held here,
    so their ids are not reused),
    which spares hashing the whole table for every question."""
    last = _LAST[0]
    if last is not None and last[0] is table and last[1] is paragraphs:
        return last[2]
    try:
        built = _built(tuple(map(tuple, table)), tuple(paragraphs))
    except TypeError:  # unhashable cells: build it afresh
        return _Context.build(table, paragraphs)
    if isinstance(table, tuple) and isinstance(paragraphs, tuple):  # never changes later
        _LAST[0] = (table, paragraphs, built)
    return built


#: The context `context_of` returned last, with the objects it was asked for.
_LAST: list[tuple[Sequence[Sequence[str]], Sequence[Paragraph], _Context] | None] = [None]


@functools.lru_cache(maxsize=8)
def _built(table: tuple[tuple[str, ...], ...], paragraphs: tuple[Paragraph, ...]) -> _Context:
    return _Context.build(table, paragraphs)


def judge(
    *,
    question: str,
    answer: AnswerValue,
    answer_type: str,
    answer_from: str,
    derivation: str,
    scale: str,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph],
) -> RuleVerdict:
    """Judge one record against its context."""
    ctx = context_of(table, paragraphs)
    question = _with_fiscal_years(question)
    if answer_type == "arithmetic":
        return _judge_arithmetic(ctx, question, answer, derivation, scale)
    if answer_type == "count":
        return _judge_count(ctx, answer, derivation)
    spans = answer if isinstance(answer, list) else [str(answer)]
    if not spans or any(not s.strip() for s in spans):
        return RuleVerdict("uncertain", "the answer has an empty span")
    problem = _scale_vs_span(ctx, spans, scale, question)
    if problem:
        return RuleVerdict("incorrect", *problem)
    mismatch = _kind_mismatch(ctx, question, spans)
    if mismatch is not None:
        return mismatch
    if answer_type == "multi-span":
        listed = _judge_listed_years(ctx, question, spans)
        if listed is not None:
            return listed
        return _judge_multispan(ctx, question, spans, answer_from)
    if derivation.strip() and re.search(r"[<>]", derivation):
        return _judge_comparison(ctx, question, spans[0], derivation)
    return _judge_span(ctx, question, spans, answer_from)


def verdict_for(item: WorkItem) -> NewVerdict:
    """The rules judge's verdict on one record of a pass, as stored (reason and evidence)."""
    start = time.perf_counter()
    result = judge_record(item)
    return NewVerdict(
        record_uid=item.uid,
        record_hash=item.record_hash,
        verdict=result.verdict,
        reason=result.reason,
        latency_ms=(time.perf_counter() - start) * 1000,
        evidence=evidence_json(result),
    )


def evidence_json(result: RuleVerdict) -> str:
    """A verdict's evidence as stored: a JSON list, or "" when it rests on nothing cited."""
    return json.dumps([e.to_json() for e in result.evidence]) if result.evidence else ""
