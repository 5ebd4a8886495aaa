"""Review TUI speed on a 1M-record store against a 1k-record store.

Builds both stores (1M from the synthetic TAT-QA file of import_bench, with a verdict on every
fifth record), then in a fresh process per store drives the real app headless with Textual's
Pilot and prints:
  - start to first paint: process start until the first record is drawn (target <= 1.0 s at 1k
    records, <= 1.5 s at 1M), with curator's bytecode compiled first as an install has it;
  - next record: median and p95 of 50 presses of `n` until the next record is on screen
    (target <= 50 ms median, and <= 1.3x the 1k store);
  - peak resident memory (target <= 300 MB);
  - bulk accept: on a copy of the big store, count then accept as one batch the 10k records a
    judge calls correct (target <= 2 s), and undo the batch.

    python bench/review_bench.py [--records N] [--bulk-only]
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
sys.path.insert(0, str(ROOT))


def build_store(path: Path, records: int) -> None:
    from bench.import_bench import DEV, build_file
    from curator.domain import JudgeKey, NewVerdict
    from curator.store import Store
    from curator.store.importer import import_file
    from curator.store.verdicts import append_verdicts, work_page

    if path.exists():
        return
    if not DEV.exists():
        raise SystemExit(f"skipped: {DEV} not present")
    data = build_file(records)
    store = Store.open(path, create=True)
    import_file(store, data, "bench")
    key = JudgeKey("rules", "rules-v1", "rules-v1")
    verdicts = ("correct", "incorrect", "uncertain", "correct", "correct")
    after, batch, i = 0, [], 0
    while page := work_page(store, key, after_seq=after, limit=50000, rejudge=True):
        after = page[-1].seq
        for item in page:
            if i % 5 == 0:
                batch.append(NewVerdict(item.uid, item.record_hash, verdicts[(i // 5) % 5]))
            i += 1
        if len(batch) >= 20000:
            append_verdicts(store, key, "bench", batch)
            batch = []
    append_verdicts(store, key, "bench", batch)


def measure(path: Path) -> dict[str, float]:
    """Runs in a child process: drive the app and time it (bench/tui_timing.py says how)."""
    from bench.tui_timing import Frames, first_record, key_to_next_record
    from curator.screens.app import CuratorApp
    from curator.store import Store

    result: dict[str, float] = {}
    frames = Frames()

    async def run() -> None:
        app = CuratorApp(Store.open(path), reviewer="bench")
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await first_record(app, frames)
            result["first_paint_s"] = frames.first_drawn - STARTED
            await pilot.pause()
            times = []
            for _ in range(50):
                times.append(await key_to_next_record(app, screen, frames, "n"))
                await pilot.pause()
            result["next_median_ms"] = statistics.median(times) * 1000
            result["next_p95_ms"] = sorted(times)[int(len(times) * 0.95) - 1] * 1000
            await pilot.press("q")

    asyncio.run(run())
    result["rss_mb"] = peak_rss_mb()
    return result


def measure_bulk(path: Path, wanted: int = 10_000) -> dict[str, float]:
    """Runs in a child process, on a copy of the store: a judge ("spot-checked") calls `wanted`
    records spread over the store correct; then, timed, the count of every record of the whole
    store it calls correct, the one-batch accept of them, and the undo of that batch."""
    import shutil

    from curator.domain import JudgeKey, NewVerdict
    from curator.store import Store
    from curator.store.bulk import BulkSelection, decide_bulk, preview, undo_batch
    from curator.store.verdicts import append_verdicts, work_page

    copy = path.with_name(path.stem + ".bulk-copy.duckdb")
    shutil.copyfile(path, copy)
    try:
        store = Store.open(copy)
        key = JudgeKey("spot-checked", "bench", "bench")
        items = work_page(store, key, limit=wanted * 10, rejudge=True)[::10]
        append_verdicts(
            store, key, "bench", [NewVerdict(i.uid, i.record_hash, "correct") for i in items]
        )
        t0 = time.perf_counter()
        found = preview(store, BulkSelection("accept", ("spot-checked",)))
        t1 = time.perf_counter()
        result = decide_bulk(store, found, "bench")
        t2 = time.perf_counter()
        undone = undo_batch(store, result.batch_id, "bench")
        t3 = time.perf_counter()
        assert result.decided == found.count == undone.undone == len(items), "records lost"
        store.close()
    finally:
        for leftover in (copy, copy.with_name(copy.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return {
        "bulk_records": float(result.decided),
        "bulk_count_s": t1 - t0,
        "bulk_write_s": t2 - t1,
        "bulk_undo_s": t3 - t2,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: the latter can report the
    parent's peak across fork + exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--bulk-only", action="store_true", help="Only the bulk-accept section.")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure-bulk", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.measure_bulk:
        print(json.dumps(measure_bulk(args.measure_bulk)))
        return
    if os.environ.get("CURATOR_REQUIRE_SHARED") != "1":
        from bench.import_bench import DEV

        if not DEV.exists():
            print(f"skipped: {DEV} not present")
            return
    CACHE.mkdir(parents=True, exist_ok=True)
    stores = {}
    for n in (1000, args.records):
        path = CACHE / f"review_{n}.duckdb"
        t0 = time.perf_counter()
        build_store(path, n)
        print(f"store of {n:,} records ready ({time.perf_counter() - t0:.1f}s)")
        stores[n] = path
    if args.bulk_only:
        report_bulk(stores[args.records])
        return
    # Bytecode as an installed curator has it (pip compiles at install): with
    # PYTHONDONTWRITEBYTECODE set, every start would otherwise compile curator's sources.
    import compileall

    for package in ("curator", "store", "screens", "bench"):
        compileall.compile_dir(str(ROOT / package), quiet=2)
    results = {}
    for n, path in stores.items():
        done = subprocess.run(
            [sys.executable, __file__, "--measure", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[n] = json.loads(done.stdout.strip().splitlines()[-1])
    small, big = results[1000], results[args.records]
    for n, r in results.items():
        print(
            f"{n:>9,} records: first paint {r['first_paint_s']:.2f}s · next record median "
            f"{r['next_median_ms']:.1f} ms (p95 {r['next_p95_ms']:.1f}) · peak RSS "
            f"{r['rss_mb']:.0f} MB"
        )
    print(f"first paint on 1k: {small['first_paint_s']:.2f}s (target <= 1.0 s)")
    print(f"first paint on {args.records:,}: {big['first_paint_s']:.2f}s (target <= 1.5 s)")
    print(f"next record median: {big['next_median_ms']:.1f} ms (target <= 50 ms)")
    print(
        f"next record ratio {args.records:,} / 1k: "
        f"{big['next_median_ms'] / small['next_median_ms']:.2f}x (target <= 1.3x)"
    )
    print(f"peak RSS: {big['rss_mb']:.0f} MB (target <= 300 MB)")
    report_bulk(stores[args.records])


def report_bulk(path: Path) -> None:
    """Bulk accept section (issue 16): count + one-batch write of 10k records on the big store."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure-bulk", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(done.stdout.strip().splitlines()[-1])
    total = r["bulk_count_s"] + r["bulk_write_s"]
    print(
        f"bulk accept of {int(r['bulk_records']):,} records: {total:.2f}s (count "
        f"{r['bulk_count_s']:.2f}s + write {r['bulk_write_s']:.2f}s; target <= 2 s) · undo of "
        f"the batch {r['bulk_undo_s']:.2f}s"
    )
    print(f"machine load (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
