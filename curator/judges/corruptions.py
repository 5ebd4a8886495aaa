"""Deliberate corruptions of gold records, to measure how often a judge lets a wrong answer pass.

Used by `bench/rules_bench.py` and the judge tests. Each corruption makes the answer wrong in a
way curators meet in practice: a perturbed number, another cell of the same table, a dropped or
swapped span of a multi-span answer, an off-by-one count, a wrong scale.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from curator.domain import AnswerValue, Paragraph
from curator.judges.numbers import parse_number
from curator.judges.rules import RuleVerdict, judge


@dataclass(frozen=True, slots=True)
class Case:
    """One record to judge: the gold fields plus the context."""

    uid: str
    question: str
    answer: AnswerValue
    answer_type: str
    answer_from: str
    derivation: str
    scale: str
    table: tuple[tuple[str, ...], ...]
    paragraphs: tuple[Paragraph, ...]
    corruption: str = ""


def judge_case(case: Case) -> RuleVerdict:
    """The rules judge's verdict on a case."""
    return judge(
        question=case.question,
        answer=case.answer,
        answer_type=case.answer_type,
        answer_from=case.answer_from,
        derivation=case.derivation,
        scale=case.scale,
        table=case.table,
        paragraphs=case.paragraphs,
    )


def cases_from_tatqa(contexts: list[dict]) -> Iterator[Case]:  # type: ignore[type-arg]
    for ctx in contexts:
        table = tuple(tuple(row) for row in ctx["table"]["table"])
        paragraphs = tuple(Paragraph(p["uid"], p["order"], p["text"]) for p in ctx["paragraphs"])
        for q in ctx["questions"]:
            yield Case(
                q["uid"],
                q["question"],
                q["answer"],
                q["answer_type"],
                q["answer_from"],
                q["derivation"],
                q["scale"],
                table,
                paragraphs,
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
        for row in case.table[1:]
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
