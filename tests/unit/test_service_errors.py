"""Which SDK failures the one retry loop retries (model calls and batch control calls alike)."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from curator.llm.backends import BackendError, boto_call
from curator.llm.passes import AttemptsExhausted, RetryPolicy, call_with_retries


def _raise(exc: Exception) -> None:
    raise exc


def _client_error(status: int, code: str, retry_after: str | None = None) -> ClientError:
    headers = {"retry-after": retry_after} if retry_after else {}
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
        },
        "GetModelInvocationJob",
    )


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (_client_error(429, "ThrottlingException"), True),
        (_client_error(400, "ThrottlingException"), True),
        (_client_error(500, "InternalServerException"), True),
        (_client_error(503, "ServiceUnavailableException"), True),
        (_client_error(400, "ValidationException"), False),
        (_client_error(403, "AccessDeniedException"), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (NoCredentialsError(), False),
        (ParamValidationError(report="bad"), False),
    ],
)
def test_boto_failures_are_classified(exc: Exception, retryable: bool) -> None:
    with pytest.raises(BackendError) as caught:
        boto_call(lambda: _raise(exc))
    assert caught.value.retryable is retryable


def test_retry_after_is_read_and_honoured() -> None:
    with pytest.raises(BackendError) as caught:
        boto_call(lambda: _raise(_client_error(429, "ThrottlingException", "7")))
    assert caught.value.retry_after == 7.0
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def call() -> None:
        boto_call(lambda: _raise(_client_error(429, "ThrottlingException", "7")))

    with pytest.raises(AttemptsExhausted) as exhausted:
        asyncio.run(call_with_retries(call, RetryPolicy(max_attempts=3), sleep=sleep))
    assert exhausted.value.attempts == 3 and slept == [7.0, 7.0]


def test_an_sdk_failure_without_a_status_is_an_error_of_the_record_not_an_internal_one() -> None:
    """A reply the anthropic SDK could not validate raised out of the pass (exit 1, a bug)."""
    import anthropic
    import httpx2 as httpx

    from curator.llm.backends import anthropic_call

    request = httpx.Request("POST", "http://127.0.0.1/v1/messages")
    response = httpx.Response(200, request=request, text="{}")
    failure = anthropic.APIResponseValidationError(response, {}, message="type: missing")

    async def call() -> None:
        raise failure

    with pytest.raises(BackendError) as caught:
        asyncio.run(anthropic_call(call))
    assert not caught.value.retryable and caught.value.status is None
    assert "APIResponseValidationError" in str(caught.value)
