"""Keypress-to-next-record latency in the review TUI with other writers on the same store.

A real `CuratorApp` (Textual, headless) reviews while 0, 2 and 4 other reviewer processes
decide records as fast as a person can (one every 0.3 s, through their own journals), and then
while a rules judge pass re-judges every record. Each keypress is `a` (accept): the time from
the key to the next record being drawn is measured (bench/tui_timing.py says how). Target:
p95 <= 150 ms in every case.

    python bench/concurrency_bench.py [--keys N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tui_timing import Frames, first_record, key_to_next_record  # noqa: E402
from curator.screens.app import CuratorApp  # noqa: E402
from curator.store import Store  # noqa: E402
from curator.store.db import TURNS_LOG  # noqa: E402
from curator.store.importer import import_file  # noqa: E402
from curator.store.journal import journal_for  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "CURATOR_CONFIG": os.devnull}
CURATOR = str(Path(sys.executable).with_name("curator"))


def turns_env(db: Path, role: str) -> dict[str, str]:
    """Every process of a case logs its turns on the file (store/db.py, TURNS_LOG)."""
    return {**ENV, TURNS_LOG: str(db) + ".turns", "CURATOR_TURNS_ROLE": role}


def turns_summary(db: Path) -> str:
    """Per role: turns, seconds waited for the file (p50 / max) and held it (total, max)."""
    by_role: dict[str, list[tuple[float, float]]] = {}
    log = Path(str(db) + ".turns")
    for line in log.read_text().splitlines() if log.exists() else []:
        _, role, waited, held = line.split()
        by_role.setdefault(role, []).append((float(waited), float(held)))
    parts = []
    for role, turns in sorted(by_role.items()):
        waits = sorted(w for w, _ in turns)
        held = [h for _, h in turns]
        parts.append(
            f"{role}: {len(turns)} turns, waited p50 {statistics.median(waits) * 1000:.0f} / "
            f"max {waits[-1] * 1000:.0f} ms, held {sum(held):.1f}s (max {max(held) * 1000:.0f} ms)"
        )
    return "\n    ".join(parts)


def other_reviewer(db: Path, n: int, shard: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.reviewer",
            str(db),
            f"other{n}",
            "--shard",
            shard,
            "--pause",
            "0.3",
            "--seconds",
            "600",
        ],
        cwd=ROOT,
        env=turns_env(db, "writer"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def review(db: Path, keys: int, frames: Frames) -> tuple[list[float], int]:
    """Press `a` `keys` times: seconds from each key to the next record drawn, and how
    many times that record had been read ahead (shown without waiting for the store)."""
    os.environ.update({TURNS_LOG: str(db) + ".turns", "CURATOR_TURNS_ROLE": "tui"})
    app = CuratorApp(Store(db), reviewer=f"bench{time.monotonic_ns()}")
    times: list[float] = []
    ahead = 0
    async with app.run_test(size=(120, 36)) as pilot:
        screen: Any = await first_record(app, frames)
        await pilot.pause(0.3)
        for _ in range(keys):
            q = app.queue
            ahead += q.index + 1 < len(q.rows) and q.rows[q.index + 1].uid in app.details
            times.append(await key_to_next_record(app, screen, frames, "a"))
            await asyncio.sleep(0.3)  # a fast reviewer reads for a moment
        await app.run_action("quit_app")
    journal_for(Store(db)).wait_stored(timeout=60)
    return times, ahead


def fresh_store(db: Path) -> Path:
    """A store of its own per case: the earlier cases' reviewers would leave too few records
    pending for the next (the queue would end under the keys)."""
    os.environ.pop(TURNS_LOG, None)  # the import's turns are not the case's
    store = Store.open(db, create=True)
    import_file(store, ROOT / "sample_data" / "sample_train.json", "train")
    import_file(store, ROOT / "sample_data" / "sample_dev.json", "dev")
    return db


def summary(label: str, measured: tuple[list[float], int]) -> float:
    times = sorted(measured[0])
    p50 = statistics.median(times) * 1000
    p95 = times[max(0, int(len(times) * 0.95) - 1)] * 1000
    print(
        f"{label:<22} p50 {p50:7.1f} ms · p95 {p95:7.1f} ms (target p95 <= 150 ms) · "
        f"next record read ahead {measured[1]}/{len(times)}"
    )
    return p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        worst = 0.0
        frames = Frames()
        for others in (0, 2, 4):
            db = fresh_store(Path(tmp) / f"writers{others}.duckdb")
            procs = [other_reviewer(db, i, f"{i + 2}/6") for i in range(others)]
            times = asyncio.run(review(db, args.keys, frames))
            for p in procs:
                p.kill()
                p.wait()
            worst = max(worst, summary(f"{others} other writers", times))
            print(f"    {turns_summary(db)}")
        db = fresh_store(Path(tmp) / "judge.duckdb")
        judge = subprocess.Popen(
            [CURATOR, "--db", str(db), "judge", "--judge", "rules", "--rejudge"],
            env=turns_env(db, "judge"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times = asyncio.run(review(db, args.keys, frames))
        judge.wait()
        worst = max(worst, summary("during a judge pass", times))
        print(f"    {turns_summary(db)}")
        print(f"worst p95 {worst:.1f} ms: {'OK' if worst <= 150 else 'over'} the 150 ms target")
        print(f"machine load (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
