"""`curator export`, `curator validate` and `curator finetune` as a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curator.domain import Paragraph
from curator.prompts import judge_prompt, training_example
from curator.store import Store
from curator.store.journal import journal_for
from curator.store.reviews import decide
from tests.builders import curator_here, export_args
from tests.conftest import SAMPLE_DATA, CliResult
from tests.fakes.aws import apply_env, moto_server
from tests.templates import store_copy

Run = Callable[..., CliResult]
#: The sample has 150 records; Claude 3 Haiku wants at least 32 in a validation file.
VF = ("--validation-fraction", "0.3")


def curate(db: Path) -> None:
    """The sample store with every record decided: most accepted, some rejected, one edited."""
    assert curator_here("--db", db, "import", SAMPLE_DATA).returncode != 0  # a folder is no file
    for name in ("sample_train.json", "sample_dev.json"):
        done = curator_here("--db", db, "import", SAMPLE_DATA / name, "--split", "train")
        assert done.returncode == 0, done.stderr
    store = Store(db)
    store.open_session()
    with store.connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    for i, uid in enumerate(uids):
        if i % 10 == 3:
            decide(store, uid, "reject", "ana", reason="wrong answer")
        elif i == 0:
            decide(store, uid, "edit", "ana", edited={"question": "Edited question?"})
        else:
            decide(store, uid, "accept", "ana")
    assert journal_for(store).wait_stored(timeout=60)  # every decision in the file
    journal_for(store).close()  # and the emptied journal gone: a closed template
    store.close()


@pytest.fixture
def curated(tmp_path: Path) -> Path:
    """A copy of the `curate`d store, built once per test process (tests/templates.py)."""
    return store_copy("export-curated", curate, tmp_path / "export.duckdb")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_export_writes_valid_splits_by_context(run_cli: Run, curated: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("--db", curated, "export", out, *VF, "--json")
    assert result.code == 0, result.err
    manifest = json.loads(result.out)
    train, validation = lines(out / "train.jsonl"), lines(out / "validation.jsonl")
    assert len(train) + len(validation) == 137  # 152 minus 15 rejected
    assert manifest["splits"]["train"]["records"] == len(train)

    # No table appears in both splits.
    def contexts(rows: list[dict[str, Any]]) -> set[str]:
        return {r["messages"][0]["content"].split("</table>")[0] for r in rows}

    assert not contexts(train) & contexts(validation)
    # Edited values win; rejected records never appear.
    texts = [r["messages"][0]["content"] for r in train + validation]
    assert sum("<question>Edited question?</question>" in t for t in texts) == 1
    assert manifest["splits"]["train"]["status"].keys() <= {"accepted", "edited"}
    # The manifest's hashes are the files'.
    for name, info in manifest["files"].items():
        assert info["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    hp = manifest["hyperparameters"]
    assert hp["batchSize"]["value"] == "8" and "under 500" in hp["batchSize"]["rule"]
    assert hp["learningRateMultiplier"]["value"] == "1.0"
    assert run_cli("validate", out / "train.jsonl", out / "validation.jsonl").code == 0


def test_two_exports_are_byte_identical_and_seed_matters(
    run_cli: Run, curated: Path, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        assert run_cli("--db", curated, "export", tmp_path / name, *VF, "--seed", "7").code == 0
    for f in ("train.jsonl", "validation.jsonl"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert run_cli("--db", curated, "export", tmp_path / "c", *VF, "--seed", "8").code == 0
    assert (tmp_path / "a" / "validation.jsonl").read_bytes() != (
        tmp_path / "c" / "validation.jsonl"
    ).read_bytes()


@pytest.mark.parametrize("target", ["bedrock-claude", "bedrock-nova", "openai-chat"])
def test_each_target_format(run_cli: Run, curated: Path, tmp_path: Path, target: str) -> None:
    out = tmp_path / target
    assert run_cli("--db", curated, "export", out, *VF, "--target", target).code == 0
    first = lines(out / "train.jsonl")[0]
    if target == "bedrock-claude":
        assert set(first) == {"system", "messages"}
        assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
        assert isinstance(first["messages"][0]["content"], str)
    elif target == "bedrock-nova":
        assert first["schemaVersion"] == "bedrock-conversation-2024"
        assert first["system"][0]["text"].startswith("You are a financial analyst")
        assert first["messages"][1]["content"][0]["text"]
    else:
        assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    check = run_cli("validate", out / "train.jsonl", "--target", target)
    assert check.code == 0, check.out


@pytest.mark.parametrize("target", ["bedrock-nova", "openai-chat"])
def test_validate_takes_the_target_from_the_manifest(
    run_cli: Run, curated: Path, tmp_path: Path, target: str
) -> None:
    """`curator validate out/` of a Nova export checks it as Nova (its manifest says so), not
    as the default bedrock-claude, which reported every line; an explicit --target still wins,
    and a file with no manifest beside it keeps the default."""
    out = tmp_path / target
    assert run_cli("--db", curated, "export", out, *VF, "--target", target).code == 0
    for args in ((out,), (out / "train.jsonl", out / "validation.jsonl")):
        check = run_cli("validate", *args)
        assert check.code == 0, check.out
        assert check.out.strip() == f"ok: 2 files valid for {target}"
    one = run_cli("validate", out / "train.jsonl")  # the count takes its noun in the singular
    assert one.code == 0 and one.out.strip() == f"ok: 1 file valid for {target}", one.out
    forced = run_cli("validate", out, "--target", "bedrock-claude")
    assert forced.code == 1, forced.out
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(out / "train.jsonl", alone / "train.jsonl")
    assert run_cli("validate", alone / "train.jsonl").code == 1


def test_deeply_nested_json_is_a_problem_not_a_crash(
    run_cli: Run, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON nested beyond the parser's depth, in a JSONL line or a manifest, was an internal
    error (RecursionError, exit 1): it is a problem reported with its file (and line)."""
    deep = "[" * 100_000 + "]" * 100_000
    lines_file = tmp_path / "lines" / "train.jsonl"
    lines_file.parent.mkdir()
    lines_file.write_text(deep + "\n", "utf-8")
    checked = run_cli("validate", lines_file)
    assert checked.code == 1, checked.err
    assert f"{lines_file}:1: not valid JSON (nested too deeply)" in checked.out
    assert "internal error" not in checked.err

    out = tmp_path / "out"
    assert run_cli("--db", curated, "export", out, *VF).code == 0
    (out / "manifest.json").write_text('{"files": ' + deep + "}", "utf-8")
    checked = run_cli("validate", out)
    assert checked.code == 1 and "manifest.json: cannot read the manifest" in checked.out
    assert "internal error" not in checked.err
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # never reached
    args = ("--backend", "anthropic", "--model", "m", "--name", "ft")
    predicted = run_cli("--db", curated, "predict", *args, "--from-manifest", out / "manifest.json")
    assert predicted.code == 2, predicted.err
    assert "manifest.json: not an export manifest" in predicted.err
    started = run_cli(
        "finetune", "start", "--export-dir", out, "--s3", "s3://b/p", "--role-arn", "arn:x"
    )
    assert started.code == 2, started.err
    assert "manifest.json: not an export manifest" in started.err


def test_rationale_table_format_and_system_prompt(
    run_cli: Run, curated: Path, tmp_path: Path
) -> None:
    system = tmp_path / "system.txt"
    system.write_text("You answer from the report. Be brief.\n", "utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "--db",
        curated,
        "export",
        out,
        *VF,
        "--rationale",
        "--table-format",
        "html",
        "--system-prompt",
        system,
    )
    assert result.code == 0, result.err
    rows = lines(out / "train.jsonl")
    assert all(r["system"] == "You answer from the report. Be brief." for r in rows)
    assert all("<table>\n<table><tr>" in r["messages"][0]["content"] for r in rows)
    answers = [r["messages"][1]["content"] for r in rows]
    assert all(a.startswith("<rationale>") and "</rationale>\n<answer>" in a for a in answers)


def test_caps_and_sampling(run_cli: Run, curated: Path, tmp_path: Path) -> None:
    sampled = run_cli("--db", curated, "export", tmp_path / "s", *VF, "--max-train", "40", "--json")
    manifest = json.loads(sampled.out)
    assert manifest["splits"]["train"]["records"] == 40
    types = manifest["splits"]["train"]["answer_type"]
    assert set(types) == {"arithmetic", "count", "multi-span", "span"}  # the mix is kept
    too_few = run_cli("--db", curated, "export", tmp_path / "t", *VF, "--max-train", "10")
    # Too few records for the target is a refusal of the request (exit 2), not a bug (exit 1).
    assert too_few.code == 2 and "only 10 training records" in too_few.err, too_few.err
    assert "internal error" not in too_few.err
    assert not (tmp_path / "t").exists()


def test_nothing_to_export_is_a_clear_error(run_cli: Run, tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json")
    result = run_cli("--db", db, "export", tmp_path / "out", *VF)
    assert result.code == 2 and "nothing to export" in result.err  # a refusal (README table)
    assert "review some first" in result.err
    # A selection that matches no record at all says so, not "review some first".
    # A split the store lacks is refused; a selection whose records are all uncurated (dev's two
    # count questions, neither judged nor reviewed) still says to review some first.
    unknown = run_cli("--db", db, "export", tmp_path / "out", *VF, "--split", "nosuch")
    assert unknown.code == 2 and "--split: unknown split 'nosuch'" in unknown.err
    empty = ("--split", "dev", "--answer-type", "count")
    nothing = run_cli("--db", db, "export", tmp_path / "out", *VF, *empty)
    assert nothing.code == 2
    assert "review some first" in nothing.err
    judged = run_cli("--db", db, "judge", "--judge", "rules")
    assert judged.code == 0
    result = run_cli("--db", db, *export_args(tmp_path / "out"))
    assert result.code == 0, result.err
    manifest = json.loads(result.out)
    assert manifest["splits"]["train"]["source"] == {"judged:rules": 26}


def test_validate_reports_every_problem_with_its_line(run_cli: Run, tmp_path: Path) -> None:
    good = {
        "system": "s",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
    }
    bad_lines = [
        json.dumps(good),
        "not json",
        json.dumps({**good, "extra": 1}),
        json.dumps(
            {"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}
        ),
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "q\nHuman: hi"},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ),
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "x" * 120_000},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ),
        "",
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(bad_lines) + "\n", "utf-8")
    result = run_cli("validate", path)
    assert result.code == 1
    out = result.out
    assert f"{path}:2: not valid JSON" in out
    assert f"{path}:3: unexpected keys ['extra']" in out
    assert f"{path}:4: the first message must be from the user" in out
    assert f"{path}:5: contains 'Human:'" in out
    assert f"{path}:6: about 40,0" in out
    assert f"{path}:7: empty line" in out
    assert "needs at least 32" in out
    assert f"{path}:1:" not in out


def test_validate_a_missing_or_unreadable_file_is_bad_input(run_cli: Run, tmp_path: Path) -> None:
    """A file validate cannot read was reported like a problem in the data, with exit 1 (the
    code of problems found and of internal errors); nothing was checked: exit 2, one line naming
    the file, as `import` says of a missing file."""
    good = tmp_path / "train.jsonl"
    good.write_text("", "utf-8")
    missing = tmp_path / "validation.jsonl"
    result = run_cli("validate", good, missing)
    assert result.code == 2, (result.code, result.out, result.err)
    assert f"{missing}: cannot read: No such file or directory" in result.err
    assert len(result.err.strip().splitlines()) == 1 and result.out == ""
    empty_folder = tmp_path / "folder"
    empty_folder.mkdir()
    result = run_cli("validate", empty_folder)
    assert result.code == 2 and f"{empty_folder / 'train.jsonl'}: cannot read" in result.err


def test_one_prompt_builder_serves_judge_and_export() -> None:
    table = [["", "2019"], ["Revenue", "$1,200"]]
    paragraphs = [Paragraph("p", 1, "Revenue rose <sharply>.")]
    judge = judge_prompt(
        table=table, paragraphs=paragraphs, question="Q?", answer=["$1,200"], scale="thousand"
    )
    example = training_example(
        table=table, paragraphs=paragraphs, question="Q?", answer=["$1,200"], scale="thousand"
    )
    context = example.user.split("<question>")[0].strip()
    assert context in judge.context_part
    assert example.assistant == "$1,200 thousand" and "$1,200 thousand" in judge.record_part


def test_export_to_s3_and_finetune_against_moto(
    run_cli: Run, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with moto_server() as url:
        apply_env(
            monkeypatch,
            {
                "AWS_ENDPOINT_URL_S3": url,
                "AWS_ENDPOINT_URL_BEDROCK": url,
                "CURATOR_CONFIG": os.devnull,
            },
        )
        import boto3

        s3 = boto3.client("s3", endpoint_url=url)
        s3.create_bucket(Bucket="tatqa")
        exported = run_cli("--db", curated, "export", "s3://tatqa/v1", *VF, "--json")
        assert exported.code == 0, exported.err
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="tatqa")["Contents"]}
        assert keys == {
            "v1/train.jsonl",
            "v1/validation.jsonl",
            "v1/manifest.json",
            "v1/train.uids.txt",
            "v1/validation.uids.txt",
        }

        out = tmp_path / "out"
        assert run_cli("--db", curated, "export", out, *VF).code == 0
        started = run_cli(
            "finetune",
            "start",
            "--export-dir",
            out,
            "--s3",
            "s3://tatqa/ft",
            "--role-arn",
            "arn:aws:iam::123456789012:role/ft",
            "--name",
            "tatqa-ft-1",
        )
        assert started.code == 0, started.err
        assert "started tatqa-ft-1" in started.out
        status = run_cli("finetune", "status", "tatqa-ft-1", "--json")
        job = json.loads(status.out)
        assert job["jobName"] == "tatqa-ft-1" and job["status"]
        assert job["hyperParameters"]["batchSize"] == "8"
        assert all(isinstance(v, str) for v in job["hyperParameters"].values())
        assert "haiku" in job["baseModel"]

        # A Nova export is fine-tuned from Nova with Nova's hyperparameters.
        nova = tmp_path / "nova"
        assert run_cli("--db", curated, "export", nova, *VF, "--target", "bedrock-nova").code == 0
        name = "nova_ft 1" + "x" * 60  # not a valid job name: refused before anything is sent
        refused = run_cli(
            "finetune",
            "start",
            "--export-dir",
            nova,
            "--s3",
            "s3://tatqa/nova",
            "--role-arn",
            "arn:aws:iam::123456789012:role/ft",
            "--name",
            name,
        )
        assert refused.code == 2 and "Bedrock wants at most 63" in refused.err
        started = run_cli(
            "finetune",
            "start",
            "--export-dir",
            nova,
            "--s3",
            "s3://tatqa/nova",
            "--role-arn",
            "arn:aws:iam::123456789012:role/ft",
            "--name",
            "tatqa-nova-1",
        )
        assert started.code == 0, started.err
        job = json.loads(run_cli("finetune", "status", "tatqa-nova-1", "--json").out)
        assert "nova" in job["baseModel"]
        assert set(job["hyperParameters"]) == {
            "epochCount",
            "batchSize",
            "learningRate",
            "learningRateWarmupSteps",
        }
        mismatch = run_cli(
            "finetune",
            "start",
            "--export-dir",
            nova,
            "--s3",
            "s3://tatqa/nova",
            "--role-arn",
            "arn:aws:iam::123456789012:role/ft",
            "--name",
            "tatqa-nova-2",
            "--base-model",
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
        )
        assert mismatch.code == 2 and "does not match the export's target" in mismatch.err


def test_export_round_trips_through_predict_import_and_eval(
    run_cli: Run, curated: Path, tmp_path: Path
) -> None:
    """Each line's assistant turn, imported as that record's answer, scores EM 100."""
    out = tmp_path / "out"
    manifest = json.loads(run_cli("--db", curated, "export", out, *VF, "--json").out)
    assert manifest["uids"] == {
        "train.jsonl": "train.uids.txt",
        "validation.jsonl": "validation.uids.txt",
    }
    answers = {}
    for name, uids_name in manifest["uids"].items():
        rows = lines(out / name)
        uids = (out / uids_name).read_text("utf-8").splitlines()
        assert len(uids) == len(rows) == manifest["files"][uids_name]["records"]
        for uid, row in zip(uids, rows, strict=True):
            answers[uid] = row["messages"][-1]["content"]
        assert manifest["target_output_tokens"][name]["mean"] < 10
    assert len(answers) == 137
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers), "utf-8")
    assert run_cli("--db", curated, "predict", "--import", path, "--name", "rt").code == 0
    per_question = tmp_path / "rt.jsonl"
    result = run_cli("--db", curated, "eval", "rt", "--json", "--per-question", per_question)
    report = json.loads(result.out)["runs"][0]
    assert (report["records"], report["answered"]) == (137, 137)
    assert report["tatqa_em"] == report["tatqa_f1"] == report["scale_accuracy"] == 100.0
    rows = [json.loads(line) for line in per_question.read_text("utf-8").splitlines()]
    assert len(rows) == 137 and all(r["em"] == 1 and r["scale_correct"] for r in rows)
    assert set(rows[0]) == {
        "run",
        "uid",
        "answer_type",
        "answer_from",
        "gold",
        "prediction",
        "em",
        "f1",
        "scale_correct",
    }


def test_validate_checks_validation_and_total_limits(run_cli: Run, tmp_path: Path) -> None:
    line = json.dumps(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    )
    train, validation = tmp_path / "train.jsonl", tmp_path / "validation.jsonl"
    train.write_text((line + "\n") * 9_500, "utf-8")
    validation.write_text((line + "\n") * 5, "utf-8")
    result = run_cli("validate", train, validation)
    assert result.code == 1
    assert f"{validation}: 5 records; bedrock-claude needs at least 32 for validation" in result.out
    assert "records in all" not in result.out
    validation.write_text(line + "\n", "utf-8")
    one = run_cli("validate", train, validation)
    assert f"{validation}: 1 record; bedrock-claude needs at least 32 for validation" in one.out
    validation.write_text((line + "\n") * 600, "utf-8")
    result = run_cli("validate", train, validation)
    assert result.code == 1 and "10,100 records in all; bedrock-claude allows at most 10,000" in (
        result.out
    )
    nova = run_cli("validate", validation, "--target", "bedrock-nova")
    assert "needs at least" not in nova.out and "allows" not in nova.out


def test_the_summary_counts_records_in_each_split(
    run_cli: Run, curated: Path, tmp_path: Path
) -> None:
    """The summary line said 'validation 41' where it said 'train 96 records': both say
    records, in the number they take (one validation record is '1 record')."""
    done = run_cli("--db", curated, "export", tmp_path / "out", *VF)
    assert done.code == 0, done.err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    train, validation = (manifest["splits"][s] for s in ("train", "validation"))
    first = done.out.splitlines()[0]
    assert f"train {train['records']:,} records (" in first
    assert f"validation {validation['records']:,} records (" in first
    one = run_cli(
        "--db", curated, "export", tmp_path / "one", "--target", "openai-chat", *VF,
        "--max-validation", "1",
    )  # fmt: skip
    assert one.code == 0, one.err
    assert "validation 1 record (1 context)" in one.out.splitlines()[0]
    # The sample data holds one pair of near-duplicate tables: "1 cluster", not "1 clusters".
    assert manifest["leaks"]["near_duplicate_clusters"] == 1
    assert "near-duplicate tables kept on one side: 1 cluster;" in done.out
