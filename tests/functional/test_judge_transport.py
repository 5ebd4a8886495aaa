"""The live judge calls' HTTP transport: the anthropic SDK over its aiohttp transport
(`DefaultAioHttpClient`) stores exactly what the SDK's default httpx transport stored, retries
and failures included; both run for real against the loopback fake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic

from curator.domain import RecordFilter
from curator.llm.backends import AnthropicBackend
from curator.llm.passes import LLMJudge, PassOptions, RetryPolicy, run_pass
from curator.llm.prices import price_for
from curator.store import Store
from curator.store.verdicts import work_page
from tests.builders import import_sample_dev
from tests.fakes.servers import Behaviour, Failure, FakeAnthropic, question_of
from tests.templates import store_copy

MODEL = "claude-sonnet-5-5"

#: The stored columns a transport could change (ids, run ids, timings aside).
COLUMNS = (
    "record_uid, record_hash, verdict, reason, raw_output, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, cost_usd, attempts, error"
)


def varied(prompt: str) -> str:
    """Replies of every kind, decided by the question: correct, incorrect, a reply without a
    judgement, and one longer than max_tokens (cut, so `unparsed`)."""
    kind = sum(map(ord, question_of(prompt))) % 4
    if kind == 0:
        return "<reason>The figures match.</reason>\n<judgement>correct</judgement>"
    if kind == 1:
        return "<reason>Wrong scale.</reason>\n<judgement>incorrect</judgement>"
    if kind == 2:
        return "I cannot tell from this table."
    return "<reason>" + "long " * 800 + "</reason><judgement>correct</judgement>"


def backend(url: str, *, httpx_only: bool = False) -> AnthropicBackend:
    made = AnthropicBackend(MODEL, api_key="test", base_url=url)
    if httpx_only:  # the SDK's default transport, as every call used before
        made.live_client = made.client
    return made


def judge(made: AnthropicBackend) -> LLMJudge:
    retry = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
    return LLMJudge(made, price=price_for(MODEL), max_tokens=300, retry=retry)


def behaviour(db: Path) -> Behaviour:
    """Failures for three questions: a 429 then an answer, a proxy's page then an answer, and
    a 500 every time (an `error` after the attempts)."""
    store = Store(db)
    probe = judge(backend("http://127.0.0.1:9"))
    items = work_page(store, probe.key, RecordFilter(), limit=3)
    first, second, third = (question_of(probe.prompt(i).record_part) for i in items)
    return Behaviour(
        responder=varied,
        record_failures={
            first: [Failure(429, retry_after="0"), Failure(200)],
            second: [Failure(200, body=b"<html>proxy error</html>"), Failure(200)],
            third: [Failure(500)],
        },
    )


async def judged(db: Path, *, httpx_only: bool) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """The stored verdicts of one pass over `db` and the fake's requests per question."""
    with FakeAnthropic(behaviour(db)) as fake:
        assert isinstance(fake, FakeAnthropic)
        made = backend(fake.url, httpx_only=httpx_only)
        result = await run_pass(Store(db), judge(made), PassOptions(concurrency=8))
        assert made.live_client.is_closed() and made.client.is_closed()
        requests = dict(fake.requests)
    assert result.progress.done == 30
    with Store(db).connection() as con:
        rows = con.execute(f"SELECT {COLUMNS} FROM verdicts ORDER BY record_uid").fetchall()
    return rows, requests


def test_live_calls_use_the_sdks_aiohttp_client_and_batches_keep_httpx() -> None:
    made = backend("http://127.0.0.1:9")
    assert isinstance(made.live_client._client, anthropic.DefaultAioHttpClient)
    assert not isinstance(made.client._client, anthropic.DefaultAioHttpClient)
    # Same key, model, retries (none: the pass owns them) and timeout on both.
    assert made.live_client.max_retries == made.client.max_retries == 0
    assert made.live_client.timeout == made.client.timeout
    assert str(made.live_client.base_url) == str(made.client.base_url)


async def test_both_transports_store_the_same_verdicts_retries_and_errors(tmp_path: Path) -> None:
    aio_db = store_copy("sample-dev", import_sample_dev, tmp_path / "aio.duckdb")
    httpx_db = store_copy("sample-dev", import_sample_dev, tmp_path / "httpx.duckdb")
    aio, aio_requests = await judged(aio_db, httpx_only=False)
    plain, plain_requests = await judged(httpx_db, httpx_only=True)
    assert aio == plain
    assert aio_requests == plain_requests
    # Not vacuous: every kind of outcome, retried calls and an exhausted one are among them.
    verdicts = {row[2] for row in aio}
    assert {"correct", "incorrect", "unparsed", "error"} <= verdicts
    # (Failures are injected by question text, which some sample records share.)
    assert {row[10] for row in aio} == {1, 2, 3}
    errors = [(row[10], row[11]) for row in aio if row[2] == "error"]
    assert errors and all(n == 3 and "HTTP 500" in error for n, error in errors)
