"""Files shipped inside the installed package, found with importlib.resources.

An installed curator (a wheel, pipx, uv tool) has no source checkout beside it, so nothing may
be read by a path relative to a module's __file__: package data is looked up by package name.
The store's migrations and the TUI's stylesheet are read the same way where they are used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path

SAMPLE_PACKAGE = "curator.sample_data"


@contextmanager
def json_files(folder: Path | None = None) -> Iterator[list[Path]]:
    """The *.json files of `folder`, or of the bundled sample data when it is None, by name.

    The paths are real files for as long as the context is open (as_file extracts them when
    the package is not a plain folder, for example a zip).
    """
    if folder is not None:
        yield sorted(folder.glob("*.json"))
        return
    root = resources.files(SAMPLE_PACKAGE)
    entries = sorted(
        (entry for entry in root.iterdir() if entry.is_file() and entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    with ExitStack() as stack:
        yield [stack.enter_context(resources.as_file(entry)) for entry in entries]
