"""`curator predict` and `curator eval` with the loopback fake standing in for two models."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from curator.prompts import render_answer
from curator.store import Store
from curator.store.reviews import decide
from tests.conftest import SAMPLE_DATA, CliResult, write_json
from tests.fakes.servers import Behaviour, FakeAnthropic

Run = Callable[..., CliResult]


@pytest.fixture
def store_with_gold(tmp_path: Path, run_cli: Run) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "eval.duckdb"
    assert run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json").code == 0
    store = Store(db)
    with store.connection() as con:
        rows = con.execute(
            "SELECT r.uid, r.question, CAST(r.answer AS VARCHAR), r.scale, "
            "c.paragraphs[1].text FROM records r JOIN contexts c ON c.uid = r.context_uid "
            "ORDER BY r.seq"
        ).fetchall()
    decide(store, rows[0][0], "reject", "ana")
    # Questions repeat across companies; the first paragraph names the company.
    gold = {f"{q}|{p[:40]}": render_answer(json.loads(a), s) for _, q, a, s, p in rows}
    return db, gold


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(Behaviour())
    server.start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    yield server
    server.stop()


def question(prompt: str) -> str:
    """The key of `gold` for a prompt: the question and the start of the first paragraph."""
    found = re.search(r"<question>(.*?)</question>", prompt, re.DOTALL)
    first = re.search(r'<paragraph order="1">(.*?)</paragraph>', prompt, re.DOTALL)
    assert found is not None and first is not None
    return f"{found.group(1)}|{first.group(1)[:40]}"


def test_predict_base_and_fine_tuned_then_eval(
    run_cli: Run,
    store_with_gold: tuple[Path, dict[str, str]],
    fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    db, gold = store_with_gold
    # The "base" model rambles and is sometimes wrong; the "fine-tuned" one is concise.
    counter = {"n": 0}

    def base(prompt: str) -> str:
        counter["n"] += 1
        answer = gold[question(prompt)] if counter["n"] % 3 else "not stated in the report"
        return f"Looking at the table and the text, I believe the answer is {answer} overall."

    fake.behaviour.responder = base
    first = run_cli(
        "--db",
        db,
        "predict",
        "--backend",
        "anthropic",
        "--model",
        "claude-haiku-4-5",
        "--name",
        "base",
        "--limit",
        "10",
        "--json",
    )
    assert first.code == 0, first.err
    assert json.loads(first.out)["answered"] == 10
    resumed = json.loads(
        run_cli(
            "--db",
            db,
            "predict",
            "--backend",
            "anthropic",
            "--model",
            "claude-haiku-4-5",
            "--name",
            "base",
            "--json",
        ).out
    )
    assert resumed["answered"] == 20  # only what the run was missing
    assert sum(fake.requests.values()) == 30

    fake.behaviour.responder = lambda prompt: gold[question(prompt)]
    ft = run_cli(
        "--db",
        db,
        "predict",
        "--backend",
        "anthropic",
        "--model",
        "claude-haiku-4-5",
        "--name",
        "ft",
        "--json",
    )
    assert ft.code == 0, ft.err

    plot = tmp_path / "tokens.png"
    result = run_cli("--db", db, "eval", "base", "ft", "--json", "--plot", plot)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    base_r, ft_r = report["runs"]
    assert base_r["records"] == ft_r["records"] == 29 and ft_r["rejected_left_out"] == 1
    assert ft_r["tatqa_em"] == 100.0 and ft_r["token_f1"] == 100.0
    assert base_r["tatqa_f1"] < ft_r["tatqa_f1"]
    assert report["vs_base"]["ft"]["output_tokens_reduction_pct"] > 50
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = run_cli("--db", db, "eval", "base", "ft")
    assert "TAT-QA F1" in text.out and "vs base" in text.out and "output tokens, ft" in text.out


def test_predict_uses_the_export_manifest(
    run_cli: Run,
    store_with_gold: tuple[Path, dict[str, str]],
    fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    db, _ = store_with_gold
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps({"options": {"table_format": "html", "system_prompt_text": "Answer tersely."}})
    )
    seen = []

    def record(prompt: str) -> str:
        seen.append(prompt)
        return "42"

    fake.behaviour.responder = record
    result = run_cli(
        "--db",
        db,
        "predict",
        "--backend",
        "anthropic",
        "--model",
        "m",
        "--from-manifest",
        manifest,
        "--limit",
        "1",
        "--name",
        "ft2",
    )
    assert result.code == 0, result.err
    assert seen[0].startswith("<table>\n<table><tr>")


def test_import_predictions_and_bad_files(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db, _ = store_with_gold
    with Store(db).connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    good = tmp_path / "answers.jsonl"
    good.write_text("\n".join(json.dumps({"uid": u, "answer": "1"}) for u in uids) + "\n")
    ok = run_cli("--db", db, "predict", "--import", good, "--name", "vendor")
    assert ok.code == 0 and "imported 30 answers" in ok.out
    as_json = write_json(tmp_path / "answers.json", {uids[1]: ["a", "b"], uids[2]: 3.5})
    assert run_cli("--db", db, "predict", "--import", as_json, "--name", "vendor2").code == 0
    report = json.loads(run_cli("--db", db, "eval", "vendor2", "--json").out)
    assert report["runs"][0]["records"] == 2

    cases = {
        "not json": ("{oops", "invalid JSON"),
        "bad line": ('{"uid": "x", "answer": "1"}\nnope\n', "line 2: invalid JSON"),
        "no uid": ('{"answer": "1"}\n{"answer": "2"}\n', 'line 1: expected {"uid"'),
        "unknown": (json.dumps({"nope": "1"}), "uid 'nope': not in the store"),
        "dup": (
            f'{{"uid": "{uids[0]}", "answer": "1"}}\n{{"uid": "{uids[0]}", "answer": "2"}}\n',
            "appears twice",
        ),
        "bad answer": (json.dumps({uids[0]: {"x": 1}}), "an answer must be"),
        "empty": ("", "file is empty"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        path.write_text(content, "utf-8")
        result = run_cli("--db", db, "predict", "--import", path, "--name", "bad")
        assert result.code == 2, name
        assert message in result.err and str(path) in result.err, (name, result.err)
    missing = run_cli("--db", db, "eval", "nobody")
    assert missing.code == 1 and "no prediction run named 'nobody'" in missing.err
