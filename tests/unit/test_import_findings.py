"""Import findings of the hostile-input review: exact positions, clean errors, uids, pipes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

from curator.tatqa import MAX_QUOTED
from tests.conftest import SAMPLE_DATA, CliResult, tiny_context, write_json
from tests.functional.faults import curator

Run = Callable[..., CliResult]


def contexts(n: int = 4, questions: int = 2) -> list[dict[str, object]]:
    return [
        tiny_context(f"c{i}", tuple(f"c{i}-q{j}" for j in range(1, questions + 1)))
        for i in range(1, n + 1)
    ]


def refused(result: CliResult) -> str:
    assert result.code == 2, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def count(run_cli: Run, db: Path) -> int:
    result = run_cli("--db", db, "stats", "--json")
    assert result.code == 0, result.err
    return int(json.loads(result.out)["records"])


def test_duplicate_keys_name_the_exact_context_and_question(run_cli: Run, tmp_path: Path) -> None:
    texts = [json.dumps(c) for c in contexts(4)]
    for ci, qi in ((1, 1), (3, 2), (4, 1)):
        bad = list(texts)
        ctx = json.loads(bad[ci - 1])
        dumped = [json.dumps(q) for q in ctx["questions"]]
        dumped[qi - 1] = dumped[qi - 1].replace('"scale":', '"scale": "", "scale":', 1)
        ctx_text = json.dumps({**ctx, "questions": "@Q@"}).replace(
            '"@Q@"', "[" + ",".join(dumped) + "]"
        )
        bad[ci - 1] = ctx_text
        path = tmp_path / f"dup{ci}{qi}.json"
        path.write_text("[\n" + ",\n".join(bad) + "\n]")
        line = refused(run_cli("--db", tmp_path / "s.duckdb", "import", path))
        assert f"context #{ci} (table uid 'c{ci}'), question #{qi}: " in line, line
        assert "'scale' twice" in line
    texts[2] = texts[2].replace('"paragraphs":', '"paragraphs": [], "paragraphs":', 1)
    path = tmp_path / "dupctx.json"
    path.write_text("[" + ",".join(texts) + "]")
    line = refused(run_cli("--db", tmp_path / "s.duckdb", "import", path))
    assert "context #3 (table uid 'c3'): an object has the key 'paragraphs' twice" in line
    assert not (tmp_path / "s.duckdb").exists()  # a refused first import creates no store


def test_deep_nesting_is_a_clean_error(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    line = refused(run_cli("--db", tmp_path / "s.duckdb", "import", path))
    assert "nested too deeply" in line and "Recursion" not in line


def test_a_huge_bad_value_is_not_echoed_whole(run_cli: Run, tmp_path: Path) -> None:
    data = contexts(2)
    huge = "x" * 10_000_000
    data[1]["questions"][0]["scale"] = huge  # type: ignore[index]
    line = refused(
        run_cli("--db", tmp_path / "s.duckdb", "import", write_json(tmp_path / "a.json", data))
    )
    assert len(line) < 3 * MAX_QUOTED + 400
    assert "context #2" in line and "10,000,002 chars" in line
    data = contexts(2)
    data[0]["questions"][1]["uid"] = huge  # type: ignore[index]
    data[0]["questions"][1]["answer_type"] = "guess"  # type: ignore[index]
    line = refused(
        run_cli("--db", tmp_path / "s.duckdb", "import", write_json(tmp_path / "b.json", data))
    )
    assert len(line) < 3 * MAX_QUOTED + 400 and "question #2" in line
    data = contexts(2)
    data[0]["questions"][0]["answer"] = ["y" * 5_000_000]  # type: ignore[index]
    data[0]["questions"][0]["answer_type"] = "arithmetic"  # type: ignore[index]
    line = refused(
        run_cli("--db", tmp_path / "s.duckdb", "import", write_json(tmp_path / "c.json", data))
    )
    assert len(line) < 3 * MAX_QUOTED + 400 and "chars)" in line


def test_empty_or_blank_uids_are_refused(run_cli: Run, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json").code == 0
    before = count(run_cli, db)
    for i, (where, value) in enumerate(
        [("question", ""), ("question", "  \t "), ("table", ""), ("table", "   ")]
    ):
        data = contexts(3)
        if where == "question":
            data[1]["questions"][1]["uid"] = value  # type: ignore[index]
            expected = "context #2 (table uid 'c2'), question #2"
        else:
            data[1]["table"]["uid"] = value  # type: ignore[index]
            expected = "context #2"
        line = refused(run_cli("--db", db, "import", write_json(tmp_path / f"u{i}.json", data)))
        assert expected in line and "field 'uid' is empty" in line, line
    assert count(run_cli, db) == before


def test_files_of_one_import_must_agree_on_uids(run_cli: Run, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json").code == 0
    before = count(run_cli, db)
    first = contexts(2)
    second = [tiny_context("c9", ("c9-q1", "c1-q2"))]
    second[0]["questions"][1]["question"] = "A different question?"
    a = write_json(tmp_path / "a.json", first)
    b = write_json(tmp_path / "b.json", second)
    line = refused(run_cli("--db", db, "import", a, b))
    assert str(b) in line and str(a) in line and "'c1-q2'" in line
    assert "context #1 question #2" in line
    assert count(run_cli, db) == before  # nothing of a.json either
    # The same conflict inside one file is refused as well (the rule is the same).
    both = write_json(tmp_path / "both.json", first + second)
    assert "different content" in refused(run_cli("--db", db, "import", both))
    # Tables: the same table uid with other paragraphs in a second file.
    third = copy.deepcopy(first[:1])
    third[0]["paragraphs"][0]["text"] = "Other text."  # type: ignore[index]
    third[0]["questions"] = [tiny_context("c1", ("c1-q9",))["questions"][0]]
    c = write_json(tmp_path / "c.json", third)
    line = refused(run_cli("--db", db, "import", a, c))
    assert "table uid 'c1'" in line and str(a) in line
    # Files that agree (the same file twice) import fine.
    ok = run_cli("--db", db, "import", a, a)
    assert ok.code == 0, ok.err
    assert count(run_cli, db) == before + 4


def test_import_from_dev_stdin(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    data = (SAMPLE_DATA / "sample_dev.json").read_bytes()
    result = curator("--db", db, "import", "/dev/stdin", "--split", "dev", stdin=data)
    assert result.returncode == 0, result.stderr
    assert "/dev/stdin (split 'dev'): 5 contexts, 30 questions" in result.stdout
    empty = curator("--db", db, "import", "/dev/stdin", stdin=b"")
    assert empty.returncode == 2 and "/dev/stdin" in empty.stderr and "empty" in empty.stderr
    bad = curator("--db", db, "import", "-", stdin=b'[{"table": 1}]')
    assert bad.returncode == 2 and bad.stderr.startswith("curator: error: -: context #1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb"]
