"""Claude behind one small interface: the Anthropic API (anthropic SDK) and Bedrock (boto3).

Both clients are created with their own retries off: the pass runner owns the one retry loop
(honouring retry-after, backing off on 429/529/5xx), so the two backends behave alike and a
request is never retried by two layers at once. The SDKs are imported here, inside the backend
constructors, so commands that never call a model never pay for loading them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from curator.domain import EnvironmentFailure
from curator.prompts import JudgePrompt

T = TypeVar("T")

#: Characters per token for estimates (the newer Claude tokenizers produce more tokens per char).
CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    return max(1, int(len(text) / CHARS_PER_TOKEN))


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: Why the model stopped, as the service says it (`end_turn`, `max_tokens`, …); a verdict is
    #: read only from a reply that ended normally.
    stop_reason: str | None = None


class BackendError(Exception):
    """A failed model call. `retryable` says whether trying again may help."""

    def __init__(
        self, message: str, *, status: int | None, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def _retryable_status(status: int | None) -> bool:
    # 408 timeout, 409 conflict (Anthropic asks to retry), 429 rate limit, 5xx incl. 529 overloaded.
    return status is None or status in (408, 409, 429) or status >= 500


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Backend(Protocol):
    provider: str
    model: str

    async def complete(self, prompt: JudgePrompt, max_tokens: int) -> Completion: ...

    async def aclose(self) -> None: ...


class AnthropicBackend:
    """The Messages API through `anthropic.AsyncAnthropic`."""

    provider = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        cache_min_tokens: int = 1024,
        thinking: dict[str, Any] | None = None,
    ) -> None:
        import anthropic

        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:  # missing credentials are the environment's (exit 3), as for Bedrock
            raise EnvironmentFailure(
                "the anthropic judge needs ANTHROPIC_API_KEY "
                "(or use --judge rules, which needs none)"
            )
        self.model = model
        self.cache_min_tokens = cache_min_tokens
        self.thinking = thinking
        self.client = anthropic.AsyncAnthropic(
            api_key=key, base_url=base_url, max_retries=0, timeout=timeout
        )
        #: The client of live model calls: the same SDK over the aiohttp transport it ships
        #: (`DefaultAioHttpClient`). httpx's own pool (httpcore on anyio) cost about half of a
        #: call's client CPU, which a judge pass beside other work cannot spare. Batch control
        #: calls keep `client` (their streamed result files go through httpx as before).
        self.live_client = self.client.with_options(http_client=live_http_client())

    def request(self, prompt: JudgePrompt, max_tokens: int) -> dict[str, Any]:
        """The Messages API request body (also what a Message Batch carries per record)."""
        return {
            "model": self.model,
            **messages_body(prompt, max_tokens, self.cache_min_tokens, self.thinking),
        }

    async def complete(self, prompt: JudgePrompt, max_tokens: int) -> Completion:
        # The raw reply, decoded once: building the SDK's typed Message and dumping it back to
        # a dict cost more CPU than the rest of a call, which under load costs throughput.
        async def call() -> bytes:
            raw = await self.live_client.messages.with_raw_response.create(
                **self.request(prompt, max_tokens)
            )
            return bytes(await raw.read())

        return completion_from_message(decoded_message(await anthropic_call(call)))

    async def aclose(self) -> None:
        try:
            await self.live_client.close()
        finally:
            await self.client.close()


class EstimateOnlyBackend:
    """A backend that only names its provider and model, for a dry run: an estimate needs the
    judge's key (provider, model, thinking) and its prompts, never a client, so it needs no
    ANTHROPIC_API_KEY or AWS credentials and touches no network. Calling it is a bug."""

    def __init__(self, provider: str, model: str, *, thinking: dict[str, Any] | None) -> None:
        self.provider = provider
        self.model = model
        self.thinking = thinking

    async def complete(self, prompt: JudgePrompt, max_tokens: int) -> Completion:
        raise RuntimeError("a dry run's backend was asked to call the model")

    async def aclose(self) -> None:
        return None


def live_http_client() -> Any:
    """The HTTP client of live Messages calls: the SDK's aiohttp transport when aiohttp is
    installed (a dependency of curator), else the SDK's default httpx client. Both keep
    connections alive in one pool sized far beyond any pass's concurrency (the SDK's 1,000)."""
    import anthropic

    try:
        return anthropic.DefaultAioHttpClient()
    except RuntimeError:  # the SDK's stand-in when aiohttp is missing
        return anthropic.DefaultAsyncHttpxClient()


async def anthropic_call(call: Callable[[], Awaitable[T]]) -> T:
    """Await one anthropic SDK call, turning its failures into BackendError for the retry loop
    (model calls and batch control calls alike)."""
    import anthropic

    try:
        return await call()
    except anthropic.APIStatusError as exc:
        status = exc.status_code
        raise BackendError(
            f"HTTP {status} {_api_error_text(exc.body, exc.message)}",
            status=status,
            retryable=_retryable_status(status),
            retry_after=_parse_retry_after(exc.response.headers.get("retry-after")),
        ) from exc
    except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
        raise BackendError(
            f"{type(exc).__name__}: {_short(str(exc))}", status=None, retryable=True
        ) from exc
    except anthropic.APIError as exc:
        # Any other failure the SDK reports (a reply it could not validate, say) is the
        # service's or the SDK's, not curator's: an error for this record, not an internal one.
        raise BackendError(
            f"{type(exc).__name__}: {_short(str(exc))}", status=None, retryable=False
        ) from exc


def _api_error_text(body: object, fallback: str) -> str:
    """`not_found_error: model: claude-x` from the API's error body: the SDK's own message
    repeats the status and prints the body as a Python dict (`Error code: 404 - {'type': …`)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type")
        return _short(f"{kind}: {error['message']}" if isinstance(kind, str) else error["message"])
    return _short(fallback)


def boto_call(call: Callable[[], T]) -> T:
    """Run one boto3 call, turning its failures into BackendError for the retry loop.

    Throttling and 5xx are retryable; so are lost connections and timeouts. Missing
    credentials, a bad parameter or a missing region never get better by retrying.
    """
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    try:
        return call()
    except ClientError as exc:
        meta = exc.response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        headers = meta.get("HTTPHeaders", {})
        raise BackendError(
            f"HTTP {status} {code}: {_short(str(exc))}",
            status=status,
            retryable=_retryable_status(status) or code in _RETRYABLE_CODES,
            retry_after=_parse_retry_after(headers.get("retry-after")),
        ) from exc
    except BotoCoreError as exc:
        raise BackendError(
            f"{type(exc).__name__}: {_short(str(exc))}",
            status=None,
            retryable=isinstance(exc, (BotoConnectionError, HTTPClientError)),
        ) from exc


#: AWS error codes worth retrying whatever their HTTP status.
_RETRYABLE_CODES = ("ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException")


def messages_body(
    prompt: JudgePrompt,
    max_tokens: int,
    cache_min_tokens: int,
    thinking: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Anthropic Messages format without the model: the API, batches and Bedrock batch use it.

    Worked examples (few-shot) come first as earlier user/assistant turns; `thinking`, when
    given, is sent as is (with its budget added to max_tokens, which must exceed it)."""
    context: dict[str, Any] = {"type": "text", "text": prompt.context_part}
    # Cache the shared prefix only where the model's minimum allows: the system text alone is
    # short, but system + context (shared by every question of a context) often is not.
    if estimate_tokens(prompt.system + prompt.context_part) >= cache_min_tokens:
        context["cache_control"] = {"type": "ephemeral"}
    content = [b for b in (context, {"type": "text", "text": prompt.record_part}) if b["text"]]
    shots: list[dict[str, Any]] = []
    for user, reply in prompt.examples:
        shots.append({"role": "user", "content": [{"type": "text", "text": user}]})
        shots.append({"role": "assistant", "content": [{"type": "text", "text": reply}]})
    body: dict[str, Any] = {
        "max_tokens": max_tokens,
        "system": [{"type": "text", "text": prompt.system}],
        "messages": [*shots, {"role": "user", "content": content}],
    }
    if thinking is not None:
        body["thinking"] = thinking
        if thinking.get("type") == "enabled":
            body["max_tokens"] = max_tokens + int(thinking["budget_tokens"])
    return body


def unreadable_reply(what: str) -> BackendError:
    """A 200 whose body is not a model reply (a proxy's page, a cut or garbled body): a failed
    call for that record, retried like a 5xx, never a reason to end the pass."""
    return BackendError(f"HTTP 200 but {_short(what, 200)}", status=200, retryable=True)


def decoded_message(raw: bytes) -> dict[str, Any]:
    """A Messages API reply body as a dict with a list of content blocks, or BackendError."""
    try:
        message = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        raise unreadable_reply(f"the body is not JSON: {raw[:120]!r}") from None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise unreadable_reply(f"the body is not a message: {raw[:120]!r}")
    return dict(message)


def completion_from_message(message: dict[str, Any]) -> Completion:
    """Text and usage from a Messages API response (also a batch result's message)."""
    text = "".join(b.get("text", "") for b in message.get("content", []) if b.get("type") == "text")
    usage = message.get("usage") or {}
    return Completion(
        text=text,
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
        stop_reason=message.get("stop_reason"),
    )


class BedrockBackend:
    """Bedrock runtime `converse` through boto3 (sync, so each call runs in a worker thread)."""

    provider = "bedrock"

    def __init__(
        self,
        model: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        cache_min_tokens: int = 1024,
        thinking: dict[str, Any] | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        self.model = model
        self.cache_min_tokens = cache_min_tokens
        self.thinking = thinking
        session = boto3.Session(region_name=region)
        # Fail fast: without credentials every call would fail the same way, record after record.
        try:
            credentials = session.get_credentials()
        except BotoCoreError as exc:
            raise EnvironmentFailure(f"Bedrock: cannot load AWS credentials: {exc}") from exc
        if credentials is None:
            raise EnvironmentFailure(
                "Bedrock: no AWS credentials found (the standard AWS chain: AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, an instance role)"
            )
        if not session.region_name:
            raise EnvironmentFailure("Bedrock: no AWS region (pass --region or set AWS_REGION)")
        self.client = session.client(
            "bedrock-runtime",
            endpoint_url=endpoint_url,
            config=Config(
                retries={"max_attempts": 1, "mode": "standard"},
                max_pool_connections=max(10, concurrency),
                read_timeout=timeout,
                connect_timeout=10,
            ),
        )

    def request(self, prompt: JudgePrompt, max_tokens: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if prompt.context_part:
            content.append({"text": prompt.context_part})
            if estimate_tokens(prompt.system + prompt.context_part) >= self.cache_min_tokens:
                content.append({"cachePoint": {"type": "default"}})
        content.append({"text": prompt.record_part})
        shots: list[dict[str, Any]] = []
        for user, reply in prompt.examples:
            shots.append({"role": "user", "content": [{"text": user}]})
            shots.append({"role": "assistant", "content": [{"text": reply}]})
        request: dict[str, Any] = {
            "modelId": self.model,
            "system": [{"text": prompt.system}],
            "messages": [*shots, {"role": "user", "content": content}],
            "inferenceConfig": {"maxTokens": max_tokens},
        }
        if self.thinking is not None:
            # Anthropic models on Bedrock take the Messages API's field as is.
            request["additionalModelRequestFields"] = {"thinking": self.thinking}
            if self.thinking.get("type") == "enabled":
                request["inferenceConfig"]["maxTokens"] += int(self.thinking["budget_tokens"])
        return request

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = boto_call(lambda: self.client.converse(**request))
        # A 200 body that is not a Converse reply: botocore keeps nothing of it but its length.
        output = response.get("output")
        message = output.get("message") if isinstance(output, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
            size = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("content-length")
            raise unreadable_reply(f"the body is not a Converse reply ({size or '?'} bytes)")
        return response

    async def complete(self, prompt: JudgePrompt, max_tokens: int) -> Completion:
        response = await asyncio.to_thread(self._call, self.request(prompt, max_tokens))
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        usage = response.get("usage", {})
        return Completion(
            text="".join(b.get("text", "") for b in blocks),
            input_tokens=int(usage.get("inputTokens") or 0),
            output_tokens=int(usage.get("outputTokens") or 0),
            cache_read_tokens=int(usage.get("cacheReadInputTokens") or 0),
            cache_write_tokens=int(usage.get("cacheWriteInputTokens") or 0),
            stop_reason=response.get("stopReason"),
        )

    async def aclose(self) -> None:
        self.client.close()


def _short(text: str, limit: int = 300) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
