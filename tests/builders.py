"""Builders the tests share: records for the judges, other processes loading the machine (one
holding the store, one burning a core), and the command lines several tests run. Kept here so a
test states only what differs; the benchmarks (bench/judge_stress.py) use the same load."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from curator.domain import AnswerValue, Context, Paragraph, QARecord
from curator.store import Store

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


def write_transactions(monkeypatch: pytest.MonkeyPatch, only: Path | None = None) -> list[Path]:
    """The stores whose write transaction (`Store.transaction` of a store that may write) this
    process enters from now on, in order: what opening or reading a store must not need.
    `only`: that store's alone (another test's journal folder may still store its decisions
    in its own store meanwhile: this process's, but not the test's)."""
    taken: list[Path] = []
    real = Store.transaction

    def recording(self: Store, *, linger: bool = True) -> Any:
        if not self.read_only and (only is None or self.path == only):
            taken.append(self.path)
        return real(self, linger=linger)

    monkeypatch.setattr(Store, "transaction", recording)
    return taken


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


def curator_here(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`curator ARGS` run in this process through the real entry point (error handling
    included), with no config file and no fault injection, as a `CompletedProcess`.

    For runs that are not about processes (setting a store up, `check`, `validate`, the run
    after a killed one) where no `run_cli` fixture is at hand (module fixtures, templates):
    the same code as `python -m curator`, without a Python start and curator's imports each.
    """
    from curator.cli import main

    out, err = io.StringIO(), io.StringIO()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURATOR_FAULT_")}
    env["CURATOR_CONFIG"] = os.devnull
    code = 0
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess([str(a) for a in args], code, out.getvalue(), err.getvalue())


def import_sample_dev(db: Path) -> None:
    """`curator import sample_data/sample_dev.json` into a new store at `db` (a template)."""
    from tests.conftest import SAMPLE_DATA

    done = curator_here("--db", db, "import", SAMPLE_DATA / "sample_dev.json")
    assert done.returncode == 0, done.stderr


def import_sample_train(db: Path) -> None:
    """sample_train.json imported (split "train") into a new store at `db` (a template)."""
    from curator.store import Store
    from curator.store.importer import import_file
    from tests.conftest import SAMPLE_DATA

    import_file(Store.open(db, create=True), SAMPLE_DATA / "sample_train.json", "train")


def legacy_sample_store(db: Path, before: str) -> Store:
    """sample_train.json in a store at the schema before the migration named `*_{before}.sql`.

    Today's importer writes columns later migrations added (the shard keys of 0013), so the data
    is imported into a current store and copied, column by column of the older schema, into the
    older store: the file then has exactly the older schema, with records, as a store made by an
    older curator would."""
    from curator.store.db import bundled_migrations
    from curator.store.importer import import_file
    from tests.conftest import SAMPLE_DATA

    migrations = bundled_migrations()
    upto = next(i for i, m in enumerate(migrations) if m.name.endswith(f"_{before}.sql"))
    current = db.with_name(db.stem + ".current.duckdb")
    import_file(Store.open(current, create=True), SAMPLE_DATA / "sample_train.json", "train")
    store = Store.open(db, create=True, migrations=migrations[:upto])
    with store.transaction() as con:
        con.execute(f"ATTACH '{current}' AS current_store (READ_ONLY)")
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND table_name <> 'schema_version'"
        ).fetchall()
        for (table,) in tables:
            columns = ", ".join(
                f'"{name}"'
                for (name,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE database_name = "
                    "current_database() AND table_name = ? ORDER BY column_index",
                    [table],
                ).fetchall()
            )
            con.execute(
                f'INSERT INTO "{table}" ({columns}) '
                f'SELECT {columns} FROM current_store.main."{table}"'
            )
        con.execute("DETACH current_store")
    current.unlink()
    return store


def ctrl_c_able(argv: list[str]) -> list[str]:
    """`argv` started with SIGINT at its default, so that the test's Ctrl-C reaches it as a
    user's would: a process inherits an ignored SIGINT (a CI runner started with `&` by a shell
    without job control has it so), and Python then never raises KeyboardInterrupt. Through an
    exec, not Popen's preexec_fn (unsafe here: the moto server runs threads in this process)."""
    restore = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", restore, *argv]
