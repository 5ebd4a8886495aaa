"""How the offline rules judge does on the real TAT-QA gold files and on corrupted copies.

Prints, per file and answer type: gold records called incorrect (target <= 3%), gold records
left uncertain, and corrupted records passed as correct (target <= 5%).

    python bench/rules_bench.py [--seed N] [--show incorrect|passed] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "tatqa"
sys.path.insert(0, str(ROOT))

from curator.judges.corruptions import (  # noqa: E402
    Case,
    cases_from_tatqa,
    corrupt,
    corrupt_scale,
    judge_case,
)


def run(case: Case) -> str:
    return judge_case(case).verdict


def measure(cases: list[Case], seed: int) -> dict[str, Counter[str]]:
    rng = random.Random(seed)
    out: dict[str, Counter[str]] = {"gold": Counter(), "corrupt": Counter()}
    for case in cases:
        out["gold"][run(case)] += 1
        for bad in (corrupt(case, rng), corrupt_scale(case, rng)):
            if bad is not None:
                verdict = run(bad)
                out["corrupt"][verdict] += 1
                out["corrupt"][f"{bad.corruption}:{verdict}"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", choices=["incorrect", "passed", "uncertain"], default=None)
    parser.add_argument("--limit", type=int, default=15)
    args = parser.parse_args()
    if not DATA.exists():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            raise SystemExit(f"{DATA} missing")
        print(f"skipped: {DATA} not present")
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
        kinds = sorted({k.split(":")[0] for k in bad if ":" in k})
        for kind in kinds:
            total = sum(bad[f"{kind}:{v}"] for v in ("correct", "incorrect", "uncertain"))
            print(
                f"    {kind:<26} n={total:<5} passed {bad[f'{kind}:correct'] / total:6.2%}  "
                f"caught {bad[f'{kind}:incorrect'] / total:6.2%}"
            )
        if args.show:
            rng = random.Random(args.seed)
            for case in cases:
                targets = (
                    [case]
                    if args.show in ("incorrect", "uncertain")
                    else [c for c in (corrupt(case, rng), corrupt_scale(case, rng)) if c]
                )
                for c in targets:
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
