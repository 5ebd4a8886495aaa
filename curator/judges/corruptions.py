"""Deliberate corruptions of gold records, to measure how often a judge lets a wrong answer pass.

Used by `bench/rules_bench.py`, `curator calibrate` and the judge tests. Each corruption makes the
answer wrong in a way curators meet in practice: a perturbed number, another cell of the same
table, a dropped or swapped span of a multi-span answer, an off-by-one count, a wrong scale; and,
for spans, the same line item in another year's column, another line item of the same column, an
item added to a multi-span answer, a numeric span with the wrong scale.

`all_corruptions` gives one corrupted copy per kind that applies to a case, so catch rates can be
reported per kind (`KINDS`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from curator.domain import Context, Paragraph, QARecord
from curator.judges.rules import RuleVerdict, judge_record
from curator.numbers import parse_number

#: Every kind of corruption `all_corruptions` makes, in report order.
KINDS = (
    "perturbed number",
    "another cell of the table",
    "count off by one",
    "wrong scale",
    "swapped span",
    "swapped year",
    "dropped span",
    "added span",
)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


@dataclass(frozen=True, slots=True, kw_only=True)
class Case(QARecord):
    """One record to judge (gold, or made wrong): a record and, when corrupted, how."""

    corruption: str = ""


def judge_case(case: QARecord) -> RuleVerdict:
    """The rules judge's verdict on a case."""
    return judge_record(case)


def cases_from_tatqa(contexts: list[dict]) -> Iterator[Case]:  # type: ignore[type-arg]
    for ctx in contexts:
        context = Context(
            uid=ctx["table"]["uid"],
            split="",
            table=tuple(tuple(row) for row in ctx["table"]["table"]),
            paragraphs=tuple(Paragraph(p["uid"], p["order"], p["text"]) for p in ctx["paragraphs"]),
        )
        for q in ctx["questions"]:
            yield Case(
                q["uid"],
                q["question"],
                q["answer"],
                q["answer_type"],
                q["answer_from"],
                q["derivation"],
                q["scale"],
                context,
            )


def _same(a: str, b: str) -> bool:
    x, y = parse_number(a), parse_number(b)
    if x is not None and y is not None:
        return abs(x - y) < 1e-9
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def _other_cell(case: Case, rng: random.Random, exclude: Sequence[str]) -> str | None:
    """Another non-empty cell whose value differs from every excluded one."""
    cells = [
        c
        for row in case.context.table[1:]
        for c in row[1:]
        if c.strip() and any(ch.isalnum() for ch in c) and not any(_same(c, e) for e in exclude)
    ]
    return rng.choice(cells) if cells else None


def corrupt(case: Case, rng: random.Random) -> Case | None:
    """A wrong variant of a gold case, or None when this case offers no sensible corruption."""
    answer = case.answer
    if case.answer_type == "arithmetic" and isinstance(answer, int | float):
        if rng.random() < 0.5:
            factor = rng.choice([0.5, 0.8, 0.9, 0.97, 1.03, 1.1, 1.25, 2.0])
            new: float = round(float(answer) * factor, 2)
            if new == answer:
                new = round(float(answer) + 1, 2)
            return replace(case, answer=new, corruption="perturbed number")
        other = _other_cell(case, rng, [str(answer)])
        value = parse_number(other) if other else None
        if value is None or abs(value - float(answer)) < 0.01:
            return None
        return replace(case, answer=value, corruption="another cell of the table")
    if case.answer_type == "count":
        n = int(float(str(answer)))
        return replace(
            case,
            answer=str(n + rng.choice([-1, 1]) if n > 1 else n + 1),
            corruption="count off by one",
        )
    if case.answer_type == "span" and isinstance(answer, list):
        other = _other_cell(case, rng, answer)
        if other is None:
            return None
        return replace(case, answer=[other], corruption="another cell of the table")
    if case.answer_type == "multi-span" and isinstance(answer, list) and len(answer) >= 2:
        spans = list(answer)
        if rng.random() < 0.5:
            spans.pop(rng.randrange(len(spans)))
            return replace(case, answer=spans, corruption="dropped span")
        other = _other_cell(case, rng, spans)
        if other is None:
            return None
        spans[rng.randrange(len(spans))] = other
        return replace(case, answer=spans, corruption="swapped span")
    return None


def corrupt_scale(case: Case, rng: random.Random) -> Case | None:
    if case.answer_type != "arithmetic":
        return None
    if case.scale == "percent":
        return replace(case, scale=rng.choice(["thousand", "million"]), corruption="wrong scale")
    if case.scale in ("thousand", "million", "billion"):
        return replace(case, scale="percent", corruption="wrong scale")
    return None


# -- one corrupted copy per kind --------------------------------------------------------------


def _cell_of(case: Case, span: str) -> tuple[int, int] | None:
    """Where a span sits in the table as a whole cell (first data occurrence)."""
    for r, row in enumerate(case.context.table):
        for c, cell in enumerate(row):
            if c and cell.strip() and _same(cell, span):
                return r, c
    return None


def _header_years(case: Case, col: int) -> set[str]:
    years: set[str] = set()
    for row in case.context.table[:3]:
        if col < len(row):
            years |= set(_YEAR.findall(row[col]))
    return years


def _swapped_year(case: Case, rng: random.Random, span: str) -> str | None:
    """The same row's value in another year's column."""
    where = _cell_of(case, span)
    if where is None:
        return None
    r, c = where
    row = case.context.table[r]
    options = [
        cell
        for k, cell in enumerate(row)
        if k
        and k != c
        and cell.strip()
        and parse_number(cell) is not None
        and _header_years(case, k)
        and _header_years(case, k) != _header_years(case, c)
        and not _same(cell, span)
    ]
    return rng.choice(options) if options else None


def _swapped_row(case: Case, rng: random.Random, span: str) -> str | None:
    """Another line item's value in the same column (the wrong row)."""
    where = _cell_of(case, span)
    if where is None:
        return None
    r, c = where
    options = [
        row[c]
        for k, row in enumerate(case.context.table)
        if k != r
        and c < len(row)
        and row[c].strip()
        and parse_number(row[c]) is not None
        and not _YEAR.fullmatch(row[c].strip())
        and not _same(row[c], span)
    ]
    return rng.choice(options) if options else None


def _text_items(case: Case, exclude: Sequence[str]) -> list[str]:
    """Short phrases of the text (list items, numbers) that are not in the answer."""
    items: list[str] = []
    for p in case.context.paragraphs:
        for part in re.split(r",|;|\band\b|\bor\b|\.\s", p.text):
            words = part.strip().split()
            if 1 <= len(words) <= 4 and any(ch.isalpha() for ch in part):
                phrase = " ".join(words).strip(" .()")
                if phrase and not any(_same(phrase, e) for e in exclude):
                    items.append(phrase)
    return items


def sibling_spans(case: Case, siblings: Sequence[Case]) -> list[str]:
    """Span answers of the other questions on the same context: the realistic wrong span (the
    answer to a neighbouring question), not a random fragment of the text."""
    own = case.answer if isinstance(case.answer, list) else []
    out: list[str] = []
    for other in siblings:
        if other.uid == case.uid or not isinstance(other.answer, list):
            continue
        for span in other.answer:
            if span.strip() and not any(_same(span, s) for s in [*own, *out]):
                out.append(span)
    return out


def by_context(cases: Sequence[Case]) -> dict[tuple[tuple[str, ...], ...], list[Case]]:
    """Cases grouped by their table (one TAT-QA context each)."""
    groups: dict[tuple[tuple[str, ...], ...], list[Case]] = {}
    for c in cases:
        groups.setdefault(c.context.table, []).append(c)
    return groups


def all_corruptions(case: Case, rng: random.Random, siblings: Sequence[Case] = ()) -> list[Case]:
    """One corrupted copy of the case per kind that applies to it (see KINDS). `siblings` are
    the other questions on the same context; their answers are the swapped spans of text
    answers."""
    out: list[Case] = []
    answer = case.answer
    if case.answer_type == "arithmetic" and isinstance(answer, int | float):
        factor = rng.choice([0.5, 0.8, 0.9, 0.97, 1.03, 1.1, 1.25, 2.0])
        new: float = round(float(answer) * factor, 2)
        if new == answer:
            new = round(float(answer) + 1, 2)
        out.append(replace(case, answer=new, corruption="perturbed number"))
        other = _other_cell(case, rng, [str(answer)])
        value = parse_number(other) if other else None
        if value is not None and abs(value - float(answer)) >= 0.01:
            out.append(replace(case, answer=value, corruption="another cell of the table"))
    if case.answer_type == "count":
        n = int(float(str(answer)))
        out.append(
            replace(
                case,
                answer=str(n + rng.choice([-1, 1]) if n > 1 else n + 1),
                corruption="count off by one",
            )
        )
    scaled = corrupt_scale(case, rng) or _span_scale(case, rng)
    if scaled is not None:
        out.append(scaled)
    if case.answer_type in ("span", "multi-span") and isinstance(answer, list) and answer:
        spans = list(answer)
        i = rng.randrange(len(spans))
        year = _swapped_year(case, rng, spans[i])
        if year is not None:
            out.append(
                replace(case, answer=[*spans[:i], year, *spans[i + 1 :]], corruption="swapped year")
            )
        if case.answer_type == "span":
            other = _swapped_row(case, rng, spans[0])
            if other is None and case.answer_from == "text":
                items = [s for s in sibling_spans(case, siblings) if parse_number(s) is None]
                other = rng.choice(items) if items else None
            if other is None:
                other = _other_cell(case, rng, spans)
            if other is not None:
                out.append(replace(case, answer=[other], corruption="swapped span"))
        else:
            swapped = list(spans)
            other = _swapped_row(case, rng, spans[i]) or _other_cell(case, rng, spans)
            if other is not None:
                swapped[i] = other
                out.append(replace(case, answer=swapped, corruption="swapped span"))
            if len(spans) >= 2:
                out.append(
                    replace(case, answer=spans[:i] + spans[i + 1 :], corruption="dropped span")
                )
            extra = _swapped_year(case, rng, spans[i]) if case.answer_from != "text" else None
            if extra is None:
                items = _text_items(case, spans)
                extra = rng.choice(items) if items else _other_cell(case, rng, spans)
            if extra is not None and not any(_same(extra, s) for s in spans):
                added = list(spans)
                added.insert(rng.randrange(len(spans) + 1), extra)
                out.append(replace(case, answer=added, corruption="added span"))
    return out


def _span_scale(case: Case, rng: random.Random) -> Case | None:
    """A numeric span answer with a wrong scale (an amount called a percentage, or back)."""
    if case.answer_type != "span" or not isinstance(case.answer, list) or len(case.answer) != 1:
        return None
    if parse_number(case.answer[0]) is None or _YEAR.fullmatch(case.answer[0].strip()):
        return None
    if case.scale == "percent":
        return replace(case, scale=rng.choice(["thousand", "million"]), corruption="wrong scale")
    if case.scale in ("thousand", "million", "billion"):
        return replace(case, scale="percent", corruption="wrong scale")
    return None
