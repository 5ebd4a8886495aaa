"""A batch pass's records and request lines, at a million records' pace.

The pass only spools request lines, so it reads the store in large columnar windows
(`curator.store.batch_work`), keeps each record as a plain `BatchRow` (a named tuple with its
context object, built once per context and split as `work_page` builds them) and writes its
request line from a per-context template, never building a `WorkItem`, a `JudgePrompt` or a
request dict per record:

- `batch_rows` walks the windows, the next one read in a thread while this one is used (the
  store's query runs outside the GIL), skipping records already in an open batch, up to a limit;
- `RowLines` turns a row into the bytes `RequestLines` writes for its `WorkItem`: the context's
  first record goes through `RequestLines` (the one serialisation, via `messages_body` and
  `json.dumps`), which cuts that line into the text around the custom id and the record's part
  of the user turn; every record's part is then the template's literal text (JSON-encoded once)
  with its escaped question and rendered answer, each JSON-encoded, between them. JSON's string
  encoder escapes character by character, so encoding the pieces is encoding their
  concatenation: the bytes are `json.dumps`'s (tested against it on every record of
  sample_data and the real TAT-QA files).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from json.encoder import encode_basestring_ascii as encode_string
from typing import TYPE_CHECKING, NamedTuple

from curator.domain import (
    Context,
    JudgeKey,
    Paragraph,
    RecordFilter,
    WorkItem,
    answer_from_json,
)
from curator.prompts import _user_parts, escape, render_answer
from curator.store.batch_work import WINDOW, WorkColumns, iter_work_columns
from curator.work_rows import (
    ANSWER_FROM,
    ANSWER_JSON,
    ANSWER_TYPE,
    CONTEXT_UID,
    DERIVATION,
    QUESTION,
    RECORD_HASH,
    SCALE,
    SEQ,
    SPLIT,
    UID,
)

if TYPE_CHECKING:
    from curator.judges.batch import RequestLines
    from curator.llm.passes import LLMJudge
    from curator.store.db import Store


class BatchRow(NamedTuple):
    """One record needing a verdict, as a batch pass reads it (the fields of a `WorkItem`;
    the answer still as its stored JSON text, decoded only when its line is written)."""

    seq: int
    uid: str
    record_hash: str
    context: Context
    question: str
    answer_json: str
    answer_type: str
    answer_from: str
    derivation: str
    scale: str

    def work_item(self) -> WorkItem:
        """The `WorkItem` `verdicts.work_page` reads for this record."""
        return WorkItem(
            seq=self.seq,
            uid=self.uid,
            record_hash=self.record_hash,
            question=self.question,
            answer=answer_from_json(self.answer_json),
            answer_type=self.answer_type,
            answer_from=self.answer_from,
            derivation=self.derivation,
            scale=self.scale,
            context=self.context,
        )


def page_rows(page: WorkColumns) -> list[BatchRow]:
    """A window's records as rows, one `Context` per context and split, shared by its rows."""
    columns = page.columns
    built: dict[tuple[str, str], Context] = {}

    def context(key: tuple[str, str]) -> Context:
        found = built.get(key)
        if found is None:
            table, paragraphs = page.contexts[key[0]]
            found = built[key] = Context(
                uid=key[0],
                split=key[1],
                table=tuple(tuple(cells) for cells in json.loads(table)),
                paragraphs=tuple(
                    Paragraph(p["uid"], p["order"], p["text"]) for p in json.loads(paragraphs)
                ),
            )
        return found

    contexts = [context(key) for key in zip(columns[CONTEXT_UID], columns[SPLIT], strict=True)]
    make = BatchRow._make
    return list(
        map(
            make,
            zip(
                columns[SEQ],
                columns[UID],
                columns[RECORD_HASH],
                contexts,
                columns[QUESTION],
                columns[ANSWER_JSON],
                columns[ANSWER_TYPE],
                columns[ANSWER_FROM],
                columns[DERIVATION],
                columns[SCALE],
                strict=True,
            ),
        )
    )


def batch_rows(
    store: Store,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    rejudge: bool = False,
    limit: int | None = None,
    skip: frozenset[str] | set[str] = frozenset(),
    window: int = WINDOW,
) -> Generator[BatchRow, None, None]:
    """Every record needing a verdict from `key`, in store order, but those in `skip`, at most
    `limit` of them; the next window is read in a thread while this one is used. A consumer
    that stops early leaves no read running (the pending one is awaited, then dropped)."""
    if limit is not None and limit <= 0:
        return
    windows: Iterator[WorkColumns] = iter_work_columns(
        store, key, filt, rejudge=rejudge, window=window
    )

    def read() -> list[BatchRow] | None:
        page = next(windows, None)
        return None if page is None else page_rows(page)

    taken = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-work") as pool:
        upcoming: Future[list[BatchRow] | None] = pool.submit(read)
        try:
            while (rows := upcoming.result()) is not None:
                upcoming = pool.submit(read)
                if skip:
                    rows = [row for row in rows if row.uid not in skip]
                if limit is not None:
                    rows = rows[: limit - taken]
                taken += len(rows)
                yield from rows
                if limit is not None and taken >= limit:
                    return
        finally:
            upcoming.cancel()
            if not upcoming.cancelled():
                with suppress(Exception):  # a read nobody waits for any more
                    upcoming.result()


def _inner(text: str) -> str:
    """`text` JSON-encoded (ASCII, as `json.dumps` writes it), without the quotes."""
    return encode_string(text)[1:-1]


def _answer_text(answer_json: str, scale: str) -> str:
    """`render_answer` of the stored answer. The commonest answer, one span with nothing to
    unescape (`["1,234"]`), skips the JSON decoder; the rest is `answer_from_json`'s."""
    if (
        answer_json.startswith('["')
        and answer_json.endswith('"]')
        and answer_json.count('"') == 2
        and "\\" not in answer_json
    ):
        return render_answer([answer_json[2:-2]], scale)
    return render_answer(answer_from_json(answer_json), scale)


#: A context's template: the text before the custom id, and the pieces after it (the literal
#: text, JSON-encoded, around the places of the question and the answer).
_Template = tuple[str, tuple[str, ...]]


class RowLines:
    """`RequestLines` for `BatchRow`s: the same bytes, from a template per context.

    The record's part of the user turn is the judge template's text after the context
    (`_user_parts`): literal text around `{question}` and `{answer}`, each JSON-encoded once
    here; a template whose record part holds `{context}` too takes `RequestLines` per record.
    """

    def __init__(self, lines: RequestLines, judge: LLMJudge) -> None:
        self._lines = lines
        self._judge = judge
        self._context: Context | None = None
        self._template: _Template | None = None
        literals: list[str] = []
        slots: list[str] = []
        self._fast = True
        for i, part in enumerate(_user_parts(judge.template.user)[1]):
            if i % 2 == 0:
                literals.append(_inner(part))
            elif part in ("{question}", "{answer}"):
                slots.append(part)
            else:
                self._fast = False
        self._literals = literals
        self._slots = tuple(slots)
        self._plain_order = self._slots == ("{question}", "{answer}")

    def _make_template(self, row: BatchRow) -> _Template | None:
        if not self._fast:
            return None
        prompt = self._judge.prompt(row.work_item())
        if not prompt.record_part:
            return None
        cut = self._lines.cut(prompt)
        if cut is None:
            return None
        head, middle, tail = cut
        pieces = list(self._literals)
        pieces[0] = middle + '"' + pieces[0]
        pieces[-1] = pieces[-1] + '"' + tail
        template = (head, tuple(pieces))
        # Checked on the context's first record: the pieces make its part of the user turn.
        expected = head + encode_string("x") + middle + encode_string(prompt.record_part) + tail
        return template if self._line(template, "x", row) == expected else None

    def _line(self, template: _Template, cid: str, row: BatchRow) -> str:
        head, pieces = template
        question = _inner(escape(row.question))
        answer = _inner(escape(_answer_text(row.answer_json, row.scale)))
        if self._plain_order:  # the built-in template's order: question, then answer
            return "".join(
                (head, encode_string(cid), pieces[0], question, pieces[1], answer, pieces[2])
            )
        parts = [head, encode_string(cid), pieces[0]]
        for slot, literal in zip(self._slots, pieces[1:], strict=True):
            parts.append(question if slot == "{question}" else answer)
            parts.append(literal)
        return "".join(parts)

    def __call__(self, cid: str, row: BatchRow) -> bytes:
        if row.context is not self._context:
            self._context = row.context
            self._template = self._make_template(row)
        if self._template is None:
            return self._lines(cid, row.work_item())
        return self._line(self._template, cid, row).encode()
