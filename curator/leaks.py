"""Leaks: near-duplicate contexts and repeated questions, within a split and across splits.

A model evaluated on a table it was trained on looks better than it is, and TAT-QA's own dev and
test files share tables under different uids. The store finds the pairs (`curator.store.leaks`:
an inverted index on normalised figures, in DuckDB); this module turns them into what the CLI,
the export and the TUI need: JSON lines, a side-by-side listing, and clusters of near-duplicate
contexts (union-find) that the export keeps on one side of its split.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from curator.domain import BadInput
from curator.split_choice import check_splits
from curator.store.db import Store
from curator.store.leaks import (
    DEFAULT_THRESHOLD,
    ContextPair,
    QuestionPair,
    context_tables,
    find_pairs,
    splits_in_import_order,
)
from curator.wording import counted

_Pair = TypeVar("_Pair", ContextPair, QuestionPair)

__all__ = [
    "DEFAULT_THRESHOLD",
    "ContextPair",
    "LeakReport",
    "QuestionPair",
    "clusters",
    "find_leaks",
    "side_by_side",
]


@dataclass(frozen=True, slots=True)
class LeakReport:
    contexts: list[ContextPair] = field(default_factory=list)
    questions: list[QuestionPair] = field(default_factory=list)

    def json_lines(self) -> list[dict[str, Any]]:
        """One object per pair: kind, a, b, splits, score, shared (the evidence)."""
        out: list[dict[str, Any]] = []
        for p in self.contexts:
            out.append(
                {
                    "kind": "context",
                    "a": p.a,
                    "b": p.b,
                    "splits": [p.split_a, p.split_b],
                    "score": p.score,
                    "shared": {
                        "figures": p.figures,
                        "labels": p.labels,
                        "paragraph_figures": p.paragraph_figures,
                    },
                }
            )
        for q in self.questions:
            out.append(
                {
                    "kind": "question",
                    "a": q.a,
                    "b": q.b,
                    "splits": [q.split_a, q.split_b],
                    "score": q.score,
                    "shared": {
                        "question": q.question,
                        "answer": q.answer,
                        "contexts": [q.context_a, q.context_b],
                    },
                }
            )
        return out

    def summary(self) -> dict[str, int]:
        cross_c = sum(1 for p in self.contexts if p.split_a != p.split_b)
        cross_q = sum(1 for q in self.questions if q.split_a != q.split_b)
        return {
            "context_pairs": len(self.contexts),
            "context_pairs_across_splits": cross_c,
            "question_pairs": len(self.questions),
            "question_pairs_across_splits": cross_q,
        }


def check_threshold(threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise BadInput("--threshold", "", f"{threshold} is not a score in (0, 1]")


def find_leaks(
    store: Store,
    *,
    splits: Sequence[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
    across_only: bool = False,
) -> LeakReport:
    """Near-duplicate context pairs and repeated questions, best first.

    With `splits`, both sides of a pair are in those splits, the first split named on the left
    (`a`; without `splits`, the split imported first); with `across_only`, the two sides are in
    different splits. Also refreshes the store's cache of pairs (the TUI reads it).
    """
    check_threshold(threshold)
    check_splits(store, splits)
    if across_only and len(set(splits)) == 1:
        # Both sides in one split and in different splits: nothing could ever be listed, which
        # would read as "no leaks".
        raise BadInput(
            "--across",
            "",
            f"with one --split ({splits[0]!r}) no pair crosses splits: name two or more, or none",
        )
    pairs, questions = find_pairs(store, threshold=threshold, splits=splits)
    if across_only:
        pairs = [p for p in pairs if p.split_a != p.split_b]
        questions = [q for q in questions if q.split_a != q.split_b]
    rank = _split_rank([*splits, *splits_in_import_order(store)])
    return LeakReport(
        [_in_split_order(p, rank) for p in pairs], [_in_split_order(q, rank) for q in questions]
    )


def _split_rank(splits: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    """Sides in `--split` order (`--split dev --split test`: dev on the left); without `--split`,
    in the order the splits were first imported, so a listing reads one way through."""
    named = {name: i for i, name in reversed(list(enumerate(splits)))}
    return lambda split: (named.get(split, len(named)), split)


def _in_split_order(pair: _Pair, rank: Callable[[str], tuple[int, str]]) -> _Pair:
    """The pair with its sides swapped when its right side's split comes first (the store gives
    them by uid: a < b). Both sides in one split keep that order."""
    if rank(pair.split_b) >= rank(pair.split_a):
        return pair
    if isinstance(pair, QuestionPair):
        return replace(
            pair,
            a=pair.b,
            b=pair.a,
            split_a=pair.split_b,
            split_b=pair.split_a,
            context_a=pair.context_b,
            context_b=pair.context_a,
        )
    return replace(pair, a=pair.b, b=pair.a, split_a=pair.split_b, split_b=pair.split_a)


def clusters(pairs: Iterable[tuple[str, str]], members: Iterable[str]) -> dict[str, str]:
    """{member: cluster key} joining members linked by pairs (union-find, path halving).

    A cluster's key is its smallest member, so the result does not depend on pair order; pairs
    naming a non-member are ignored.
    """
    parent = {m: m for m in members}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        if a not in parent or b not in parent:
            continue
        ra, rb = find(a), find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            parent[rb] = ra
    return {m: find(m) for m in parent}


def _printable(text: str) -> str:
    """Control characters and escapes made visible: data never drives the terminal."""
    cleaned = "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)
    return " ".join(cleaned.split())


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` terminal columns."""
    if _width(text) > width:
        out = ""
        for ch in text:
            if _width(out + ch) > width - 1:
                break
            out += ch
        text = out + "…"
    return text + " " * (width - _width(text))


def _table_lines(table: list[list[str]], width: int, max_rows: int) -> list[str]:
    """A table as plain text lines of exactly `width` columns: cells joined by `|`."""
    lines = []
    for row in table[:max_rows]:
        cells = [_printable(c) for c in row]
        lines.append(_fit(" | ".join(cells), width))
    if len(table) > max_rows:
        lines.append(_fit(f"… {len(table) - max_rows} more rows", width))
    return lines


def side_by_side(
    table_a: list[list[str]],
    table_b: list[list[str]],
    *,
    width: int = 160,
    max_rows: int = 12,
) -> list[str]:
    """Two tables in two columns of plain text, for eyeballing a pair."""
    half = max(20, (width - 3) // 2)
    left = _table_lines(table_a, half, max_rows)
    right = _table_lines(table_b, half, max_rows)
    blank = " " * half
    rows = max(len(left), len(right))
    left += [blank] * (rows - len(left))
    right += [blank] * (rows - len(right))
    return [f"{a} ‖ {b}".rstrip() for a, b in zip(left, right, strict=True)]


def listing(store: Store, report: LeakReport, *, top: int = 10, width: int = 160) -> list[str]:
    """The human-readable report: counts, the top context pairs with both tables side by side,
    and the repeated questions."""
    s = report.summary()
    lines = [
        f"{counted(s['context_pairs'], 'near-duplicate context pair')} "
        f"({s['context_pairs_across_splits']:,} across splits), "
        f"{counted(s['question_pairs'], 'repeated question')} "
        f"({s['question_pairs_across_splits']:,} across splits)"
    ]
    shown = report.contexts[:top]
    tables = context_tables(store, sorted({u for p in shown for u in (p.a, p.b)}))
    half = max(20, (width - 3) // 2)
    for p in shown:
        lines.append("")
        head_a = _fit(f"{_printable(p.a)} [{_printable(p.split_a)}]", half)
        head_b = _printable(p.b) + f" [{_printable(p.split_b)}]"
        lines.append(
            f"score {p.score:.2f} · {p.figures} figures, {p.labels} labels, "
            f"{p.paragraph_figures} paragraph figures shared"
        )
        lines.append(f"{head_a} ‖ {head_b}".rstrip())
        lines += side_by_side(tables.get(p.a, []), tables.get(p.b, []), width=width)
    if len(report.contexts) > top:
        lines.append("")
        lines.append(
            f"… {len(report.contexts) - top:,} more context pairs (--top N, or --json for all)"
        )
    if report.questions:
        lines.append("")
        lines.append("repeated questions (same normalised question and answer):")
        for q in report.questions[:top]:
            lines.append(
                f"  {_printable(q.a)} [{_printable(q.split_a)}] = {_printable(q.b)} "
                f"[{_printable(q.split_b)}]: {_printable(q.question)} => {_printable(q.answer)}"
            )
        if len(report.questions) > top:
            lines.append(f"  … {len(report.questions) - top:,} more")
    return lines
