"""kill -9 between every file operation of export and import: old state or new, never a mix.

Each run is a subprocess that `CURATOR_FAULT_AT=KIND:k` makes SIGKILL itself at its k-th step
(see curator.faults); k walks over every step the operation has. The runs that are not killed
(the old state put back, `validate`, `check`, `stats`, the run after the kill) run the same entry
point in this process (`curator_here`): only the killed runs need a process of their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DATA
from tests.functional.faults import (
    curated_store,
    curator,
    curator_here,
    litter,
    small_filesystem,
    snapshot,
    steps,
)

KILLED = -signal.SIGKILL


@pytest.fixture(scope="module")
def exports(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A curated store and the complete exports with --seed 1 (old) and --seed 2 (new)."""
    tmp = tmp_path_factory.mktemp("exports")
    db = curated_store(tmp / "store.duckdb")
    refs = []
    for seed in ("1", "2"):
        out = tmp / f"ref{seed}"
        result = curator_here(
            "--db", db, "export", out, "--validation-fraction", "0.3", "--seed", seed
        )
        assert result.returncode == 0, result.stderr
        ref = snapshot(out)
        assert ref is not None
        refs.append(ref)
    assert refs[0]["train.jsonl"] != refs[1]["train.jsonl"]  # the seeds give different exports
    return db, refs[0], refs[1]


def _kill_export_at_every_step(
    db: Path,
    dest: Path,
    old: dict[str, bytes] | None,
    new: dict[str, bytes],
    tmp: Path,
    keep: str | None = None,
) -> set[str]:
    """Kill an export at each of its steps; return which states the destination was found in.

    `keep` names a file of the user's in the destination that every run must leave alone.
    """
    if keep is not None:
        old = {**(old or {}), keep: b"mine\n"}
        new = {**new, keep: b"mine\n"}

    def reset() -> None:
        if old is None:
            _remove(dest)
        else:
            if keep is not None:
                dest.mkdir(exist_ok=True)
                (dest / keep).write_bytes(b"mine\n")
            result = curator_here(
                "--db", db, "export", dest, "--validation-fraction", "0.3", "--seed", "1"
            )
            assert result.returncode == 0, result.stderr

    reset()
    total = steps(
        "export", "--db", db, "export", dest, "--validation-fraction", "0.3", "--seed", "2", tmp=tmp
    )
    assert total >= 5
    seen = set()
    for k in range(1, total + 1):
        reset()
        killed = curator(
            "--db",
            db,
            "export",
            dest,
            "--validation-fraction",
            "0.3",
            "--seed",
            "2",
            env={"CURATOR_FAULT_AT": f"export:{k}"},
        )
        assert killed.returncode == KILLED, (k, killed.stderr)
        state = snapshot(dest)
        valid = curator_here("validate", dest) if state is not None else None
        if state in (old, new):
            seen.add("new" if state == new else "old")
            if state is not None:
                assert valid is not None and valid.returncode == 0, (k, valid and valid.stdout)
        else:
            # Only possible inside a mount point (files renamed one by one): validate refuses.
            assert valid is not None and valid.returncode != 0, (k, sorted(state or {}))
            seen.add("mixed")
        # The next run completes and leaves nothing behind, including the killed run's staging.
        again = curator_here(
            "--db", db, "export", dest, "--validation-fraction", "0.3", "--seed", "2"
        )
        assert again.returncode == 0, again.stderr
        assert snapshot(dest) == new, k
        assert litter(dest.parent, dest) == [], (k, litter(dest.parent, dest))
    return seen


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def test_export_killed_at_every_step_over_an_old_export(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    db, old, new = exports
    seen = _kill_export_at_every_step(db, tmp_path / "out", old, new, tmp_path)
    assert seen == {"old", "new"}


def test_export_killed_at_every_step_into_a_new_folder(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    db, _old, new = exports
    seen = _kill_export_at_every_step(db, tmp_path / "fresh" / "out", None, new, tmp_path)
    assert "new" in seen


def test_export_into_a_folder_with_other_files_keeps_them_at_every_step(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    """The folder cannot be swapped whole (the user's file would go): files move one by one."""
    db, old, new = exports
    seen = _kill_export_at_every_step(db, tmp_path / "out", old, new, tmp_path, keep="notes.txt")
    assert {"old", "new"} <= seen


def test_export_into_the_working_directory_keeps_it(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    db, _old, new = exports
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "curator",
            "--db",
            str(db),
            "export",
            ".",
            "--validation-fraction",
            "0.3",
            "--seed",
            "2",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "CURATOR_CONFIG": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    assert snapshot(work) == new
    assert work.is_dir() and litter(work, tmp_path) == []


def test_export_into_a_mount_point_killed_at_every_step(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    db, old, new = exports
    with small_filesystem(tmp_path / "mnt", "16m") as mount:
        seen = _kill_export_at_every_step(db, mount, old, new, tmp_path)
    assert {"old", "new"} <= seen


def test_export_into_a_mount_point_on_another_filesystem(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    """The reported failure: `Invalid cross-device link`, leaving a manifest without files."""
    db, old, new = exports
    with small_filesystem(tmp_path / "mnt", "16m") as mount:
        for seed, expected in (("1", old), ("2", new)):
            result = curator_here(
                "--db", db, "export", mount, "--validation-fraction", "0.3", "--seed", seed
            )
            assert result.returncode == 0, result.stderr
            assert snapshot(mount) == expected
            assert litter(mount, mount.parent) == []
        assert curator_here("validate", mount).returncode == 0


def test_stale_staging_folders_of_dead_processes_are_removed(
    exports: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    db, _old, new = exports
    dead = tmp_path / ".curator-export-999999999-abcd"
    dead.mkdir()
    (dead / "train.jsonl").write_text("half\n")
    alive = tmp_path / ".curator-export-1-live"  # pid 1 is alive: another export at work
    alive.mkdir()
    result = curator_here(
        "--db", db, "export", tmp_path / "out", "--validation-fraction", "0.3", "--seed", "2"
    )
    assert result.returncode == 0, result.stderr
    assert not dead.exists() and alive.exists()
    assert snapshot(tmp_path / "out") == new


def _counts(db: Path) -> int:
    result = curator_here("--db", db, "stats", "--json")
    assert result.returncode == 0, result.stderr
    import json

    return int(json.loads(result.stdout)["records"])


def test_import_killed_at_every_step(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    first = curator_here("--db", db, "import", SAMPLE_DATA / "sample_dev.json")
    assert first.returncode == 0, first.stderr
    before = _counts(db)
    args = (
        "--db",
        db,
        "import",
        SAMPLE_DATA / "sample_train.json",
        SAMPLE_DATA / "sample_dev.json",
    )
    probe = tmp_path / "probe.duckdb"
    assert curator_here("--db", probe, "import", SAMPLE_DATA / "sample_dev.json").returncode == 0
    total = steps("import", "--db", probe, *args[2:], tmp=tmp_path)
    after = _counts(probe)
    assert after > before and total >= 6
    seen = set()
    for k in range(1, total + 1):
        killed = curator(*args, env={"CURATOR_FAULT_AT": f"import:{k}"})
        assert killed.returncode == KILLED, (k, killed.stderr)
        check = curator_here("--db", db, "check")
        assert check.returncode == 0, (k, check.stdout, check.stderr)
        n = _counts(db)
        assert n in (before, after), (k, n)
        seen.add(n)
        if n == after:  # committed before the kill: start the next round from the old state
            db.unlink()
            db.with_name(db.name + ".wal").unlink(missing_ok=True)
            assert (
                curator_here("--db", db, "import", SAMPLE_DATA / "sample_dev.json").returncode == 0
            )
        assert litter(tmp_path) == [], (k, litter(tmp_path))
    assert seen == {before, after}


def test_import_from_a_pipe_leaves_no_copy_even_after_a_kill(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    data = (SAMPLE_DATA / "sample_dev.json").read_bytes()
    killed = curator(
        "--db",
        db,
        "import",
        "/dev/stdin",
        "--split",
        "dev",
        stdin=data,
        env={"CURATOR_FAULT_AT": "import:2"},
    )
    assert killed.returncode == KILLED
    assert [p.name for p in tmp_path.glob(".curator-import-*")]  # the killed run's copy
    result = curator("--db", db, "import", "-", "--split", "dev", stdin=data)
    assert result.returncode == 0, result.stderr
    assert "30 questions" in result.stdout and "-" in result.stdout
    assert litter(tmp_path) == []
    assert _counts(db) == 30


def test_spill_files_of_a_killed_import_are_removed(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    assert curator("--db", db, "import", SAMPLE_DATA / "sample_dev.json").returncode == 0
    spill = tmp_path / "store.duckdb.tmp"
    spill.mkdir()
    for name in ("duckdb_temp_999999999_0_owner", "duckdb_temp_999999999_0_storage_DEFAULT-0.tmp"):
        (spill / name).write_bytes(b"x" * 1000)
    # A reading command must not touch them (another reader may be using the folder)...
    assert curator("--db", db, "stats").returncode == 0
    assert spill.exists()
    # ...the next writer, which holds the file exclusively, removes them.
    assert curator("--db", db, "import", SAMPLE_DATA / "sample_dev.json").returncode == 0
    assert not spill.exists()
