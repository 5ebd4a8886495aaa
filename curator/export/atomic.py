"""Putting a finished export folder in place in one step, and cleaning up after killed runs.

An export is written completely into a staging folder named `.curator-export-<pid>-<random>` on
the same filesystem as the destination, every file flushed to disk, and then swapped in:

- destination absent: one `rename` of the staging folder;
- destination present: one `renameat2(RENAME_EXCHANGE)` that swaps the two folders atomically
  (Linux); the old export, now in the staging folder's place, is then deleted. Where the call is
  not available the old folder is renamed aside first (a kill between the two renames leaves no
  destination, never a mixed one);
- destination is a mount point (a folder cannot be renamed off its filesystem), the working
  directory, or a folder that holds other files too (they must survive): the staging folder is
  made inside it and the files are renamed in one by one, the manifest last; until the manifest
  is replaced its hashes do not match the new files, so `curator validate` refuses a folder
  caught between two exports.

`os.rename` is never used across filesystems. Staging folders of processes that are gone (killed
runs) are deleted by the next export to the same place. `CURATOR_FAULT_AT` (see `faults`) lets
the tests kill the process between any two of these steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curator.domain import EnvironmentFailure
from curator.environment import describe_os_error
from curator.faults import fault_point
from curator.tempfiles import private_name, remove_stale

STAGING_PREFIX = ".curator-export-"
_RENAME_EXCHANGE = 2


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_staging(folder: Path) -> int:
    """Delete staging folders in `folder` left by export processes that are gone."""
    return remove_stale(folder, STAGING_PREFIX)


def check_destination(out_dir: Path) -> None:
    """Refuse a destination that cannot become an export folder, before any work is done."""
    if out_dir.exists() and not out_dir.is_dir():
        raise EnvironmentFailure(f"{out_dir}: exists and is not a folder; choose a folder")
    probe = out_dir
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise EnvironmentFailure(f"{probe}: is not a folder; cannot export to {out_dir}")


def _swap_whole_folder(out_dir: Path, names: tuple[str, ...]) -> bool:
    """Whether the destination may be replaced as a folder: never a mount point, the working
    directory (or above it), or a folder holding anything but an earlier export's files (those
    files would be deleted with the old folder)."""
    if not out_dir.is_dir():
        return True
    if os.path.ismount(out_dir) or Path.cwd().resolve().is_relative_to(out_dir.resolve()):
        return False
    return all(
        entry.name in names or entry.name.startswith(STAGING_PREFIX)
        for entry in os.scandir(out_dir)
    )


def new_staging(out_dir: Path, names: tuple[str, ...]) -> Path:
    """A fresh staging folder on the destination's filesystem (see the module docstring)."""
    try:
        if not _swap_whole_folder(out_dir, names):
            home = out_dir
        else:
            home = out_dir.parent
            home.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(home)
        staging = home / private_name(STAGING_PREFIX)
        staging.mkdir()
    except OSError as exc:
        raise EnvironmentFailure(f"cannot export to {out_dir}: {describe_os_error(exc)}") from exc
    fault_point("export")
    return staging


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_fdcwd = -100
    result = renameat2(
        at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def commit(staging: Path, out_dir: Path, names: tuple[str, ...]) -> None:
    """Swap the finished staging folder in as `out_dir` (see the module docstring).

    `names` are the files an export may hold, the manifest last: files of an older export that
    the new one does not have are removed, never left beside a manifest that does not list them.
    """
    try:
        for name in names:
            if (staging / name).exists():
                _fsync_path(staging / name)
        _fsync_path(staging)
        if staging.parent == out_dir:
            _commit_files(staging, out_dir, names)
        else:
            _commit_folder(staging, out_dir)
    except OSError as exc:
        raise EnvironmentFailure(f"cannot export to {out_dir}: {describe_os_error(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit_folder(staging: Path, out_dir: Path) -> None:
    parent = staging.parent
    if not out_dir.exists():
        fault_point("export")
        os.rename(staging, out_dir)
    else:
        fault_point("export")
        if not _exchange(staging, out_dir):
            aside = parent / private_name(STAGING_PREFIX, "-old")
            os.rename(out_dir, aside)
            fault_point("export")
            os.rename(staging, out_dir)
            staging = aside
    fault_point("export")
    _fsync_path(parent)
    fault_point("export")
    shutil.rmtree(staging, ignore_errors=True)


def _commit_files(staging: Path, out_dir: Path, names: tuple[str, ...]) -> None:
    for name in names:
        fault_point("export")
        if (staging / name).exists():
            os.replace(staging / name, out_dir / name)
        else:
            (out_dir / name).unlink(missing_ok=True)
    fault_point("export")
    _fsync_path(out_dir)


SCRATCH_PREFIX = ".curator-s3-"


@contextmanager
def local_scratch() -> Iterator[Path]:
    """A private temporary folder for an export on its way to S3; killed runs' are removed."""
    base = Path(tempfile.gettempdir())
    remove_stale(base, SCRATCH_PREFIX)
    folder = base / private_name(SCRATCH_PREFIX)
    try:
        folder.mkdir()
    except OSError as exc:
        raise EnvironmentFailure(f"cannot stage the export: {describe_os_error(exc)}") from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
