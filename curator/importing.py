"""Import TAT-QA files into a store file, creating it if needed: shared by `import` and `demo`.

A store this call created is removed again when the import fails, so a failed first import
leaves no half-made file behind (an existing store is left exactly as it was by the importer's
own transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curator.domain import ImportSummary
    from curator.store.db import Store

Progress = Callable[[Path, str, float], None]


def import_into(
    db: Path,
    files: Sequence[Path],
    *,
    split: str | None = None,
    progress: Progress | None = None,
) -> tuple[Store, list[ImportSummary]]:
    """Open (or create) the store at `db` and import `files`, each in `split` or the split its
    name says (dev, test; else train). All files are imported, or none."""
    from curator.store.db import Store, remove_store_files
    from curator.store.importer import import_files
    from curator.tatqa import default_split

    existed = db.exists()
    pairs = [(path, split or default_split(path)) for path in files]
    store = Store.open(db, create=True)
    try:
        summaries = import_files(store, pairs, progress=progress)
    except BaseException:
        if not existed:
            remove_store_files(db)
        raise
    return store, summaries
