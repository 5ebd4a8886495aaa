"""Builders the tests share: records for the judges, another process holding the store, and
the command lines several tests run. Kept here so a test states only what differs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from curator.domain import AnswerValue, Context, Paragraph, QARecord

#: A child process that takes the store file's DuckDB lock, says "held", and keeps it until a
#: line on stdin (or, given a second argument, for that many seconds).
HOLDER = """
import sys, time, duckdb
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.005)
print("held", flush=True)
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.readline()
con.close()
"""


def hold_store(db: Path, seconds: float | None = None) -> subprocess.Popen[str]:
    """Another process holding the store's file lock: until `release`, or for `seconds`."""
    args = [sys.executable, "-c", HOLDER, str(db)]
    holder = subprocess.Popen(
        args if seconds is None else [*args, str(seconds)],
        stdin=subprocess.PIPE if seconds is None else None,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    """Let a `hold_store` process give the lock back, and wait until it has."""
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait(timeout=30)


def qa_record(
    question: str,
    answer: AnswerValue,
    answer_type: str = "span",
    answer_from: str = "table",
    scale: str = "",
    derivation: str = "",
    *,
    table: Sequence[Sequence[str]],
    paragraphs: Sequence[Paragraph] = (),
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


def export_args(out: Path, judges: str = "rules", *extra: str | Path) -> list[str | Path]:
    """`curator export OUT` of everything reviewed or judged correct by `judges`, all in train,
    as openai-chat lines, with the manifest printed as JSON."""
    return [
        "export",
        out,
        "--include-judged-correct",
        judges,
        "--validation-fraction",
        "0",
        "--target",
        "openai-chat",
        "--json",
        *extra,
    ]
