"""Private working files named after their process, and removal of those whose process is gone.

A process killed with SIGKILL cleans nothing up. Every working file or folder curator creates
beside user data (export staging folders, copies of piped input) is therefore named
`<prefix><pid>-<random>`, and the next run removes the ones whose process no longer exists.
"""

from __future__ import annotations

import os
import secrets
import shutil
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
