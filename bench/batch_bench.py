"""A million-record `--batch` judge pass against the loopback Message Batches fake.

The store is written directly with SQL (bench/leaks_bench.py's builder: N questions over N/6
synthetic contexts). The fake runs in its own process and answers each batch as it is created;
the two halves of the pass run each in their own process, so their peak resident memory is the
client's alone:

1. submit: `curator judge --judge anthropic --batch` cuts the pass into batches by the Message
   Batches limits (100,000 requests / 256 MB), spooling each body to a file and streaming it;
2. collect: the same command again collects every ended batch and stores its verdicts.

Prints records/s for each half (wall clock of the whole command, the fake's work included), the
rate at which requests were prepared (read from the store, built and spooled: the command's own
`prepared_per_second`), and peak memory, against the targets (>= 20,000 records/s prepared,
<= 1 GB). Every record built is submitted and collected (checked: a count short of the store
is an error, not a number to print).

    python bench/batch_bench.py [--questions N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.child import in_child, timed  # noqa: E402
from bench.judge_bench import start_fake  # noqa: E402
from bench.leaks_bench import QUESTIONS, build_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="build the store in DIR, keep it")
    args = parser.parse_args()
    curator = str(Path(sys.executable).with_name("curator"))
    server, url = start_fake("--batch-bench")
    # The children (the two halves of the pass) inherit these.
    os.environ.update(
        {"ANTHROPIC_API_KEY": "bench", "ANTHROPIC_BASE_URL": url, "CURATOR_CONFIG": os.devnull}
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            db = folder / "batch_bench.duckdb"
            if db.exists():
                db.unlink()
            t0 = time.perf_counter()
            # Built in a child: a child's peak resident memory starts at its parent's at fork
            # (Linux keeps the high-water mark across exec), and building a 1M store in this
            # process made both halves report ~1.08 GB, the builder's, not the client's.
            in_child(build_store, db, args.questions)
            contexts = args.questions // QUESTIONS
            n = contexts * QUESTIONS
            print(f"store: {n:,} questions, {contexts:,} contexts, built in "
                  f"{time.perf_counter() - t0:.1f}s")  # fmt: skip
            cmd = [curator, "--db", str(db), "judge", "--judge", "anthropic", "--batch", "--json"]
            out = folder / "summary.json"
            sub_s, sub_mb = timed(cmd, out)
            first = json.loads(out.read_text("utf-8"))
            submitted, prepared = first["submitted"], first.get("prepared_per_second", 0)
            col_s, col_mb = timed(cmd, out)
            collected = sum(json.loads(out.read_text("utf-8"))["collected"].values())
            if submitted != n or collected != n:
                sys.exit(f"built {n:,} records: submitted {submitted:,}, collected {collected:,}")
    finally:
        server.kill()
    print(f"submit:  {submitted:,} records in {sub_s:6.1f} s = {submitted / sub_s:8,.0f} records/s"
          f"   peak {sub_mb:6.0f} MB")  # fmt: skip
    print(f"collect: {collected:,} verdicts in {col_s:6.1f} s = {collected / col_s:8,.0f} records/s"
          f"   peak {col_mb:6.0f} MB")  # fmt: skip
    print(f"prepared (read, built, spooled): {prepared:,.0f} records/s (target >= 20,000)")
    print(f"peak memory: {max(sub_mb, col_mb) / 1024:.2f} GB (target <= 1 GB)")


if __name__ == "__main__":
    main()
