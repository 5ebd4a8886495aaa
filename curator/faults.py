"""Fault injection for the crash tests: kill this process with SIGKILL at the k-th step of a kind.

`CURATOR_FAULT_AT=export:3` makes the third `fault_point("export")` the process reaches kill it,
exactly as `kill -9` would at that moment (no cleanup handler, no flush). The tests run an export
or an import once per k and check that the result is the old state or the new one, never a mix,
and that the next run leaves no litter. Unset (always, outside tests), a point costs one dict
lookup. `CURATOR_FAULT_COUNT=FILE` appends each step's kind to FILE so a test can learn how many
steps an operation has.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def fault_point(kind: str) -> None:
    """One step boundary of a file operation of `kind` ("export", "import")."""
    counter = os.environ.get("CURATOR_FAULT_COUNT")
    target = os.environ.get("CURATOR_FAULT_AT")
    if not counter and not target:
        return
    _counts[kind] = _counts.get(kind, 0) + 1
    if counter:
        with open(counter, "a", encoding="utf-8") as fh:
            fh.write(f"{kind}\n")
    if target:
        want_kind, _, step = target.partition(":")
        if want_kind == kind and step.isdigit() and int(step) == _counts[kind]:
            os.kill(os.getpid(), signal.SIGKILL)
