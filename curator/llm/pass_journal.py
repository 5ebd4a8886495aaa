"""A paid pass's results on disk the moment they arrive, so a pass killed before its writer
stored them never pays for them twice.

The pass's writer stores results every half second; a `kill -9` (or a crash, or a power cut of
the process) in between lost the answers received since the last write, and the next pass
asked, and paid, for them again. So each result is first appended as one JSON line (one
`write`, so a kill leaves whole lines and at most a cut last one) to `<store>.unsaved/<run>.jsonl`
(the folder and the format of the spill files the next pass stores first, see
`curator.llm.passes.recover_unsaved`), and after each store write the file is replaced by one
holding only the results still waiting. The live pass holds an `flock` on its file: another
pass on the same store leaves it alone, and it is free the moment its owner dies. A journal
whose last results were stored just before the kill holds them still: they are stored only
where the store does not have them yet (`append_predictions(skip_stored=True)`).

Only what the OS has been handed is kept (no fsync per answer): it survives the process, not
the machine. A journal that cannot be written (a full disk) is given up with a warning; the
pass goes on as before, storing every half second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.domain import StoreError


def unsaved_dir(store_path: Path) -> Path:
    """Where spilled and journaled results wait for the next pass."""
    return store_path.with_name(store_path.name + ".unsaved")


class PassJournal:
    """One pass's journal: `add` each result, `keep_only` after a store write, `close` at the
    end (removing the file when nothing is left to store)."""

    def __init__(self, store_path: Path, run_id: str, header: dict[str, Any]) -> None:
        self.path = unsaved_dir(store_path) / f"{run_id}.jsonl"
        self.header = {**header, "journal": True}
        self.fd: int | None = None
        try:
            self.path.parent.mkdir(exist_ok=True)
            self.fd = self._write_new([])
        except OSError as exc:
            self._give_up(exc)

    def _write_new(self, results: list[Any]) -> int:
        """A new file with the header and `results`, locked, put in place of the old one."""
        tmp = self.path.with_suffix(".jsonl.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            # Locked before it is in place: no other pass ever sees this file unlocked.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lines = [self.header, *(dataclasses.asdict(r) for r in results)]
            os.write(fd, "".join(json.dumps(x) + "\n" for x in lines).encode())
            os.replace(tmp, self.path)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return fd

    def _give_up(self, exc: OSError) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd = None
        print(
            f"curator: warning: cannot keep answers in {self.path} ({exc.strerror or exc}); "
            "answers not yet stored when this process is killed are asked again",
            file=sys.stderr,
        )

    def add(self, result: Any) -> None:
        """Record one result as it arrives (before the pass counts it as done)."""
        if self.fd is None:
            return
        try:
            os.write(self.fd, (json.dumps(dataclasses.asdict(result)) + "\n").encode())
        except OSError as exc:
            self._give_up(exc)

    def keep_only(self, results: list[Any]) -> None:
        """After a store write: the journal holds just the results still waiting."""
        if self.fd is None:
            return
        try:
            fd = self._write_new(results)
        except OSError as exc:
            self._give_up(exc)
            return
        os.close(self.fd)
        self.fd = fd

    def close(self, left: list[Any]) -> None:
        """The pass ended: remove the journal when everything was stored; else leave it holding
        what was not (the pass's spill file, which the next pass stores)."""
        if self.fd is None:
            return
        if not left:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self.fd)
        self.fd = None


def try_lock(path: Path) -> int | None:
    """An fd holding `path`'s flock, or None when a live pass holds it (or it is gone)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def read_lines(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and rows of a spill or journal file; a cut last line (a kill mid-write of a
    journal) is left out."""
    lines = text.splitlines()
    header = json.loads(lines[0])
    rows = []
    for i, line in enumerate(lines[1:], start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1 and header.get("journal"):
                break
            raise
    return header, rows


class RunBusy(StoreError):
    """Another process is running the same paid pass (exit 3): both would ask, and pay for,
    every record the run lacks."""


@contextlib.contextmanager
def run_lock(store_path: Path, name: str, what: str) -> Iterator[None]:
    """Hold `<store>.unsaved/<name>.lock` while a pass runs; refuse when another process holds
    it. The lock is the kernel's (`flock`): it goes with its process, however that ends."""
    folder = unsaved_dir(store_path)
    try:
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield  # cannot make a lock beside the store: run as before, unguarded
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise RunBusy(
                f"{what} is already running in another process on this store; run it again "
                "when that one has ended (it answers only what is still missing)"
            ) from exc
        yield
    finally:
        os.close(fd)
