"""One process at a time per paid run: two `curator predict --name X` (or two identical live
judge passes) at once would each ask, and pay for, every answer the run lacks, since each sees
the same records missing.

The run holds an exclusive `flock` on `<store>.unsaved/<name>.lock` while its pass runs; a second
process asking for the same lock is refused at once (exit 3) before any call. The lock is the
kernel's: it goes with its process however that ends (kill -9 included). The run removes the file
when it ends, while still holding it; a process that locked a file since removed (it opened it
just before) sees that its inode is no longer the path's and tries again, so two processes never
hold two files of one name. A file a killed run left is locked again by the next run, then removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from curator.domain import JudgeKey, StoreError


class RunBusy(StoreError):
    """Another process is running the same paid pass (exit 3)."""


@contextlib.contextmanager
def run_lock(store_path: Path, name: str, what: str) -> Iterator[None]:
    """Hold `<store>.unsaved/<name>.lock` while the block runs; refuse when another process
    holds it. Where the lock file cannot be made, the run goes on unguarded, as before."""
    folder = store_path.with_name(store_path.name + ".unsaved")
    path = folder / f"{name}.lock"
    fd = _locked(folder, path, what)
    if fd is None:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # still held: nobody can have locked this file meanwhile
        os.close(fd)
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: other runs' locks and journals stay


def _locked(folder: Path, path: Path, what: str) -> int | None:
    """An open descriptor holding the lock of `path` (None: no lock file can be made here)."""
    while True:
        try:
            folder.mkdir(exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            continue  # the folder went (another run's cleanup) between mkdir and open
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise RunBusy(
                f"{what} is already running in another process on this store; run it again "
                "when that one has ended (it answers only what is still missing)"
            ) from exc
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # locked a file its holder removed as it ended: lock the path's own


def judge_lock_name(key: JudgeKey, selection: object) -> str:
    """The lock of a live judge pass: the same judge, model and prompt over the same selection
    of records (its filter, limit and rejudge). Two such passes at once would each pay for every
    record neither has judged; passes over other records, or of another judge, run side by side."""
    text = "|".join((key.judge, key.model, key.prompt_hash, repr(selection)))
    return "judge-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
