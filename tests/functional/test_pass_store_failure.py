"""A judge pass whose store stops taking results stops calling the model and loses nothing.

Another process takes the store file and holds it (as a reviewer's or a second pass's process
can): the pass's flush cannot commit. The model call count must stop growing while the store is
held (long before the pass runs out of work), and every answer that was paid for must end up
stored: once the store is free again (the pass resumes), or, when it stays held past the pass's
patience, in a spill file that the next pass stores before it calls the model again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.domain import NewVerdict, WorkItem
from curator.llm.backends import AnthropicBackend
from curator.llm.passes import LLMJudge, PassOptions, PassStoreError, RulesJudge, run_pass
from curator.store import Store
from curator.store.importer import import_file
from tests.builders import hold_store, release
from tests.conftest import SAMPLE_DATA
from tests.fakes.servers import Behaviour, FakeAnthropic


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    server = FakeAnthropic(Behaviour(latency=0.15))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "pass.duckdb"
    import_file(Store.open(path, create=True), SAMPLE_DATA / "sample_train.json", "train")
    return path


def calls(fake: FakeAnthropic) -> int:
    return sum(fake.requests.values())


def start_pass(
    db: Path, fake: FakeAnthropic, options: PassOptions
) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        judge = LLMJudge(AnthropicBackend("claude-sonnet-5-5", base_url=fake.url), price=None)
        store = Store(db, lock_timeout=2.0)
        try:
            outcome["result"] = asyncio.run(run_pass(store, judge, options))
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def stored(db: Path) -> tuple[int, int]:
    with Store(db).connection() as con:
        row = con.execute("SELECT count(*), count(DISTINCT record_uid) FROM verdicts").fetchall()
    return int(row[0][0]), int(row[0][1])


def wait_for_calls(fake: FakeAnthropic, n: int) -> None:
    deadline = time.monotonic() + 30
    while calls(fake) < n:
        assert time.monotonic() < deadline, "the pass never started calling"
        time.sleep(0.02)


def wait_for_calls_to_stop(fake: FakeAnthropic, quiet: float = 2.5) -> int:
    """The call count once it has not grown for `quiet` seconds (60 s only bound a hang)."""
    deadline = time.monotonic() + 60
    last, since = calls(fake), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the calls never stopped"
        time.sleep(0.05)
        if calls(fake) != last:
            last, since = calls(fake), time.monotonic()
    return last


def test_calls_stop_while_the_store_is_held_and_resume_after(db: Path, fake: FakeAnthropic) -> None:
    thread, outcome = start_pass(db, fake, PassOptions(concurrency=2, flush_seconds=0.2))
    wait_for_calls(fake, 10)
    # Held until released, not for a fixed time: the hold outlasts the wait however loaded the
    # machine is (a fixed 6 s raced the test's own sleeps).
    holder = hold_store(db)
    # The first flush after the hold stalls (within 0.2 + 0.5 s on an idle machine); from then
    # on nothing new is scheduled while nothing can be saved: 122 calls at 0.15 s, 2 at a time,
    # take ~9 s, so a pass that went on calling would only go quiet at 122.
    try:
        stopped_at = wait_for_calls_to_stop(fake)
        assert stopped_at < 120 and thread.is_alive()
    finally:
        release(holder)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome
    # Every answer stored, each record once: nothing paid for was thrown away.
    assert stored(db) == (calls(fake), 122) == (122, 122)


def test_a_pass_that_cannot_save_ends_with_an_error_and_keeps_every_answer(
    db: Path, fake: FakeAnthropic
) -> None:
    options = PassOptions(concurrency=2, flush_seconds=0.2, store_wait_seconds=2.0)
    thread, outcome = start_pass(db, fake, options)
    wait_for_calls(fake, 10)
    # Held until the pass has given up (not for a fixed 8 s, which a loaded machine's pass
    # could outlast and then store everything).
    holder = hold_store(db)
    try:
        thread.join(timeout=120)
    finally:
        release(holder)
    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, PassStoreError), outcome
    paid = calls(fake)
    assert error.kept > 0 and error.spilled is not None and error.spilled.exists()
    assert f"{error.kept:,} answers were not stored yet" in str(error)
    saved_before, _ = stored(db)
    assert saved_before + error.kept == paid
    # The next pass stores the spilled answers first, then judges only what is left.
    thread, outcome = start_pass(db, fake, PassOptions(concurrency=4))
    thread.join(timeout=120)
    assert "error" not in outcome, outcome
    assert stored(db) == (calls(fake), 122) == (122, 122)
    assert not error.spilled.exists()


class ImportingJudge(RulesJudge):
    """A rules judge that, during its first call, has another process's import land."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.imported = False

    async def run(self, item: WorkItem) -> NewVerdict:
        if not self.imported:
            self.imported = True
            await asyncio.to_thread(
                import_file, Store(self.db), SAMPLE_DATA / "sample_dev.json", "dev"
            )
        return await super().run(item)


async def test_a_pass_judges_only_the_records_there_when_it_started(db: Path) -> None:
    with Store(db).connection() as con:
        before = {r[0] for r in con.execute("SELECT uid FROM records").fetchall()}
    result = await run_pass(Store(db), ImportingJudge(db), PassOptions(concurrency=1, page_size=16))
    with Store(db).connection() as con:
        judged = {r[0] for r in con.execute("SELECT record_uid FROM verdicts").fetchall()}
        total = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
    assert total > len(before)  # the import landed during the pass
    assert judged == before and result.progress.done == len(before)
