"""Builders the tests share, kept here so a test states only what differs."""

from __future__ import annotations

from collections.abc import Sequence

from curator.domain import AnswerValue, Context, Paragraph, QARecord


def qa_record(
    question: str,
    answer: AnswerValue,
    answer_type: str = "span",
    *,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph] = (),
    answer_from: str = "table",
    derivation: str = "",
    scale: str = "",
    uid: str = "q-1",
) -> QARecord:
    """A record on one context, as a judge or the prompt builder reads it."""
    context = Context(
        uid="ctx-1",
        split="dev",
        table=tuple(tuple(row) for row in table),
        paragraphs=tuple(paragraphs),
    )
    return QARecord(uid, question, answer, answer_type, answer_from, derivation, scale, context)
