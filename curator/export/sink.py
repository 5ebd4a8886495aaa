"""A file written and hashed on a background thread, so the export builds the next lines meanwhile.

Hashing (sha256) and writing release the GIL, so on a machine with two cores they overlap with
the line building, which holds it. Pages are handed over through a small bounded queue, so at
most `DEPTH` encoded pages wait in memory. The data are flushed to disk (`fdatasync`) every
`SYNC_BYTES` as they are written, on the same thread, so the export's final `fsync` before
the files are swapped in finds little left to write. An error on the thread (disk full, ...)
is raised again by the next `write` or by `close`.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path

#: Encoded pages that may wait for the writer thread.
DEPTH = 4
#: Written bytes between two flushes to disk.
SYNC_BYTES = 64 * 1024 * 1024


class HashingSink:
    """Write bytes to `path` and hash them, off the caller's thread; `close()` returns the
    sha256 hex digest once everything is written."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("wb")
        self._digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="export-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        unsynced = 0
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the caller learns of the error at its next call
            try:
                self._digest.update(data)
                self._fh.write(data)
                unsynced += len(data)
                if unsynced >= SYNC_BYTES:
                    self._fh.flush()
                    os.fdatasync(self._fh.fileno())
                    unsynced = 0
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes) -> None:
        self._raise()
        self._queue.put(data)

    def close(self) -> str:
        """Wait for the writes, close the file; the sha256 of everything written."""
        self._stop()
        self._raise()
        return self._digest.hexdigest()

    def abort(self) -> None:
        """Stop and close, ignoring any write error (the export is failing already)."""
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._fh.close()
