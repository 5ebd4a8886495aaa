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
