"""Ready stores built once per test process and copied into each test that needs one.

Importing the sample data into a new store (and migrating it, and judging it) costs a good part
of a second; dozens of tests start from the same store. A test that only needs that store as
its starting point gets a byte copy of a template built once per process (each pytest-xdist
worker builds its own, in its own temporary folder) instead of building it again. The copy is a
closed DuckDB file (and its WAL, if one was left), so it behaves exactly as a freshly built
store: nothing of the template's path is stored in it, and the template is never opened again.

Tests about importing, migrating or judging themselves keep building their stores from scratch.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

_FOLDER: Path | None = None


def _folder() -> Path:
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="curator-test-templates-"))
        atexit.register(shutil.rmtree, _FOLDER, True)
    return _FOLDER


def _files(store: Path) -> list[Path]:
    return [store, store.with_name(store.name + ".wal")]


def _copy(template: Path, dest: Path) -> Path:
    for src, out in zip(_files(template), _files(dest), strict=True):
        if src.exists():
            shutil.copyfile(src, out)
    return dest


def _check_closed(template: Path, name: str) -> None:
    """Everything of the template is in its file (and WAL): no decision waits in a journal."""
    journal = template.with_name(template.name + ".journal")
    if journal.is_dir():
        assert not any(journal.iterdir()), f"template {name!r} left journaled decisions"
        journal.rmdir()
    leftovers = [p.name for p in template.parent.iterdir() if p.name.startswith(template.name)]
    extra = set(leftovers) - {template.name, template.name + ".wal"}
    assert template.is_file() and not extra, f"template {name!r} left {sorted(extra)}"


def store_copy(name: str, build: Callable[[Path], object], dest: Path) -> Path:
    """`dest` becomes a copy of the template store `name`, which `build(path)` makes (once per
    process) at `path`; `build` must leave the store closed (no session, no open handle)."""
    template = _folder() / name / "store.duckdb"
    if not template.exists():
        template.parent.mkdir()
        build(template)
        _check_closed(template, name)
    return _copy(template, dest)


async def store_copy_async(
    name: str, build: Callable[[Path], Awaitable[object]], dest: Path
) -> Path:
    """`store_copy` for a builder that must run in the test's event loop (a judge pass)."""
    template = _folder() / name / "store.duckdb"
    if not template.exists():
        template.parent.mkdir()
        await build(template)
        _check_closed(template, name)
    return _copy(template, dest)
