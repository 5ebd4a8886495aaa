"""One record shape: the types that carry a question with its answer and context extend
`domain.QARecord` and never declare its fields again."""

from __future__ import annotations

import inspect
from dataclasses import fields, replace

import pytest

from curator.domain import (
    Context,
    Paragraph,
    QARecord,
    QuestionAnswer,
    Record,
    WorkItem,
    qa_fields,
)
from curator.judges.corruptions import Case
from curator.store.exports import CuratedRecord
from curator.store.reviews import RecordDetail

CONTEXT = Context("ctx-1", "dev", (("", "2019"), ("Revenue", "1,200")), (Paragraph("p", 1, "t"),))


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (WorkItem, QARecord),
        (CuratedRecord, QARecord),
        (Case, QARecord),
        (RecordDetail, QARecord),
        (QARecord, QuestionAnswer),
        (Record, QuestionAnswer),
    ],
)
def test_record_types_extend_the_shape_without_repeating_it(cls: type, base: type) -> None:
    assert issubclass(cls, base)
    repeated = set(inspect.get_annotations(cls)) & {f.name for f in fields(base)}
    assert not repeated, f"{cls.__name__} declares {repeated} again"


def test_a_record_becomes_another_kind_with_the_same_values() -> None:
    case = Case("q-1", "Revenue in 2019?", ["1,200"], "span", "table", "", "", CONTEXT, seq=4)
    item = WorkItem(**qa_fields(replace(case, corruption="x")), record_hash="h")
    assert (item.uid, item.answer, item.context, item.seq, item.record_hash) == (
        "q-1",
        ["1,200"],
        CONTEXT,
        4,
        "h",
    )
    assert (item.context_uid, item.split) == ("ctx-1", "dev")
    assert Case(**qa_fields(item)) == replace(case, corruption="")
