"""Decision latency with other writers on the same store.

One reviewer (as the TUI does it: a leased connection) makes decisions at a fast pace while 0, 1
and 2 other processes write too. Each other writer behaves like a judge pass (appends a batch of
verdicts every 0.5 s in one transaction) that also polls for changes every 3 s as a reviewer's TUI
does. Prints decisions per second and p50 / p95
decision latency, and the p95 ratio against the single-user case (target <= 2x).

    python bench/concurrency_bench.py [--decisions N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curator.store import Store  # noqa: E402
from curator.store.importer import import_file  # noqa: E402
from curator.store.reviews import decide  # noqa: E402

WRITER = """
import sys, time, uuid
from curator.store import Store
from curator.store.verdicts import JudgeKey, NewVerdict, append_verdicts, work_page
from curator.store.reviews import changes_since
store = Store(sys.argv[1], lock_timeout=60)
key = JudgeKey("bench-" + uuid.uuid4().hex[:6], "m", "p")
items = work_page(store, key, limit=1000, rejudge=True)
deadline = time.monotonic() + float(sys.argv[2])
tick = 0
while time.monotonic() < deadline:
    # As a judge pass: flush the verdicts finished in the last half second, in one transaction.
    batch = [items[(tick * 16 + j) % len(items)] for j in range(16)]
    verdicts = [NewVerdict(i.uid, i.record_hash, "correct") for i in batch]
    append_verdicts(store, key, "bench", verdicts)
    if tick % 6 == 0:  # and, as another reviewer's TUI, look for changes every 3 s
        changes_since(store, 0, 0)
    tick += 1
    time.sleep(0.5)
"""


def measure(db: Path, n: int, offset: int) -> list[float]:
    store = Store(db, lock_timeout=60)
    # The TUI's lease, released when idle: here between decisions, so writers get their turn.
    store.open_session(idle_release=0.05)
    with store.connection() as con:
        uids = [
            r[0]
            for r in con.execute(
                "SELECT uid FROM records ORDER BY seq LIMIT ? OFFSET ?", [n, offset]
            ).fetchall()
        ]
    times = []
    for i, uid in enumerate(uids):
        t0 = time.perf_counter()
        decide(store, uid, "accept" if i % 5 else "reject", "bench")
        times.append(time.perf_counter() - t0)
        time.sleep(0.1)  # a (very fast) reviewer's pace between decisions
    store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        store = Store.open(db, create=True)
        import_file(store, ROOT / "sample_data" / "sample_train.json", "train")
        results = {}
        for others in (0, 1, 2):
            # A fresh store per round would hide growth; reuse it, deciding new records each time.
            seconds = 60.0
            writers = [
                subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(seconds)], cwd=ROOT)
                for _ in range(others)
            ]
            time.sleep(1.0 if others else 0)
            n = min(args.decisions, 40)
            times = measure(db, n, offset=others * 40)
            for w in writers:
                w.kill()
                w.wait()
            times.sort()
            results[others] = times
            p50 = statistics.median(times) * 1000
            p95 = times[int(len(times) * 0.95) - 1] * 1000
            rate = len(times) / sum(times)
            print(
                f"{others} other writers: {rate:6.1f} decisions/s of store time · "
                f"p50 {p50:6.1f} ms · p95 {p95:6.1f} ms"
            )
        base = results[0][int(len(results[0]) * 0.95) - 1]
        for others in (1, 2):
            p95 = results[others][int(len(results[others]) * 0.95) - 1]
            print(f"p95 with {others} other writers: {p95 / base:.2f}x single-user (target <= 2x)")


if __name__ == "__main__":
    main()
