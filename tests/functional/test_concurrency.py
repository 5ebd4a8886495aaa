"""Several processes on one store: a judge pass and two reviewers at once, and kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from curator.domain import RecordFilter
from curator.store import Store
from curator.store.records import count
from tests.conftest import ROOT, SAMPLE_DATA, CliResult
from tests.fakes.servers import Behaviour, FakeAnthropic

Run = Callable[..., CliResult]
CURATOR = str(Path(sys.executable).with_name("curator"))


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(Behaviour(latency=0.03))
    server.start()
    yield server
    server.stop()


def env_for(fake: FakeAnthropic) -> dict[str, str]:
    return {
        **os.environ,
        "ANTHROPIC_API_KEY": "test",
        "ANTHROPIC_BASE_URL": fake.url,
        "CURATOR_CONFIG": os.devnull,
        "PYTHONPATH": str(ROOT),
    }


def start_judge(db: Path, fake: FakeAnthropic) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CURATOR, "--db", str(db), "judge", "--judge", "anthropic", "--concurrency", "4"],
        env=env_for(fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_reviewer(
    db: Path, name: str, shard: str, fake: FakeAnthropic, *extra: str, seconds: float = 6.0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.reviewer",
            str(db),
            name,
            "--shard",
            shard,
            "--seconds",
            str(seconds),
            *extra,
        ],
        env=env_for(fake),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def acks(output: str) -> list[tuple[str, str, str]]:
    out = []
    for line in output.splitlines():
        if line.startswith("ack "):
            _, event_uid, uid, action = line.split()
            out.append((event_uid, uid, action))
    return out


@pytest.fixture
def db(tmp_path: Path, run_cli: Run) -> Path:
    path = tmp_path / "shared.duckdb"
    assert run_cli("--db", path, "import", SAMPLE_DATA / "sample_train.json").code == 0
    return path


def test_a_judge_pass_and_two_reviewers_at_once(db: Path, fake: FakeAnthropic) -> None:
    with Store(db).connection() as con:
        shared = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchall()[0][0]
    judge = start_judge(db, fake)
    bo = start_reviewer(db, "bo", "1/2", fake, "--also", shared, "--also-action", "accept")
    cy = start_reviewer(db, "cy", "2/2", fake, "--also", shared, "--also-action", "reject")
    outputs = {}
    for name, proc in (("judge", judge), ("bo", bo), ("cy", cy)):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name}: {err}"
        assert "lock" not in err.lower(), err
        outputs[name] = out
    store = Store(db)
    with store.connection() as con:
        stored = {
            (e, u, a)
            for e, u, a in con.execute(
                "SELECT event_uid, record_uid, action FROM review_events"
            ).fetchall()
        }
        verdicts = con.execute(
            "SELECT count(*), count(DISTINCT record_uid) FROM verdicts WHERE judge = 'anthropic'"
        ).fetchall()[0]
    acknowledged = set(acks(outputs["bo"])) | set(acks(outputs["cy"]))
    assert len(acknowledged) > 20
    assert acknowledged <= stored  # every acknowledged decision is there
    assert verdicts == (122, 122), outputs["judge"]  # every record judged exactly once
    # Both reviewers decided the shared record differently: both kept, flagged as a conflict.
    assert {(u, a) for _, u, a in stored if u == shared} == {(shared, "accept"), (shared, "reject")}
    assert count(store, RecordFilter(conflicts=True)) == 1


@pytest.mark.parametrize("round_", range(3))
def test_kill_9_at_a_random_moment_loses_nothing_acknowledged(
    db: Path, fake: FakeAnthropic, run_cli: Run, round_: int
) -> None:
    rng = random.Random(round_)
    judge = start_judge(db, fake)
    reviewer = start_reviewer(db, "bo", "1/1", fake, seconds=30)
    time.sleep(rng.uniform(0.8, 2.5))
    for proc in (judge, reviewer):
        os.kill(proc.pid, signal.SIGKILL)
    reviewer_out, _ = reviewer.communicate(timeout=60)  # killed: only bounds a hang
    judge.communicate(timeout=60)
    # The store opens (a WAL left behind is replayed), is whole, and has every acknowledgement.
    checked = run_cli("--db", db, "check")
    assert checked.code == 0, checked.out + checked.err
    with Store(db).connection() as con:
        stored = {r[0] for r in con.execute("SELECT event_uid FROM review_events").fetchall()}
    assert {e for e, _, _ in acks(reviewer_out)} <= stored
    # A new pass finishes the work without judging anything twice.
    done = subprocess.run(
        [CURATOR, "--db", str(db), "judge", "--judge", "anthropic"],
        env=env_for(fake),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with Store(db).connection() as con:
        per_record = con.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM verdicts GROUP BY record_uid)"
        ).fetchall()[0][0]
        total = con.execute("SELECT count(DISTINCT record_uid) FROM verdicts").fetchall()[0][0]
    assert total == 122 and per_record == 1


def test_an_idle_review_session_does_not_hold_the_store(db: Path) -> None:
    tui = Store(db)
    tui.open_session(idle_release=0.2)
    with tui.connection() as con:
        con.execute("SELECT count(*) FROM records").fetchall()
    # Another process opens the store while the session is open (and idle): it gets the file
    # once the session lets it go. Its patience only bounds a session that never does (a 1 s
    # patience after a fixed 0.5 s sleep raced the session's release on a loaded machine).
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from curator.store import Store\n"
            "with Store(sys.argv[1], lock_timeout=30.0).connection() as con:\n"
            "    print(con.execute('SELECT count(*) FROM records').fetchall()[0][0])",
            str(db),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    tui.close()
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "122"


def test_check_reports_orphans(db: Path, run_cli: Run) -> None:
    assert run_cli("--db", db, "check").code == 0
    with Store(db).transaction() as con:
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at) VALUES (999, 'e999', 'ghost', 'accept', 'x', now()::TIMESTAMP)"
        )
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at, undoes) VALUES (1000, 'e1000', 'ghost', 'undo', 'x', now()::TIMESTAMP, "
            "12345)"
        )
    result = run_cli("--db", db, "check", "--json")
    assert result.code == 1
    report = result.json_lines()[0]
    assert report["ok"] is False
    assert report["checks"]["review events for unknown records"] == 2
    assert report["checks"]["undo events naming no event"] == 1


async def test_the_tui_notices_another_reviewers_decision(db: Path) -> None:
    from curator.screens.app import CuratorApp
    from curator.store.reviews import decide
    from tests.functional.test_review_tui import current_uid, rendered, settle

    app = CuratorApp(Store(db), reviewer="ana")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.poll_changes()  # the first look records where the store is
        await settle(app, pilot)
        uid = current_uid(app)
        decide(Store(db), uid, "reject", "bo", reason="from another terminal")
        app.poll_changes()  # what the 3-second timer does
        await settle(app, pilot)
        assert "bo rejected: from another terminal" in rendered(app, "#record-history")
        assert app.queue.current is not None and app.queue.current.status == "rejected"


async def test_another_reviewers_decision_says_both_are_kept_only_when_both_decided(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curator.screens.app import CuratorApp
    from curator.store.journal import journal_for
    from curator.store.reviews import decide
    from tests.functional.test_bulk_tui import notes_of
    from tests.functional.test_review_tui import current_uid, settle

    app = CuratorApp(Store(db), reviewer="ana")
    async with app.run_test(size=(120, 36)) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        app.poll_changes()  # the first look records where the store is
        await settle(app, pilot)
        uid = current_uid(app)
        decide(Store(db), uid, "reject", "bo", reason="from another terminal")
        app.poll_changes()
        await settle(app, pilot)
        # ana has not decided it: there is only bo's decision.
        assert notes[-1] == "bo rejected this record meanwhile."
        await pilot.press("a", "p")  # ana accepts it too, and goes back to it
        await settle(app, pilot)
        journal_for(app.store).wait_stored(10)
        assert current_uid(app) == uid
        app.poll_changes()  # ana's own accept: no notice
        await settle(app, pilot)
        decide(Store(db), uid, "reject", "bo", reason="still wrong")
        app.poll_changes()
        await settle(app, pilot)
        assert notes[-1] == "bo rejected this record meanwhile; both decisions are kept."


async def test_records_imported_by_another_process_reach_the_counts(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import by another process while a session is open: the total stayed at the old count
    ("12 / 122") until the reviewer's next decision; the session notices it, says so and counts
    the new records."""
    from curator.screens.app import CuratorApp
    from curator.store.importer import import_file
    from tests.functional.test_bulk_tui import notes_of
    from tests.functional.test_review_tui import review_screen, settle

    app = CuratorApp(Store(db), reviewer="ana")
    async with app.run_test(size=(120, 36)) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        app.poll_changes()  # the first look records where the store is
        await settle(app, pilot)
        counts = review_screen(app).counts
        assert counts is not None and counts.total_in_view == 122
        import_file(Store(db), SAMPLE_DATA / "sample_dev.json", "dev")
        app.poll_changes()
        await settle(app, pilot)
        assert notes[-1] == (
            "New records were imported into this store meanwhile: the counts include them."
        )
        counts = review_screen(app).counts
        assert counts is not None and counts.total_in_view == 152
        assert counts.progress.total == 152
        app.poll_changes()  # nothing new: no second notice
        await settle(app, pilot)
        assert notes.count(notes[-1]) == 1
