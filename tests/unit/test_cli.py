"""The command line as a user runs it: exit codes, one-line errors, stable JSON."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, tiny_context, write_json

Run = Callable[..., CliResult]
LIST_KEYS = {
    "uid",
    "split",
    "context_uid",
    "question",
    "answer",
    "answer_type",
    "answer_from",
    "scale",
    "status",
    "verdicts",
}


def test_import_stats_list_round_trip(run_cli: Run, tmp_path: Path, store_path: Path) -> None:
    data = write_json(tmp_path / "acme_dev.json", [tiny_context("c", ("q1", "q2"))])
    result = run_cli("--db", store_path, "import", data)
    assert result.code == 0, result.err
    assert "(split 'dev'): 1 context, 2 questions" in result.out
    assert "new 2" in result.out
    again = run_cli("--db", store_path, "import", data, "--json")
    assert again.code == 0
    summary = again.json_lines()[0]["files"][0]
    assert (summary["new_records"], summary["unchanged_records"]) == (0, 2)

    stats = run_cli("stats", "--json", "--db", store_path).json_lines()[0]
    assert stats["records"] == 2 and stats["splits"] == {"dev": 2}
    assert stats["statuses"]["pending"] == 2 and stats["verdicts"] == {}

    rows = run_cli("--db", store_path, "list", "--json").json_lines()
    assert [r["uid"] for r in rows] == ["q1", "q2"]
    assert all(set(r) == LIST_KEYS for r in rows)
    assert rows[0]["answer"] == ["$1,200"] and rows[0]["status"] == "pending"

    text = run_cli("--db", store_path, "list", "--limit", "1")
    assert text.code == 0 and len(text.out.splitlines()) == 1 and "q1" in text.out


def test_list_filters(run_cli: Run, tmp_path: Path, store_path: Path) -> None:
    ctx = tiny_context("c", ("q1", "q2"))
    ctx["questions"][1].update(answer=3.5, answer_type="arithmetic", scale="percent")
    run_cli("--db", store_path, "import", write_json(tmp_path / "f.json", [ctx]))
    rows = run_cli("--db", store_path, "list", "--json", "--answer-type", "arithmetic")
    assert [r["uid"] for r in rows.json_lines()] == ["q2"]
    assert rows.json_lines()[0]["answer"] == 3.5
    assert run_cli("--db", store_path, "list", "--json", "--verdict", "none").json_lines()
    assert run_cli("--db", store_path, "list", "--json", "--status", "accepted").out == ""
    bad = run_cli("--db", store_path, "list", "--status", "done")
    assert bad.code == 2 and "Invalid value for '--status'" in bad.err


def test_list_matching_nothing_says_so_on_stderr(
    run_cli: Run, tmp_path: Path, store_path: Path
) -> None:
    """`list` whose filters match nothing printed nothing at all: one line on stderr now says
    which options matched nothing (or that the store has no records), exit 0, and stdout stays
    empty, so a pipe (`list --json | jq`) reads zero records, as before."""
    run_cli("--db", store_path, "import", write_json(tmp_path / "f.json", [tiny_context("c")]))
    for json_flag in ((), ("--json",)):
        none = run_cli("--db", store_path, "list", *json_flag, "--status", "accepted")
        assert (none.code, none.out) == (0, ""), none.err
        assert none.err == "nothing to list: no record matches the selection (--status accepted)\n"
        assert none.json_lines() == []
    both = run_cli("--db", store_path, "list", "--split", "train", "--answer-type", "count")
    assert (both.code, both.out) == (0, "")
    assert both.err == (
        "nothing to list: no record matches the selection (--answer-type count --split train)\n"
    )
    found = run_cli("--db", store_path, "list", "--status", "pending")
    assert found.code == 0 and "q-1" in found.out and found.err == ""
    asked_none = run_cli("--db", store_path, "list", "--limit", "0")  # what was asked: no line
    assert (asked_none.code, asked_none.out, asked_none.err) == (0, "", "")

    # A store whose only context has no questions: a split, but not one record.
    empty_db = tmp_path / "empty.duckdb"
    lonely = tiny_context("lonely", ())
    assert run_cli("--db", empty_db, "import", write_json(tmp_path / "e.json", [lonely])).code == 0
    for json_flag in ((), ("--json",)):
        empty = run_cli("--db", empty_db, "list", *json_flag)
        assert (empty.code, empty.out) == (0, "")
        assert empty.err == "nothing to list: the store has no records\n"
    named = run_cli("--db", empty_db, "list", "--split", "train")
    assert named.err == "nothing to list: no record matches the selection (--split train)\n"


def test_bad_input_is_one_line_exit_2_and_no_store_left(
    run_cli: Run, tmp_path: Path, store_path: Path
) -> None:
    ctx = tiny_context()
    ctx["questions"][0]["scale"] = "lakh"
    bad = write_json(tmp_path / "bad.json", [ctx])
    result = run_cli("--db", store_path, "import", bad)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"curator: error: {bad}: context #1")
    assert "question #1 (uid 'q-1'): field 'scale' is \"lakh\"" in result.err
    assert "Traceback" not in result.err
    assert not store_path.exists()


def test_bad_input_leaves_an_existing_store_as_it_was(
    run_cli: Run, tmp_path: Path, store_path: Path
) -> None:
    run_cli("--db", store_path, "import", write_json(tmp_path / "ok.json", [tiny_context()]))
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe[]")
    result = run_cli("--db", store_path, "import", bad)
    assert result.code == 2 and "not UTF-8" in result.err
    stats = run_cli("--db", store_path, "stats", "--json").json_lines()[0]
    assert stats["records"] == 1 and stats["imports"] == 1


def test_stats_on_a_missing_store(run_cli: Run, store_path: Path) -> None:
    result = run_cli("--db", store_path, "stats")
    assert result.code == 3 and "no store here" in result.err


def test_db_from_environment(
    run_cli: Run, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATOR_DB", str(store_path))
    assert run_cli("import", write_json(tmp_path / "f.json", [tiny_context()])).code == 0
    assert store_path.exists()
    assert run_cli("stats", "--json").json_lines()[0]["db"] == str(store_path)


def test_demo_builds_the_sample_store_and_keeps_it(run_cli: Run, tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    first = run_cli("demo", "--no-tui", "--db", db)
    assert first.code == 0, first.err
    assert "152 records in 26 contexts" in first.out
    assert "near-duplicates of stored contexts: 1" in first.out  # the sample pair
    second = run_cli("demo", "--no-tui", "--db", db)
    assert second.code == 0 and "new 0" in second.out


def test_console_script_runs() -> None:
    exe = shutil.which("curator", path=str(Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "import" in done.stdout and "demo" in done.stdout


def test_list_shows_hostile_text_on_one_inert_line(
    run_cli: Run, tmp_path: Path, store_path: Path
) -> None:
    ctx = tiny_context()
    ctx["questions"][0]["question"] = "Rev\x1b[31mred\x1b[0m\nsecond line\x07 [bold]x[/bold]"
    run_cli("--db", store_path, "import", write_json(tmp_path / "h.json", [ctx]))
    out = run_cli("--db", store_path, "list").out
    assert len(out.splitlines()) == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31m" in out and "[bold]x[/bold]" in out
    rows = run_cli("--db", store_path, "list", "--json").json_lines()
    assert rows[0]["question"] == ctx["questions"][0]["question"]


def test_import_and_stats_lines_count_one_as_one(
    run_cli: Run, tmp_path: Path, store_path: Path
) -> None:
    data = write_json(tmp_path / "acme_dev.json", [tiny_context("c", ("q1",))])
    result = run_cli("--db", store_path, "import", data)
    assert result.code == 0, result.err
    assert "(split 'dev'): 1 context, 1 question" in result.out
    stats = run_cli("--db", store_path, "stats")
    assert stats.code == 0, stats.err
    assert "1 record in 1 context from 1 import" in stats.out, stats.out
