"""A listing piped into a reader that stops early (`curator leaks --json | head -1`) exits 0:
the reader leaving is not an error, and exit 1 reads as "problems found" in scripts run with
`set -o pipefail`."""

from __future__ import annotations

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
