"""Helpers for the crash and environment tests: curator in a subprocess, mounts when allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from curator.store import Store
from curator.store.reviews import decide_many
from tests.builders import curator_here as curator_here  # the runs around a kill
from tests.conftest import SAMPLE_DATA
from tests.templates import store_copy

ROOT = Path(__file__).resolve().parents[2]


def curator(
    *args: str | Path, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m curator ARGS` in a fresh process (so SIGKILL kills only it)."""
    full_env = {**os.environ, "CURATOR_CONFIG": os.devnull, **(env or {})}
    for key in ("CURATOR_FAULT_AT", "CURATOR_FAULT_COUNT"):
        if env is None or key not in env:
            full_env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "curator", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        input=None if stdin is None else stdin.decode(),
        timeout=300,
    )


def steps(kind: str, *args: str | Path, tmp: Path) -> int:
    """How many fault points of `kind` one run of `curator ARGS` passes."""
    counter = tmp / f"steps-{kind}.txt"
    counter.unlink(missing_ok=True)
    result = curator(*args, env={"CURATOR_FAULT_COUNT": str(counter)})
    assert result.returncode == 0, result.stderr
    return counter.read_text().split().count(kind)


def _curate(db: Path) -> None:
    for name in ("sample_train.json", "sample_dev.json"):
        result = curator_here("--db", db, "import", SAMPLE_DATA / name, "--split", "train")
        assert result.returncode == 0, result.stderr
    store = Store(db)
    with store.connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    # One event per record, as single decisions, in one transaction (decide_many).
    assert decide_many(store, uids, "accept", "ana") == len(uids)


def curated_store(db: Path) -> Path:
    """The sample data, every record accepted (enough for an export): a copy of a store built
    once per process (tests/templates.py)."""
    return store_copy("every-record-accepted", _curate, db)


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """{file name: bytes} of a folder's visible files; None when the folder is absent."""
    if not folder.is_dir():
        return None
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def litter(*folders: Path) -> list[str]:
    """Working files a run must not leave behind."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [
                p.name
                for p in folder.iterdir()
                if p.name.startswith((".curator-", "duckdb_temp")) or p.name.endswith(".tmp")
            ]
    return found


def _run(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    if not _run("umount", str(path)):
        _run("umount", "-l", str(path))


@contextmanager
def read_only_view(folder: Path, view: Path) -> Iterator[Path]:
    """`view` shows `folder` through a read-only bind mount (a real EROFS, even for root).

    chmod cannot make a folder read-only for root, so this needs mount privileges; the test is
    skipped, saying why, where they are missing.
    """
    view.mkdir(exist_ok=True)
    if not _run("mount", "--bind", str(folder), str(view)):
        pytest.skip("needs `mount --bind` (root or CAP_SYS_ADMIN) for a read-only filesystem")
    try:
        if not _run("mount", "-o", "remount,bind,ro", str(view)):
            pytest.skip("cannot remount a bind mount read-only here")
        probe = view / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("the read-only bind mount accepted a write")
        yield view
    finally:
        _umount(view)


@contextmanager
def small_filesystem(mount_point: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `mount_point`: another filesystem, a mount point, and a full disk."""
    mount_point.mkdir(exist_ok=True)
    if not _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)):
        pytest.skip("needs `mount -t tmpfs` (root or CAP_SYS_ADMIN) for a separate filesystem")
    try:
        yield mount_point
    finally:
        _umount(mount_point)
