"""`--db` is one option: honoured before or after the name of every command that opens a store.

Each command runs from an empty working folder with no $CURATOR_DB, so a command that ignored
`--db` would open (or create) ./curator.duckdb or ./curator-demo.duckdb instead and fail or
leave that file behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from curator.cli import cli, main
from tests.builders import export_args
from tests.conftest import SAMPLE_DATA, CliResult

Run = Callable[..., CliResult]

# Commands that never open a store (they work on files, or on Bedrock): no --db.
STORE_FREE = {"validate", "finetune start", "finetune status"}
STORE_COMMANDS = [
    "import",
    "stats",
    "list",
    "judge",
    "review",
    "serve",
    "export",
    "predict",
    "eval",
    "check",
    "demo",
    "calibrate",
    "leaks",
    "note",
    "decide accept",
    "decide reject",
    "decide undo",
]
DEFAULT_STORES = ("curator.duckdb", "curator-demo.duckdb")


def _leaf_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def _takes_db(command: click.Command) -> bool:
    return any("--db" in param.opts for param in command.params)


def test_every_store_command_takes_db_and_is_exercised_below() -> None:
    commands = dict(_leaf_commands(cli))
    assert _takes_db(cli)
    with_db = {name for name, command in commands.items() if _takes_db(command)}
    assert with_db == set(commands) - STORE_FREE
    assert with_db == set(STORE_COMMANDS)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo store (sample data, judged by the rules judge) with a prediction run "base"."""
    folder = tmp_path_factory.mktemp("db-option")
    db = folder / "sample.duckdb"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["--db", str(db), "demo", "--no-tui"])
        main(["--db", str(db), "list", "--json", "--limit", "1"])
    uid = json.loads(out.getvalue().splitlines()[-1])["uid"]
    answers = folder / "answers.json"
    answers.write_text(json.dumps({uid: "42"}), encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        main(["--db", str(db), "predict", "--import", str(answers), "--name", "base"])
    return db, uid


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, no $CURATOR_DB, no user config."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("CURATOR_DB", raising=False)
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    return folder


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_db_is_honoured_before_or_after_the_command(
    command: str,
    position: str,
    run_cli: Run,
    sample_store: tuple[Path, str],
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, uid = sample_store
    db = tmp_path / "given.duckdb"
    if command not in ("import", "demo"):
        shutil.copyfile(source, db)  # those two must create the store at --db themselves
    tui_opened: list[Path] = []

    def fake_tui(store: Any, *_args: Any, **_kwargs: Any) -> None:
        tui_opened.append(Path(store.path))

    monkeypatch.setattr("curator.cli.review_cmds.run_tui", fake_tui)

    def fake_serve(options: Any, *_args: Any, **_kwargs: Any) -> None:
        tui_opened.append(Path(options.db))

    monkeypatch.setattr("curator.serve.run", fake_serve)
    answers = tmp_path / "more.json"
    answers.write_text(json.dumps({uid: "7"}), encoding="utf-8")
    args: dict[str, list[str | Path]] = {
        "import": ["import", SAMPLE_DATA / "sample_dev.json", "--json"],
        "stats": ["stats", "--json"],
        "list": ["list", "--json", "--limit", "1"],
        "judge": ["judge", "--json"],
        "review": ["review", "--reviewer", "ana"],
        "serve": ["serve", "--port", "0"],
        "export": export_args(tmp_path / "out"),
        "predict": ["predict", "--import", answers, "--name", "other", "--json"],
        "eval": ["eval", "base", "--json"],
        "check": ["check", "--json"],
        "demo": ["demo", "--no-tui"],
        "leaks": ["leaks", "--json"],
        "calibrate": ["calibrate", "--judge", "rules", "--assume-gold", "dev", "--json"],
        "note": ["note", uid, "checked", "--json"],
        "decide accept": ["decide", "accept", "--verdict", "correct", "--judge", "rules", "--yes"],
        "decide reject": [
            "decide",
            "reject",
            "--verdict",
            "incorrect",
            "--judge",
            "rules",
            "--dry-run",
        ],
    }
    if command == "decide undo":
        bulk = ["decide", "accept", "--verdict", "correct", "--judge", "rules", "--yes", "--json"]
        batch = run_cli("--db", db, *bulk).json_lines()[0]["batch"]
        args[command] = ["decide", "undo", "--batch", batch]
    argv = args[command]
    full = ["--db", db, *argv] if position == "before" else [*argv, "--db", db]
    result = run_cli(*full)

    assert result.code == 0, result.err
    assert db.is_file()
    assert [name for name in DEFAULT_STORES if (workdir / name).exists()] == []
    if command in ("import", "stats", "check"):
        assert json.loads(result.out.splitlines()[-1])["db"] == str(db)
    if command == "list":
        assert [row["uid"] for row in result.json_lines()] == [uid]
    if command in ("review", "serve"):
        assert tui_opened == [db]
    if command == "note":
        assert json.loads(result.out)["uid"] == uid
    if command == "export":
        assert (tmp_path / "out" / "train.jsonl").is_file()
    if command == "demo":
        assert f"curator --db {db} review" in result.out


def test_the_later_db_wins_and_a_missing_one_is_named(
    run_cli: Run, sample_store: tuple[Path, str], workdir: Path, tmp_path: Path
) -> None:
    source, _uid = sample_store
    missing = tmp_path / "missing.duckdb"
    result = run_cli("--db", source, "stats", "--json", "--db", missing)
    assert result.code == 3 and str(missing) in result.err
    assert not missing.exists()
    result = run_cli("--db", missing, "stats", "--json", "--db", source)
    assert result.code == 0 and json.loads(result.out)["db"] == str(source)


def test_demo_without_db_uses_its_own_store(run_cli: Run, workdir: Path) -> None:
    result = run_cli("demo", "--no-tui")
    assert result.code == 0, result.err
    assert (workdir / "curator-demo.duckdb").is_file()
    assert not (workdir / "curator.duckdb").exists()


def test_demo_help_names_its_own_store_and_ignores_curator_db(
    run_cli: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's --db help said "default: $CURATOR_DB, else ./curator.duckdb", as every other
    command's; the demo uses ./curator-demo.duckdb whatever $CURATOR_DB says (a demo never
    writes into the team's store), and its help says so."""
    shown = run_cli("demo", "--help")
    assert "./curator-demo.duckdb; $CURATOR_DB is not used" in " ".join(shown.out.split())
    assert "else ./curator.duckdb" not in " ".join(shown.out.split())
    monkeypatch.setenv("CURATOR_DB", str(workdir / "team.duckdb"))
    assert run_cli("demo", "--no-tui").code == 0
    assert (workdir / "curator-demo.duckdb").is_file() and not (workdir / "team.duckdb").exists()


def test_a_tilde_in_db_is_the_home_folder_as_in_curator_db(
    run_cli: Run, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--db=~/s.duckdb` (no shell expands a ~ after `=`) made a folder named `~` in the
    working folder; CURATOR_DB and `[store] db` already meant the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    result = run_cli("--db=~/s.duckdb", "import", SAMPLE_DATA / "sample_dev.json")
    assert result.code == 0, result.err
    assert (home / "s.duckdb").is_file() and not (workdir / "~").exists()
    stats = run_cli("stats", "--json", "--db", "~/s.duckdb")
    assert stats.code == 0 and json.loads(stats.out)["db"] == str(home / "s.duckdb"), stats.err
