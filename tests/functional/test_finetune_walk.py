"""The README's fine-tuning walk attacked as a user would, against moto (S3, the Bedrock control
plane) and the loopback Bedrock runtime: export folders that are not as exported, bad s3://
URIs and job names, a job name already taken, the region, failing services, a kill mid-upload,
and predict with a model Bedrock refuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import ctrl_c_able
from tests.conftest import CliResult
from tests.fakes.aws import FlakyProxy, apply_env, moto_server
from tests.fakes.servers import Behaviour, Failure, FakeBedrockRuntime
from tests.functional.faults import curated_store

Run = Callable[..., CliResult]
CURATOR = str(Path(sys.executable).with_name("curator"))


#: The sample has 150 records; Claude 3 Haiku wants at least 32 in a validation file.
VF = ("--validation-fraction", "0.3")
ROLE = ("--role-arn", "arn:aws:iam::123456789012:role/ft")


@pytest.fixture
def curated(tmp_path: Path) -> Path:
    return curated_store(tmp_path / "store.duckdb")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto for S3 and Bedrock, as a user points curator at it (the SDK's endpoint variables),
    with an empty bucket `tatqa` and no jobs (moto keeps its state per process, not per server:
    it is reset before and after)."""
    import urllib.request

    import boto3

    with moto_server() as url:
        reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
        apply_env(
            monkeypatch,
            {
                "AWS_ENDPOINT_URL_S3": url,
                "AWS_ENDPOINT_URL_BEDROCK": url,
                "CURATOR_CONFIG": os.devnull,
            },
        )
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="tatqa")
        try:
            yield url
        finally:  # and left as found for the next test of this process
            urllib.request.urlopen(reset).close()


def s3_objects(url: str) -> dict[str, bytes]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=url)
    listed = s3.list_objects_v2(Bucket="tatqa").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket="tatqa", Key=o["Key"])["Body"].read() for o in listed}


def jobs(url: str, region: str = "us-east-1") -> list[str]:
    import boto3

    bedrock = boto3.client("bedrock", endpoint_url=url, region_name=region)
    summaries = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    return sorted(job["jobName"] for job in summaries)


def export(run_cli: Run, db: Path, out: Path, *extra: str) -> Path:
    done = run_cli("--db", db, "export", out, *VF, *extra)
    assert done.code == 0, done.err
    return out


def start(run_cli: Run, export_dir: Path, *extra: str, s3: str = "s3://tatqa/ft") -> CliResult:
    return run_cli("finetune", "start", "--export-dir", export_dir, "--s3", s3, *ROLE, *extra)


def one_line(result: CliResult, code: int, *words: str) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    line = result.err.strip()
    assert "\n" not in line and line.startswith("curator: error: "), result.err
    assert "internal error" not in line
    for word in words:
        assert word in line, (word, line)
    return line


def test_an_export_not_as_exported_is_refused_before_anything_is_sent(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str
) -> None:
    """Bedrock trains on what is uploaded: a file edited, cut or removed since the export was
    uploaded and trained on (exit 0), a missing train.jsonl was an internal error and a missing
    folder exit 1. Each is bad input (exit 2) naming the file, with nothing uploaded."""
    import shutil

    out = export(run_cli, curated, tmp_path / "out")

    def broken(name: str, change: Callable[[Path], Any]) -> Path:
        copy = tmp_path / name
        shutil.copytree(out, copy)
        change(copy)
        return copy

    edited = broken("edited", lambda d: (d / "train.jsonl").write_bytes(b"{}\n"))
    one_line(start(run_cli, edited), 2, "train.jsonl", "not as exported", "nothing was uploaded")
    no_validation = broken("no-validation", lambda d: (d / "validation.jsonl").unlink())
    one_line(start(run_cli, no_validation), 2, "validation.jsonl", "missing")
    no_train = broken("no-train", lambda d: (d / "train.jsonl").unlink())
    one_line(start(run_cli, no_train), 2, "train.jsonl", "missing")

    def unlist_train(d: Path) -> None:
        manifest = json.loads((d / "manifest.json").read_text("utf-8"))
        del manifest["files"]["train.jsonl"]
        (d / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    unlisted = broken("unlisted", unlist_train)
    one_line(start(run_cli, unlisted), 2, "manifest.json", "lists no train.jsonl")

    def plain_epochs(d: Path) -> None:
        """An edit a user may make: it was uploaded, then an internal error (exit 1)."""
        manifest = json.loads((d / "manifest.json").read_text("utf-8"))
        manifest["hyperparameters"]["epochCount"] = 3
        (d / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    one_line(
        start(run_cli, broken("plain", plain_epochs)),
        2,
        'manifest.json: hyperparameters.epochCount: expected {"value"',
        "got 3",
    )
    one_line(start(run_cli, tmp_path / "nowhere"), 2, "no manifest.json", "curator export")
    assert s3_objects(aws) == {} and jobs(aws) == []
    # The untouched export goes through, and what was uploaded is what was exported.
    assert start(run_cli, out, "--name", "ft-ok").code == 0
    uploaded = s3_objects(aws)
    assert uploaded == {f"ft/{p.name}": p.read_bytes() for p in out.iterdir()}
    assert jobs(aws) == ["ft-ok"]


def test_bad_s3_uris_and_job_names_are_bad_input(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str
) -> None:
    """An s3:// URI without a bucket was exit 1 (an internal error by the README's table),
    for an export only after the whole export; a job `status` cannot find was exit 3 (the
    environment), with a bad name sent URL-encoded. All are bad input (exit 2)."""
    out = export(run_cli, curated, tmp_path / "out")
    for uri in ("s3://", "s3:///ft", "tatqa/ft", "https://tatqa/ft"):
        one_line(start(run_cli, out, s3=uri), 2, "--s3", repr(uri), "expected s3://bucket/prefix")
    for uri in ("s3://", "s3:///v1"):
        refused = run_cli("--db", curated, "export", uri, *VF)
        one_line(refused, 2, "DESTINATION", "expected s3://bucket/prefix")
        assert refused.out == ""  # refused before the export, not after it
    one_line(
        run_cli("finetune", "status", "no-such-job"),
        2,
        "no fine-tuning job 'no-such-job' in us-east-1",
        "--region",
    )
    one_line(run_cli("finetune", "status", "bad name!"), 2, "NAME: job name 'bad name!'")
    # moto takes any role; Bedrock refuses one that is no IAM role ARN (after the upload).
    refused = run_cli("finetune", "start", "--export-dir", out, "--s3", "s3://tatqa/ft")
    assert refused.code == 2 and "--role-arn" in refused.err  # click: required
    bad_role = ("--role-arn", "arn:x")
    one_line(
        run_cli("finetune", "start", "--export-dir", out, "--s3", "s3://tatqa/ft", *bad_role),
        2,
        "--role-arn: 'arn:x': expected an IAM role ARN",
    )
    assert s3_objects(aws) == {} and jobs(aws) == []


def test_a_taken_job_name_is_refused_before_the_upload(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running `finetune start --name N` again (after an interrupted run, or by mistake) used to
    upload over the running job's data and only then hear 'already exists' (exit 3). It is
    refused first (exit 2), the first job's data untouched and no second job started."""
    first = export(run_cli, curated, tmp_path / "first")
    started = start(run_cli, first, "--name", "ft-1")
    assert started.code == 0, started.err
    assert started.out.index("creating ft-1") < started.out.index("started ft-1")
    before = s3_objects(aws)
    other = export(run_cli, curated, tmp_path / "other", "--seed", "3")
    assert (other / "train.jsonl").read_bytes() != (first / "train.jsonl").read_bytes()
    one_line(
        start(run_cli, other, "--name", "ft-1"),
        2,
        "'ft-1' already exists in us-east-1",
        "nothing was uploaded",
        "curator finetune status ft-1",
    )
    assert s3_objects(aws) == before and jobs(aws) == ["ft-1"]
    # When the look-up fails (here three 500s), create still refuses the name: exit 2, one job.
    with FlakyProxy(aws, [500, 500, 500]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", proxy.url)
        line = one_line(
            start(run_cli, other, "--name", "ft-1", s3="s3://tatqa/other"),
            2,
            "'ft-1' already exists in us-east-1 (created meanwhile)",
            "not started a second time",
        )
        assert "nothing was uploaded" not in line and not proxy.failures
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", aws)
    assert jobs(aws) == ["ft-1"]
    status = run_cli("finetune", "status", "ft-1")
    assert status.code == 0, status.err
    assert 'hyperParameters: {"epochCount": "' in status.out  # JSON, as `start` prints them


def test_the_region_is_taken_as_the_judge_takes_it(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_REGION alone (what curator's own messages say to set) was ignored by finetune, whose
    Bedrock client then failed with an internal error. It is used, like --region and the
    judge's region; no region anywhere is one line, exit 3."""
    out = export(run_cli, curated, tmp_path / "out")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    assert start(run_cli, out, "--name", "ft-eu").code == 0
    assert jobs(aws, "eu-west-1") == ["ft-eu"] and jobs(aws) == []
    assert run_cli("finetune", "status", "ft-eu").code == 0
    one_line(
        run_cli("finetune", "status", "ft-eu", "--region", "us-east-1"),
        2,
        "no fine-tuning job 'ft-eu' in us-east-1",
    )
    # A --region given to start is in the command it prints to follow the job.
    started = start(run_cli, out, "--name", "ft-ap", "--region", "ap-southeast-2")
    assert "curator finetune status ft-ap --region ap-southeast-2" in started.out
    assert jobs(aws, "ap-southeast-2") == ["ft-ap"]
    monkeypatch.delenv("AWS_REGION")
    one_line(run_cli("finetune", "status", "ft-eu"), 3, "no AWS region")
    one_line(start(run_cli, out, "--name", "ft-2"), 3, "no AWS region")


def test_throttled_and_failing_services(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """503 SlowDown and 500 from S3 and Bedrock are retried (botocore's standard mode: three
    attempts a call): one job, the export uploaded whole. A service that keeps failing is one
    line, exit 3, and no job."""
    out = export(run_cli, curated, tmp_path / "out")
    with FlakyProxy(aws, [503, 500, 0, 503, 500]) as proxy:  # the look-up, then the first PUT
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", proxy.url)
        started = start(run_cli, out, "--name", "ft-retried")
        assert started.code == 0, started.err
        assert not proxy.failures
        proxy.failures = [0] * 6 + [503, 500]  # the uploads pass; create fails twice
        started = start(run_cli, out, "--name", "ft-created", s3="s3://tatqa/again")
        assert started.code == 0, started.err
        assert not proxy.failures
        proxy.failures = [500] * 10
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        failed = start(run_cli, out, "--name", "ft-failed")
        one_line(failed, 3, "s3://tatqa/ft/train.jsonl: upload failed", "InternalError")
        assert "started" not in failed.out
    assert jobs(aws) == ["ft-created", "ft-retried"]
    held = {
        f"{prefix}/{p.name}": p.read_bytes() for p in out.iterdir() for prefix in ("ft", "again")
    }
    assert s3_objects(aws) == held


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_a_run_stopped_mid_upload_started_nothing_and_a_rerun_finishes(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, how: str
) -> None:
    """kill -9 or Ctrl-C while the validation file is uploading: no manifest in S3 (it goes
    last), no job, nothing said to be started; the same command again uploads and starts one.
    Ctrl-C stops at once (it waited for boto3's upload thread: up to a minute on a stalled
    connection)."""
    out = export(run_cli, curated, tmp_path / "out")
    args = ["finetune", "start", "--export-dir", str(out), "--s3", "s3://tatqa/ft", *ROLE]
    with FlakyProxy(aws, [], stall="/ft/validation.jsonl") as proxy:
        env = {**os.environ, "AWS_ENDPOINT_URL_S3": proxy.url, "AWS_MAX_ATTEMPTS": "1"}
        proc = subprocess.Popen(
            ctrl_c_able([CURATOR, *args, "--name", "ft-k"]),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proxy.stalled.wait(60), "the upload never reached the validation file"
            if how == "kill":
                proc.kill()
            else:
                proc.send_signal(signal.SIGINT)
            # Ctrl-C used to wait for the request in flight (held here for a minute).
            stdout, stderr = proc.communicate(timeout=40)
            assert not proxy.release.is_set()
        finally:
            proc.kill()
    assert proc.returncode == (-signal.SIGKILL if how == "kill" else 130), stderr
    assert "started" not in stdout and "creating" not in stdout
    held = s3_objects(aws)
    assert "ft/manifest.json" not in held and "ft/validation.jsonl" not in held
    assert jobs(aws) == []
    again = start(run_cli, out, "--name", "ft-k")
    assert again.code == 0, again.err
    assert jobs(aws) == ["ft-k"]
    assert s3_objects(aws) == {f"ft/{p.name}": p.read_bytes() for p in out.iterdir()}


def test_predict_with_a_model_bedrock_refuses_says_why(
    run_cli: Run, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provisioned-model ARN whose id is no real one (Bedrock's are 12 characters) makes
    every call fail; the error said only 'every call failed', not what Bedrock answered. It
    now gives the last error, as the judge does."""
    out = export(run_cli, curated, tmp_path / "out")
    with FakeBedrockRuntime() as fake:
        apply_env(
            monkeypatch,
            {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url, "CURATOR_CONFIG": os.devnull},
        )
        arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc"
        refused = run_cli(
            "--db", curated, "predict", "--backend", "bedrock", "--model", arn,
            "--from-manifest", out / "manifest.json", "--split", "validation", "--name", "ft",
        )  # fmt: skip
        line = one_line(refused, 3, "every call failed", "last error: HTTP 400 ValidationException")
        assert "The provided model identifier is invalid" in line
    # eval's row said "cut off by max_tokens (0)": (0) was the score such an answer gets.
    scored = run_cli("--db", curated, "eval", "ft", "--from-manifest", out / "manifest.json")
    assert scored.code == 0, scored.err
    assert "cut off by max_tokens (scored 0)" in scored.out


def inflate(export_dir: Path, times: int) -> int:
    """train.jsonl repeated `times` over, with the manifest updated to match: a real-size file
    (over boto3's 8 MB multipart threshold) from the sample. Returns its size."""
    import hashlib

    train = export_dir / "train.jsonl"
    data = train.read_bytes() * times
    train.write_bytes(data)
    manifest = json.loads((export_dir / "manifest.json").read_text("utf-8"))
    entry = manifest["files"]["train.jsonl"]
    entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    entry["records"] *= times
    (export_dir / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return len(data)


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_a_large_file_stopped_mid_upload_leaves_no_parts_and_stops_at_once(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, how: str
) -> None:
    """A file over 8 MB went up as a multipart upload: kill -9 mid-upload left its parts in
    the bucket (stored and billed, invisible, until a lifecycle rule aborts them), and Ctrl-C
    waited for the parts in flight (up to a minute on a stalled connection). Each file is one
    PUT in the main thread: an object is there whole or not at all, and Ctrl-C stops at once."""
    import boto3

    out = export(run_cli, curated, tmp_path / "out")
    assert inflate(out, 70) > 8 * 1024 * 1024
    args = ["finetune", "start", "--export-dir", str(out), "--s3", "s3://tatqa/ft", *ROLE]
    with FlakyProxy(aws, [], stall="/ft/train.jsonl") as proxy:
        env = {**os.environ, "AWS_ENDPOINT_URL_S3": proxy.url, "AWS_MAX_ATTEMPTS": "1"}
        proc = subprocess.Popen(
            ctrl_c_able([CURATOR, *args, "--name", "ft-big"]),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proxy.stalled.wait(60), "the upload never reached the training file"
            if how == "kill":
                proc.kill()
            else:
                proc.send_signal(signal.SIGINT)
            # Well before the proxy lets the held request go (a minute): not waiting for it.
            proc.communicate(timeout=40)
            assert not proxy.release.is_set()
        finally:
            proc.kill()
        assert proc.returncode == (-signal.SIGKILL if how == "kill" else 130)
    s3 = boto3.client("s3", endpoint_url=aws)
    assert s3.list_multipart_uploads(Bucket="tatqa").get("Uploads", []) == []
    assert s3_objects(aws) == {} and jobs(aws) == []
    again = start(run_cli, out, "--name", "ft-big")
    assert again.code == 0, again.err
    assert s3_objects(aws) == {f"ft/{p.name}": p.read_bytes() for p in out.iterdir()}


def test_predict_through_a_throttled_bedrock_answers_everything_once(
    run_cli: Run, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's predict against Bedrock runtime answering 429 ThrottlingException and 500
    in bursts: every record answered (retried, not stored as errors), none asked twice once
    answered, and running it again asks nothing."""
    from collections import deque

    out = export(run_cli, curated, tmp_path / "out")
    # Five in all: even one record meeting every one still has its sixth attempt (of six).
    bursts = [Failure(429, retry_after="0")] * 3 + [Failure(500)] * 2
    with FakeBedrockRuntime(Behaviour(failures=deque(bursts))) as fake:
        apply_env(
            monkeypatch,
            {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url, "CURATOR_CONFIG": os.devnull},
        )
        args = (
            "--db", curated, "predict", "--backend", "bedrock",
            "--model", "anthropic.claude-3-haiku-20240307-v1:0",
            "--from-manifest", out / "manifest.json", "--split", "validation",
            "--name", "base", "--concurrency", "8", "--json",
        )  # fmt: skip
        first = run_cli(*args)
        assert first.code == 0, first.err
        summary = json.loads(first.out)
        validation = (out / "validation.uids.txt").read_text("utf-8").split()
        assert summary["answered"] == len(validation) and summary["errors"] == 0
        assert not fake.behaviour.failures
        assert fake.calls["converse"] == len(validation) + len(bursts)
        again = run_cli(*args)
        assert again.code == 0 and json.loads(again.out)["answered"] == 0
        assert fake.calls["converse"] == len(validation) + len(bursts)


def test_continued_fine_tuning_of_a_custom_model(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str
) -> None:
    """A custom model's ARN as --base-model (continued fine-tuning) was refused as another
    family: its last part is the model's own id. It is sent as given, as is a custom model's
    name this account has; a name it has not, or a custom model of the other family, is exit
    2 before anything is uploaded."""
    import boto3

    out = export(run_cli, curated, tmp_path / "out")
    haiku = "anthropic.claude-3-haiku-20240307-v1:0:200k"
    arn = f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{haiku}/a1b2c3d4e5f6"
    started = start(run_cli, out, "--name", "ft-more", "--base-model", arn)
    assert started.code == 0, started.err
    assert f"base model: {arn}" in started.out
    bedrock = boto3.client("bedrock", endpoint_url=aws)
    job = bedrock.get_model_customization_job(jobIdentifier="ft-more")
    assert job["baseModelArn"].endswith(arn)  # moto puts a foundation-model ARN before it
    # By name: the custom model the first job made (its base model is read from Bedrock).
    by_name = start(run_cli, out, "--name", "ft-again", "--base-model", "ft-more-model")
    assert by_name.code == 0, by_name.err
    before = s3_objects(aws)
    none = ("--name", "ft-none", "--base-model", "no-such-model")
    one_line(
        start(run_cli, out, *none, s3="s3://tatqa/x"),
        2,
        "base model 'no-such-model': no custom model of that name in us-east-1",
        "nothing was uploaded",
    )
    nova = arn.replace(haiku, "amazon.nova-lite-v1:0:300k")
    bedrock.create_model_customization_job(
        jobName="nova-job", customModelName="nova-tuned", roleArn=ROLE[1],
        baseModelIdentifier="amazon.nova-lite-v1:0:300k",
        trainingDataConfig={"s3Uri": "s3://tatqa/n/train.jsonl"},
        outputDataConfig={"s3Uri": "s3://tatqa/n/output/"}, hyperParameters={},
    )  # fmt: skip
    one_line(
        start(run_cli, out, "--name", "ft-nova", "--base-model", "nova-tuned", s3="s3://tatqa/x"),
        2,
        "base model 'nova-tuned' does not match the export's target bedrock-claude",
    )
    one_line(
        start(run_cli, out, "--name", "ft-nova", "--base-model", nova, s3="s3://tatqa/x"),
        2,
        "does not match the export's target bedrock-claude",
    )
    bad = ("--name", "ft-bad", "--base-model", "arn:aws:bedrock:x")
    one_line(
        start(run_cli, out, *bad, s3="s3://tatqa/x"),
        2,
        "base model: 'arn:aws:bedrock:x': expected a model id",
    )
    assert s3_objects(aws) == before and jobs(aws) == ["ft-again", "ft-more", "nova-job"]


def test_a_custom_model_of_another_region_is_refused_before_anything_is_sent(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom model's ARN from another region than the job's was sent as it was: Bedrock
    refuses it only once the export is uploaded. It is exit 2 naming both regions and the
    --region to pass, with no request made at all; in its own region it is started."""
    out = export(run_cli, curated, tmp_path / "out")
    haiku = "anthropic.claude-3-haiku-20240307-v1:0:200k"
    arn = f"arn:aws:bedrock:eu-west-1:123456789012:custom-model/{haiku}/a1b2c3d4e5f6"
    with FlakyProxy(aws, []) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", proxy.url)
        for extra in ((), ("--name", "ft-eu")):
            one_line(
                start(run_cli, out, *extra, "--base-model", arn),
                2,
                f"base model {arn!r} is a custom model in eu-west-1",
                "the job would start in us-east-1",
                "--region eu-west-1",
                "nothing was uploaded",
            )
        one_line(
            start(run_cli, out, "--base-model", arn, "--region", "ap-southeast-2"),
            2,
            "custom model in eu-west-1, and the job would start in ap-southeast-2",
        )
        assert sum(proxy.calls.values()) == 0
        assert s3_objects(aws) == {} and jobs(aws) == [] and jobs(aws, "eu-west-1") == []
        # The model's own region (from --region or AWS_REGION): started as before.
        started = start(
            run_cli, out, "--name", "ft-eu", "--base-model", arn, "--region", "eu-west-1"
        )
        assert started.code == 0, started.err
        assert f"base model: {arn}" in started.out
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        again = start(run_cli, out, "--name", "ft-eu-2", "--base-model", arn)
        assert again.code == 0, again.err
    assert jobs(aws, "eu-west-1") == ["ft-eu", "ft-eu-2"] and jobs(aws) == []


def test_a_foundation_model_arn_of_another_region_is_refused_before_anything_is_sent(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a custom model's: a foundation model's ARN names its region, and a job in another
    region was sent it after the upload (Bedrock refuses it; moto does not)."""
    out = export(run_cli, curated, tmp_path / "out")
    arn = "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0:200k"
    with FlakyProxy(aws, []) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", proxy.url)
        one_line(
            start(run_cli, out, "--name", "ft-f", "--base-model", arn),
            2,
            f"base model {arn!r} is a foundation model in eu-west-1",
            "the job would start in us-east-1",
            "--region eu-west-1",
            "nothing was uploaded",
        )
        assert sum(proxy.calls.values()) == 0
    assert s3_objects(aws) == {} and jobs(aws) == []


def test_an_arn_model_is_asked_in_its_own_region(
    run_cli: Run, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A us-east-1 provisioned-model ARN with AWS_REGION=eu-west-1 was asked in eu-west-1,
    where Bedrock does not find it: every call failed. The ARN names its region and is asked
    there, by predict and the judge alike; a --region that disagrees is exit 2 naming both."""
    out = export(run_cli, curated, tmp_path / "out")
    arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/ft0haiku0tqa"
    with FakeBedrockRuntime() as fake:
        apply_env(
            monkeypatch,
            {
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
                "CURATOR_CONFIG": os.devnull,
                "AWS_REGION": "eu-west-1",
                "AWS_DEFAULT_REGION": "eu-west-1",
            },
        )
        args = (
            "--db", curated, "predict", "--backend", "bedrock", "--model", arn,
            "--from-manifest", out / "manifest.json", "--split", "validation", "--name", "ft",
            "--limit", "3", "--json",
        )  # fmt: skip
        answered = run_cli(*args)
        assert answered.code == 0, answered.err
        assert json.loads(answered.out)["answered"] == 3 and fake.calls["converse"] == 3
        refused = run_cli(*args[:-5], "--name", "ft2", "--region", "eu-west-1")
        one_line(refused, 2, "--region: 'eu-west-1'", arn, "'us-east-1'", "--region us-east-1")
        same = run_cli(*args[:-5], "--name", "ft3", "--limit", "1", "--region", "us-east-1")
        assert same.code == 0, same.err
        assert fake.calls["converse"] == 4
        judged = run_cli(
            "--db", curated, "judge", "--judge", "bedrock", "--model", arn, "--limit", "2",
            "--json",
        )  # fmt: skip
        assert judged.code == 0, judged.err
        assert sum(json.loads(judged.out)["verdicts"].values()) == 2
        one_line(
            run_cli("--db", curated, "judge", "--judge", "bedrock", "--model", arn,
                    "--region", "ap-southeast-2", "--limit", "2"),
            2,
            "--region: 'ap-southeast-2'",
        )  # fmt: skip
        assert fake.calls["converse"] == 6
        # The fake is no kinder than Bedrock: asked in another region, the ARN is not found.
        from tests.fakes.validation import Refused, bedrock_model

        with pytest.raises(Refused, match="model identifier is invalid"):
            bedrock_model(arn, "eu-west-1")


def test_an_export_to_a_bucket_that_does_not_exist_fails_first(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export s3://no-such-bucket/...` built the whole export locally and only then failed
    at the upload. The bucket is looked at first: exit 3 naming it, before any export work
    (here an export that would be refused as too small for its target is not even tried), and
    with the audit sample of `--audit` not drawn (the store left as it was)."""
    import hashlib

    def digest() -> str:
        return hashlib.sha256(curated.read_bytes()).hexdigest()

    before = digest()
    for extra in ((), VF, (*VF, "--include-judged-correct", "rules", "--audit", "5")):
        refused = run_cli("--db", curated, "export", "s3://no-such-bucket/v1", *extra)
        one_line(refused, 3, "s3://no-such-bucket", "the bucket does not exist")
        assert refused.out == ""
    assert digest() == before
    # Unreachable S3 (nothing listens there) is exit 3 too, before the export.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    one_line(run_cli("--db", curated, "export", "s3://tatqa/v1"), 3, "s3://tatqa", "cannot reach")
    # An existing bucket: exported and uploaded as before.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws)
    done = run_cli("--db", curated, "export", "s3://tatqa/v1", *VF)
    assert done.code == 0, done.err
    assert sorted(s3_objects(aws)) == sorted(
        f"v1/{name}"
        for name in (
            "manifest.json", "train.jsonl", "validation.jsonl", "train.uids.txt",
            "validation.uids.txt",
        )
    )  # fmt: skip


def test_a_rerun_after_the_create_request_finds_the_job_it_started(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str
) -> None:
    """Without --name the job was named after the clock: a run killed just after its create
    request reached Bedrock, run again, started (and paid for) a second job. The default name
    comes from the export and the base model: the re-run finds the job, says so, uploads
    nothing and exits 0. Another base model is another job; a job of this export that failed
    or was stopped is exit 2 (start another with --name)."""
    out = export(run_cli, curated, tmp_path / "out")
    args = ["finetune", "start", "--export-dir", str(out), "--s3", "s3://tatqa/ft", *ROLE]
    with FlakyProxy(aws, [], hold="POST /model-customization-jobs") as proxy:
        env = {**os.environ, "AWS_ENDPOINT_URL_BEDROCK": proxy.url, "AWS_MAX_ATTEMPTS": "1"}
        proc = subprocess.Popen(
            [CURATOR, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proxy.stalled.wait(60), "the create request never reached the service"
            proc.kill()
            stdout, _ = proc.communicate(timeout=40)
        finally:
            proc.kill()
    (name,) = jobs(aws)  # the killed run started it, and never heard so
    assert name.startswith("curator-") and f"creating {name} ..." in stdout
    assert "started" not in stdout
    uploaded = s3_objects(aws)
    again = run_cli(*args)
    assert again.code == 0, again.err
    assert again.out.splitlines() == [
        f"already started {name} for this export and base model in us-east-1 (InProgress): "
        "nothing was uploaded",
        f"follow it with: curator finetune status {name}",
    ]
    assert jobs(aws) == [name] and s3_objects(aws) == uploaded
    # The same export on another base model is another job, under another name.
    other_model = run_cli(*args, "--base-model", "anthropic.claude-3-haiku-20240307-v1:0:48k")
    assert other_model.code == 0, other_model.err
    assert len(jobs(aws)) == 2 and name not in other_model.out
    # A job of this export that was stopped is not taken for a started one.
    import boto3

    bedrock = boto3.client("bedrock", endpoint_url=aws)
    bedrock.stop_model_customization_job(jobIdentifier=name)
    assert bedrock.get_model_customization_job(jobIdentifier=name)["status"] == "Stopped"
    one_line(run_cli(*args), 2, f"{name!r} already exists in us-east-1 (Stopped)", "--name")


def race(
    run_cli: Run, aws: str, args: list[str], between: Callable[[], Any] = lambda: None
) -> tuple[CliResult, int, str, str]:
    """`curator ARGS` run twice at once: the second run (a process) looks and finds no job,
    uploads, and its create request is held on its way to Bedrock while the first (in this
    process) starts the job and `between` is called; then the request goes on. The first run's
    result, and the second's exit code, stdout and stderr."""
    with FlakyProxy(aws, [], gate="POST /model-customization-jobs") as proxy:
        env = {**os.environ, "AWS_ENDPOINT_URL_BEDROCK": proxy.url}
        proc = subprocess.Popen(
            [CURATOR, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proxy.stalled.wait(60), "the create request never came"
            first = run_cli(*args)
            between()
            proxy.release.set()
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
    return first, proc.returncode, stdout, stderr


def test_the_same_command_run_twice_at_once_starts_one_job_and_both_succeed(
    run_cli: Run, curated: Path, tmp_path: Path, aws: str
) -> None:
    """Two runs of the same `finetune start` (default name) at once: the one whose create came
    second heard 'in use' and exited 2 'created meanwhile', while a run after the first one
    exits 0 'already started' for the same outcome. It exits 0 'already started' too, one job
    started; with a --name the user chose, the name taken meanwhile stays exit 2."""
    out = export(run_cli, curated, tmp_path / "out")
    args = ["finetune", "start", "--export-dir", str(out), "--s3", "s3://tatqa/ft", *ROLE]
    first, code, stdout, stderr = race(run_cli, aws, args)
    assert first.code == 0, first.err
    (name,) = jobs(aws)
    assert f"started {name}: arn:aws:bedrock:" in first.out
    assert code == 0, stderr
    assert stdout.splitlines() == [
        f"creating {name} ...",
        f"already started {name} for this export and base model in us-east-1 (InProgress): "
        "started meanwhile, not a second time",
        f"follow it with: curator finetune status {name}",
    ]
    assert stderr == "" and jobs(aws) == [name]
    # As for a re-run, a job of this export stopped (here before the second create arrives)
    # is not taken for a started one: exit 2 with its status.
    import boto3

    bedrock = boto3.client("bedrock", endpoint_url=aws)
    other = [*args, "--base-model", "anthropic.claude-3-haiku-20240307-v1:0:48k"]
    first, code, stdout, stderr = race(
        run_cli,
        aws,
        other,
        lambda: bedrock.stop_model_customization_job(
            jobIdentifier=next(job for job in jobs(aws) if job != name)
        ),
    )
    (stopped,) = set(jobs(aws)) - {name}
    assert first.code == 0 and f"started {stopped}: " in first.out, first.err
    assert code == 2 and "started" not in stdout
    assert f"{stopped!r} already exists in us-east-1 (Stopped); not started a second time" in stderr
    # A --name the user chose: the second run is refused (exit 2), still one job of that name.
    named = [*args, "--name", "ft-race"]
    first, code, stdout, stderr = race(run_cli, aws, named)
    assert first.code == 0 and "started ft-race: " in first.out, first.err
    assert code == 2 and "creating ft-race ..." in stdout and "started" not in stdout
    assert stderr.strip() == (
        "curator: error: a fine-tuning job named 'ft-race' already exists in us-east-1 (created "
        "meanwhile); not started a second time: follow it with `curator finetune status "
        "ft-race`, or choose another --name"
    )
    assert jobs(aws) == sorted([name, stopped, "ft-race"])
