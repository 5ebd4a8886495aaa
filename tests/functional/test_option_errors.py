"""Options the command checks itself (not click) are bad input too: exit 2, one line, the store
untouched (README: exit 2 is "bad input: ... an option"), like the options click refuses."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.builders import import_sample_dev
from tests.conftest import CliResult, write_json
from tests.templates import store_copy

Run = Callable[..., CliResult]


@pytest.fixture
def sample_store(tmp_path: Path) -> Path:
    """sample_dev.json imported: a copy of a store built once per process (tests/templates.py)."""
    return store_copy("sample-dev", import_sample_dev, tmp_path / "options.duckdb")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("review", "--shard", "x"), ("--shard", "K/N")),
        (("review", "--shard", "3/2"), ("shard 3/2",)),
        (("predict", "--import", "{answers}"), ("--import needs --name",)),
        (("predict", "--name", "run"), ("--backend",)),
        (("predict", "--import", "{answers}", "--name", "\x1b[31m"), ("run name", "\\x1b")),
        (("predict", "--backend", "anthropic", "--name", "-x"), ("run name",)),
        (("judge", "--judge", "rules", "--batch"), ("--batch needs",)),
        # A cap --batch did not apply (it submitted everything), a wait a live pass ignored.
        (
            ("judge", "--judge", "anthropic", "--batch", "--max-cost", "5"),
            ("--max-cost", "--limit"),
        ),
        (("judge", "--judge", "anthropic", "--wait", "60"), ("--wait needs --batch",)),
    ],
)
def test_options_checked_by_the_command_are_exit_2(
    run_cli: Run,
    sample_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    words: tuple[str, ...],
) -> None:
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # never reached
    answers = write_json(tmp_path / "answers.json", {})
    before = sample_store.read_bytes()
    result = run_cli("--db", sample_store, *(a.format(answers=answers) for a in args))
    assert result.code == 2, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("curator: error: "), result.err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert sample_store.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--split", "{split}"),
        ("judge", "--judge", "rules", "--split", "{split}"),
        ("judge", "--judge", "rules", "--split", "dev", "--split", "{split}"),
        (
            "decide",
            "accept",
            "--verdict",
            "correct",
            "--judge",
            "rules",
            "--split",
            "{split}",
            "--yes",
        ),
        ("export", "{out}", "--split", "{split}"),
        ("predict", "--backend", "anthropic", "--model", "m", "--split", "{split}", "--name", "r"),
        ("eval", "run", "--split", "{split}"),
        ("calibrate", "--judge", "rules", "--assume-gold", "{split}"),
    ],
)
@pytest.mark.parametrize("split", ["validation", "devv"])
def test_a_split_the_store_lacks_is_refused(
    run_cli: Run,
    sample_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    split: str,
) -> None:
    """A --split the store does not have selected nothing and exited 0 (the README's own
    `predict --split validation` answered 0 records: the store's splits are not the export's).
    Every command that takes a split refuses it: exit 2, one line naming the option, the split
    and the store's splits, the store untouched, nothing written, no model asked."""
    from curator.store import Store
    from curator.store.predictions import ensure_run

    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # never reached
    store = Store(sample_store)
    ensure_run(store, "run", source="import")
    store.close()
    before = sample_store.read_bytes()
    out = tmp_path / "out"
    result = run_cli("--db", sample_store, *(a.format(split=split, out=out) for a in args))
    assert result.code == 2, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("curator: error: "), result.err
    option = "--assume-gold" if "calibrate" in args else "--split"
    assert f"{option}: unknown split {split!r}; the store has: dev" in lines[0], lines[0]
    if split == "validation" and args[0] in ("predict", "eval"):
        assert "--from-manifest" in lines[0]  # an export's split: how to name its records
    elif split == "validation":  # the other commands have no --from-manifest to suggest
        assert "names an export's file, not a split of the store" in lines[0], lines[0]
        assert "--from-manifest" not in lines[0]
    assert sample_store.read_bytes() == before and not out.exists()


@pytest.mark.parametrize(
    ("command", "used_for"),
    [
        (
            ("predict", "--backend", "anthropic", "--model", "m", "--name", "r"),
            "Export manifest: use its system prompt and table format (and its files' records "
            "for --split train / validation).",
        ),
        (("eval",), "Export manifest whose files' records --split train / validation mean."),
    ],
)
def test_from_manifest_is_one_option_with_each_commands_help(
    run_cli: Run,
    sample_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    used_for: str,
) -> None:
    """predict and eval declare `--from-manifest` through one helper (curator.cli.options):
    each `--help` still shows it with what that command uses it for, and both refuse a missing
    file or a folder before anything is opened (click: exit 2, the option named)."""
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # never reached
    name = command[0]
    shown = run_cli(name, "--help")
    assert shown.code == 0, shown.err
    assert shown.out.startswith(f"Usage: curator {name} [OPTIONS]")
    flat = " ".join(shown.out.split())
    assert f"--from-manifest FILE {used_for}" in flat, flat
    before = sample_store.read_bytes()
    args = (*command, "run") if name == "eval" else command
    missing = run_cli("--db", sample_store, *args, "--from-manifest", tmp_path / "none.json")
    assert missing.code == 2, missing.err
    assert (
        f"Invalid value for '--from-manifest': File '{tmp_path / 'none.json'}' does not exist."
        in missing.err
    )
    folder = run_cli("--db", sample_store, *args, "--from-manifest", tmp_path)
    assert folder.code == 2, folder.err
    assert f"Invalid value for '--from-manifest': File '{tmp_path}' is a directory." in folder.err
    assert sample_store.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("predict", "--backend", "nope"),
            "curator: error: predict: Invalid value for '--backend': 'nope' is not one of",
        ),
        (
            ("list", "--split"),
            "curator: error: list: Option '--split' requires an argument. (curator list --help)",
        ),
        (
            ("import",),
            "curator: error: import: Missing argument 'FILES...'. (curator import --help)",
        ),
        (
            ("decide", "accept", "--status", "done"),
            "curator: error: decide accept: Invalid value for '--status': 'done' is not one of",
        ),
        (
            ("lst",),
            "curator: error: No such command 'lst'. Did you mean 'list'? (curator --help)",
        ),
        (
            ("list", "--status", "\x1b]0;owned\x07"),
            "curator: error: list: Invalid value for '--status': '\\x1b]0;owned\\x07' is not",
        ),
    ],
)
def test_a_bad_option_is_one_line_naming_the_command(
    run_cli: Run, sample_store: Path, args: tuple[str, ...], expected: str
) -> None:
    """Click's own form is a usage block, a blank line and the error: curator prints one line,
    the command, click's message and where its options are listed (exit 2), and escapes what
    the user typed like any other data."""
    result = run_cli("--db", sample_store, *args)
    assert result.code == 2, result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.err
    assert "\x1b" not in result.err


def test_a_group_without_a_command_still_shows_its_help(run_cli: Run) -> None:
    result = run_cli("decide")
    assert result.code == 2
    assert result.err.startswith("Usage: curator decide [OPTIONS] COMMAND [ARGS]...")
    assert "accept" in result.err and "undo" in result.err
