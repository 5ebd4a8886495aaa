"""Import speed and memory against DuckDB's own JSON reader on the same file.

Builds a synthetic TAT-QA file of N questions (default 1,000,000) by replicating
../shared/data/tatqa/tatqa_dataset_dev.json with fresh uids, then, each in its own process:
  - floor:   DuckDB `CREATE TABLE t AS SELECT * FROM read_json(file)` into a new database file;
  - curator: `curator import` of the same file into a new store.
Prints both times, the ratio (target <= 1.5) and curator's peak memory (target <= 2 GB).

    python bench/import_bench.py [--questions N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.child import timed  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "tatqa" / "tatqa_dataset_dev.json"
CACHE = ROOT / "bench" / ".cache"


def build_file(questions: int) -> Path:
    """Write (or reuse) the synthetic file; uids are fresh per copy so nothing deduplicates."""
    out = CACHE / f"tatqa_synthetic_{questions}.json"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    source = json.loads(DEV.read_text("utf-8"))
    written = 0
    tmp = out.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("[")
        first = True
        while written < questions:
            for ctx in source:
                copy = {
                    "table": {"uid": str(uuid.uuid4()), "table": ctx["table"]["table"]},
                    "paragraphs": ctx["paragraphs"],
                    "questions": [dict(q, uid=str(uuid.uuid4())) for q in ctx["questions"]],
                }
                fh.write(("" if first else ",\n") + json.dumps(copy))
                first = False
                written += len(copy["questions"])
                if written >= questions:
                    break
        fh.write("]\n")
    tmp.rename(out)
    return out


FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?)", [sys.argv[1]])
con.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic file")
    args = parser.parse_args()
    if not DEV.exists():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            raise SystemExit(f"{DEV} missing and CURATOR_REQUIRE_SHARED=1")
        print(f"skipped: {DEV} not present")
        return
    t0 = time.perf_counter()
    data = build_file(args.questions)
    size_mb = data.stat().st_size / 1e6
    print(f"file: {data.name}, {size_mb:,.0f} MB, built in {time.perf_counter() - t0:.1f}s")
    curator = str(Path(sys.executable).with_name("curator"))
    with tempfile.TemporaryDirectory() as tmp:
        floor_s, floor_mb = timed([sys.executable, "-c", FLOOR, str(data), f"{tmp}/floor.duckdb"])
        ours_s, ours_mb = timed([curator, "--db", f"{tmp}/store.duckdb", "import", str(data)])
        again_s, _ = timed([curator, "--db", f"{tmp}/store.duckdb", "import", str(data)])
    print(f"duckdb read_json into a table: {floor_s:6.2f} s   peak {floor_mb:7.0f} MB")
    print(f"curator import:                {ours_s:6.2f} s   peak {ours_mb:7.0f} MB")
    print(f"curator re-import (no change): {again_s:6.2f} s")
    print(f"ratio curator/duckdb: {ours_s / floor_s:.2f}x (target <= 1.5x)")
    print(f"peak memory: {ours_mb / 1024:.2f} GB (target <= 2 GB)")
    print(f"throughput: {args.questions / ours_s:,.0f} questions/s")
    if not args.keep:
        data.unlink()


if __name__ == "__main__":
    main()
