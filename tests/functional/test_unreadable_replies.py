"""Replies that cannot be used never end a pass and never count as an answer or a verdict.

Through the real anthropic / boto3 clients against the loopback fakes:
- a 200 whose body is not a reply (a proxy's page) is that record's failed call: retried in the
  pass, then stored as `error`, while the pass goes on with the other records;
- a judge reply without one clear judgement, or cut off by max_tokens, is `unparsed`, counted at
  the end of the pass and asked again by the next pass;
- a predicted answer cut off by max_tokens is stored as such, scored as no answer, counted by
  eval, and asked again by the next run.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest

from curator.llm.backends import AnthropicBackend, Backend, BedrockBackend
from curator.llm.passes import LLMJudge, PassOptions, RetryPolicy, run_pass
from curator.store import Store
from tests.conftest import CliResult, tiny_context, write_json
from tests.fakes.aws import apply_env
from tests.fakes.servers import Behaviour, Failure, FakeAnthropic, FakeBase, FakeBedrockRuntime

Run = Callable[..., CliResult]

PROXY_PAGE = b"<html><body>502 Bad Gateway</body></html>"
GOOD = "<reason>The figures match the table.</reason>\n<judgement>correct</judgement>"


@pytest.fixture
def sample_store(tmp_path: Path, run_cli: Run) -> Path:
    """12 records over two contexts, each question its own (the fakes tell records apart by
    their question)."""
    contexts = [tiny_context(f"c{i}", tuple(f"c{i}-q{j}" for j in range(6))) for i in range(2)]
    for ctx in contexts:
        for q in ctx["questions"]:
            q["question"] = f"What was revenue in 2019 ({q['uid']})?"
    db = tmp_path / "replies.duckdb"
    assert run_cli("--db", db, "import", write_json(tmp_path / "in.json", contexts)).code == 0
    return db


def questions(db: Path) -> list[tuple[str, str]]:
    """(uid, question) of every record, in store order."""
    with Store(db).connection() as con:
        rows = con.execute("SELECT uid, question FROM records ORDER BY seq").fetchall()
    return [(str(uid), str(q)) for uid, q in rows]


def verdicts_of(db: Path, uid: str) -> list[tuple[str, str, str]]:
    """(verdict, error, reason) of every verdict a record got, oldest first."""
    with Store(db).connection() as con:
        rows = con.execute(
            "SELECT verdict, error, reason FROM verdicts WHERE record_uid = ? ORDER BY verdict_id",
            [uid],
        ).fetchall()
    return [(str(v), str(e), str(r)) for v, e, r in rows]


@pytest.mark.parametrize("provider", ["anthropic", "bedrock"])
def test_a_garbled_200_body_is_that_records_error_and_the_pass_goes_on(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    records = questions(sample_store)
    (bad_uid, bad_q), (flaky_uid, flaky_q) = records[3], records[7]
    behaviour = Behaviour(
        # One record always gets a proxy's page; another gets one once, then a real reply.
        record_failures={
            bad_q: [Failure(200, body=PROXY_PAGE)],
            flaky_q: [Failure(200, body=b'{"type": "mess'), Failure(200, delay=0.0)],
        },
    )
    fake: FakeBase
    backend: Backend
    if provider == "anthropic":
        fake = FakeAnthropic(behaviour).start()
        backend = AnthropicBackend("claude-sonnet-5-5", api_key="test-key", base_url=fake.url)
    else:
        apply_env(monkeypatch)
        fake = FakeBedrockRuntime(behaviour).start()
        backend = BedrockBackend(
            "us.anthropic.claude-sonnet-5-5", region="us-east-1", endpoint_url=fake.url
        )
    judge = LLMJudge(backend, price=None, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    try:
        first = asyncio.run(run_pass(Store(sample_store), judge, PassOptions(concurrency=4)))
    finally:
        fake.stop()
    assert first.progress.outcomes == {"correct": len(records) - 1, "error": 1}
    assert fake.requests[bad_q] == 3 and fake.requests[flaky_q] == 2  # retried in the pass
    [(verdict, error, _)] = verdicts_of(sample_store, bad_uid)
    assert verdict == "error" and error.startswith("HTTP 200 but the body is not")
    assert "Bad Gateway" in error or provider == "bedrock"  # botocore drops such a body
    assert [v for v, _, _ in verdicts_of(sample_store, flaky_uid)] == ["correct"]

    # The next pass asks again for that record only.
    fake = FakeAnthropic() if provider == "anthropic" else FakeBedrockRuntime()
    fake.start()
    if provider == "anthropic":
        backend = AnthropicBackend("claude-sonnet-5-5", api_key="test-key", base_url=fake.url)
    else:
        backend = BedrockBackend(
            "us.anthropic.claude-sonnet-5-5", region="us-east-1", endpoint_url=fake.url
        )
    try:
        again = asyncio.run(run_pass(Store(sample_store), LLMJudge(backend, price=None)))
    finally:
        fake.stop()
    assert again.progress.outcomes == {"correct": 1}
    assert dict(fake.requests) == {bad_q: 1}


def test_unreadable_and_cut_off_judge_replies_are_counted_and_asked_again(
    run_cli: Run,
    sample_store: Path,
    anthropic_fake: FakeAnthropic,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = questions(sample_store)
    (garbled_uid, garbled_q), (cut_uid, cut_q) = records[2], records[5]
    config = tmp_path / "curator.toml"
    config.write_text("[judge]\nmax_tokens = 60\n", "utf-8")  # the fakes: 3 characters a token
    monkeypatch.setenv("CURATOR_CONFIG", str(config))

    def model(prompt: str) -> str:
        if garbled_q in prompt:
            return "Lorem ipsum dolor sit amet, the figures are what they are."
        if cut_q in prompt:  # runs out of tokens in its reason, before any judgement
            return "<reason>" + "The table shows revenue of 1,200 in 2019. " * 10 + GOOD
        return GOOD

    anthropic_fake.behaviour.responder = model
    args = ("--db", sample_store, "judge", "--judge", "anthropic")
    first = run_cli(*args)
    assert first.code == 0, first.err
    assert "2 records had unreadable replies" in first.out
    assert verdicts_of(sample_store, garbled_uid)[0][0] == "unparsed"
    verdict, _, reason = verdicts_of(sample_store, cut_uid)[0]
    assert verdict == "unparsed" and "max_tokens" in reason
    listed = run_cli("--db", sample_store, "list", "--verdict", "correct", "--json").json_lines()
    assert len(listed) == len(records) - 2  # neither became a verdict

    # The next pass asks for those two again, and only those.
    anthropic_fake.behaviour.responder = lambda prompt: GOOD
    before = sum(anthropic_fake.requests.values())
    again = run_cli(*args, "--json")
    assert again.code == 0, again.err
    summary = json.loads(again.out)
    assert summary["judged"] == 2 and summary["verdicts"] == {"correct": 2}
    assert sum(anthropic_fake.requests.values()) == before + 2
    assert verdicts_of(sample_store, cut_uid)[-1][0] == "correct"
    nothing = json.loads(run_cli(*args, "--json").out)
    assert nothing["judged"] == 0


def test_a_pass_in_which_no_reply_gives_a_verdict_exits_3(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    anthropic_fake.behaviour.responder = lambda prompt: "I would rather not say."
    result = run_cli("--db", sample_store, "judge", "--judge", "anthropic", "--limit", "3")
    assert result.code == 3
    assert "no reply gave a verdict (3 unreadable replies" in result.err


def predict_args(*extra: object) -> list[object]:
    return ["predict", "--backend", "anthropic", "--model", "claude-haiku-4-5", *extra, "--json"]


def test_an_answer_cut_off_by_max_tokens_is_not_scored_and_is_asked_again(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    records = questions(sample_store)
    cut_uid, cut_q = records[4]

    def model(prompt: str) -> str:
        # The cut answer starts like the right one would: "1,2" of "1,234".
        return "1,234,567 thousand as the table shows" * (20 if cut_q in prompt else 1)

    anthropic_fake.behaviour.responder = model
    first = run_cli("--db", sample_store, *predict_args("--name", "base", "--max-tokens", "40"))
    assert first.code == 0, first.err
    summary = json.loads(first.out)
    assert summary["answered"] == len(records) - 1 and summary["truncated"] == 1
    with Store(sample_store).connection() as con:
        error, raw, tokens = con.execute(
            "SELECT error, raw_output, output_tokens FROM predictions WHERE record_uid = ?",
            [cut_uid],
        ).fetchall()[0]
    assert error.startswith("answer cut off by max_tokens (40 tokens)")
    assert len(raw) == 120 and tokens > 0  # kept as the model sent it

    report = json.loads(run_cli("--db", sample_store, "eval", "base", "--json").out)["runs"][0]
    assert report["records"] == len(records) and report["truncated"] == 1
    assert report["answered"] == len(records) - 1  # scored as no answer (0)
    text = run_cli("--db", sample_store, "eval", "base")
    assert "cut off by max_tokens" in text.out

    # A rerun with room enough asks again for that record only.
    asked = anthropic_fake.requests[cut_q]
    again = run_cli("--db", sample_store, *predict_args("--name", "base", "--max-tokens", "512"))
    assert again.code == 0, again.err
    assert json.loads(again.out)["answered"] == 1 and anthropic_fake.requests[cut_q] == asked + 1
    report = json.loads(run_cli("--db", sample_store, "eval", "base", "--json").out)["runs"][0]
    assert report["truncated"] == 0 and report["answered"] == len(records)


def test_predict_reads_bedrocks_stop_reason_and_a_run_of_only_cut_answers_exits_3(
    run_cli: Run, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_env(monkeypatch, {"CURATOR_CONFIG": os.devnull})
    behaviour = Behaviour(responder=lambda prompt: "The answer is 1,234 thousand. " * 10)
    with FakeBedrockRuntime(behaviour) as fake:
        result = run_cli(
            "--db", sample_store, "predict", "--backend", "bedrock", "--endpoint-url", fake.url,
            "--name", "cut", "--limit", "3", "--max-tokens", "10",
        )  # fmt: skip
    assert result.code == 3
    assert "no answer was finished: 3 cut off by max_tokens" in result.err
    assert fake.calls["converse"] == 3


def test_a_garbled_body_no_longer_ends_a_prediction_run(
    run_cli: Run, sample_store: Path, anthropic_fake: FakeAnthropic
) -> None:
    anthropic_fake.behaviour.failures = deque([Failure(200, body=PROXY_PAGE)])
    result = run_cli("--db", sample_store, *predict_args("--name", "p", "--limit", "2"))
    assert result.code == 0, result.err
    assert json.loads(result.out)["answered"] == 2
    assert anthropic_fake.calls["POST /v1/messages"] == 3  # the garbled reply was asked again
