"""Failures of the environment in words: a full disk, a read-only folder, a corrupt store.

The CLI's top-level handler routes what escapes a command through here, so an OSError or a
DuckDB I/O error deep inside any command still ends as one line with exit 3, not as an
internal error.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a path component is not a folder",
    errno.EEXIST: "already exists",
}


#: The operating system's words for a disk that refuses a write, as DuckDB quotes them in any
#: kind of error (its I/O errors, and a commit that could not write the WAL).
_DISK_WORDS = ("No space left on device", "Disk quota exceeded", "Read-only file system")


def describe_os_error(exc: OSError, path: Path | str | None = None) -> str:
    """ "PATH: reason" in words a user can act on (full disk, read-only, permission)."""
    where = path if path is not None else (exc.filename or "")
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{where}: {reason}" if where else reason


def describe_store_failure(exc: BaseException) -> str | None:
    """One line for a DuckDB error caused by the file or the disk, else None (a bug).

    DuckDB is looked up in sys.modules rather than imported: if it was never loaded, the error
    cannot be one of its own.
    """
    duckdb = sys.modules.get("duckdb")
    if duckdb is None or not isinstance(exc, duckdb.Error):
        return None
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "Corrupt database file" in text or "checksum" in text.lower():
        return f"the store is corrupt: {first} (see `curator check`)"
    if isinstance(exc, duckdb.IOException) or any(words in text for words in _DISK_WORDS):
        # A full disk may also surface as a failed commit (TransactionException on the WAL).
        return f"the store cannot be read or written: {first}"
    return None
