"""A team on one store under load: reviewers typing fast, a judge pass and an import at once.

Every keypress (an acknowledged decision of a reviewer process) must become exactly one stored
decision on the intended record, ids never collide, nobody sees a lock error, and `check`
passes. The stress test repeats a judge pass over the real dev + test files while another
process burns CPU and another holds the store for a while: every pass must finish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.store import Store
from tests.builders import burn_cpu, hold_store_later
from tests.conftest import ROOT, SAMPLE_DATA

CURATOR = str(Path(sys.executable).with_name("curator"))
ENV = {**os.environ, "CURATOR_CONFIG": os.devnull, "PYTHONPATH": str(ROOT)}


def curator(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CURATOR, *map(str, args)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reviewer(db: Path, name: str, shard: str, count: int, pause: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.reviewer",
            str(db),
            name,
            "--shard",
            shard,
            "--count",
            str(count),
            "--pause",
            str(pause),
            "--seconds",
            "120",
        ],
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(name: str, proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"{name}: {err}"
    assert "lock" not in (out + err).lower(), f"{name}: {err}"
    return out


def test_three_reviewers_a_judge_pass_and_an_import_on_one_store(tmp_path: Path) -> None:
    db = tmp_path / "team.duckdb"
    assert curator("--db", db, "import", SAMPLE_DATA / "sample_train.json").wait(60) == 0
    names = ("ana", "bo", "cy")
    reviewers = {n: reviewer(db, n, f"{i + 1}/3", 15, 0.05) for i, n in enumerate(names)}
    judge = curator("--db", db, "judge", "--judge", "rules", "--rejudge")
    importer = curator("--db", db, "import", SAMPLE_DATA / "sample_dev.json")
    outputs = {n: finish(n, p) for n, p in reviewers.items()}
    finish("judge", judge)
    finish("import", importer)
    with Store(db).connection() as con:
        stored = con.execute(
            "SELECT event_id, event_uid, record_uid, action, reviewer FROM review_events"
        ).fetchall()
    by_uid = {row[1]: row for row in stored}
    assert len(by_uid) == len(stored) == len({row[0] for row in stored})  # no collisions
    for name, out in outputs.items():
        acks = [line.split()[1:] for line in out.splitlines() if line.startswith("ack ")]
        assert len(acks) == 15
        assert len({uid for _, uid, _ in acks}) == 15  # fifteen records, none twice
        mine = {(r[1], r[2], r[3]) for r in stored if r[4] == name}
        assert mine == {tuple(a) for a in acks}  # each keypress exactly one decision, as meant
    assert len(stored) == 45
    checked = subprocess.run(
        [CURATOR, "--db", str(db), "check"], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.shared
def test_judge_passes_over_the_real_files_finish_under_load(
    tmp_path: Path, tatqa_dir: Path
) -> None:
    db = tmp_path / "real.duckdb"
    files = [tatqa_dir / "tatqa_dataset_dev.json", tatqa_dir / "tatqa_dataset_test_gold.json"]
    assert finish("import", curator("--db", db, "import", *files)) is not None
    with Store(db).connection() as con:
        total = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
    for round_ in range(3):
        burner = burn_cpu(30)
        # Another process takes the store a little after the pass starts and keeps it 3 s.
        holder = hold_store_later(db, 0.5, 3)
        judge = curator("--db", db, "judge", "--judge", "rules", "--rejudge", "--json")
        out = finish(f"judge round {round_}", judge)
        holder.wait(timeout=60)
        burner.kill()
        burner.wait()
        report = json.loads(out.strip().splitlines()[-1])
        assert report["judged"] == total, report
        assert sum(report["verdicts"].values()) == total
