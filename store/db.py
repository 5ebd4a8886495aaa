"""Opening the store: path resolution, the lock policy, transactions and schema migrations.

DuckDB lets one process hold a database file open for writing, and while it does, no other process
can open the file at all. So the store never keeps the file open longer than its work needs: the
process's one open database (shared by its threads, each using a cursor) is closed when the last
operation ends (or, in a review session, soon after).
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
from collections.abc import Callable, Collection, Iterator
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

    Skipped while this process has the file open: DuckDB's lock is a POSIX record lock, which
    the kernel drops when the process closes *any* descriptor of the file, so reading the
    header then would let another process write the store at the same time. An open file
    passed this check when it was opened.
    """
    handle = _handle_for(path)
    with handle.cond:  # the handle opens and closes its database under this condition
        if handle.con is not None:
            return
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
        self._session = False
        #: DuckDB settings applied when this process opens the file (a batch pass's
        #: `memory_limit`): the database is opened per operation, so they hold for the pass.
        self.duckdb_settings: dict[str, str] = {}

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
            store._store_journals_if_writable()
            return store
        try:
            # The version is read without a write transaction (no wait for this process's
            # writers); only a store that needs migrating takes one (`migrate` reads it again
            # there, so two processes opening an old store migrate it once).
            version = store.schema_version()
            store._refuse_newer(version)
            if version < store.latest_version:
                store.migrate()
        except BaseException:
            if not existed:
                remove_store_files(store.path)
            raise
        from curator.store.journal import fold, has_journals

        if has_journals(store):
            # Decisions a process journaled but never stored (it was killed): store them now.
            fold(store)
        return store

    def _refuse_newer(self, version: int) -> None:
        """A store written by a newer curator is refused rather than guessed at."""
        if version > self.latest_version:
            raise StoreError(
                f"{self.path}: store has schema version {version}, newer than this curator "
                f"understands ({self.latest_version}); upgrade curator to open it"
            )

    def _check_readable_version(self) -> None:
        version = self.schema_version()
        self._refuse_newer(version)
        if version < self.latest_version:
            writer = Store(self.path, lock_timeout=self.lock_timeout, migrations=self.migrations)
            try:
                writer.migrate()
            except StoreError as exc:
                raise StoreError(
                    f"{self.path}: store has schema version {version} and must be upgraded to "
                    f"{self.latest_version}, which needs write access: {exc}"
                ) from exc

    def _store_journals_if_writable(self) -> None:
        """Before a read-only command reads: store decisions that killed processes journaled.

        A writer's open does this too; without it a read-only `stats`, `list` or `check` would
        not show decisions that were acknowledged but never stored. On read-only media there is
        nothing to do about them (and nothing is written): they wait for a writable open.
        """
        from curator.store.journal import fold, has_journals

        if not has_journals(self) or not os.access(self.path, os.W_OK):
            return
        writer = Store(self.path, lock_timeout=self.lock_timeout, migrations=self.migrations)
        with contextlib.suppress(StoreError):  # e.g. locked too long: the readers still read
            fold(writer)

    def schema_version(self) -> int:
        """The store's schema version, read in no transaction of this process's writers."""
        with self.connection() as con:
            return _read_version(con)

    def migrate(self) -> int:
        """Bring the file to the latest schema in one transaction; return the version now."""
        with self.transaction() as con:
            current = _read_version(con)
            self._refuse_newer(current)
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

    def open_session(self, *, idle_release: float = 0.1) -> None:
        """Keep the file open between operations of an interactive process (the TUI).

        Opening a DuckDB file costs ~15 ms, too much per keypress; but DuckDB lets only one
        process hold the file, so a connection kept open for a whole review session would lock
        out every other reviewer and the judge. The session keeps the process's database open
        while it is busy and releases the file after `idle_release` seconds without use (and
        after `MAX_HOLD_S` of continuous use), so others take their turn.
        """
        if not self._session:
            _handle_for(self.path).add_session(idle_release)
            self._session = True

    def close(self) -> None:
        """End this store's session: the file is let go once no thread of the process uses it.

        It does not wait for the process's review journal (`curator.store.journal`), and need
        not: the journal belongs to the process, not to a session. A decision is acknowledged
        only once its line is fsynced in the journal (`Journal.append`), and a line leaves the
        journal only after the transaction storing it committed (`Journal.folded`). Decisions
        still waiting for a turn on the file when a session closes are stored by the folder
        while the process lives; at exit (`_stop_folders`) the folder is stopped between folds,
        and what it did not store stays in the journal, whose lock the exit frees, for the next
        process that opens the store or folds (`Store.open`, `fold`). The review screen waits
        for them before closing (`wait_stored`), unless the reviewer quits at once.
        """
        if self._session:
            self._session = False
            _handle_for(self.path).remove_session()

    @contextmanager
    def connection(
        self, *, read_only: bool = False, about: Collection[str] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one operation; waits (with jittered backoff) for another's lock.

        Every thread of the process shares one open database per file (see `_Handle`) and gets
        its own cursor of it. Every cursor of a read-only store is read-only. `about` names the
        records whose decisions an operation reads (none: `()`): this process's journaled
        decisions are then stored first only when one of them concerns such a record.
        """
        read_only = read_only or self.read_only
        if not read_only:
            self._store_own_journal(about)
        with self._cursor(read_only=read_only) as cursor:
            yield cursor

    @contextmanager
    def _cursor(
        self, *, read_only: bool = False, linger: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        handle = _handle_for(self.path)
        asked = time.monotonic()
        cursor = handle.acquire(self, read_only=read_only)
        _TXN.waited = time.monotonic() - asked
        try:
            yield cursor
        finally:
            handle.release(cursor, linger=linger)

    @contextmanager
    def transaction(self, *, linger: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        A process's write transactions on one file take turns (a per-file lock): two threads
        appending at once would otherwise both read the same `max(id)` and collide. With
        `linger` False the file is let go as soon as no thread of the process uses it, even in
        a session (a background write, such as storing the journal, needs no second query soon).
        """
        if not self.read_only:
            self._store_own_journal()
        handle = _handle_for(self.path)
        # On a read-only store the transaction reads; a write in it is refused by DuckDB.
        with handle.write_lock, self._cursor(read_only=self.read_only, linger=linger) as con:
            _TXN.depth = getattr(_TXN, "depth", 0) + 1
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                _TXN.depth -= 1

    @staticmethod
    def last_wait() -> float:
        """Seconds the calling thread's latest operation waited for the file (for another
        process's turn, or this process opening it): what a review session sizes its read
        ahead by."""
        return float(getattr(_TXN, "waited", 0.0))

    def _store_own_journal(self, about: Collection[str] | None = None) -> None:
        """Read your own writes: decisions this process journaled are stored before a query
        (before a query `about` one record, only when one of them concerns it).

        Costs nothing when there are none; when there are, this process is about to take the
        file anyway, and storing them is one small transaction. A review session reading the
        records ahead of the reviewer must not wait for that transaction each time.
        """
        from curator.store.journal import existing_journal, fold, folding_here

        journal = existing_journal(self)
        if journal is None or not journal.pending or folding_here():
            return
        if about is not None and not journal.concerns(about):
            return
        if getattr(_TXN, "depth", 0):
            return  # inside this thread's own transaction: folding now could deadlock
        with contextlib.suppress(StoreError):  # the folder keeps trying
            fold(self, journal)

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        # Other processes hold the file for milliseconds at a time (one short transaction), so
        # poll often: a coarse backoff would add its own overshoot to every wait.
        delay = 0.002
        while True:
            try:
                con = duckdb.connect(
                    str(self.path),
                    read_only=read_only,
                    config={**CONNECT_CONFIG, **self.duckdb_settings},
                )
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


_TXN = threading.local()

#: A busy session still lets go of the file after this long, so other processes get a turn.
MAX_HOLD_S = 0.15

_HANDLES: dict[str, _Handle] = {}
_HANDLES_LOCK = threading.Lock()


def _handle_for(path: Path) -> _Handle:
    key = os.path.realpath(path)
    with _HANDLES_LOCK:
        handle = _HANDLES.get(key)
        if handle is None:
            handle = _HANDLES[key] = _Handle()
        return handle


class _Handle:
    """The one open database of a store file in this process, shared by all its threads.

    Why one: DuckDB's Python client caches database instances per file. When several threads
    each open and close their own connection to one file, one thread can be handed the cached
    instance while another thread is creating or tearing it down, before (or after) the
    client's own table functions are registered in it; `con.register(arrow)` then fails with
    "Table Function with name python_arrow_scan does not exist". Here the instance is opened
    and closed only under `cond`, never while any thread still uses a cursor of it, so no
    thread ever sees it half made. Each operation gets a cursor (its own connection to the
    open database, safe to use from its thread).
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.write_lock = threading.RLock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.read_only = False
        self.users = 0
        self.opened_at = 0.0
        self.waited = 0.0  # how long the current turn waited for the file
        self.last_used = 0.0
        self.sessions: list[float] = []
        self.reaper: threading.Thread | None = None

    @property
    def idle_release(self) -> float:
        return max(self.sessions, default=0.0)

    def acquire(self, store: Store, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        with self.cond:
            # A writer needs the file opened for writing: wait for read-only users to finish.
            while self.con is not None and self.read_only and not read_only:
                if self.users == 0:
                    self._close_root()
                    break
                self.cond.wait()
            if self.con is None:
                asked = time.monotonic()
                self.con = store._connect(read_only=read_only)
                self.read_only = read_only
                self.opened_at = time.monotonic()
                self.waited = self.opened_at - asked
            self.users += 1
            try:
                return self.con.cursor()
            except BaseException:
                self.users -= 1
                raise

    def release(self, cursor: duckdb.DuckDBPyConnection, *, linger: bool = True) -> None:
        try:
            cursor.close()
        finally:
            with self.cond:
                self.users -= 1
                now = time.monotonic()
                self.last_used = now
                held = now - self.opened_at
                if self.users == 0 and (not linger or not self.sessions or held >= MAX_HOLD_S):
                    self._close_root()
                self.cond.notify_all()

    def _close_root(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
            if os.environ.get(TURNS_LOG):
                _log_turn(self.waited, time.monotonic() - self.opened_at)

    def add_session(self, idle_release: float) -> None:
        with self.cond:
            self.sessions.append(idle_release)
            if self.reaper is None:
                self.reaper = threading.Thread(target=self._reap, name="store-lease", daemon=True)
                self.reaper.start()

    def remove_session(self) -> None:
        with self.cond:
            if self.sessions:
                self.sessions.pop()
            if not self.sessions and self.users == 0:
                self._close_root()
            self.cond.notify_all()
        reaper = self.reaper
        if reaper is not None and not self.sessions:
            reaper.join()

    def _reap(self) -> None:
        with self.cond:
            while self.sessions:
                self.cond.wait(max(self.idle_release / 4, 0.01))
                idle = time.monotonic() - self.last_used
                if self.con is not None and self.users == 0 and idle >= self.idle_release:
                    self._close_root()
            self.reaper = None


#: An environment variable: when set (benches), every turn of this process on the file is
#: logged to the file it names, one line "pid role waited_s held_s" (role: CURATOR_TURNS_ROLE).
TURNS_LOG = "CURATOR_TURNS_LOG"


def _log_turn(waited: float, held: float) -> None:
    """One line per turn, appended (O_APPEND: lines of several processes do not interleave)."""
    role = os.environ.get("CURATOR_TURNS_ROLE", "")
    line = f"{os.getpid()} {role or '-'} {waited:.4f} {held:.4f}\n".encode()
    with contextlib.suppress(OSError):
        fd = os.open(os.environ[TURNS_LOG], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


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
