"""A bench's measured command in a child process: its wall time and its own peak memory.

A child's peak resident memory as Linux reports it (`ru_maxrss` from `wait4` or
RUSAGE_CHILDREN) starts at its parent's high-water mark: the mark is carried across fork (or
vfork) and exec. A bench that built a big store in its own process made every command it timed
report the builder's peak (batch_bench: a false 1.05 GB). So a bench builds its inputs in a
child of their own (`in_child`), and `timed` checks that the figure it reports is the child's:
above this process's own high-water mark it can only be the child's; at or below it, the
child's own peak is hidden, and `timed` says so instead of printing the parent's.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def own_peak_mb() -> float:
    """This process's own peak resident memory (VmHWM: not carried over from its parent)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def in_child(target: Callable[..., Any], *args: Any) -> None:
    """Run `target(*args)` in a fresh (spawned) interpreter and wait for it: what it builds
    never raises this process's high-water mark, and with it every later child's figure."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"{getattr(target, '__name__', target)} failed in its child process")


def timed(
    args: list[str], out: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Run a child (stdout to `out`, or discarded); return (wall seconds, its peak MB).

    The peak includes the child's own children (the larger of them, as `wait4` reports it).
    """
    start = time.perf_counter()
    with open(out or os.devnull, "w") as fh:
        proc = subprocess.Popen(args, stdout=fh, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}")
    peak, floor = usage.ru_maxrss / 1024, own_peak_mb()
    if peak <= floor:
        print(
            f"note: the peak memory of `{' '.join(args[:4])} ...` is at most {peak:.0f} MB, "
            f"this bench's own peak (the child's is not known below it)",
            file=sys.stderr,
        )
    return elapsed, peak
