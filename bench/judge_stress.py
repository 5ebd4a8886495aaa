"""Twenty rules-judge passes in a row over the real TAT-QA dev + test files, under load.

Each round re-judges every record while one process burns a core and another takes the DuckDB
file half a second into the pass and keeps it for three seconds (the situation of issue 10).
Every round must exit 0 with every record judged; the script prints each round's wall time and
exit status, then how many rounds finished, and exits 1 if any did not.

    python bench/judge_stress.py [--rounds 20] [--tatqa ../shared/data/tatqa]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CURATOR = str(Path(sys.executable).with_name("curator"))
ENV = {**os.environ, "CURATOR_CONFIG": os.devnull}

# The same load as the team-load test (tests/builders.py: type-checked with the tests).
from tests.builders import burn_cpu, hold_store_later  # noqa: E402


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURATOR, *map(str, args)], env=ENV, capture_output=True, text=True, timeout=900
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--tatqa", type=Path, default=ROOT.parent / "shared" / "data" / "tatqa")
    args = parser.parse_args()
    files = [args.tatqa / "tatqa_dataset_dev.json", args.tatqa / "tatqa_dataset_test_gold.json"]
    if not all(f.exists() for f in files):
        print(f"the TAT-QA files are not in {args.tatqa}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "stress.duckdb"
        imported = run("--db", db, "import", *files)
        if imported.returncode != 0:
            print(imported.stderr, file=sys.stderr)
            return 1
        stats = json.loads(run("--db", db, "stats", "--json").stdout)
        total = int(stats["records"])
        finished = 0
        for round_ in range(1, args.rounds + 1):
            burner = burn_cpu(60)
            holder = hold_store_later(db, 0.5, 3)
            started = time.monotonic()
            judged = run("--db", db, "judge", "--judge", "rules", "--rejudge", "--json")
            took = time.monotonic() - started
            holder.wait(timeout=60)
            burner.kill()
            burner.wait()
            report: dict[str, object] = {}
            if judged.returncode == 0 and judged.stdout.strip():
                report = json.loads(judged.stdout.strip().splitlines()[-1])
            ok = judged.returncode == 0 and report.get("judged") == total
            finished += ok
            tail = "" if ok else f"  {judged.stderr.strip()[-300:]!r} {report}"
            print(f"round {round_:2}: exit {judged.returncode}, {took:5.1f} s{tail}", flush=True)
        print(f"{finished}/{args.rounds} passes judged all {total:,} records")
        return 0 if finished == args.rounds else 1


if __name__ == "__main__":
    sys.exit(main())
