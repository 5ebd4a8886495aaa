"""Reading a store's header must never release this process's DuckDB lock on it.

DuckDB locks the file with a POSIX record lock, and the kernel drops such a lock when the process
closes any descriptor of the file; a header check done while the store is open would let another
process open it for writing at the same time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from curator.store.db import Store, check_store_file

OTHER_WRITER = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1]).close()
except duckdb.Error as exc:
    print("refused", str(exc).splitlines()[0])
else:
    print("opened")
"""


def _other_process_opens(db: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", OTHER_WRITER, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_a_header_check_while_the_store_is_open_keeps_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    store = Store.open(db, create=True)
    with store.connection() as con:
        con.execute("SELECT 1").fetchall()
        assert _other_process_opens(db).startswith("refused")  # DuckDB's lock is held
        check_store_file(db)  # e.g. a second Store.open of the same file in this process
        Store.open(db)
        assert _other_process_opens(db).startswith("refused")
    assert _other_process_opens(db) == "opened"  # released once nobody uses it
