"""Private working files named after their process, and removal of those whose process is gone.

A process killed with SIGKILL cleans nothing up. Every working file or folder curator creates
beside user data (export staging folders, copies of piped input) is therefore named
`<prefix><pid>-<random>`, and the next run removes the ones whose process no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def private_name(prefix: str, suffix: str = "") -> str:
    """`<prefix><pid>-<random><suffix>`: unique, and traceable to this process."""
    return f"{prefix}{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def remove_stale(folder: Path, prefix: str) -> int:
    """Delete `<prefix><pid>-*` entries in `folder` whose process is gone; how many were."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and pid_alive(int(pid_text)):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            pass
    return removed


#: A report file (eval --per-question, --plot) being written beside its destination.
REPORT_PREFIX = ".curator-report-"


@contextlib.contextmanager
def replaced_whole(path: Path) -> Iterator[Path]:
    """A private file beside `path` to write; on success it replaces `path` in one rename, so
    a reader (or a process killed while writing) never sees half a file where `path` was. The
    private files of dead processes are removed first; on an error this one is."""
    from curator.faults import fault_point

    remove_stale(path.parent, REPORT_PREFIX)
    tmp = path.with_name(private_name(REPORT_PREFIX, path.suffix))
    try:
        yield tmp
        fault_point("report")  # the crash test's kill with the report written, not in place
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
