"""Opening the store: path resolution, the lock policy, transactions and schema migrations.

DuckDB lets one process hold a database file open for writing, and while it does, no other process
can open the file at all. So the store never keeps a connection open longer than one unit of work:
each operation opens a connection, does its work (one transaction when it writes) and closes it.
Opening waits, with jittered backoff, while another process holds the lock, so concurrent curator
processes take turns instead of failing. Everything outside this package sees only `Store` methods.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from curator.domain import StoreError

#: How long an operation waits for another process's lock before giving up.
DEFAULT_LOCK_TIMEOUT_S = 30.0

#: Every connection's configuration. DuckDB would otherwise download and load extensions from the
#: internet when a file or a query asks for one (a SQLite file passed as --db, for instance); the
#: store needs none, and curator must never reach the network behind the user's back.
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

#: Bytes 8-11 of every DuckDB database file (after an 8-byte checksum).
_DUCKDB_MAGIC = b"DUCK"
_MAGIC_OFFSET = 8

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this version of curator, in version order."""
    found = []
    for entry in resources.files("curator.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(
                f"migrations must be numbered 1..n; {migration.name} is out of place"
            )
    return tuple(found)


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, duckdb.IOException) and (
        "Could not set lock" in text or "Conflicting lock" in text
    )


def check_store_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB touches it.

    DuckDB given a SQLite file tries to install the sqlite extension, and given JSON or garbage it
    answers with a multi-line internal error; one line naming the file is what a user needs.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store: {exc.strerror or exc}") from exc
    if head[_MAGIC_OFFSET : _MAGIC_OFFSET + len(_DUCKDB_MAGIC)] == _DUCKDB_MAGIC:
        return
    if not head:
        what = "the file is empty"
    elif head.startswith(b"SQLite format 3\x00"):
        what = "it is a SQLite database"
    elif head.lstrip()[:1] in (b"{", b"["):
        what = "it looks like JSON (pass data files to `curator import`)"
    else:
        what = "it has no DuckDB header"
    raise StoreError(f"{path}: not a curator store: {what}")


def remove_stale_spill(path: Path) -> None:
    """Delete spill files that killed processes left in DuckDB's temp folder (`<store>.tmp`).

    Called only while holding a read-write connection: DuckDB then has the file locked
    exclusively, so no other process can be using the folder, and files named after another
    process id are leftovers. This process's own files (`duckdb_temp_<pid>_...`) are kept.
    """
    folder = path.with_name(path.name + ".tmp")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    mine = f"duckdb_temp_{os.getpid()}_"
    for entry in entries:
        if entry.name.startswith("duckdb_temp_") and not entry.name.startswith(mine):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty


def remove_store_files(path: Path) -> None:
    """Delete a store file and its WAL (used to undo creating a store for a failed operation)."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


class Store:
    """A curator store: one DuckDB file. Cheap to construct; a connection per operation."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
        migrations: tuple[Migration, ...] | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        #: Every connection of a read-only store is read-only (DuckDB refuses to mix the two
        #: modes on one file within a process), so reading commands work on read-only media.
        self.read_only = read_only
        self.migrations = bundled_migrations() if migrations is None else migrations
        self._session: _Lease | None = None

    @property
    def latest_version(self) -> int:
        return self.migrations[-1].version if self.migrations else 0

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        read_only: bool = False,
        **kwargs: Any,
    ) -> Store:
        """Open an existing store (or create one when `create`), migrating an older schema.

        A store written by a newer curator is refused rather than guessed at, and a file that is
        not a DuckDB database is refused before DuckDB opens it. With `read_only` every
        connection is read-only; an older schema is still migrated first when the file is
        writable (and refused with a clear message when it is not).
        """
        store = cls(path, read_only=read_only, **kwargs)
        existed = store.path.exists()
        if not existed and not create:
            raise StoreError(
                f"{store.path}: no store here; create one with `curator import FILE` "
                "or choose another with --db / CURATOR_DB"
            )
        if existed and store.path.is_dir():
            raise StoreError(f"{store.path}: is a directory, not a store file")
        if existed:
            check_store_file(store.path)
        if read_only and existed:
            store._check_readable_version()
            return store
        try:
            store.migrate()
        except BaseException:
            if not existed:
                remove_store_files(store.path)
            raise
        return store

    def _check_readable_version(self) -> None:
        version = self.schema_version()
        if version > self.latest_version:
            raise StoreError(
                f"{self.path}: store has schema version {version}, newer than this curator "
                f"understands ({self.latest_version}); upgrade curator to open it"
            )
        if version < self.latest_version:
            writer = Store(self.path, lock_timeout=self.lock_timeout, migrations=self.migrations)
            try:
                writer.migrate()
            except StoreError as exc:
                raise StoreError(
                    f"{self.path}: store has schema version {version} and must be upgraded to "
                    f"{self.latest_version}, which needs write access: {exc}"
                ) from exc

    def schema_version(self) -> int:
        with self.connection() as con:
            return _read_version(con)

    def migrate(self) -> int:
        """Bring the file to the latest schema in one transaction; return the version now."""
        with self.transaction() as con:
            current = _read_version(con)
            if current > self.latest_version:
                raise StoreError(
                    f"{self.path}: store has schema version {current}, newer than this curator "
                    f"understands ({self.latest_version}); upgrade curator to open it"
                )
            if current == 0:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                    "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
                )
            for migration in self.migrations:
                if migration.version <= current:
                    continue
                con.execute(migration.sql)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, current_timestamp)",
                    [migration.version, migration.name],
                )
            return max(current, self.latest_version)

    # -- connections -----------------------------------------------------------------------

    def open_session(self, *, idle_release: float = 0.3) -> None:
        """Lease one open database for an interactive process (the TUI) between operations.

        Opening a DuckDB file costs ~15 ms, too much per keypress; but DuckDB lets only one
        process hold the file, so a connection kept open for a whole review session would lock
        out every other reviewer and the judge. The lease keeps the connection while the
        process is busy and releases the file after `idle_release` seconds without use, so a
        reviewer reading a record holds nothing and others take their turn. Each operation gets
        a cursor (its own connection to the open database, usable from one worker thread).
        """
        if self._session is None:
            self._session = _Lease(self, idle_release)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @contextmanager
    def connection(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation; waits (with jittered backoff) for another's lock."""
        if self._session is not None:
            cursor = self._session.acquire()
            try:
                yield cursor
            finally:
                self._session.release(cursor)
            return
        con = self._connect(read_only=read_only or self.read_only)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        # Other processes hold the file for milliseconds at a time (one short transaction), so
        # poll often: a coarse backoff would add its own overshoot to every wait.
        delay = 0.002
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only, config=CONNECT_CONFIG)
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    kind = "store is corrupt" if "Corrupt" in str(exc) else "cannot open store"
                    raise StoreError(f"{self.path}: {kind}: {_first_line(exc)}") from exc
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{self.path}: store stayed locked by another process for "
                        f"{self.lock_timeout:.0f}s; {_first_line(exc)}"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 1.5, 0.05)
                continue
            if not read_only:
                remove_stale_spill(self.path)
            return con


class _Lease:
    """One connection shared by a process's threads, closed when nobody used it for a while."""

    def __init__(self, store: Store, idle_release: float) -> None:
        self.store = store
        self.idle_release = idle_release
        self.lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.users = 0
        self.last_used = time.monotonic()
        self.stopped = threading.Event()
        self.reaper = threading.Thread(target=self._reap, name="store-lease", daemon=True)
        self.reaper.start()

    def acquire(self) -> duckdb.DuckDBPyConnection:
        with self.lock:
            if self.con is None:
                self.con = self.store._connect(read_only=self.store.read_only)
            self.users += 1
            return self.con.cursor()

    def release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            cursor.close()
        finally:
            with self.lock:
                self.users -= 1
                self.last_used = time.monotonic()

    def _reap(self) -> None:
        while not self.stopped.wait(self.idle_release / 4):
            with self.lock:
                idle = time.monotonic() - self.last_used
                if self.con is not None and self.users == 0 and idle >= self.idle_release:
                    self.con.close()
                    self.con = None

    def close(self) -> None:
        self.stopped.set()
        self.reaper.join()
        with self.lock:
            if self.con is not None:
                self.con.close()
                self.con = None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version' "
        "AND schema_name = 'main'"
    ).fetchone()
    if not exists or not exists[0]:
        other = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchone()
        if other and other[0]:
            raise StoreError("this DuckDB file is not a curator store (it has no schema_version)")
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


ProgressCallback = Callable[[str, float], None]
