"""`curator predict` and `curator eval` with the loopback fake standing in for two models."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curator.answer_format import render_target
from curator.store import Store
from curator.store.reviews import decide
from tests.builders import import_sample_dev
from tests.conftest import CliResult, tiny_context, write_json
from tests.fakes.servers import FakeAnthropic
from tests.templates import store_copy

Run = Callable[..., CliResult]


@pytest.fixture
def store_with_gold(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = store_copy("sample-dev", import_sample_dev, tmp_path / "eval.duckdb")  # as imported
    store = Store(db)
    with store.connection() as con:
        rows = con.execute(
            "SELECT r.uid, r.question, CAST(r.answer AS VARCHAR), r.scale, "
            "c.paragraphs[1].text FROM records r JOIN contexts c ON c.uid = r.context_uid "
            "ORDER BY r.seq"
        ).fetchall()
    decide(store, rows[0][0], "reject", "ana")
    # Questions repeat across companies; the first paragraph names the company.
    gold = {f"{q}|{p[:40]}": render_target(json.loads(a), s) for _, q, a, s, p in rows}
    return db, gold


@pytest.fixture
def fake(anthropic_fake: FakeAnthropic) -> FakeAnthropic:
    return anthropic_fake


def question(prompt: str) -> str:
    """The key of `gold` for a prompt: the question and the start of the first paragraph."""
    found = re.search(r"<question>(.*?)</question>", prompt, re.DOTALL)
    first = re.search(r'<paragraph order="1">(.*?)</paragraph>', prompt, re.DOTALL)
    assert found is not None and first is not None
    return f"{found.group(1)}|{first.group(1)[:40]}"


def haiku_run(name: str, *extra: str) -> list[str]:
    """`curator predict` with claude-haiku-4-5 on the Anthropic fake, as run NAME (JSON out)."""
    model = ["--backend", "anthropic", "--model", "claude-haiku-4-5"]
    return ["predict", *model, "--name", name, *extra, "--json"]


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
    first = run_cli("--db", db, *haiku_run("base", "--limit", "10"))
    assert first.code == 0, first.err
    assert json.loads(first.out)["answered"] == 10
    resumed = json.loads(run_cli("--db", db, *haiku_run("base")).out)
    assert resumed["answered"] == 20  # only what the run was missing
    assert sum(fake.requests.values()) == 30

    fake.behaviour.responder = lambda prompt: gold[question(prompt)]
    ft = run_cli("--db", db, *haiku_run("ft"))
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


def test_eval_json_of_a_run_without_answers_is_strict_json(
    run_cli: Run,
    store_with_gold: tuple[Path, dict[str, str]],
    fake: FakeAnthropic,
) -> None:
    """A run that answered nothing (here: registered, never run) has no token statistics:
    `--json` says null, never NaN, which is not JSON (jq and strict parsers refuse it)."""
    from curator.store.predictions import ensure_run

    db, gold = store_with_gold
    fake.behaviour.responder = lambda prompt: gold[question(prompt)]
    # A --split the store lacks made such a run before; it is refused now (exit 2).
    store = Store(db)
    ensure_run(store, "empty", source="model", backend="anthropic", model="claude-haiku-4-5")
    store.close()
    full = run_cli("--db", db, *haiku_run("full"))
    assert full.code == 0, full.err

    def strict(text: str) -> object:
        def refuse(constant: str) -> object:
            raise AssertionError(f"{constant} in --json output")

        return json.loads(text, parse_constant=refuse)

    for runs in (("empty", "full"), ("full", "empty")):
        result = run_cli("--db", db, "eval", *runs, "--json")
        assert result.code == 0, result.err
        report = strict(result.out)
        assert isinstance(report, dict)
        by_run = {r["run"]: r for r in report["runs"]}
        assert by_run["empty"]["output_tokens"]["mean"] is None
        assert by_run["empty"]["output_tokens"]["median"] is None
        assert by_run["empty"]["output_tokens"]["stdev"] is None
        assert by_run["full"]["output_tokens"]["mean"] > 0
        other = runs[1]
        assert report["vs_base"][other]["output_tokens_reduction_pct"] is None
    text = run_cli("--db", db, "eval", "empty", "full")
    assert text.code == 0 and "nan" not in text.out.lower()


def test_predict_with_nothing_to_answer_says_why(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], fake: FakeAnthropic
) -> None:
    db, _ = store_with_gold
    model = ("predict", "--backend", "anthropic", "--model", "claude-haiku-4-5", "--name", "r")
    # A split the store lacks is refused before anything is asked (a store split without
    # records: test_predict_of_a_split_without_records_says_nothing_matched).
    missing = run_cli("--db", db, *model, "--split", "nosuch")
    assert missing.code == 2, missing.err
    assert "--split: unknown split 'nosuch'" in missing.err
    assert sum(fake.requests.values()) == 0
    assert run_cli("--db", db, *model, "--limit", "2").code == 0
    partly = run_cli("--db", db, *model, "--limit", "1")
    assert "nothing to do" not in partly.out  # records were still missing
    done = run_cli("--db", db, *model)
    assert "nothing to do" not in done.out
    again = run_cli("--db", db, *model)
    assert "nothing to do: every selected record" in again.out
    assert "already has an answer in run 'r'" in again.out
    assert "no record matches" not in again.out


def test_predict_of_a_split_without_records_says_nothing_matched(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], fake: FakeAnthropic, tmp_path: Path
) -> None:
    """An unknown split is refused, but a store split can still hold no record: a file whose
    contexts have no questions imports contexts only. predict then has nothing to do because
    nothing matched (naming --split), not because the run has answered everything; and in a
    store with no records at all it says that."""
    db, _ = store_with_gold
    model = ("predict", "--backend", "anthropic", "--model", "claude-haiku-4-5", "--name", "r")
    empty = write_json(tmp_path / "empty.json", [tiny_context("lonely", ())])
    assert run_cli("--db", db, "import", empty, "--split", "lonely").code == 0
    lonely = run_cli("--db", db, *model, "--split", "lonely")
    assert lonely.code == 0, lonely.err
    assert lonely.out.splitlines()[1:] == [
        "  nothing to do: no record matches the selection (--split lonely)"
    ]
    only_contexts = tmp_path / "contexts.duckdb"
    assert run_cli("--db", only_contexts, "import", empty).code == 0
    bare = run_cli("--db", only_contexts, *model)
    assert bare.code == 0, bare.err
    assert bare.out.splitlines()[1:] == ["  nothing to do: the store has no records"]
    assert sum(fake.requests.values()) == 0


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
    fake.models["m"] = 4096  # the fake serves only models it knows, as the API does
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


def test_eval_plot_destination_and_runs_without_tokens(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """A plot that cannot be written is an unusable destination (exit 3, as --per-question);
    a run with no output tokens (imported answers) plots an empty chart without a warning."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        uid = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchone()
    assert uid is not None
    answers = write_json(tmp_path / "answers.json", {uid[0]: "1"})
    assert run_cli("--db", db, "predict", "--import", answers, "--name", "vendor").code == 0
    missing = tmp_path / "no-such-folder"
    plot = run_cli("--db", db, "eval", "vendor", "--plot", missing / "tokens.png")
    per_question = run_cli("--db", db, "eval", "vendor", "--per-question", missing / "q.jsonl")
    assert (plot.code, per_question.code) == (3, 3), (plot.err, per_question.err)
    assert plot.err.startswith("curator: error: ") and "tokens.png" in plot.err
    assert len(plot.err.strip().splitlines()) == 1
    drawn = run_cli("--db", db, "eval", "vendor", "--plot", tmp_path / "tokens.png")
    assert drawn.code == 0 and drawn.err == "", drawn.err
    assert (tmp_path / "tokens.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    as_json = write_json(tmp_path / "answers.json", {uids[1]: [["a", "b"], ""], uids[2]: [3.5, ""]})
    assert run_cli("--db", db, "predict", "--import", as_json, "--name", "vendor2").code == 0
    report = json.loads(run_cli("--db", db, "eval", "vendor2", "--json").out)["runs"][0]
    # Every question of the split is scored; the 27 without an answer score 0.
    assert (report["records"], report["answered"], report["rejected_left_out"]) == (29, 2, 1)

    cases = {
        "not json": ("{oops", "invalid JSON"),
        "bad line": ('{"uid": "x", "answer": "1"}\nnope\n', "line 2: invalid JSON"),
        "no uid": ('{"answer": "1"}\n{"answer": "2"}\n', 'line 1: expected {"uid"'),
        "unknown": (json.dumps({"nope": "1"}), "uid 'nope': not in the store"),
        "dup": (
            f'{{"uid": "{uids[0]}", "answer": "1"}}\n{{"uid": "{uids[0]}", "answer": "2"}}\n',
            "appears twice",
        ),
        "bad answer": (json.dumps({uids[0]: {"x": 1}}), "expected a text answer"),
        "bad official answer": (json.dumps({uids[0]: [{"x": 1}, ""]}), "an answer must be"),
        "official, then text": (
            json.dumps({uids[0]: ["1", ""], uids[1]: "2"}),
            "expected [answer, scale] like the other answers",
        ),
        "bad scale": (json.dumps({uids[0]: ["1", "millions"]}), "scale 'millions' is not one"),
        "mixed list": (json.dumps({uids[0]: [["a", 1], ""]}), "only strings or only numbers"),
        "bad scale line": (
            json.dumps({"uid": uids[0], "answer": "1", "scale": None}) + "\n",
            "scale None is not one",
        ),
        "nothing": ("{}", "holds no answers"),
        "empty": ("", "file is empty"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        path.write_text(content, "utf-8")
        result = run_cli("--db", db, "predict", "--import", path, "--name", "bad")
        assert result.code == 2, name
        assert message in result.err and str(path) in result.err, (name, result.err)
    missing = run_cli("--db", db, "eval", "nobody")
    assert missing.code == 2 and "no prediction run named 'nobody'" in missing.err


def test_import_predictions_refuses_non_numbers_and_deep_nesting(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """NaN and Infinity (Python's json reads them) are not answers: they reached --per-question
    as NaN, which is not JSON. JSON nested beyond the parser's depth was an internal error (1).
    Both are bad input (2), and no run is stored."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        uid = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchone()
    assert uid is not None
    deep = "[" * 100_000 + "]" * 100_000
    cases = {
        "nan official": (f'{{"{uid[0]}": [NaN, ""]}}', "not a finite number"),
        "inf in a list": (f'{{"{uid[0]}": [[1, Infinity], ""]}}', "not a finite number"),
        "nan line": (f'{{"uid": "{uid[0]}", "answer": NaN}}\n', "not a finite number"),
        "big": (f'{{"{uid[0]}": [1e999, ""]}}', "not a finite number"),
        "deep": (f'{{"{uid[0]}": [{deep}, ""]}}', "nested too deeply"),
        "deep lines": (f'{{"uid": "x", "answer": "1"}}\n{deep}\n', "line 2: JSON nested too"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.json"
        path.write_text(content, "utf-8")
        result = run_cli("--db", db, "predict", "--import", path, "--name", "bad")
        assert result.code == 2, (name, result.err)
        assert message in result.err and str(path) in result.err, (name, result.err)
        assert len(result.err.strip().splitlines()) == 1, (name, result.err)
    assert "no prediction run named 'bad'" in run_cli("--db", db, "eval", "bad").err


def test_the_three_import_forms_score_alike(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Official [answer, scale], JSON Lines with "scale", and plain text give the same scores."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        rows = con.execute(
            "SELECT uid, CAST(answer AS VARCHAR), scale FROM records ORDER BY seq"
        ).fetchall()
    official, text = {}, {}
    for i, (uid, answer, scale) in enumerate(rows):
        value = json.loads(answer)
        if i % 4 == 1:
            scale = "billion" if scale != "billion" else ""  # a wrong scale
        if i % 4 == 2:
            value = ["something else"]
        if i % 7 == 3:
            continue  # missing
        official[uid] = [value, scale]
        text[uid] = render_target(value, scale)
    forms = {
        "official.json": json.dumps(official),
        "rows.jsonl": "".join(
            json.dumps({"uid": u, "answer": a, "scale": s}) + "\n" for u, (a, s) in official.items()
        ),
        "text.json": json.dumps(text),
    }
    reports = []
    for name, content in forms.items():
        path = tmp_path / name
        path.write_text(content, "utf-8")
        run = name.split(".")[0]
        assert run_cli("--db", db, "predict", "--import", path, "--name", run).code == 0
        result = run_cli("--db", db, "eval", run, "--json")
        reports.append(json.loads(result.out)["runs"][0])
    keys = ("records", "answered", "tatqa_em", "tatqa_f1", "scale_accuracy", "by_answer_type")
    assert [{k: r[k] for k in keys} for r in reports[1:]] == [{k: reports[0][k] for k in keys}] * 2
    # The first record is rejected: left out though answered.
    assert reports[0]["answered"] == len(official) - 1 < reports[0]["records"] == 29
    assert 0 < reports[0]["tatqa_em"] < 100

    unwritable = run_cli(
        "--db", db, "eval", "official", "--per-question", tmp_path / "no" / "such" / "x.jsonl"
    )
    assert unwritable.code == 3 and "cannot write" in unwritable.err
    # A split the store lacks scored 0 records with exit 0; it is refused now (exit 2).
    other = run_cli("--db", db, "eval", "official", "--split", "test", "--json")
    assert other.code == 2 and "unknown split 'test'; the store has: dev" in other.err


def export_judged_correct(run_cli: Run, db: Path, out: Path) -> None:
    """Judge the store with the rules judge and export what it calls correct to `out` (Nova
    target, 40% validation), so that both export files have records."""
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    exported = run_cli(
        "--db", db, "export", out, "--include-judged-correct", "rules", "--target", "bedrock-nova",
        "--validation-fraction", "0.4",
    )  # fmt: skip
    assert exported.code == 0, exported.err


def test_predict_and_eval_of_an_exports_validation_file(
    run_cli: Run,
    store_with_gold: tuple[Path, dict[str, str]],
    fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    """The README's `predict --from-manifest out/manifest.json --split validation` answered
    nothing (the store has no split "validation"): with a manifest, train / validation are the
    records of the export's files (its *.uids.txt), and eval scores exactly those."""
    db, gold = store_with_gold
    out = tmp_path / "out"
    export_judged_correct(run_cli, db, out)
    validation = (out / "validation.uids.txt").read_text("utf-8").split()
    train = (out / "train.uids.txt").read_text("utf-8").split()
    assert validation and train and not set(validation) & set(train)
    manifest = out / "manifest.json"
    fake.behaviour.responder = lambda prompt: gold[question(prompt)]
    ft = run_cli(
        "--db", db, *haiku_run("ft", "--from-manifest", str(manifest), "--split", "validation")
    )
    assert ft.code == 0, ft.err
    assert json.loads(ft.out)["answered"] == len(validation)
    assert sum(fake.requests.values()) == len(validation)
    store = Store(db)
    with store.connection() as con:
        answered = {r[0] for r in con.execute("SELECT record_uid FROM predictions").fetchall()}
    store.close()
    assert answered == set(validation)

    scored = run_cli("--db", db, "eval", "ft", "--from-manifest", manifest, "--split", "validation")
    assert scored.code == 0, scored.err
    as_json = run_cli(
        "--db", db, "eval", "ft", "--json", "--from-manifest", manifest, "--split", "validation"
    )
    (report,) = json.loads(as_json.out)["runs"]
    assert report["records"] == report["answered"] == len(validation)
    assert report["tatqa_em"] == 100.0
    # By default a run is scored on what it was asked (README: `curator eval base ft`), not on
    # every question of the store splits its records come from (scored 0 when unanswered).
    default = run_cli("--db", db, "eval", "ft", "--json")
    assert default.code == 0, default.err
    assert json.loads(default.out)["runs"] == [report]
    both = run_cli(
        "--db", db, "eval", "ft", "--json", "--from-manifest", manifest,
        "--split", "validation", "--split", "train",
    )  # fmt: skip
    (report,) = json.loads(both.out)["runs"]
    assert report["records"] == len(validation) + len(train)
    assert report["answered"] == len(validation)
    # Without the manifest, "validation" is a store split, which this store lacks.
    bare = run_cli("--db", db, "eval", "ft", "--split", "validation")
    assert bare.code == 2 and "--from-manifest" in bare.err

    # A uids file changed since the export is refused, naming it; so is a split it lacks.
    (out / "validation.uids.txt").write_text("\n".join(validation[1:]) + "\n", "utf-8")
    changed = run_cli(
        "--db", db, "eval", "ft", "--from-manifest", manifest, "--split", "validation"
    )
    assert changed.code == 2 and "validation.uids.txt: does not match manifest.json" in changed.err
    none = tmp_path / "none"
    exported = run_cli(
        "--db", db, "export", none, "--include-judged-correct", "rules", "--target", "bedrock-nova",
        "--validation-fraction", "0",
    )  # fmt: skip
    assert exported.code == 0, exported.err
    lacking = run_cli(
        "--db", db, "eval", "ft", "--from-manifest", none / "manifest.json", "--split", "validation"
    )
    assert lacking.code == 2 and "the export has no validation.jsonl" in lacking.err


def run_on_exported_validation(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], fake: FakeAnthropic, out: Path
) -> Path:
    """The store, after run 'ft' answered (with gold answers) the validation file of an export
    written to `out`."""
    db, gold = store_with_gold
    export_judged_correct(run_cli, db, out)
    fake.behaviour.responder = lambda prompt: gold[question(prompt)]
    args = ("--from-manifest", str(out / "manifest.json"), "--split", "validation")
    ft = run_cli("--db", db, *haiku_run("ft", *args))
    assert ft.code == 0, ft.err
    return db


def test_eval_of_a_run_whose_export_manifest_is_gone_says_which_and_what_to_do(
    run_cli: Run,
    store_with_gold: tuple[Path, dict[str, str]],
    fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    """`eval RUN` of a run asked an export's file reads that file's records from the manifest
    again: with the manifest deleted it said "not an export manifest ([Errno 2] ...)"; it names
    the run and the missing file and says what to do (exit 2, a missing input file)."""
    db = run_on_exported_validation(run_cli, store_with_gold, fake, tmp_path / "out")
    manifest = tmp_path / "out" / "manifest.json"
    assert run_cli("--db", db, "eval", "ft").code == 0
    manifest.unlink()
    gone = run_cli("--db", db, "eval", "ft")
    assert gone.code == 2, gone.err
    assert gone.err == (
        f"curator: error: {manifest.resolve()}: no such file: run 'ft' was asked this export's "
        "validation file, and eval scores it on those records by default; restore the export, "
        "or name the records to score with --split (an export's file with --from-manifest FILE "
        "--split NAME)\n"
    )
    assert "Errno" not in gone.err and "not an export manifest" not in gone.err
    # The way on it names works: the records chosen with --split instead.
    assert run_cli("--db", db, "eval", "ft", "--split", "dev").code == 0


def test_eval_of_a_run_whose_export_uids_file_is_gone_or_changed_names_the_run(
    run_cli: Run,
    store_with_gold: tuple[Path, dict[str, str]],
    fake: FakeAnthropic,
    tmp_path: Path,
) -> None:
    """The manifest still there but its `validation.uids.txt` deleted (or edited): the error names
    the file, what is wrong with it, the run that needs it and the way on (exit 2)."""
    db = run_on_exported_validation(run_cli, store_with_gold, fake, tmp_path / "out")
    uids = tmp_path / "out" / "validation.uids.txt"
    way_on = (
        "; run 'ft' is scored on this export file's records by default: restore the export, "
        "or name the records to score with --split\n"
    )
    kept = uids.read_bytes()
    uids.write_bytes(kept + b"extra\n")
    changed = run_cli("--db", db, "eval", "ft")
    assert changed.code == 2, changed.err
    assert changed.err == (
        f"curator: error: {uids.resolve()}: does not match manifest.json (changed since the "
        "export)" + way_on
    )
    uids.unlink()
    gone = run_cli("--db", db, "eval", "ft")
    assert gone.code == 2, gone.err
    assert gone.err == (
        f"curator: error: {uids.resolve()}: cannot read: No such file or directory" + way_on
    )
    assert run_cli("--db", db, "eval", "ft", "--split", "dev").code == 0


def test_an_unknown_run_or_a_name_taken_by_another_kind_of_run_is_bad_input(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path, fake: FakeAnthropic
) -> None:
    """Both were exit 1, which the README keeps for findings and bugs: a run name the store
    does not have (as a --split it does not have) and a --name already used by another kind of
    run are bad input (2), on one line naming the runs there are, and the store is unchanged."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        uid = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchone()
    assert uid is not None
    answers = write_json(tmp_path / "answers.json", {uid[0]: ["1", ""]})
    assert run_cli("--db", db, "predict", "--import", answers, "--name", "vendor").code == 0
    before = db.read_bytes()
    for args in (("eval", "nobody"), ("eval", "vendor", "nobody")):
        missing = run_cli("--db", db, *args)
        assert missing.code == 2, (args, missing.err)
        assert missing.err.strip() == (
            "curator: error: no prediction run named 'nobody' (the store has: vendor); "
            "see `curator predict`"
        ), missing.err
    taken = run_cli("--db", db, *haiku_run("vendor"))
    assert taken.code == 2 and "run 'vendor' already exists with import" in taken.err, taken.err
    assert len(taken.err.strip().splitlines()) == 1, taken.err
    assert db.read_bytes() == before and sum(fake.requests.values()) == 0


def test_answer_files_with_a_byte_order_mark_are_read(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """A UTF-8 BOM (as Windows tools write) was refused as invalid JSON at line 1, column 1,
    in all three forms, though `curator import` reads a TAT-QA file that starts with one."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        uids = [
            r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq LIMIT 2").fetchall()
        ]
    forms = {
        "official.json": json.dumps({uids[0]: [["a"], ""], uids[1]: [3.5, "million"]}),
        "text.json": json.dumps({uids[0]: "a", uids[1]: "3.5 million"}),
        "lines.jsonl": "".join(
            json.dumps(row) + "\n"
            for row in ({"uid": uids[0], "answer": ["a"], "scale": ""},
                        {"uid": uids[1], "answer": 3.5, "scale": "million"})
        ),
    }  # fmt: skip
    scored = []
    for name, content in forms.items():
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + content.encode())
        run = name.split(".")[0]
        result = run_cli("--db", db, "predict", "--import", path, "--name", run)
        assert result.code == 0 and "imported 2 answers" in result.out, result.err
        lines = tmp_path / f"{run}.jsonl"
        assert run_cli("--db", db, "eval", run, "--per-question", lines).code == 0
        rows = [json.loads(line) for line in lines.read_text().splitlines()]
        scored.append({r["uid"]: (r["prediction"] or {}).get("answer") for r in rows})
    assert scored[0][uids[1]] == 3.5 and scored[1][uids[1]] == ["3.5"] and scored[2] == scored[0]


def test_the_terminal_histogram_keeps_its_columns(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The histogram's bin labels are padded so that the bars start in one column; the table
    printer made each line one line of text and collapsed the padding ("2-29 █ 5")."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    # Answers from 1 to ~300 output tokens (3 characters a token), so bins of many widths.
    answers = {uid: ["x" * (1 + (i * 37) % 900)] for i, uid in enumerate(uids)}
    path = write_json(tmp_path / "answers.json", {u: [a, ""] for u, a in answers.items()})
    assert run_cli("--db", db, "predict", "--import", path, "--name", "long").code == 0
    result = run_cli("--db", db, "eval", "long")
    assert result.code == 0, result.err
    lines = result.out.split("output tokens, long:\n", 1)[1].splitlines()
    bins = [line for line in lines if re.match(r"^\s+\d+-\d+\s", line)]
    assert len(bins) >= 5, lines
    assert len({line.index("-") for line in bins}) == 1, bins  # labels right-aligned
    bars = {line.index("█") for line in bins if "█" in line}
    assert len(bars) == 1 and len([b for b in bins if "█" in b]) >= 5, bins


def _first_uid(db: Path) -> str:
    with Store(db).connection() as con:
        row = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


def test_eval_breaks_scores_down_by_gold_scale_and_says_when_runs_saw_different_questions(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The by-scale figures are the official scores of each gold scale's questions; two runs
    scored on different questions (one asked dev, the other another split) are said to be, so
    the "vs base" columns are not read as a comparison of one set."""
    db, _ = store_with_gold
    extra = write_json(tmp_path / "other.json", [tiny_context("other", ("o-1", "o-2"))])
    assert run_cli("--db", db, "import", extra, "--split", "other").code == 0
    with Store(db).connection() as con:
        rows = con.execute(
            "SELECT uid, CAST(answer AS VARCHAR), scale, split FROM records ORDER BY seq"
        ).fetchall()
    # Right answers with their scale for even rows, the right figure with no scale for odd.
    answers = {
        uid: [json.loads(answer), scale if i % 2 == 0 else ""]
        for i, (uid, answer, scale, split) in enumerate(rows)
        if split != "other"
    }
    dev = write_json(tmp_path / "dev.json", answers)
    other = write_json(tmp_path / "o.json", {"o-1": [["$1,200"], "thousand"]})
    assert run_cli("--db", db, "predict", "--import", dev, "--name", "dev").code == 0
    assert run_cli("--db", db, "predict", "--import", other, "--name", "other").code == 0

    lines = tmp_path / "q.jsonl"
    result = run_cli("--db", db, "eval", "dev", "--json", "--per-question", lines)
    report = json.loads(result.out)
    assert report["same_questions"] is True
    by_scale = report["runs"][0]["by_scale"]
    questions = [json.loads(line) for line in lines.read_text().splitlines()]
    expected: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        expected.setdefault(q["gold"]["scale"], []).append(q)
    assert set(by_scale) == set(expected) and len(expected) >= 2, by_scale
    for scale, group in expected.items():
        n = len(group)
        assert by_scale[scale] == {
            "n": n,
            "em": round(sum(float(q["em"]) for q in group) / n * 100, 2),
            "f1": round(sum(float(q["f1"]) for q in group) / n * 100, 2),
            "scale": round(sum(1 for q in group if q["scale_correct"]) / n * 100, 2),
        }, scale
    assert by_scale[""]["scale"] > 0 and by_scale["thousand"]["scale"] < 100

    both = json.loads(run_cli("--db", db, "eval", "dev", "other", "--json").out)
    assert both["same_questions"] is False
    text = run_cli("--db", db, "eval", "dev", "other").out
    assert 'scored on different questions (dev: 29; other: 2), so "vs base"' in text, text
    assert "by gold scale" in text and "(none)" in text
    assert "different questions" not in run_cli("--db", db, "eval", "dev", "dev").out


def test_a_killed_reimport_keeps_the_old_answers_and_a_killed_import_registers_no_run(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """`predict --import` into an existing name deleted the old answers and committed before
    storing the new ones (and registered a new run before either): a kill or failure in between
    left the run empty, or registered with no answers. Now all of it is one transaction."""
    import signal

    from tests.functional.faults import curator

    db, _ = store_with_gold
    with Store(db).connection() as con:
        row = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1 OFFSET 1").fetchone()
    assert row is not None  # the second: the first is rejected, so eval leaves it out
    uid = str(row[0])
    old = write_json(tmp_path / "old.json", {uid: [["old answer"], ""]})
    new = write_json(tmp_path / "new.json", {uid: [["new answer"], ""]})
    assert run_cli("--db", db, "predict", "--import", old, "--name", "vendor").code == 0

    def answers(run: str) -> list[object]:
        lines = tmp_path / f"{run}.jsonl"
        assert run_cli("--db", db, "eval", run, "--per-question", lines).code == 0
        rows = [json.loads(line) for line in lines.read_text().splitlines()]
        return [r["prediction"]["answer"] for r in rows if r["prediction"]]

    env = {"CURATOR_FAULT_AT": "predictions-import:1"}
    for name, source in (("vendor", new), ("fresh", new)):
        killed = curator("--db", db, "predict", "--import", source, "--name", name, env=env)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert answers("vendor") == [["old answer"]]
    gone = run_cli("--db", db, "eval", "fresh")
    assert gone.code == 2 and "no prediction run named 'fresh'" in gone.err, gone.err
    assert run_cli("--db", db, "predict", "--import", new, "--name", "vendor").code == 0
    assert answers("vendor") == [["new answer"]]


def test_predict_import_refuses_the_options_of_a_model_run(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """They were ignored without a word: `--import f --from-manifest m --split validation` stored
    the file's answers and eval then scored them on the file's splits, not the export's file."""
    db, _ = store_with_gold
    answers = write_json(tmp_path / "a.json", {_first_uid(db): ["1", ""]})
    before = db.read_bytes()
    for extra in (
        ("--split", "dev"),
        ("--from-manifest", str(answers)),
        ("--backend", "anthropic", "--model", "claude-haiku-4-5"),
        ("--limit", "3"),
        ("--max-tokens", "512"),  # even the default, when given
        ("--concurrency", "2"),
    ):
        refused = run_cli("--db", db, "predict", "--import", answers, "--name", "v", *extra)
        assert refused.code == 2, (extra, refused.err)
        assert refused.err.startswith("curator: error: --import stores a file's answers as they")
        assert extra[0] in refused.err and len(refused.err.strip().splitlines()) == 1
    assert db.read_bytes() == before
    assert run_cli("--db", db, "predict", "--import", answers, "--name", "v").code == 0


def test_the_same_predict_run_twice_at_once_is_refused_before_any_call(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], fake: FakeAnthropic
) -> None:
    """Two processes running `predict --name X` at once both asked (and paid) for every answer
    the run lacked. The second is refused (exit 3) while the first holds the run; another run
    is not held up, and the run is free again once its holder ends."""
    from curator.llm.run_lock import run_lock

    db, gold = store_with_gold
    fake.behaviour.responder = lambda prompt: gold[question(prompt)]
    with run_lock(db, "predict-base", "predict of run 'base'"):
        busy = run_cli("--db", db, *haiku_run("base"))
        assert busy.code == 3, busy.err
        assert "predict of run 'base' is already running in another process" in busy.err
        assert sum(fake.requests.values()) == 0
        other = run_cli("--db", db, *haiku_run("other", "--limit", "2"))
        assert other.code == 0 and json.loads(other.out)["answered"] == 2, other.err
    free = run_cli("--db", db, *haiku_run("base"))
    assert free.code == 0 and json.loads(free.out)["answered"] == 30, free.err


def test_eval_killed_while_writing_its_reports_leaves_the_old_ones_whole(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """--per-question and --plot were written in place: an eval killed (or failing) while
    writing left half a file where the last whole report was. Each is now written beside its
    destination and renamed over it; the next eval removes what a killed one left."""
    import signal

    from tests.functional.faults import curator

    db, _ = store_with_gold
    answers = write_json(tmp_path / "a.json", {_first_uid(db): ["1", ""]})
    assert run_cli("--db", db, "predict", "--import", answers, "--name", "v").code == 0
    reports = tmp_path / "reports"
    reports.mkdir()
    lines, plot = reports / "q.jsonl", reports / "t.png"
    lines.write_text("old report\n")
    plot.write_bytes(b"old plot")
    for k in (1, 2):  # the plot is written first, then the questions
        killed = curator("--db", db, "eval", "v", "--plot", plot, "--per-question", lines,
                         env={"CURATOR_FAULT_AT": f"report:{k}"})  # fmt: skip
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert lines.read_text() == "old report\n"
        assert plot.read_bytes()[:4] == (b"old " if k == 1 else b"\x89PNG")
        assert len(list(reports.iterdir())) == 3  # the two, and the killed run's own file
    done = curator("--db", db, "eval", "v", "--plot", plot, "--per-question", lines)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["q.jsonl", "t.png"]
    assert len(lines.read_text().splitlines()) == 29 and plot.read_bytes()[:4] == b"\x89PNG"


def test_predict_refuses_a_manifest_with_unusable_options_before_registering_the_run(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], fake: FakeAnthropic, tmp_path: Path
) -> None:
    """`options` that is not an object was an internal error (exit 1), and an unknown
    `table_format` failed in the pass after the run was registered (exit 1, store changed).
    Both are bad input naming the manifest and the field (exit 2); nothing is stored or sent."""
    db, _ = store_with_gold
    cases = {
        "options": ({"options": 3}, "not an export manifest ('options' is not an object)"),
        "format": (
            {"options": {"table_format": "csv"}},
            "options.table_format: 'csv' is not one of markdown, html, json, latex",
        ),
        "system": (
            {"options": {"table_format": "html", "system_prompt_text": ["x"]}},
            "options.system_prompt_text: not a text",
        ),
    }
    before = db.read_bytes()
    for name, (manifest, message) in cases.items():
        path = write_json(tmp_path / f"{name}.json", manifest)
        result = run_cli(
            "--db", db, *haiku_run("m", "--from-manifest", str(path), "--split", "dev")
        )
        assert result.code == 2, (name, result.err)
        assert result.err.strip() == f"curator: error: {path}: {message}", result.err
    assert db.read_bytes() == before and sum(fake.requests.values()) == 0
    assert run_cli("--db", db, "eval", "m").code == 2  # no run was registered


def test_an_answer_to_an_earlier_version_of_its_record_is_said_and_asked_again(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], fake: FakeAnthropic
) -> None:
    """An SME rewords a question after the run answered it: eval says that answer is for the
    old question, and the next `predict` asks that record again (and only that one)."""
    db, gold = store_with_gold
    fake.behaviour.responder = lambda prompt: gold.get(question(prompt), "42")
    first = run_cli("--db", db, *haiku_run("ft"))
    assert first.code == 0, first.err
    asked = sum(fake.requests.values())
    before = json.loads(run_cli("--db", db, "eval", "ft", "--json").out)["runs"][0]
    assert before["outdated_answers"] == 0
    store = Store(db)
    with store.connection() as con:
        row = con.execute("SELECT uid, question FROM records ORDER BY seq LIMIT 1 OFFSET 3")
        uid, old = row.fetchone() or ("", "")
    decide(store, uid, "edit", "ana", edited={"question": old + " (in thousands)"})
    after = json.loads(run_cli("--db", db, "eval", "ft", "--json").out)["runs"][0]
    assert after["outdated_answers"] == 1
    text = run_cli("--db", db, "eval", "ft")
    assert "ft: 1 answer was given for an earlier version of the record" in text.out
    again = run_cli("--db", db, *haiku_run("ft"))
    assert again.code == 0, again.err
    assert json.loads(again.out)["answered"] == 1
    assert sum(fake.requests.values()) == asked + 1
    latest = json.loads(run_cli("--db", db, "eval", "ft", "--json").out)["runs"][0]
    assert latest["outdated_answers"] == 0


def test_imported_answers_are_for_the_records_as_imported_until_one_is_edited(
    run_cli: Run, store_with_gold: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """`predict --import` stored no record version, so eval called every imported answer one
    "given for an earlier version of the record" on a store nobody had edited; an answer is
    outdated only once its record is edited (or re-imported) after the import."""
    db, _ = store_with_gold
    with Store(db).connection() as con:
        rows = con.execute("SELECT uid, question FROM records ORDER BY seq").fetchall()
    answers = write_json(tmp_path / "answers.json", {uid: "1" for uid, _ in rows})
    assert run_cli("--db", db, "predict", "--import", answers, "--name", "vendor").code == 0
    report = json.loads(run_cli("--db", db, "eval", "vendor", "--json").out)["runs"][0]
    assert (report["answered"], report["outdated_answers"]) == (29, 0)
    assert "earlier version" not in run_cli("--db", db, "eval", "vendor").out
    uid, old = rows[3]
    decide(Store(db), uid, "edit", "ana", edited={"question": old + " (in thousands)"})
    after = json.loads(run_cli("--db", db, "eval", "vendor", "--json").out)["runs"][0]
    assert after["outdated_answers"] == 1
    assert (
        "vendor: 1 answer was given for an earlier version"
        in run_cli("--db", db, "eval", "vendor").out
    )
    assert run_cli("--db", db, "predict", "--import", answers, "--name", "vendor").code == 0
    again = json.loads(run_cli("--db", db, "eval", "vendor", "--json").out)["runs"][0]
    assert again["outdated_answers"] == 0
