"""Builders the tests share: records for the judges, other processes loading the machine (one
holding the store, one burning a core), and the command lines several tests run. Kept here so a
test states only what differs; the benchmarks (bench/judge_stress.py) use the same load."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from curator.domain import AnswerValue, Context, Paragraph, QARecord

#: A child process that takes the store file's DuckDB lock, says "held", and keeps it until a
#: line on stdin (or, given a second argument, for that many seconds); a third argument makes it
#: wait that many seconds before it starts trying.
HOLDER = """
import sys, time, duckdb
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
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


def hold_store_later(db: Path, after: float, seconds: float) -> subprocess.Popen[str]:
    """Another process that takes the store's lock `after` seconds from now (waiting its turn
    when someone has it), keeps it `seconds`, and exits: a writer getting in a pass's way.
    Returns at once; wait for the process to know it let go."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(seconds), str(after)],
        stdout=subprocess.DEVNULL,
        text=True,
    )


#: A child process that keeps one core busy for `argv[1]` seconds.
BURNER = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


def burn_cpu(seconds: float) -> subprocess.Popen[str]:
    """Another process keeping a core busy for `seconds` (kill it sooner when done)."""
    return subprocess.Popen([sys.executable, "-c", BURNER, str(seconds)], text=True)


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
