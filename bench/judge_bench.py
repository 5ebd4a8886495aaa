"""Judge pass throughput against the loopback Anthropic fake with real latency.

2,000 records (from ../shared/data/tatqa dev, replicated with fresh uids when needed), the fake
answering after 200 ms, concurrency 32: the ceiling is 32 / 0.2 s = 160 records/s. The pass runs
twice: alone, and while another process runs a CPU-bound loop (the judge client must keep up
while, say, the rules judge or an export runs). Prints each throughput as a fraction of that
ceiling (target >= 0.9 for both) and the client's CPU time per record.

    python bench/judge_bench.py [--records N] [--latency S] [--concurrency C] [--no-burner]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "data" / "tatqa" / "tatqa_dataset_dev.json"
sys.path.insert(0, str(ROOT))

from curator.llm.backends import AnthropicBackend  # noqa: E402
from curator.llm.passes import LLMJudge, PassOptions, run_pass  # noqa: E402
from curator.llm.prices import price_for  # noqa: E402
from curator.store import Store  # noqa: E402
from curator.store.importer import import_file  # noqa: E402


def build(path: Path, records: int) -> None:
    source = json.loads(DEV.read_text("utf-8"))
    out, n = [], 0
    while n < records:
        for ctx in source:
            qs = [dict(q, uid=str(uuid.uuid4())) for q in ctx["questions"]][: records - n]
            out.append(
                {**ctx, "table": {**ctx["table"], "uid": str(uuid.uuid4())}, "questions": qs}
            )
            n += len(qs)
            if n >= records:
                break
    path.write_text(json.dumps(out), "utf-8")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_fake(*options: str) -> tuple[subprocess.Popen[str], str]:
    """The loopback Anthropic fake in its own process (kill it when done) and its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.servers", "anthropic", *options],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def one_pass(url: str, records: int, concurrency: int) -> tuple[int, float, float, dict[str, int]]:
    """(records judged, wall seconds, client CPU seconds, verdict counts) of one fresh pass."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bench.json"
        build(data, records)
        store = Store.open(Path(tmp) / "bench.duckdb", create=True)
        import_file(store, data, "bench")
        backend = AnthropicBackend("claude-sonnet-5-5", api_key="bench", base_url=url)
        judge = LLMJudge(backend, price=price_for("claude-sonnet-5-5"))
        cpu0, t0 = cpu(), time.perf_counter()
        result = asyncio.run(run_pass(store, judge, PassOptions(concurrency=concurrency)))
        elapsed, used = time.perf_counter() - t0, cpu() - cpu0
    return result.progress.done, elapsed, used, dict(result.progress.outcomes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-burner", action="store_true", help="skip the run under CPU load")
    args = parser.parse_args()
    if not DEV.exists():
        if os.environ.get("CURATOR_REQUIRE_SHARED") == "1":
            raise SystemExit(f"{DEV} missing")
        print(f"skipped: {DEV} not present")
        return
    # The fake runs in its own process so this process's CPU time is the client's alone.
    server, url = start_fake("--latency", str(args.latency))
    ceiling = args.concurrency / args.latency
    runs = [("alone", False)] + ([] if args.no_burner else [("beside a CPU burner", True)])
    try:
        for label, burn in runs:
            burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if burn else None
            try:
                done, elapsed, used, outcomes = one_pass(url, args.records, args.concurrency)
            finally:
                if burner is not None:
                    burner.kill()
                    burner.wait()
            rate = done / elapsed
            print(
                f"{label}: {done} records in {elapsed:.2f}s at concurrency {args.concurrency}, "
                f"latency {args.latency * 1000:.0f} ms; verdicts {outcomes}"
            )
            print(
                f"  throughput: {rate:.1f} records/s = {rate / ceiling:.2f} of the "
                f"{ceiling:.0f}/s ceiling (target >= 0.9); "
                f"CPU per record (client only): {used / max(1, done) * 1000:.2f} ms"
            )
    finally:
        server.kill()


if __name__ == "__main__":
    main()
