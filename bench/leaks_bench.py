"""`curator leaks` on a synthetic store of N questions (default 1,000,000): time and peak memory.

The store is written directly with SQL (the import has its own benchmark): N/6 contexts, each a
table of 9 line items over three years with figures drawn from a hash of (context, row, column),
two short paragraphs and six questions. Every 100th context is a planted near-duplicate of the
one before it: the same figures under another uid, rows in another order, an extra year column
and no currency signs; its questions repeat the original's. 10% of contexts are in split
`test`, 10% in `dev`, the rest in `train`.

Then, each in its own process, `curator leaks --json` runs twice: cold (every context
fingerprinted first) and warm (fingerprints stored). Prints wall time and peak resident memory
against the targets (<= 60 s, <= 2 GB) and how many planted pairs were found.

    python bench/leaks_bench.py [--questions N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.child import in_child, timed  # noqa: E402

LABELS = [
    "Revenue", "Cost of sales", "Gross profit", "Selling expenses", "Administrative expenses",
    "Research and development", "Operating income", "Interest expense", "Other income",
    "Income before taxes", "Income tax expense", "Net income", "Depreciation", "Amortization",
    "Capital expenditure", "Inventories", "Trade receivables", "Trade payables", "Cash",
    "Long-term debt", "Deferred revenue", "Goodwill", "Lease liabilities", "Provisions",
]  # fmt: skip

ROWS = 9
QUESTIONS = 6


def build_store(path: Path, questions: int) -> tuple[int, int]:
    """Write the synthetic store; return (contexts, planted near-duplicate pairs)."""
    from curator.store import Store
    from curator.store.shards import md5_halves_sql

    contexts = questions // QUESTIONS
    store = Store.open(path, create=True)
    labels = "[" + ", ".join("'" + label + "'" for label in LABELS) + "]"

    def amount(year: int) -> str:
        return f"CAST(1000 + hash(g.src, r.r, {year}) % 9000000 AS BIGINT)"

    def figure(year: int, currency: str) -> str:
        """A cell as a filing writes it: separators, a third negative in brackets."""
        text = "format('{:,}', " + amount(year) + ")"
        return (
            f"CASE WHEN hash(g.src, r.r, {year}) % 3 = 0 THEN '(' || {text} || ')' "
            f"ELSE '{currency}' || {text} END"
        )

    with store.transaction() as con:
        con.execute("SET memory_limit = '1536MB'")
        con.execute(
            f"""
            CREATE TEMP TABLE g AS
            SELECT i, 'ctx-' || i AS uid,
                   CASE WHEN i % 100 = 99 THEN i - 1 ELSE i END AS src,
                   i % 100 = 99 AS copy,
                   CASE i % 10 WHEN 0 THEN 'test' WHEN 1 THEN 'dev' ELSE 'train' END AS split
            FROM range({contexts}) t(i)
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE cells AS
            SELECT g.i, g.uid, g.split, g.copy, r.r,
                   {labels}[1 + CAST(hash(g.src, r.r) % {len(LABELS)} AS INTEGER)] || ' ' || r.r
                       AS label,
                   [{figure(2019, "$")}, {figure(2018, "")}, {figure(2017, "")}] AS orig_row,
                   [{figure(2019, "")}, {figure(2018, "")}, {figure(2017, "")},
                    {figure(2016, "")}] AS copy_row,
                   format('{{:,}}', {amount(2019)}) AS answer
            FROM g, range({ROWS}) r(r)
            """
        )
        con.execute(
            """
            CREATE TEMP TABLE tables AS
            SELECT uid, any_value(split) AS split, any_value(copy) AS copy,
                   list([label] || CASE WHEN copy THEN copy_row ELSE orig_row END
                        ORDER BY CASE WHEN copy THEN -r ELSE r END) AS body
            FROM cells GROUP BY uid
            """
        )
        con.execute(
            """
            INSERT INTO contexts
            SELECT uid, split, 'synthetic',
                   [CASE WHEN copy THEN ['(in thousands)', '2019', '2018', '2017', '2016']
                         ELSE ['', '2019', '2018', '2017'] END] || body,
                   [{'uid': uid || '-p1', 'order': 1,
                     'text': 'The company reports its results by line item for the year.'},
                    {'uid': uid || '-p2', 'order': 2,
                     'text': 'Figures are audited and presented in thousands of dollars.'}],
                   1, 1
            FROM tables
            """
        )
        # seq from 1, as an import numbers records: a pass selects records after seq 0.
        con.execute(
            f"""
            INSERT INTO records
            SELECT g.i * 10 + q.q + 1, g.uid || '-q' || q.q, g.uid, g.split, q.q + 1,
                   'What was ' || c.label || ' in 2019 (item ' || q.q || ')?',
                   to_json([c.answer]), 'span', 'table', '', 'thousand',
                   [], false, md5(g.uid || q.q), 1, 1, {md5_halves_sql("g.uid || '-q' || q.q")}
            FROM g, range({QUESTIONS}) q(q)
            JOIN cells c ON c.i = g.i AND c.r = q.q
            """
        )
        con.execute(
            "INSERT INTO imports VALUES (1, 'synthetic', '', 0, 'train', now()::TIMESTAMP, "
            f"{contexts}, {contexts * QUESTIONS}, {contexts * QUESTIONS}, 0, 0)"
        )
        planted = con.execute("SELECT count(*) FROM g WHERE copy").fetchall()[0][0]
    return contexts, int(planted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="build the store in DIR, keep it")
    args = parser.parse_args()
    curator = str(Path(sys.executable).with_name("curator"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "leaks_bench.duckdb"
        if db.exists():
            db.unlink()
        t0 = time.perf_counter()
        # Built in a child, so that the peaks below are the command's own (bench/child.py).
        in_child(build_store, db, args.questions)
        contexts = args.questions // QUESTIONS
        planted = len(range(99, contexts, 100))  # every 100th context copies the one before
        print(
            f"store: {args.questions:,} questions, {contexts:,} contexts, {planted:,} planted "
            f"near-duplicates, built in {time.perf_counter() - t0:.1f}s"
        )
        out = folder / "leaks.jsonl"
        cold_s, cold_mb = timed([curator, "--db", str(db), "leaks", "--json"], out)
        warm_s, warm_mb = timed([curator, "--db", str(db), "leaks", "--json"], out)
        lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    found = {(d["a"], d["b"]) for d in lines if d["kind"] == "context"}
    hits = sum(
        1
        for i in range(99, contexts, 100)
        if (f"ctx-{i - 1}", f"ctx-{i}") in found or (f"ctx-{i}", f"ctx-{i - 1}") in found
    )
    questions = sum(1 for d in lines if d["kind"] == "question")
    print(f"curator leaks (cold: fingerprints computed): {cold_s:6.1f} s   peak {cold_mb:6.0f} MB")
    print(f"curator leaks (warm: fingerprints stored):   {warm_s:6.1f} s   peak {warm_mb:6.0f} MB")
    print(
        f"found {len(found):,} context pairs ({hits:,}/{planted:,} planted), "
        f"{questions:,} repeated questions"
    )
    print(f"time: {max(cold_s, warm_s) / 60:.2f} of the 60 s target")
    print(f"peak memory: {max(cold_mb, warm_mb) / 1024:.2f} GB (target <= 2 GB)")


if __name__ == "__main__":
    main()
