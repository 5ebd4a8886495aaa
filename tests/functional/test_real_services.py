"""Real-service behaviour, end to end against the loopback fakes and moto's server: batch control
calls retry, Bedrock inference profiles, prices of every id spelling, and fakes that refuse what
the services refuse (unknown models, bad bodies, small Bedrock batches, partial results)."""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from curator.store import Store
from curator.store.verdicts import verdicts_for
from tests.builders import import_sample_dev
from tests.conftest import CliResult, tiny_context, write_json
from tests.fakes.aws import FlakyProxy, apply_env, moto_server
from tests.fakes.servers import (
    Behaviour,
    Failure,
    FakeAnthropic,
    FakeBedrockBatch,
    FakeBedrockRuntime,
)
from tests.templates import store_copy

Run = Callable[..., CliResult]
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"


@pytest.fixture
def sample_store(tmp_path: Path) -> Path:
    """sample_dev.json imported: a copy of a store built once per process (tests/templates.py)."""
    return store_copy("sample-dev", import_sample_dev, tmp_path / "judge.duckdb")


def unique_store(tmp_path: Path, run_cli: Run, n_contexts: int) -> Path:
    """5 * n_contexts records whose questions are all different (the fakes key on them)."""
    contexts = [
        tiny_context(f"c{i}", tuple(f"c{i}-q{j}" for j in range(5))) for i in range(n_contexts)
    ]
    for ctx in contexts:
        for q in ctx["questions"]:
            q["question"] = f"What was revenue in 2019 ({q['uid']})?"
    db = tmp_path / f"unique{n_contexts}.duckdb"
    assert run_cli("--db", db, "import", write_json(tmp_path / "u.json", contexts)).code == 0
    return db


def verdict_rows(db: Path, judge: str) -> list[tuple[str, str, str]]:
    with Store(db).connection() as con:
        rows = con.execute(
            "SELECT record_uid, verdict, coalesce(error, '') FROM verdicts WHERE judge = ? "
            "ORDER BY verdict_id",
            [judge],
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def questions(db: Path) -> dict[str, str]:
    with Store(db).connection() as con:
        rows = con.execute("SELECT uid, question FROM records").fetchall()
    return {str(u): str(q) for u, q in rows}


# -- Anthropic Message Batches ----------------------------------------------------------------


def test_batch_control_calls_retry_429_529_and_500(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    fake = anthropic_fake
    args = ("--db", sample_store, "judge", "--judge", "anthropic", "--batch", "--json")
    # create: a 429 with retry-after; before trying again the run looks for a batch the failed
    # create may have made (batch creation has no idempotency token): that listing gets a 529
    # and is retried; nothing is found, and the create is accepted.
    fake.behaviour.control_failures = deque([Failure(429, retry_after="0"), Failure(529)])
    first = run_cli(*args)
    assert first.code == 0, first.err
    assert json.loads(first.out)["submitted"] == 30
    assert fake.calls["POST /v1/messages/batches"] == 2 and len(fake.batches) == 1
    assert fake.calls["GET /v1/messages/batches"] == 2
    # status: 500 then 529; results: 500 once — the results read starts again and is whole.
    fake.behaviour.control_failures = deque(
        [Failure(500, retry_after="0"), Failure(529, retry_after="0")]
    )
    original = fake._results

    def flaky_results(handler: Any, batch_id: str) -> None:
        if fake.calls["GET /v1/messages/batches/{id}/results"] == 1:
            fake._error(handler, Failure(500))
        else:
            original(handler, batch_id)

    fake._results = flaky_results  # type: ignore[method-assign]
    second = run_cli(*args)
    assert second.code == 0, second.err
    assert json.loads(second.out) == {"submitted": 0, "collected": {"correct": 30}}
    # Status: 2 failures + 1 answer; the SDK's results() reads the status before each attempt.
    assert fake.calls["GET /v1/messages/batches/{id}"] == 3 + 2
    assert fake.calls["GET /v1/messages/batches/{id}/results"] == 2
    assert len(verdict_rows(sample_store, "anthropic")) == 30


def test_a_batch_control_call_that_keeps_failing_is_one_line_exit_3(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    anthropic_fake.behaviour.control_failures = deque(
        [Failure(529, retry_after="0") for _ in range(6)]
    )
    result = run_cli("--db", sample_store, "judge", "--judge", "anthropic", "--batch")
    assert result.code == 3
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "after 6 attempts" in lines[0] and "529" in lines[0]
    assert "Traceback" not in result.err
    # One create, then five looks for a batch it may have made (each refused with a 529).
    calls = anthropic_fake.calls
    assert calls["POST /v1/messages/batches"] == 1 and calls["GET /v1/messages/batches"] == 5
    assert not anthropic_fake.batches
    # The chunk stays recorded as an intent: the next run looks for it, finds none, and submits
    # the records (once).
    again = run_cli("--db", sample_store, "judge", "--judge", "anthropic", "--batch", "--json")
    assert json.loads(again.out)["submitted"] == 30
    assert len(anthropic_fake.batches) == 1 and sum(anthropic_fake.batched.values()) == 30


def test_expired_canceled_and_errored_results_become_errors_the_next_pass_retries(
    run_cli: Run, tmp_path: Path, anthropic_fake: FakeAnthropic
) -> None:
    sample_store = unique_store(tmp_path, run_cli, 6)
    rows = run_cli("--db", sample_store, "list", "--json", "--limit", "3").json_lines()
    outcomes = dict(
        zip([r["question"] for r in rows], ["expired", "canceled", "errored"], strict=True)
    )
    assert len(outcomes) == 3
    anthropic_fake.behaviour.batch_outcomes = outcomes
    args = ("--db", sample_store, "judge", "--judge", "anthropic", "--batch", "--json")
    assert json.loads(run_cli(*args).out)["submitted"] == 30
    collected = json.loads(run_cli(*args).out)
    # The batch reported its outcomes truthfully.
    view = anthropic_fake._batch_view(next(iter(anthropic_fake.batches)))
    assert view["request_counts"] == {
        "processing": 0,
        "succeeded": 27,
        "errored": 1,
        "canceled": 1,
        "expired": 1,
    }
    assert collected["collected"] == {"correct": 27, "error": 3}
    errors = {
        uid: error
        for uid, verdict, error in verdict_rows(sample_store, "anthropic")
        if verdict == "error"
    }
    by_uid = {r["uid"]: outcomes[r["question"]] for r in rows}
    assert set(errors) == set(by_uid)
    for uid, outcome in by_uid.items():
        assert f"batch result {outcome}" in errors[uid]
    # The run that collected them submitted exactly those three again; they then succeed.
    assert collected["submitted"] == 3 and len(anthropic_fake.batches) == 2
    assert len(anthropic_fake.batches[max(anthropic_fake.batches)]["requests"]) == 3
    anthropic_fake.behaviour.batch_outcomes = {}
    done = json.loads(run_cli(*args).out)
    assert done == {"submitted": 0, "collected": {"correct": 3}}
    assert all(verdicts_for(Store(sample_store), uid)[0].verdict == "correct" for uid in by_uid)


def test_a_batch_archived_before_it_was_collected_gives_errors_the_next_pass_retries(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    """Results are kept 29 days after a batch was created: a batch collected later (a store
    left alone for a month) has no results any more. Its records were stuck in it, and every
    run ended with an internal error (the SDK refuses to read results without `results_url`)."""
    anthropic_fake.behaviour.polls_until_done = 2
    args = ("--db", sample_store, "judge", "--judge", "anthropic", "--batch")
    assert run_cli(*args).code == 0
    anthropic_fake.archive(next(iter(anthropic_fake.batches)))
    late = run_cli(*args, "--json")
    assert late.code == 0, late.err
    summary = json.loads(late.out)
    assert summary["collected"] == {"error": 30} and summary["submitted"] == 30
    errors = {e for _, v, e in verdict_rows(sample_store, "anthropic") if v == "error"}
    assert errors == {"batch archived by the service before its results were collected"}
    # The records went into a new batch at once; it is collected as any other.
    assert len(anthropic_fake.batches) == 2
    done = json.loads(run_cli(*args, "--json", "--wait", "5").out)
    assert done["collected"] == {"correct": 30}


def test_batch_params_are_validated_when_the_batch_runs(anthropic_fake: FakeAnthropic) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="k", base_url=anthropic_fake.url, max_retries=0)
    good = {
        "model": "claude-haiku-4-5",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    bad = {**good, "max_tokens": 100_000}
    created = client.messages.batches.create(
        requests=[{"custom_id": "a", "params": good}, {"custom_id": "b", "params": bad}]  # type: ignore[typeddict-item]
    )
    client.messages.batches.retrieve(created.id)
    results = {r.custom_id: r.result for r in client.messages.batches.results(created.id)}
    assert results["a"].type == "succeeded" and results["b"].type == "errored"
    with pytest.raises(anthropic.BadRequestError, match="duplicate"):
        client.messages.batches.create(
            requests=[{"custom_id": "a", "params": good}, {"custom_id": "a", "params": good}]  # type: ignore[typeddict-item]
        )


# -- the Messages API fake refuses what the API refuses ---------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"model": "claude-nonexistent-9"}, 404, "model: claude-nonexistent-9"),
        ({"max_tokens": 0}, 400, "max_tokens"),
        (
            {"model": "claude-3-haiku-20240307", "max_tokens": 5000},
            400,
            "maximum allowed number of output tokens for claude-3-haiku-20240307",
        ),
        ({"temperature": 1.5}, 400, "temperature"),
        ({"messages": []}, 400, "at least one message"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, 400, "first message"),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            400,
            "alternate",
        ),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}, 400, ""),
        ({"system": [{"type": "txt", "text": "x"}]}, 400, "system.0.type"),
        (
            {
                "system": [
                    {"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}
                    for _ in range(5)
                ]
            },
            400,
            "maximum of 4 blocks",
        ),
    ],
)
def test_the_messages_fake_refuses_bad_bodies(
    anthropic_fake: FakeAnthropic, change: dict[str, Any], status: int, needle: str
) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="k", base_url=anthropic_fake.url, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:
        # extra_body overrides the body as sent, past the SDK's own argument checks.
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "What was revenue?"}],
            extra_body=change,
        )
    assert caught.value.status_code == status
    assert needle in str(caught.value)
    # An unknown top-level key is refused too (sent through extra_body: the SDK has no such arg).
    with pytest.raises(anthropic.BadRequestError, match="Extra inputs"):
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=8,
            messages=[{"role": "user", "content": "x"}],
            extra_body={"temperatur": 0.5},
        )


def test_the_anthropic_fake_refuses_a_missing_or_wrong_key_as_the_api_does(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    """The API answers 401 authentication_error to a request without `x-api-key` or with a key
    it does not know, and 400 without `anthropic-version`: the fake accepted anything."""
    import urllib.error
    import urllib.request

    message = {"role": "user", "content": "x"}
    params = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [message]}
    body = json.dumps(params).encode()
    for headers, status, needle in (
        ({"anthropic-version": "2023-06-01"}, 401, "x-api-key header is required"),
        ({"x-api-key": "k"}, 400, "anthropic-version"),
    ):
        request = urllib.request.Request(
            f"{anthropic_fake.url}/v1/messages",
            data=body,
            headers={"content-type": "application/json", **headers},
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == status and needle in caught.value.read().decode()
    # A key the account does not have: every call of a pass is refused, and the pass says so.
    anthropic_fake.api_key = "the-real-key"
    refused = run_cli("--db", sample_store, "judge", "--judge", "anthropic", "--limit", "3")
    assert refused.code == 3 and "invalid x-api-key" in refused.err, refused.err
    assert stored_verdicts(sample_store) == {"error": 3}
    for batch_args in (["--batch"], ["--batch", "--json"]):
        failed = run_cli("--db", sample_store, "judge", "--judge", "anthropic", *batch_args)
        assert failed.code == 3 and "401" in failed.err, failed.err
    assert not anthropic_fake.batches


def stored_verdicts(db: Path) -> dict[str, int]:
    with Store(db).connection() as con:
        rows = con.execute("SELECT verdict, count(*) FROM verdicts GROUP BY verdict").fetchall()
    return {str(v): int(n) for v, n in rows}


def test_what_curator_sends_passes_the_fake_checks(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    # The whole sample, live and as a batch, with a dated model id: nothing refused.
    args = ("--db", sample_store, "judge", "--judge", "anthropic", "--json")
    live = json.loads(run_cli(*args, "--model", "claude-haiku-4-5-20251001").out)
    assert live["verdicts"] == {"correct": 30} and live["cost_usd"] > 0
    run_cli(*args, "--batch")
    assert json.loads(run_cli(*args, "--batch").out)["collected"] == {"correct": 30}
    assert anthropic_fake.calls["refused"] == 0


# -- prices -----------------------------------------------------------------------------------


def test_an_unknown_price_is_a_warning_in_dry_run_and_max_cost_refuses_to_start(
    run_cli: Run,
    sample_store: Path,
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.models["claude-unpriced-1"] = 4096
    args = ("--db", sample_store, "judge", "--judge", "anthropic", "--model", "claude-unpriced-1")
    dry = run_cli(*args, "--dry-run", "--json")
    assert dry.code == 0
    estimate = json.loads(dry.out)
    assert estimate["cost_usd"] is None and estimate["records"] == 30
    assert "warning: no price for model claude-unpriced-1" in dry.err
    assert '[prices."claude-unpriced-1"]' in dry.err
    text = run_cli(*args, "--dry-run")
    assert "cost unknown" in text.out and "$0" not in text.out
    capped = run_cli(*args, "--max-cost", "5")
    assert capped.code == 2
    error_lines = capped.err.strip().splitlines()
    assert len(error_lines) == 1 and "--max-cost" in error_lines[0]
    assert "claude-unpriced-1" in error_lines[0]
    assert sum(anthropic_fake.requests.values()) == 0
    assert verdict_rows(sample_store, "anthropic") == []


def test_dated_and_profiled_ids_find_their_price_and_max_cost_stops(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    args = ("--db", sample_store, "judge", "--judge", "anthropic")
    dated = ("--model", "claude-haiku-4-5-20251001")
    estimate = json.loads(run_cli(*args, *dated, "--dry-run", "--json").out)
    alias = json.loads(run_cli(*args, "--model", "claude-haiku-4-5", "--dry-run", "--json").out)
    assert estimate["cost_usd"] == alias["cost_usd"] > 0
    capped = json.loads(
        run_cli(*args, *dated, "--max-cost", f"{estimate['cost_usd'] / 3:.6f}", "--json").out
    )
    assert capped["stopped_for_cost"] is True and 0 < capped["judged"] < 30


# -- Bedrock on demand: inference profiles ----------------------------------------------------


@pytest.fixture
def bedrock_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrockRuntime]:
    apply_env(monkeypatch, {"CURATOR_CONFIG": os.devnull})
    fake = FakeBedrockRuntime()
    with fake:
        yield fake


@pytest.mark.parametrize(
    ("region", "prefix"),
    [("us-east-1", "us"), ("eu-west-1", "eu"), ("ap-northeast-1", "apac"), ("sa-east-1", "global")],
)
def test_the_bedrock_default_is_the_regions_inference_profile(
    run_cli: Run,
    sample_store: Path,
    bedrock_fake: FakeBedrockRuntime,
    monkeypatch: pytest.MonkeyPatch,
    region: str,
    prefix: str,
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = run_cli(
        "--db",
        sample_store,
        "judge",
        "--judge",
        "bedrock",
        "--region",
        region,
        "--endpoint-url",
        bedrock_fake.url,
        "--limit",
        "2",
        "--json",
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["model"] == f"{prefix}.anthropic.claude-sonnet-5-5"
    assert summary["verdicts"] == {"correct": 2} and summary["cost_usd"] > 0
    assert bedrock_fake.calls["refused"] == 0


def test_the_bedrock_fake_refuses_bare_ids_unknown_ids_and_foreign_profiles(
    bedrock_fake: FakeBedrockRuntime,
) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    def converse(model: str, region: str = "us-east-1", **extra: Any) -> dict[str, Any]:
        client = boto3.client(
            "bedrock-runtime",
            region_name=region,
            endpoint_url=bedrock_fake.url,
            config=Config(retries={"max_attempts": 1}, parameter_validation=False),
        )
        request = {
            "modelId": model,
            "messages": [{"role": "user", "content": [{"text": "What was revenue?"}]}],
            **extra,
        }
        response: dict[str, Any] = client.converse(**request)
        return response

    with pytest.raises(ClientError) as bare:
        converse("anthropic.claude-haiku-4-5-20251001-v1:0")
    assert bare.value.response["Error"]["Code"] == "ValidationException"
    assert "with on-demand throughput isn't supported" in str(bare.value)
    assert "inference profile" in str(bare.value)
    with pytest.raises(ClientError, match="model identifier is invalid"):
        converse("anthropic.claude-nonexistent-v1:0")
    with pytest.raises(ClientError, match="model identifier is invalid"):
        converse("eu.anthropic.claude-haiku-4-5-20251001-v1:0", region="us-east-1")
    # Bodies that botocore would refuse client-side are refused by the fake too.
    with pytest.raises(ClientError, match="validation error"):
        converse("us.anthropic.claude-haiku-4-5-20251001-v1:0", inferenceConfig={"maxTokens": "x"})
    with pytest.raises(ClientError, match="at least one message"):
        converse("us.anthropic.claude-haiku-4-5-20251001-v1:0", messages=[])
    with pytest.raises(ClientError, match="exceeds the model limit"):
        converse(
            "us.anthropic.claude-haiku-4-5-20251001-v1:0", inferenceConfig={"maxTokens": 99_999}
        )
    # A region Bedrock is not offered in: no endpoint would take a request signed for it.
    with pytest.raises(ClientError, match="scoped to a valid region") as nowhere:
        converse("global.anthropic.claude-sonnet-4-5-20250929-v1:0", region="mars-1")
    assert nowhere.value.response["Error"]["Code"] == "InvalidSignatureException"
    # What the service accepts, the fake accepts: dated profiles, and on-demand Claude 3 Haiku.
    assert converse("us.anthropic.claude-haiku-4-5-20251001-v1:0")["stopReason"] == "end_turn"
    assert converse("global.anthropic.claude-sonnet-4-5-20250929-v1:0", region="eu-west-1")
    assert converse("anthropic.claude-3-haiku-20240307-v1:0")["stopReason"] == "end_turn"


def test_a_bare_bedrock_id_that_needs_a_profile_is_refused_before_any_call(
    run_cli: Run, sample_store: Path, bedrock_fake: FakeBedrockRuntime
) -> None:
    result = run_cli(
        "--db",
        sample_store,
        "judge",
        "--judge",
        "bedrock",
        "--model",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "--endpoint-url",
        bedrock_fake.url,
    )
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "use us.anthropic.claude-haiku-4-5-20251001-v1:0" in result.err
    assert bedrock_fake.calls["converse"] == 0
    # The profile id works and is priced like the plain model.
    ok = run_cli(
        "--db",
        sample_store,
        "judge",
        "--judge",
        "bedrock",
        "--model",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "--endpoint-url",
        bedrock_fake.url,
        "--limit",
        "1",
        "--json",
    )
    assert ok.code == 0, ok.err
    assert json.loads(ok.out)["cost_usd"] > 0


# -- Bedrock batch inference ------------------------------------------------------------------


@pytest.fixture
def bedrock_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[FakeBedrockBatch, str]]:
    with moto_server() as s3_url:
        fake = FakeBedrockBatch(s3_url, Behaviour(polls_until_done=1))
        with fake:
            apply_env(
                monkeypatch,
                {
                    "CURATOR_CONFIG": os.devnull,
                    "AWS_ENDPOINT_URL_S3": s3_url,
                    "AWS_ENDPOINT_URL_BEDROCK": fake.url,
                    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
                    "CURATOR_BATCH_S3": "s3://judge-bucket/curator",
                    "CURATOR_BATCH_ROLE_ARN": ROLE,
                },
            )
            import boto3

            boto3.client("s3", endpoint_url=s3_url).create_bucket(Bucket="judge-bucket")
            yield fake, s3_url


def bedrock_batch_args(db: Path) -> tuple[str | Path, ...]:
    return ("--db", db, "judge", "--judge", "bedrock", "--batch", "--json")


def test_the_bedrock_fake_refuses_an_input_file_not_named_jsonl(
    bedrock_batch: tuple[FakeBedrockBatch, str],
) -> None:
    """Bedrock's input files "must end in the extension .jsonl"; the fake took any name."""
    import boto3
    from botocore.exceptions import ClientError

    fake, s3_url = bedrock_batch
    boto3.client("s3", endpoint_url=s3_url).put_object(
        Bucket="judge-bucket", Key="records.json", Body=b"{}\n"
    )
    bedrock = boto3.client("bedrock", endpoint_url=fake.url)
    with pytest.raises(ClientError, match=r"must end in \.jsonl"):
        bedrock.create_model_invocation_job(
            jobName="named-json",
            roleArn=ROLE,
            modelId="us.anthropic.claude-sonnet-5-5",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://judge-bucket/records.json"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://judge-bucket/out/"}},
        )
    assert not fake.jobs


def test_bedrock_batch_under_the_minimum_is_refused_by_curator_and_by_the_fake(
    run_cli: Run, sample_store: Path, bedrock_batch: tuple[FakeBedrockBatch, str]
) -> None:
    fake, s3_url = bedrock_batch
    result = run_cli(*bedrock_batch_args(sample_store))
    assert result.code == 2
    assert "30 records" in result.err and "at least 100" in result.err
    assert fake.calls["POST model-invocation-job"] == 0
    # The fake, like the service, fails a job with too few records at validation.
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_url)
    line = {
        "recordId": "r1",
        "modelInput": {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "x"}],
        },
    }
    s3.put_object(Bucket="judge-bucket", Key="small.jsonl", Body=json.dumps(line) * 1 + "\n")
    bedrock = boto3.client("bedrock", endpoint_url=fake.url)
    arn = bedrock.create_model_invocation_job(
        jobName="small",
        roleArn=ROLE,
        modelId="us.anthropic.claude-sonnet-5-5",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://judge-bucket/small.jsonl"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://judge-bucket/out/"}},
    )["jobArn"]
    job = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "minimum number of records" in job["message"]
    # A bare id that needs a profile, and a malformed job name, are refused at creation.
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="on-demand throughput"):
        bedrock.create_model_invocation_job(
            jobName="bare",
            roleArn=ROLE,
            modelId="anthropic.claude-sonnet-5-5",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://judge-bucket/small.jsonl"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://judge-bucket/out/"}},
        )
    with pytest.raises(ClientError, match="pattern"):
        bedrock.create_model_invocation_job(
            jobName="no spaces allowed",
            roleArn=ROLE,
            modelId="us.anthropic.claude-sonnet-5-5",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://judge-bucket/small.jsonl"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://judge-bucket/out/"}},
        )


def test_a_partially_completed_bedrock_job_keeps_the_good_records(
    run_cli: Run, tmp_path: Path, bedrock_batch: tuple[FakeBedrockBatch, str]
) -> None:
    fake, _ = bedrock_batch
    db = unique_store(tmp_path, run_cli, 22)  # 110 records
    qs = sorted(questions(db).items())
    errored, unprocessed = qs[0], qs[1]
    fake.behaviour.batch_outcomes = {errored[1]: "error", unprocessed[1]: "unprocessed"}
    first = json.loads(run_cli(*bedrock_batch_args(db)).out)
    assert first["submitted"] == 110
    collected = run_cli(*bedrock_batch_args(db))
    assert collected.code == 0, collected.err
    assert json.loads(collected.out)["collected"] == {"correct": 108, "error": 2}
    job = next(iter(fake.jobs.values()))
    assert job["status"] == "PartiallyCompleted"
    rows = {uid: (verdict, error) for uid, verdict, error in verdict_rows(db, "bedrock")}
    assert len(rows) == 110
    assert rows[errored[0]][0] == "error" and "Internal server error" in rows[errored[0]][1]
    assert rows[unprocessed[0]] == ("error", "job PartiallyCompleted")
    assert sum(1 for v, _ in rows.values() if v == "correct") == 108
    # The two errors are what the next pass asks for: under the batch minimum, so the run that
    # collected says so and submits nothing; a batch run with nothing to collect refuses.
    assert json.loads(collected.out)["not_submitted"] == 2
    assert fake.calls["POST model-invocation-job"] == 1
    again = run_cli(*bedrock_batch_args(db))
    assert again.code == 2 and "2 records" in again.err and "without --batch" in again.err


def test_bedrock_job_and_s3_calls_retry_throttling_and_5xx(
    run_cli: Run,
    tmp_path: Path,
    bedrock_batch: tuple[FakeBedrockBatch, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, s3_url = bedrock_batch
    db = unique_store(tmp_path, run_cli, 20)  # 100 records: exactly the minimum
    fake.behaviour.control_failures = deque(
        [Failure(429, retry_after="0"), Failure(500, retry_after="0")]
    )
    with FlakyProxy(s3_url, [503, 500]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        first = run_cli(*bedrock_batch_args(db))
        assert first.code == 0, first.err
        assert json.loads(first.out)["submitted"] == 100
        assert proxy.calls["PUT"] == 3  # two injected failures, then the upload
        # create: throttled, 500, then accepted — once, thanks to the request token.
        assert fake.calls["POST model-invocation-job"] == 3 and len(fake.jobs) == 1
        fake.behaviour.control_failures = deque([Failure(503, retry_after="0")])
        proxy.failures = [500]
        second = run_cli(*bedrock_batch_args(db))
    assert second.code == 0, second.err
    assert json.loads(second.out)["collected"] == {"correct": 100}
    assert proxy.calls["GET"] == 2


def test_a_failed_bedrock_job_gives_error_verdicts_with_its_message(
    run_cli: Run, tmp_path: Path, bedrock_batch: tuple[FakeBedrockBatch, str]
) -> None:
    fake, _ = bedrock_batch
    db = unique_store(tmp_path, run_cli, 20)
    assert json.loads(run_cli(*bedrock_batch_args(db)).out)["submitted"] == 100
    job = next(iter(fake.jobs.values()))
    job["status"], job["message"] = "Failed", "the role cannot read the input"
    result = json.loads(run_cli(*bedrock_batch_args(db)).out)
    assert result["collected"] == {"error": 100}
    errors = {e for _, v, e in verdict_rows(db, "bedrock")}
    assert errors == {"job Failed: the role cannot read the input"}


def test_an_unknown_model_is_said_in_the_services_words_on_one_line(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    """The error repeated the status and printed the API's body as a Python dict ("HTTP 404:
    Error code: 404 - {'type': 'error', 'error': {…}}"): now its type and message."""
    args = ("--db", sample_store, "judge", "--judge", "anthropic", "--limit", "2")
    refused = run_cli(*args, "--model", "claude-nope")
    assert refused.code == 3, refused.err
    last = refused.err.strip().splitlines()[-1]
    assert last.endswith("first error: HTTP 404 not_found_error: model: claude-nope"), last
    assert "{" not in last and "Error code" not in last


def test_a_pass_whose_first_calls_all_fail_the_same_way_stops(
    run_cli: Run, tmp_path: Path, anthropic_fake: FakeAnthropic
) -> None:
    """A misspelt model (or a refused key, a max_tokens the model refuses) made every record of
    the store one request and one stored `error`: a million of each in a big store. The pass
    now stops once its first 20 calls all failed the same way."""
    db = unique_store(tmp_path, run_cli, 6)  # 30 records
    args = ("--db", db, "judge", "--judge", "anthropic", "--concurrency", "1")
    refused = run_cli(*args, "--model", "claude-nope")
    assert refused.code == 3, refused.err
    assert anthropic_fake.calls["refused"] == 20  # one request a record, then none
    assert "stopped: the first 20 calls all failed the same way; 10 records not asked" in (
        refused.out
    )
    assert refused.err.strip().splitlines()[-1].endswith("model: claude-nope")
    assert len(verdict_rows(db, "anthropic")) == 20
    # Different failures, or one success among them, never stop a pass.
    anthropic_fake.behaviour.failures.extend([Failure(400)] + [Failure(401)] * 24)
    mixed = json.loads(run_cli(*args, "--json").out)
    assert mixed["judged"] == 30 and mixed["stopped_for_errors"] is False
    assert mixed["verdicts"] == {"error": 25, "correct": 5}
