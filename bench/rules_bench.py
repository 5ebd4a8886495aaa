"""How the offline rules judge does on the real TAT-QA gold files and on corrupted copies.

With `--pass`, instead times a whole rules pass (`curator judge`, reading and writing the store)
over a synthetic store of N records (the dev file replicated with fresh uids, default 200,000)
with every core and with one, and prints records per second against the target (>= 5,000/s).

Prints, per file: gold records called incorrect (target <= 3%), gold records left uncertain,
corrupted records passed as correct (target <= 5%), and per corruption kind (one corrupted copy
per kind that applies to each record) how many were caught, passed and left uncertain (target:
every kind caught at least half the time).

    python bench/rules_bench.py [--seed N] [--show incorrect|passed|uncertain] [--kind KIND]
                                [--limit N]
    python bench/rules_bench.py --pass [--records N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "tatqa"
sys.path.insert(0, str(ROOT))

from curator.judges.corruptions import (  # noqa: E402
    KINDS,
    Case,
    all_corruptions,
    by_context,
    cases_from_tatqa,
    judge_case,
)


def run(case: Case) -> str:
    return judge_case(case).verdict


def measure(cases: list[Case], seed: int) -> dict[str, Counter[str]]:
    rng = random.Random(seed)
    out: dict[str, Counter[str]] = {"gold": Counter(), "corrupt": Counter()}
    groups = by_context(cases)
    for case in cases:
        out["gold"][run(case)] += 1
        for bad in all_corruptions(case, rng, groups[case.context.table]):
            if bad is not None:
                verdict = run(bad)
                out["corrupt"][verdict] += 1
                out["corrupt"][f"{bad.corruption}:{verdict}"] += 1
    return out


CACHE = ROOT / "bench" / ".cache"
PASS_TARGET = 5_000


def whole_pass(records: int, workers: int | None) -> None:
    """Time `curator judge` over a fresh copy of a cached synthetic store."""
    import shutil
    import subprocess
    import tempfile

    from bench.import_bench import build_file
    from curator.judges.rules_pass import default_workers
    from curator.store import Store
    from curator.store.importer import import_file

    CACHE.mkdir(parents=True, exist_ok=True)
    source = CACHE / f"rules_pass_{records}.duckdb"
    if not source.exists():
        store = Store.open(source, create=True)
        import_file(store, build_file(records), "bench")
    from curator.store.records import count as count_records

    held = Store.open(source)
    records = count_records(held)  # the synthetic file rounds up to whole contexts
    held.close()
    curator = str(Path(sys.executable).with_name("curator"))
    env = {**os.environ, "CURATOR_CONFIG": os.devnull}
    load = os.getloadavg()[0]
    print(f"{records:,} records; load average {load:.2f} on {os.cpu_count()} cores")
    for count in dict.fromkeys([workers or default_workers(), 1]):
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            db = Path(tmp) / "store.duckdb"
            shutil.copy(source, db)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(
                [
                    *(curator, "--db", str(db), "judge", "--judge", "rules"),
                    *("--workers", str(count), "--json"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"curator judge failed (exit {done.returncode})")
        judged = json.loads(done.stdout)["judged"]
        if judged != records:  # a fast pass that skipped records proves nothing
            raise SystemExit(f"curator judge judged {judged:,} of {records:,} records")
        # CPU of the pass and its workers (user + sys): what an idle machine's cores would
        # have to supply, so the idle rate can be judged on a loaded machine.
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(
            f"  whole pass, {count} worker(s): {elapsed:7.2f} s  "
            f"{records / elapsed:8,.0f} records/s"
            + (f"  (target >= {PASS_TARGET:,}/s)" if count != 1 or workers == 1 else "")
            + f"\n    CPU {cpu:6.2f} s = {cpu / records * 1e3:.3f} ms a record "
            f"(at most {records / cpu * (os.cpu_count() or 1):,.0f} records/s "
            f"on {os.cpu_count()} idle cores)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pass", dest="whole", action="store_true", help="time a whole pass")
    parser.add_argument("--records", type=int, default=200_000, help="with --pass")
    parser.add_argument("--workers", type=int, default=None, help="with --pass (default: cores)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", choices=["incorrect", "passed", "uncertain"], default=None)
    parser.add_argument("--limit", type=int, default=15)
    parser.add_argument("--kind", default=None, help="with --show: only this corruption kind")
    args = parser.parse_args()
    if not DATA.exists():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            raise SystemExit(f"{DATA} missing")
        print(f"skipped: {DATA} not present")
        return
    if args.whole:
        whole_pass(args.records, args.workers)
        return
    shown = 0
    for name in ("tatqa_dataset_dev.json", "tatqa_dataset_test_gold.json"):
        cases = list(cases_from_tatqa(json.loads((DATA / name).read_text("utf-8"))))
        start = time.perf_counter()
        result = measure(cases, args.seed)
        elapsed = time.perf_counter() - start
        gold, bad = result["gold"], result["corrupt"]
        n_gold = sum(gold[v] for v in ("correct", "incorrect", "uncertain"))
        n_bad = sum(bad[v] for v in ("correct", "incorrect", "uncertain"))
        print(
            f"{name}: {n_gold} gold, {n_bad} corrupted, "
            f"{elapsed / (n_gold + n_bad) * 1e3:.2f} ms/record"
        )
        print(f"  gold called incorrect: {gold['incorrect'] / n_gold:6.2%}  (target <= 3%)")
        print(f"  gold called correct:   {gold['correct'] / n_gold:6.2%}")
        print(f"  gold left uncertain:   {gold['uncertain'] / n_gold:6.2%}")
        print(f"  corrupted passed as correct: {bad['correct'] / n_bad:6.2%}  (target <= 5%)")
        print(f"  corrupted called incorrect:  {bad['incorrect'] / n_bad:6.2%}")
        low = []
        for kind in KINDS:
            total = sum(bad[f"{kind}:{v}"] for v in ("correct", "incorrect", "uncertain"))
            if not total:
                continue
            caught = bad[f"{kind}:incorrect"] / total
            low += [kind] if caught < 0.5 else []
            print(
                f"    {kind:<26} n={total:<5} caught {caught:6.2%}  "
                f"passed {bad[f'{kind}:correct'] / total:6.2%}  "
                f"uncertain {bad[f'{kind}:uncertain'] / total:6.2%}"
            )
        print(f"  kinds caught less than half the time: {', '.join(low) or 'none'}")
        if args.show:
            rng = random.Random(args.seed)
            for case in cases:
                targets = (
                    [case]
                    if args.show in ("incorrect", "uncertain")
                    else all_corruptions(case, rng, by_context(cases)[case.context.table])
                )
                for c in targets:
                    if args.kind and c.corruption != args.kind:
                        continue
                    v = judge_case(c)
                    want = "correct" if args.show == "passed" else args.show
                    if v.verdict == want and shown < args.limit:
                        shown += 1
                        print(
                            f"--- {c.answer_type} {c.corruption} | {c.question} | {c.answer} | "
                            f"{c.derivation} | {c.scale}\n    {v.reason}"
                        )


if __name__ == "__main__":
    main()
