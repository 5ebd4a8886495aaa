"""A judge call that raises something other than a backend error must end the pass loudly.

Issue 10 follow-up: a pass exited 0 with records unjudged. The runner's tasks removed
themselves from its task set when they ended, and only tasks still running when the scheduling
loop finished were awaited, so a call that raised earlier was dropped with its record and the
pass "succeeded". The judge here raises for one record early in the pass, deterministically.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from curator.domain import NewVerdict, WorkItem
from curator.llm.passes import PassOptions, RulesJudge, run_pass
from curator.store import Store
from curator.store.importer import import_file
from tests.conftest import SAMPLE_DATA


class Broken(RuntimeError):
    pass


class RaisesOnce(RulesJudge):
    """The rules judge, except that its call for the third record raises."""

    def __init__(self) -> None:
        self.seen = 0
        self.raised_for = ""

    async def run(self, item: WorkItem) -> NewVerdict:
        self.seen += 1
        if self.seen == 3:
            self.raised_for = item.uid
            raise Broken("unexpected failure inside a judge call")
        await asyncio.sleep(0)
        return await super().run(item)


def test_a_call_that_raised_fails_the_pass_and_answered_calls_are_stored(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, SAMPLE_DATA / "sample_train.json", "train")
    judge = RaisesOnce()
    with pytest.raises(Broken):
        asyncio.run(run_pass(store, judge, PassOptions(concurrency=2, flush_seconds=0.01)))
    # It stopped scheduling soon after the failure instead of judging everything else.
    assert judge.seen < 10
    with store.connection() as con:
        stored = {r[0] for r in con.execute("SELECT record_uid FROM verdicts").fetchall()}
    assert judge.raised_for not in stored
    assert len(stored) == judge.seen - 1  # every answered call was stored before it ended
    # The next pass judges every record, the one whose call raised included.
    asyncio.run(run_pass(store, RulesJudge(), PassOptions()))
    with store.connection() as con:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT record_uid) FROM verdicts"
        ).fetchall()[0]
        records = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
    assert total == distinct == records
