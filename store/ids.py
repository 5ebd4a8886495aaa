"""Identities for events made outside a transaction: unique across threads and processes, and
ordered by the time they were made.

An event id read as `max + 1` inside the writing transaction collided whenever two writers read
the same max. A uid is instead made by the writer before it touches the store: milliseconds since
the epoch, a counter that keeps a process's uids strictly increasing within one millisecond, and
a random token per process (so two processes never make the same uid). Sorting uids as strings
sorts them by time, and a process's own uids always in the order it made them.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

_lock = threading.Lock()
_last = (0, 0)
_token = secrets.token_hex(4)
_pid = os.getpid()


def new_event_uid() -> str:
    """`{ms:013d}{n:04d}-{token}`: 13 digits of milliseconds, 4 of counter, 8 hex of process."""
    global _last, _token, _pid
    with _lock:
        if os.getpid() != _pid:  # a forked child must not share its parent's token
            _pid, _token, _last = os.getpid(), secrets.token_hex(4), (0, 0)
        ms = time.time_ns() // 1_000_000
        last_ms, n = _last
        if ms <= last_ms:
            ms, n = last_ms, n + 1
            if n > 9999:
                ms, n = last_ms + 1, 0
        else:
            n = 0
        _last = (ms, n)
        return f"{ms:013d}{n:04d}-{_token}"
