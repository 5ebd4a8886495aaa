"""Work items from plain rows (`curator.store.work_rows`), built where they are judged.

A rules pass's worker process receives records as tuples and contexts as JSON text (cheap to
read and to pickle) and builds here exactly the `WorkItem`s `verdicts.work_page` would have
built: the same values, and one `Context` per context and split, shared by its records. Kept
free of the store so that a worker never imports DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from curator.domain import Context, Paragraph, WorkItem, answer_from_json

#: A work row's fields, in order: the one definition of their positions. The store's work
#: queries select them in this order (`curator.store.verdicts.WORK_ROW_SELECT` is written from
#: it), `row_work_item` builds from them, and the rules worker (`curator.judges.rules_worker`)
#: and a batch pass (`curator.judges.batch_work`) read them without building items: each reads
#: a field at the position below, never at a number of its own, so a field added or moved here
#: moves every reader with it.
WORK_ROW_FIELDS: Final = (
    "seq",
    "uid",
    "record_hash",
    "context_uid",
    "question",
    "answer_json",
    "answer_type",
    "answer_from",
    "derivation",
    "scale",
    "split",
)
SEQ: Final = WORK_ROW_FIELDS.index("seq")
UID: Final = WORK_ROW_FIELDS.index("uid")
RECORD_HASH: Final = WORK_ROW_FIELDS.index("record_hash")
CONTEXT_UID: Final = WORK_ROW_FIELDS.index("context_uid")
QUESTION: Final = WORK_ROW_FIELDS.index("question")
#: The curated answer as JSON text (`answer_from_json` decodes it).
ANSWER_JSON: Final = WORK_ROW_FIELDS.index("answer_json")
ANSWER_TYPE: Final = WORK_ROW_FIELDS.index("answer_type")
ANSWER_FROM: Final = WORK_ROW_FIELDS.index("answer_from")
DERIVATION: Final = WORK_ROW_FIELDS.index("derivation")
SCALE: Final = WORK_ROW_FIELDS.index("scale")
SPLIT: Final = WORK_ROW_FIELDS.index("split")


def work_items(
    rows: Sequence[Sequence[Any]], contexts: Mapping[str, tuple[str, str]]
) -> list[WorkItem]:
    """`rows` as `WORK_ROW_FIELDS`; `contexts` as uid -> (table JSON, paragraphs JSON)."""
    built: dict[tuple[str, str], Context] = {}
    items = []
    for row in rows:
        key = (row[CONTEXT_UID], row[SPLIT])
        context = built.get(key)
        if context is None:
            table, paragraphs = context_parts(*contexts[key[0]])
            context = built[key] = Context(
                uid=key[0], split=key[1], table=table, paragraphs=paragraphs
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
        seq=row[SEQ],
        uid=row[UID],
        record_hash=row[RECORD_HASH],
        question=row[QUESTION],
        answer=answer_from_json(row[ANSWER_JSON]),
        answer_type=row[ANSWER_TYPE],
        answer_from=row[ANSWER_FROM],
        derivation=row[DERIVATION],
        scale=row[SCALE],
        context=context,
    )
