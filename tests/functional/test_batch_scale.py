"""Batch passes at scale: chunked by the providers' limits, resumable after a kill at any durable
step without paying twice, and collected in any order, against the loopback fakes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from curator.domain import CuratorError
from curator.judges.batch import ServiceError, run_batch, spool_folder
from curator.llm.backends import AnthropicBackend, BedrockBackend
from curator.llm.passes import LLMJudge, PassOptions, RetryPolicy
from curator.llm.prices import price_for
from curator.settings import JudgeConfig
from curator.store import Store
from curator.store.importer import import_file
from tests.conftest import tiny_context, write_json
from tests.fakes.aws import apply_env, moto_server
from tests.fakes.servers import Behaviour, FakeAnthropic, FakeBedrockBatch
from tests.functional.test_judge import stored

MODEL = "claude-sonnet-5-5"


class Killed(BaseException):
    """Stands for the process being killed at a durable step (nothing after it runs)."""


def build_store(tmp_path: Path, n_contexts: int, per_context: int = 5) -> Store:
    """n_contexts * per_context records, every question unique (the fakes count by question)."""
    contexts = []
    for i in range(n_contexts):
        ctx = tiny_context(f"c{i}", tuple(f"c{i}-q{j}" for j in range(per_context)))
        for q in ctx["questions"]:
            q["question"] = f"What was revenue in 2019 ({q['uid']})?"
        contexts.append(ctx)
    store = Store.open(tmp_path / "batch.duckdb", create=True)
    import_file(store, write_json(tmp_path / "records.json", contexts), "dev")
    return store


def questions(store: Store) -> dict[str, str]:
    with store.connection() as con:
        return dict(con.execute("SELECT question, uid FROM records").fetchall())


def verdicts(store: Store, judge: str) -> dict[str, list[str]]:
    return stored(store.path, judge)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(Behaviour(polls_until_done=1))
    server.start()
    yield server
    server.stop()


def anthropic_judge(fake: FakeAnthropic) -> LLMJudge:
    backend = AnthropicBackend(MODEL, api_key="test-key", base_url=fake.url)
    return LLMJudge(backend, price=price_for(MODEL), retry=RetryPolicy(base_delay=0.01))


def run(
    store: Store,
    judge: LLMJudge,
    sections: dict[str, Any],
    *,
    kill_at: str | None = None,
    wait: float | None = 5.0,
    echo: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    def stage(name: str) -> None:
        if name == kill_at:
            raise Killed(name)

    config = JudgeConfig(**sections.get("judge", {}))
    return run_batch(
        store, judge, PassOptions(), judge_config=config, echo=echo, wait=wait, on_stage=stage,
    )  # fmt: skip


def test_anthropic_pass_is_cut_by_request_count(
    tmp_path: Path, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build_store(tmp_path, 6)  # 30 records
    fake.max_batch_requests = 7
    summary = run(store, anthropic_judge(fake), {"judge": {"batch_max_requests": 7}})
    assert summary["submitted"] == 30 and summary["collected"] == {"correct": 30}
    # ceil(30 / 7) = 5 batches of 6 (even, so none is a sliver), each within the limit
    assert [b["count"] for b in fake.batches.values()] == [6] * 5
    assert set(fake.batched.values()) == {1} and len(fake.batched) == 30
    assert all(v == ["correct"] for v in verdicts(store, "anthropic").values())
    assert not any(spool_folder(store).iterdir())  # bodies are removed once accepted


def test_anthropic_pass_is_cut_by_bytes_and_the_fake_refuses_oversize(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    store = build_store(tmp_path, 6)
    fake.max_batch_bytes = 12_000
    judge = anthropic_judge(fake)
    # Told a bigger limit than the service's, the batch is refused (413), as the API does, and
    # the refused chunk is forgotten: its records still need a verdict.
    with pytest.raises(ServiceError, match="413"):
        run(store, judge, {"judge": {"batch_max_bytes": 100_000}})
    assert fake.calls["refused"] == 1 and not fake.batches
    with store.connection() as con:
        assert con.execute("SELECT count(*) FROM judge_batches").fetchall() == [(0,)]
    # With the service's limit, the pass is cut into as many batches as the bytes need.
    summary = run(store, anthropic_judge(fake), {"judge": {"batch_max_bytes": 12_000}})
    assert summary["submitted"] == 30 and summary["collected"] == {"correct": 30}
    assert len(fake.batches) >= 3 and fake.calls["refused"] == 1
    assert set(fake.batched.values()) == {1} and len(fake.batched) == 30


@pytest.mark.parametrize("kill_at", ["intent-recorded", "submitted", "results-read"])
def test_anthropic_resume_after_a_kill_pays_each_record_once(
    tmp_path: Path, fake: FakeAnthropic, kill_at: str
) -> None:
    store = build_store(tmp_path, 6)
    sections = {"judge": {"batch_max_requests": 10}}
    with pytest.raises(Killed):
        run(store, anthropic_judge(fake), sections, kill_at=kill_at)
    summary = run(store, anthropic_judge(fake), sections)
    # Each record was sent in exactly one batch, whatever moment the first run died at.
    assert len(fake.batched) == 30 and set(fake.batched.values()) == {1}, fake.batched
    assert len(fake.batches) == 3
    stored = verdicts(store, "anthropic")
    assert len(stored) == 30 and all(v == ["correct"] for v in stored.values())
    # Nothing is left open, and another run submits and collects nothing.
    assert run(store, anthropic_judge(fake), sections) == {"submitted": 0, "collected": {}}
    if kill_at == "submitted":
        # The batch created just before the kill was found by listing, not created again.
        assert fake.calls["GET /v1/messages/batches"] >= 1
    # A chunk recorded (or created) by the killed run counts as submitted by the one that
    # finished the job; a kill while collecting left nothing to submit.
    assert (
        summary["submitted"] == {"intent-recorded": 30, "submitted": 30, "results-read": 0}[kill_at]
    )


def test_results_collected_out_of_order_land_on_the_right_records(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    store = build_store(tmp_path, 6)
    by_question = questions(store)
    wrong = {q for q in by_question if q.endswith("-q1)?") or q.endswith("-q4)?")}

    def responder(prompt: str) -> str:
        judgement = "incorrect" if any(q in prompt for q in wrong) else "correct"
        return f"<reason>checked</reason><judgement>{judgement}</judgement>"

    fake.behaviour.responder = responder
    fake.behaviour.shuffle_results = True
    fake.behaviour.polls_by_batch = [4, 1, 2]  # the last-created batches end first
    summary = run(store, anthropic_judge(fake), {"judge": {"batch_max_requests": 10}}, wait=10)
    assert summary["collected"] == {"correct": 18, "incorrect": 12}
    stored = verdicts(store, "anthropic")
    expected = {uid: ["incorrect" if q in wrong else "correct"] for q, uid in by_question.items()}
    assert stored == expected


def test_a_first_run_that_does_not_wait_leaves_batches_to_the_next(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    store = build_store(tmp_path, 6)
    fake.behaviour.polls_until_done = 2
    sections = {"judge": {"batch_max_requests": 10}}
    first = run(store, anthropic_judge(fake), sections, wait=None)
    assert first["submitted"] == 30 and first["collected"] == {}
    assert first["prepared_per_second"] > 0
    second = run(store, anthropic_judge(fake), sections, wait=None)
    assert second == {"submitted": 0, "collected": {"waiting": 3}}
    third = run(store, anthropic_judge(fake), sections, wait=None)
    assert third == {"submitted": 0, "collected": {"correct": 30}}
    assert set(fake.batched.values()) == {1}


def test_wait_waits_for_batches_an_earlier_run_submitted(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    """`--batch` (submit), later `--batch --wait S` (or a run after a kill): the second run has
    nothing new to submit and waits for the batches already running; it used to poll them once
    and say 'run again to collect'."""
    store = build_store(tmp_path, 6)
    fake.behaviour.polls_until_done = 4
    sections = {"judge": {"batch_max_requests": 10}}
    first = run(store, anthropic_judge(fake), sections, wait=None)
    assert first["submitted"] == 30 and first["collected"] == {}
    messages: list[str] = []
    second = run(store, anthropic_judge(fake), sections, wait=10, echo=messages.append)
    assert second == {"submitted": 0, "collected": {"correct": 30}}
    assert not any("run again" in m for m in messages), messages
    assert all(v == ["correct"] for v in verdicts(store, "anthropic").values())
    assert set(fake.batched.values()) == {1} and len(fake.batches) == 3


# -- Bedrock --------------------------------------------------------------------------------


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrockBatch]:
    with moto_server() as s3_url:
        server = FakeBedrockBatch(s3_url, Behaviour(polls_until_done=1))
        with server:
            apply_env(
                monkeypatch,
                {
                    "CURATOR_CONFIG": os.devnull,
                    "AWS_ENDPOINT_URL_S3": s3_url,
                    "AWS_ENDPOINT_URL_BEDROCK": server.url,
                    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url,
                },
            )
            import boto3

            boto3.client("s3", endpoint_url=s3_url).create_bucket(Bucket="judge-bucket")
            yield server


BEDROCK_SECTIONS = {
    "judge": {
        "batch_s3": "s3://judge-bucket/curator",
        "batch_role_arn": "arn:aws:iam::123456789012:role/bedrock-batch",
        "bedrock_batch_max_records": 150,
    }
}


def bedrock_judge() -> LLMJudge:
    backend = BedrockBackend("us.anthropic.claude-sonnet-5-5", region="us-east-1")
    return LLMJudge(backend, price=None, retry=RetryPolicy(base_delay=0.01))


@pytest.mark.parametrize("kill_at", [None, "intent-recorded", "submitted", "results-read"])
def test_bedrock_jobs_are_cut_by_records_and_resume_without_a_second_job(
    tmp_path: Path, bedrock: FakeBedrockBatch, kill_at: str | None
) -> None:
    store = build_store(tmp_path, 46)  # 230 records; jobs of at most 150, at least 100
    bedrock.max_records = 150
    if kill_at is not None:
        with pytest.raises(Killed):
            run(store, bedrock_judge(), BEDROCK_SECTIONS, kill_at=kill_at)
    summary = run(store, bedrock_judge(), BEDROCK_SECTIONS)
    assert summary["collected"] == {"correct": 230}, summary
    # Two even jobs, never 150 + 80 (a job of 80 would fail under the 100-record minimum).
    assert sorted(j["records"] for j in bedrock.jobs.values()) == [115, 115]
    assert len(bedrock.requests) == 230 and set(bedrock.requests.values()) == {1}
    assert all(len(v) == 1 for v in verdicts(store, "bedrock").values())


def test_bedrock_refuses_a_job_over_its_record_quota(
    tmp_path: Path, bedrock: FakeBedrockBatch
) -> None:
    store = build_store(tmp_path, 46)
    bedrock.max_records = 100
    with pytest.raises(CuratorError, match="quota"):
        run(store, bedrock_judge(), BEDROCK_SECTIONS)  # told 150 a job: the service says no
    assert not bedrock.jobs and not bedrock.requests


def test_the_pass_caps_duckdb_memory_and_restores_it(tmp_path: Path, fake: FakeAnthropic) -> None:
    store = build_store(tmp_path, 2)
    seen: list[str] = []

    def setting() -> str:
        with store.connection() as con:
            row = con.execute("SELECT current_setting('memory_limit')").fetchone()
            assert row is not None
            return str(row[0])

    default = setting()

    def stage(name: str) -> None:
        if name == "intent-recorded":
            seen.append(setting())

    config = JudgeConfig(batch_memory_limit_mb=200)
    summary = run_batch(
        store, anthropic_judge(fake), PassOptions(), judge_config=config,
        echo=lambda _m: None, wait=5.0, on_stage=stage,
    )  # fmt: skip
    assert summary["collected"] == {"correct": 10}
    # DuckDB reports 200 MB (10^6 bytes) in MiB: 190.7 MiB
    assert seen == ["190.7 MiB"]
    assert setting() == default != seen[0]  # the store is left as it was for other commands
    with pytest.raises(CuratorError, match="batch_memory_limit_mb"):
        run_batch(
            store, anthropic_judge(fake), PassOptions(),
            judge_config=JudgeConfig(batch_memory_limit_mb=10), echo=lambda _m: None,
        )  # fmt: skip


def test_a_body_a_killed_run_spooled_but_never_recorded_is_removed(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    """A run killed between writing a chunk's body and recording its intent left the body in
    `<store>.batches/` for ever (a chunk of a million-record pass is up to 256 MB): the next
    run removes it, unless it is recent enough to be another run's, about to be recorded."""
    import time

    store = build_store(tmp_path, 2)
    folder = spool_folder(store)
    folder.mkdir()
    orphan, recent = folder / "0123456789ab.body", folder / "ba9876543210.body"
    orphan.write_bytes(b'{"requests": [' + b"x" * 1000)
    recent.write_bytes(b'{"requests": [')
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    messages: list[str] = []
    summary = run(store, anthropic_judge(fake), {}, echo=messages.append)
    assert summary["collected"] == {"correct": 10}
    assert not orphan.exists() and recent.exists()
    assert any("removed 1 request body a killed run left unsent" in m for m in messages), messages
    # An old body that a recorded intent names is the one the next run sends: it is kept.
    (tmp_path / "second").mkdir()
    other = build_store(tmp_path / "second", 2)
    with pytest.raises(Killed):
        run(other, anthropic_judge(fake), {}, kill_at="intent-recorded")
    (body,) = spool_folder(other).glob("*.body")
    os.utime(body, (old, old))
    resumed: list[str] = []
    again = run(other, anthropic_judge(fake), {}, echo=resumed.append)
    assert again["collected"] == {"correct": 10}
    assert any("(resumed)" in m for m in resumed) and not any("removed" in m for m in resumed)
