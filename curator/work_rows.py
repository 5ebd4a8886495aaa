"""Work items from plain rows (`curator.store.work_rows`), built where they are judged.

A rules pass's worker process receives records as tuples and contexts as JSON text (cheap to
read and to pickle) and builds here exactly the `WorkItem`s `verdicts.work_page` would have
built: the same values, and one `Context` per context and split, shared by its records. Kept
free of the store so that a worker never imports DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from curator.domain import Context, Paragraph, WorkItem, answer_from_json


def work_items(
    rows: Sequence[Sequence[Any]], contexts: Mapping[str, tuple[str, str]]
) -> list[WorkItem]:
    """`rows` as (seq, uid, record hash, context uid, question, answer JSON, answer type,
    answer from, derivation, scale, split); `contexts` as uid -> (table JSON, paragraphs JSON)."""
    built: dict[tuple[str, str], Context] = {}
    items = []
    for row in rows:
        context = built.get((row[3], row[10]))
        if context is None:
            table, paragraphs = context_parts(*contexts[row[3]])
            context = built[(row[3], row[10])] = Context(
                uid=row[3], split=row[10], table=table, paragraphs=paragraphs
            )
        items.append(row_work_item(row, context))
    return items


def context_parts(
    table: str, paragraphs: str
) -> tuple[tuple[tuple[str, ...], ...], tuple[Paragraph, ...]]:
    """A context's table and paragraphs from their JSON text (see `work_items`): the values a
    `Context` read by `verdicts.work_page` holds."""
    return (
        tuple(tuple(cells) for cells in json.loads(table)),
        tuple(Paragraph(p["uid"], p["order"], p["text"]) for p in json.loads(paragraphs)),
    )


def row_work_item(row: Sequence[Any], context: Context) -> WorkItem:
    """One work row (see `work_items`) with its built context: the one place a row of a work
    page becomes a `WorkItem`, for `verdicts.pending_page` and the rules pass's workers."""
    return WorkItem(
        seq=row[0],
        uid=row[1],
        record_hash=row[2],
        question=row[4],
        answer=answer_from_json(row[5]),
        answer_type=row[6],
        answer_from=row[7],
        derivation=row[8],
        scale=row[9],
        context=context,
    )
