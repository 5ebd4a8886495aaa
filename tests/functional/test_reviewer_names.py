"""Reviewer names on the command line follow the rule `curator serve` applies: review, note,
decide and decide undo refuse a name serve would refuse (exit 2, one line naming --reviewer,
store untouched) and store the name as serve would (whitespace collapsed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from curator.reviewers import BadReviewer, clean_reviewer
from curator.store import Store
from tests.conftest import SAMPLE_DATA, CliResult

Run = Callable[..., CliResult]

#: Names serve refuses: control characters (an escape sequence, a newline, a tab between
#: words is whitespace and so collapsed, not refused), bidi and invisible marks, a leading
#: '-', empty, and too long.
BAD = ("ana\x1b[31m", "ana\x07", "ana\u202e", "a\u200bna", "ana\x00", "-rf", "", "   ", "x" * 65)
#: Names the README and tests use, and others a person may well have.
GOOD = ("ana", "bo", "pkg", "José Núñez", "o'hara", "ana.b@example.com")


@pytest.fixture
def db(tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CURATOR_CONFIG", "/dev/null")
    monkeypatch.delenv("CURATOR_REVIEWER", raising=False)
    path = tmp_path / "names.duckdb"
    result = run_cli("--db", path, "import", SAMPLE_DATA / "sample_train.json", "--split", "train")
    assert result.code == 0, result.err
    assert run_cli("--db", path, "judge", "--judge", "rules").code == 0
    return path


def events(db: Path) -> list[tuple[str, str]]:
    with Store(db).connection() as con:
        rows = con.execute("SELECT action, reviewer FROM review_events ORDER BY event_id")
        return [(r[0], r[1]) for r in rows.fetchall()]


def refused(result: CliResult) -> str:
    assert result.code == 2, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "--reviewer" in lines[0] and "reviewer name" in lines[0]
    assert "\x1b" not in lines[0] and "\x07" not in lines[0]
    return lines[0]


def commands(uid: str) -> dict[str, tuple[str, ...]]:
    return {
        "review": ("review",),
        "note": ("note", uid, "look again"),
        "decide": ("decide", "accept", "--verdict", "correct", "--judge", "rules", "--yes"),
        "undo": ("decide", "undo", "--batch", "nosuch"),
    }


def test_every_command_refuses_the_names_serve_refuses(run_cli: Run, db: Path) -> None:
    uid = run_cli("--db", db, "list", "--json", "--limit", "1").json_lines()[0]["uid"]
    for bad in BAD:
        with pytest.raises(BadReviewer):  # the rule the commands must share
            clean_reviewer(bad)
        for name, args in commands(uid).items():
            line = refused(run_cli("--db", db, *args, "--reviewer", bad))
            assert line, name
    assert events(db) == []  # nothing was written under any of those names


def test_names_serve_accepts_are_accepted_and_stored_as_serve_stores_them(
    run_cli: Run, db: Path
) -> None:
    uid = run_cli("--db", db, "list", "--json", "--limit", "1").json_lines()[0]["uid"]
    for name in GOOD:
        assert clean_reviewer(name) == name
        result = run_cli("--db", db, "note", uid, "ok", "--reviewer", name)
        assert result.code == 0, result.err
    spaced = run_cli("--db", db, "note", uid, "ok", "--reviewer", "  José \t Núñez ")
    assert spaced.code == 0, spaced.err
    decided = run_cli("--db", db, *commands(uid)["decide"], "--reviewer", "ana  b")
    assert decided.code == 0, decided.err
    stored = events(db)
    assert stored[: len(GOOD) + 1] == [("note", n) for n in (*GOOD, "José Núñez")]
    assert {r for a, r in stored if a == "accept"} == {"ana b"}


def test_a_bad_default_name_is_refused_naming_where_it_came_from(
    run_cli: Run, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = run_cli("--db", db, "list", "--json", "--limit", "1").json_lines()[0]["uid"]
    monkeypatch.setenv("CURATOR_REVIEWER", "ana\x1b]0;pwned\x07")
    result = run_cli("--db", db, "note", uid, "look again")
    assert result.code == 2 and "CURATOR_REVIEWER" in result.err, result.err
    assert "\x1b" not in result.err
    # An explicit, valid --reviewer is what is used; the default is not consulted.
    ok = run_cli("--db", db, "note", uid, "look again", "--reviewer", "ana")
    assert ok.code == 0, ok.err
    assert events(db) == [("note", "ana")]


def test_a_refused_name_is_quoted_with_its_escapes_as_every_output_shows_them(
    run_cli: Run, db: Path
) -> None:
    """The name was quoted with repr() after escaping, so its escapes were doubled: the CLI
    and serve's login page said 'ana\\\\x1b[31m' where every other output writes `\\x1b`."""
    line = refused(run_cli("--db", db, "review", "--reviewer", "ana\x1b[31m\u202e"))
    assert line.endswith("the reviewer name 'ana\\x1b[31m\\u202e' has invisible characters")
    with pytest.raises(BadReviewer) as caught:
        clean_reviewer("o'hara\x07")
    assert str(caught.value) == "the reviewer name 'o'hara\\x07' has invisible characters"
