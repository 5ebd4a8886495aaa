"""The lock of a paid run: one process at a time, no file left behind, never two holders."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import pytest

from curator.llm.run_lock import RunBusy, run_lock


def test_a_held_run_refuses_another_and_leaves_nothing_when_it_ends(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    folder = tmp_path / "s.duckdb.unsaved"
    with run_lock(store, "predict-base", "predict of run 'base'"):
        assert (folder / "predict-base.lock").exists()
        busy = pytest.raises(RunBusy, match="predict of run 'base' is already running")
        with busy, run_lock(store, "predict-base", "predict of run 'base'"):
            pass
        with run_lock(store, "predict-other", "predict of run 'other'"):
            pass  # another run is not held up
    assert not folder.exists()  # the lock files went with their runs, then the empty folder
    # A lock file a killed run left (nobody holds it): the next run takes it, then removes it.
    folder.mkdir()
    (folder / "predict-base.lock").write_text("")
    (folder / "run1.jsonl").write_text("{}\n")  # a journal waiting to be stored stays
    with run_lock(store, "predict-base", "predict of run 'base'"):
        pass
    assert sorted(p.name for p in folder.iterdir()) == ["run1.jsonl"]


def test_a_lock_taken_on_a_file_its_holder_just_removed_is_taken_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder removes the file as it ends; a process that opened it just before locks a
    file no longer at the path, and must not run beside one locking the path's new file."""
    store = tmp_path / "s.duckdb"
    path = tmp_path / "s.duckdb.unsaved" / "judge-x.lock"
    real_flock = fcntl.flock
    removed: list[bool] = []

    def flock_after_the_holder_left(fd: int, op: int) -> Any:
        if not removed:  # between this open and this lock, the holder ended
            removed.append(True)
            path.unlink()
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock_after_the_holder_left)
    with run_lock(store, "judge-x", "this judge pass"):
        assert removed == [True]
        held = path.stat().st_ino
        fd = os.open(path, os.O_RDWR)
        try:  # the path's own file is the one held
            with pytest.raises(OSError):
                real_flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            assert os.fstat(fd).st_ino == held
        finally:
            os.close(fd)
