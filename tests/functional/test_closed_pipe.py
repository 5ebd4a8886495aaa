"""A listing piped into a reader that stops early (`curator leaks --json | head -1`) exits 0:
the reader leaving is not an error, and exit 1 reads as "problems found" in scripts run with
`set -o pipefail`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import import_sample_dev
from tests.templates import store_copy


@pytest.mark.parametrize(
    "command", [("leaks",), ("leaks", "--json", "--threshold", "0.01"), ("list",)]
)
def test_a_reader_closing_the_pipe_is_not_an_error(tmp_path: Path, command: tuple[str]) -> None:
    """Found walking `curator leaks` on the real files: `| head` made it exit 1 (click's own
    handling of a closed pipe), where `list` exited 0."""
    db = store_copy("sample-dev", import_sample_dev, tmp_path / "pipe.duckdb")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written: every write fails
    try:
        done = subprocess.run(
            [sys.executable, "-m", "curator", "--db", str(db), *command],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
            env={**os.environ, "CURATOR_CONFIG": os.devnull},
        )  # fmt: skip
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


def _into_closed_pipe(*args: object) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "curator", *map(str, args)],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
            env={**os.environ, "CURATOR_CONFIG": os.devnull},
        )  # fmt: skip
    finally:
        os.close(write)


def test_every_command_that_prints_exits_as_it_would_when_the_reader_leaves(
    tmp_path: Path,
) -> None:
    """`curator stats | head -1`, `check | head`, `eval RUN | head` (and their --json forms,
    and --help) exited 1 through click's own handling of the closed pipe, "problems found" for a
    script; `list` and `leaks` exited 0. One rule now: the reader leaving is not an error, and
    a command that finds problems (`validate`) still says so by its exit code."""
    db = store_copy("sample-dev", import_sample_dev, tmp_path / "pipe.duckdb")
    from curator.store import Store

    with Store(db).connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records").fetchall()]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"uid": u, "answer": "1"}) + "\n" for u in uids))
    imported = _into_closed_pipe("--db", db, "predict", "--import", answers, "--name", "vendor")
    assert (imported.returncode, imported.stderr) == (0, "")
    for command in (
        ("stats",),
        ("stats", "--json"),
        ("check",),
        ("check", "--json"),
        ("eval", "vendor"),
        ("eval", "vendor", "--json"),
        ("judge", "--dry-run"),
        ("--help",),
        ("export", "--help"),
    ):
        done = _into_closed_pipe("--db", db, *command)
        assert (done.returncode, done.stderr) == (0, ""), command
    assert "vendor" in subprocess.run(  # the import above did store its answers
        [sys.executable, "-m", "curator", "--db", str(db), "eval", "vendor"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "CURATOR_CONFIG": os.devnull},
    ).stdout  # fmt: skip
    bad = tmp_path / "train.jsonl"
    bad.write_text("{oops\n" * 2000, "utf-8")
    problems = _into_closed_pipe("validate", bad)
    assert (problems.returncode, problems.stderr) == (1, "2,000 problems\n")


def test_a_reader_of_both_streams_leaving_keeps_the_exit_code(tmp_path: Path) -> None:
    """`curator eval nobody 2>&1 | head -0`: the error line could not be written either, and
    click's handling of the closed pipe turned the documented exit 2 into 1; a listing with
    nothing to list (its note on stderr) exited 1 instead of 0."""
    db = store_copy("sample-dev", import_sample_dev, tmp_path / "pipe.duckdb")
    for command, code in (
        (("eval", "nobody"), 2),
        (("list", "--status", "accepted"), 0),
        (("stats",), 0),
        (("nosuch",), 2),
    ):
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "curator", "--db", str(db), *command],
                stdout=write, stderr=write, timeout=120,
                env={**os.environ, "CURATOR_CONFIG": os.devnull},
            )  # fmt: skip
        finally:
            os.close(write)
        assert done.returncode == code, command
