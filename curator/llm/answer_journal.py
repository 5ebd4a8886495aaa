"""Every paid answer of a model pass, on disk the moment it arrives, until the store has it.

A pass stores its answers every half second; a process killed between an answer's arrival and
that write lost it, and the next pass paid for the same record again (at a few hundred answers a
second, a kill -9 cost ~100 calls). Each answer is therefore appended as one JSON line to
`<store>.unsaved/<run id>.jsonl` (written to the OS before the pass counts it: a killed process
loses nothing; a power cut may lose the last lines, as it would the store's uncommitted write).
A pass that ends stores every answer and deletes its journal; the next pass on the store
stores what a killed pass's journal holds (`recover_unsaved` in passes.py), skipping answers
that were stored already, so nothing is stored twice.

The pass holds an exclusive `flock` on its journal while it runs: another process's pass
recovers only journals nobody holds (the lock goes with the process, however it ends).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import IO, Any

#: A journal being created (locked, its header written, then renamed to `<run id>.jsonl`).
PART_SUFFIX = ".part"
#: A `.part` journal older than this (seconds) whose lock nobody holds was left by a kill.
PART_MAX_AGE_S = 60


def journal_folder(store_path: Path) -> Path:
    """Where a store's unsaved answers wait (journals of running or killed passes, spills)."""
    return store_path.with_name(store_path.name + ".unsaved")


def try_lock(handle: IO[Any]) -> bool:
    """An exclusive lock on an open journal without waiting; False when another process (or
    another open handle) holds it. Where flock is missing, always True."""
    return _flock(handle, exclusive=True)


def held_by_a_pass(handle: IO[Any]) -> bool:
    """Whether a running pass holds this journal, asked without taking it from anyone: a
    shared lock, which goes when the handle is closed (a read-only command keeps a pass from
    recovering the journal only while it reads it). Where flock is missing, False."""
    return not _flock(handle, exclusive=False)


def _flock(handle: IO[Any], *, exclusive: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        return True
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class AnswerJournal:
    """One pass's journal: its header line, then one line per answer, each handed to the OS
    as it is written. Opened on the first answer; if it cannot be written (a read-only folder,
    a full disk), the pass goes on without it, as before there was one."""

    def __init__(self, store_path: Path, run_id: str, header: dict[str, Any]) -> None:
        self.path = journal_folder(store_path) / f"{run_id}.jsonl"
        self.header = header
        self._out: IO[str] | None = None
        self._broken = False

    @property
    def active(self) -> bool:
        """True while every answer so far is in the journal."""
        return self._out is not None and not self._broken

    def _open(self) -> IO[str] | None:
        if self._out is None and not self._broken:
            try:
                self._out = self._create()
            except OSError:
                self._broken = True
        return self._out

    def _create(self) -> IO[str]:
        """The journal, locked and holding its header before it appears under its name: another
        pass's recovery never sees it empty (it removed such a file) or unlocked (it stored the
        answers of a pass still running, which stored them again)."""
        part = self.path.with_name(self.path.name + PART_SUFFIX)
        # Another process's pass removes the folder when it finds it empty: once more if the
        # folder went between making it and creating the file.
        for attempt in (1, 2):
            self.path.parent.mkdir(exist_ok=True)
            try:
                out = part.open("w", encoding="utf-8")
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        try:
            # Another pass's recovery may hold it for an instant (it leaves a locked or a
            # young one alone); unlocked, this journal could be recovered while the pass runs.
            deadline = time.monotonic() + 2
            while not try_lock(out):
                if time.monotonic() > deadline:
                    raise OSError("the new journal stayed locked by another process")
                time.sleep(0.01)
            out.write(json.dumps(self.header) + "\n")
            out.flush()
            os.replace(part, self.path)
        except OSError:
            out.close()
            with contextlib.suppress(OSError):
                part.unlink()
            raise
        return out

    def write(self, result: Any) -> None:
        """Append one answer (a dataclass) and hand it to the OS."""
        out = self._open()
        if out is None:
            return
        try:
            out.write(json.dumps(dataclasses.asdict(result)) + "\n")
            out.flush()
        except OSError:
            self._broken = True

    def keep(self) -> Path | None:
        """The pass could not store everything: make the journal durable and leave it for the
        next pass (it holds every answer of the pass; what was stored is skipped then)."""
        out = self._out
        if out is None or self._broken:
            self.close(remove=False)
            return None
        try:
            out.flush()
            os.fsync(out.fileno())
        except OSError:
            self.close(remove=False)
            return None
        self.close(remove=False)
        return self.path

    def close(self, *, remove: bool) -> None:
        """Close (releasing the lock); `remove` once every answer is stored."""
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(OSError):
                out.close()
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()  # only when empty: other passes' journals stay
