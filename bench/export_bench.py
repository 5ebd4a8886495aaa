"""Export speed against DuckDB's own COPY ... TO of the same rows, and validate throughput.

Builds (once, cached) a store of N curated records (default 100,000) from the synthetic TAT-QA
file, accepts them all, then prints:
  - curator export (select, render, write, validate every line, manifest) vs DuckDB
    `COPY (SELECT <the same curated rows with their contexts>) TO 'x.json'` (target <= 2x);
  - curator validate throughput in lines per second (target >= 50,000).

    python bench/export_bench.py [--records N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_bench import DEV, build_file  # noqa: E402
from curator.export.run import ExportOptions, export, validate_file  # noqa: E402
from curator.store import Store  # noqa: E402
from curator.store.importer import import_file  # noqa: E402
from curator.store.reviews import decide_many  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def build(records: int) -> Path:
    path = CACHE / f"export_{records}.duckdb"
    if path.exists():
        return path
    store = Store.open(path, create=True)
    import_file(store, build_file(records), "bench")
    with store.connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records").fetchall()]
    decide_many(store, uids, "accept", "bench")
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    if not DEV.exists():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            raise SystemExit(f"{DEV} missing")
        print(f"skipped: {DEV} not present")
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    path = build(args.records)
    store = Store.open(path)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with store.connection() as con:
            con.execute(
                "COPY (SELECT r.uid, r.question, r.answer, r.derivation, r.scale, c.table_rows, "
                "c.paragraphs FROM records r JOIN contexts c ON c.uid = r.context_uid "
                "JOIN record_state s ON s.record_uid = r.uid "
                "WHERE s.status IN ('accepted', 'edited') ORDER BY r.seq) "
                f"TO '{tmp}/floor.json' (FORMAT json)"
            )
        floor = time.perf_counter() - t0
        t0 = time.perf_counter()
        manifest = export(
            store,
            Path(tmp) / "out",
            ExportOptions(target="openai-chat", max_train=None, validation_fraction=0.01),
        )
        ours = time.perf_counter() - t0
        train = Path(tmp) / "out" / "train.jsonl"
        lines = manifest["files"]["train.jsonl"]["records"]
        t0 = time.perf_counter()
        problems = validate_file(train, "openai-chat")
        validate_s = time.perf_counter() - t0
    print(f"{args.records:,} curated records")
    print(f"duckdb COPY ... TO json:  {floor:6.2f} s")
    print(f"curator export:           {ours:6.2f} s (rendered, written, every line validated)")
    print(f"ratio: {ours / floor:.2f}x (target <= 2x)")
    print(
        f"validate: {lines / validate_s:,.0f} lines/s over {lines:,} lines "
        f"(target >= 50,000); {len(problems)} problems"
    )


if __name__ == "__main__":
    main()
