"""Loopback servers that speak the Anthropic Messages and Message Batches APIs and the Bedrock
runtime (Converse, InvokeModel) and batch inference control plane, for tests and benchmarks.

The real `anthropic` and `boto3` clients are pointed at them (`base_url`, `endpoint_url`), so the
whole client stack runs for real. Every server binds 127.0.0.1 only, counts requests per record,
and can add latency and inject failures: 429 with retry-after, 529, 500, malformed model output.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.fakes.validation import (
    ANTHROPIC_MODELS,
    BedrockModel,
    Refused,
    bedrock_model,
    check_max_tokens,
    region_of,
    validate_boto,
    validate_converse,
    validate_messages,
)

#: A request body that was not JSON (the services answer 400).
_NOT_JSON = object()

#: Decides the model's reply text from the user prompt. Default: always "correct".
Responder = Callable[[str], str]


def default_responder(prompt: str) -> str:
    return "<reason>The figures match the table.</reason>\n<judgement>correct</judgement>"


def end_turn(prompt: str) -> str:
    return "end_turn"


def question_of(prompt: str) -> str:
    """The record's question inside a judge prompt (how the fakes count requests per record)."""
    match = re.search(r"<question>(.*?)</question>", prompt, re.DOTALL)
    return match.group(1) if match else prompt[-80:]


@dataclass
class Failure:
    """One injected failure: an HTTP status, optional retry-after, optional body override."""

    status: int
    retry_after: str | None = None
    #: With status 200: answer normally, but only after this many seconds (to force timeouts).
    delay: float = 0.0
    #: With status 200: send these bytes as the whole body instead of a reply (a proxy's HTML
    #: page, a cut-off or garbled body: what a client must survive).
    body: bytes | None = None


@dataclass
class Behaviour:
    latency: float = 0.0
    responder: Responder = default_responder
    #: Served in order before any normal reply, one per request.
    failures: deque[Failure] = field(default_factory=deque)
    #: Per question text: failures served to that record only (e.g. always 500).
    record_failures: dict[str, list[Failure]] = field(default_factory=dict)
    #: Batch polls before a batch reports it has ended.
    polls_until_done: int = 1
    #: The stop reason of a reply that fits in max_tokens (e.g. "refusal"); a longer reply is
    #: cut at max_tokens and says "max_tokens", as the services do.
    stop_reason: Callable[[str], str] = end_turn
    #: Served in order to batch control requests (create, status, results) before answering.
    control_failures: deque[Failure] = field(default_factory=deque)
    #: Per question text: how that record's batch result ends instead of succeeding —
    #: Anthropic "errored" / "expired" / "canceled"; Bedrock "error" (an error line) or
    #: "unprocessed" (left out, so the job ends PartiallyCompleted).
    batch_outcomes: dict[str, str] = field(default_factory=dict)
    #: Batch polls before the n-th created batch / job ends (n from 0; others: polls_until_done),
    #: so batches can end in another order than they were created.
    polls_by_batch: list[int] = field(default_factory=list)
    #: Serve batch result lines in a shuffled order (the services do not promise any order).
    shuffle_results: bool = False
    #: Work out a batch's results when it is created and keep only them (benchmarks: a million
    #: requests need not sit in memory until the results are asked for).
    answer_at_create: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or was killed closes its socket mid-reply: expected here.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeBase:
    """A threaded HTTP server on 127.0.0.1 with request counting; subclasses route requests."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.requests: Counter[str] = Counter()  # per question text
        self.calls: Counter[str] = Counter()  # per route
        self.lock = threading.Lock()
        self.cached_prefixes: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm and delayed ACKs
            # that costs ~40 ms a request, which would make the fake the bottleneck.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return None

            def _body(self) -> Any:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                self.body_size = len(raw)
                try:
                    return json.loads(raw) if raw else {}
                except ValueError:
                    return _NOT_JSON

            def do_POST(self) -> None:
                self.received_at = time.monotonic()
                fake._dispatch(self, "POST", self._body())

            def do_GET(self) -> None:
                self.received_at = time.monotonic()
                fake._dispatch(self, "GET", None)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address is (host, port)
        return f"http://{host!s}:{port}"

    def start(self) -> FakeBase:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeBase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ----------------------------------------------------------------------------

    def wait_latency(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer `latency` after the request arrived, as a service whose latency includes
        its own work: the time this process spent reading, parsing and checking the request
        (its threads share one GIL, so a burst of requests queues here) is part of it, not
        added to it, or the fake, not the client, would set the bench's pace."""
        latency = self.behaviour.latency
        if latency:
            arrived = getattr(handler, "received_at", None)
            spent = time.monotonic() - arrived if arrived is not None else 0.0
            time.sleep(max(0.0, latency - spent))

    def send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def next_control_failure(self) -> Failure | None:
        with self.lock:
            if self.behaviour.control_failures:
                return self.behaviour.control_failures.popleft()
        return None

    def next_failure(self, question: str) -> Failure | None:
        with self.lock:
            self.requests[question] += 1
            if self.behaviour.failures:
                return self.behaviour.failures.popleft()
            queue = self.behaviour.record_failures.get(question)
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return None

    def usage(self, prefix: str, cacheable: bool, rest: str, output: str) -> dict[str, int]:
        """Token counts, simulating prompt caching of a marked prefix."""
        prefix_tokens = max(1, len(prefix) // 3) if prefix else 0
        rest_tokens = max(1, len(rest) // 3)
        write = read = 0
        if cacheable and prefix:
            digest = hashlib.sha256(prefix.encode()).hexdigest()
            with self.lock:
                if digest in self.cached_prefixes:
                    read = prefix_tokens
                else:
                    self.cached_prefixes.add(digest)
                    write = prefix_tokens
            prefix_tokens = 0
        return {
            "input_tokens": prefix_tokens + rest_tokens,
            "output_tokens": max(1, len(output) // 3),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
        }

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        raise NotImplementedError

    def reply(self, prompt: str, max_tokens: int) -> tuple[str, str]:
        """The responder's text and stop reason, cut at max_tokens (3 characters a token, as in
        `usage`) the way the services cut a reply that runs out of tokens."""
        output = self.behaviour.responder(prompt)
        if max_tokens and len(output) // 3 > max_tokens:
            return output[: max_tokens * 3], "max_tokens"
        return output, self.behaviour.stop_reason(prompt)


# -- Anthropic ------------------------------------------------------------------------------


def _anthropic_text(content: Any) -> tuple[str, bool, str]:
    """(cacheable prefix, has cache_control, the rest) of a Messages API content field."""
    if isinstance(content, str):
        return "", False, content
    prefix, cacheable, rest = "", False, ""
    for block in content:
        if block.get("cache_control"):
            prefix += rest + block.get("text", "")
            rest = ""
            cacheable = True
        else:
            rest += block.get("text", "")
    return prefix, cacheable, rest


class FakeAnthropic(FakeBase):
    """POST /v1/messages, and the Message Batches API under /v1/messages/batches.

    Bodies are validated as the API does (tests/fakes/validation.py); an unknown model is a 404.
    Batch `params` are validated when the batch runs, as the API does: a bad one ends `errored`.
    """

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        super().__init__(behaviour)
        self.batches: dict[str, dict[str, Any]] = {}
        self.prompts: list[str] = []
        #: Keep every prompt answered in `prompts` (benchmarks of a million turn it off).
        self.keep_prompts = True
        #: Model ids this fake serves -> their output-token limit (tests may add their own).
        self.models: dict[str, int] = dict(ANTHROPIC_MODELS)
        #: the `thinking` field of every Messages request (None when absent)
        self.thinking: list[Any] = []
        self._ids = itertools.count(1)
        #: The Message Batches limits: "100,000 Message requests or 256 MB in size, whichever is
        #: reached first"; a bigger batch is refused, as the API does (tests may lower them).
        self.max_batch_requests = 100_000
        self.max_batch_bytes = 256 * 1000 * 1000
        #: Requests per question text across every batch created (what was paid for).
        self.batched: Counter[str] = Counter()
        #: The account's key: a request with another is refused 401, as the API does (None:
        #: any key; a request with no key or no `anthropic-version` is always refused).
        self.api_key: str | None = None

    def authenticate(self, handler: BaseHTTPRequestHandler) -> None:
        """Refused as the API refuses a request without a (valid) key or an API version. The
        key comes as `x-api-key` or, as the installed SDK sends it, `Authorization: Bearer`."""
        bearer = handler.headers.get("authorization") or ""
        key = handler.headers.get("x-api-key") or bearer.removeprefix("Bearer ").strip()
        if not key:
            raise Refused(401, "authentication_error", "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            raise Refused(401, "authentication_error", "invalid x-api-key")
        if not handler.headers.get("anthropic-version"):
            raise Refused(400, "invalid_request_error", "anthropic-version: header is required")

    def check(self, params: Any) -> None:
        """Refused unless the Messages API would accept this body."""
        if params is _NOT_JSON:
            raise Refused(400, "invalid_request_error", "request body is not valid JSON")
        model = validate_messages(params)
        if model not in self.models:
            raise Refused(404, "not_found_error", f"model: {model}")
        check_max_tokens(params, model, self.models[model])
        problem = self.invalid_thinking(params)
        if problem is not None:
            raise Refused(400, "invalid_request_error", problem)

    @staticmethod
    def invalid_thinking(params: dict[str, Any]) -> str | None:
        """What the real API rejects in the `thinking` field."""
        thinking = params.get("thinking")
        if thinking is None:
            return None
        if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
            return "thinking.type: Input should be 'enabled' or 'disabled'"
        if thinking["type"] == "enabled" and not (
            1024 <= int(thinking.get("budget_tokens", 0)) < int(params.get("max_tokens", 0))
        ):
            return "max_tokens must be greater than thinking.budget_tokens (>= 1024)"
        return None

    def message(self, params: dict[str, Any]) -> tuple[Failure | None, dict[str, Any]]:
        """Answer one Messages API request (shared by the live and the batch endpoints)."""
        prefix, _, rest = _anthropic_text(params["messages"][-1]["content"])
        failure = self.next_failure(question_of(prefix + rest))
        if failure is not None:
            return failure, {}
        return None, self._reply(params)

    def _reply(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix, cacheable, rest = _anthropic_text(params["messages"][-1]["content"])
        sys_prefix, sys_cache, sys_rest = _anthropic_text(params.get("system", ""))
        output, stop_reason = self.reply(prefix + rest, int(params.get("max_tokens") or 0))
        if self.keep_prompts:
            with self.lock:
                self.prompts.append(prefix + rest)
        usage = self.usage(sys_prefix + sys_rest + prefix, cacheable or sys_cache, rest, output)
        return {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": params.get("model", ""),
            "content": [{"type": "text", "text": output}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    def _error(self, handler: BaseHTTPRequestHandler, failure: Failure) -> None:
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(failure.status, "api_error")
        headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
        body = {"type": "error", "error": {"type": kind, "message": f"injected {failure.status}"}}
        self.send(handler, failure.status, body, headers)

    def _refuse(self, handler: BaseHTTPRequestHandler, refused: Refused) -> None:
        with self.lock:
            self.calls["refused"] += 1
        body = {"type": "error", "error": {"type": refused.kind, "message": refused.message}}
        self.send(handler, refused.status, body)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.calls[f"{method} {re.sub(r'msgbatch_[0-9a-z]+', '{id}', path)}"] += 1
        try:
            self.authenticate(handler)
            if method == "POST" and path == "/v1/messages":
                if isinstance(body, dict):
                    with self.lock:
                        self.thinking.append(body.get("thinking"))
                self.check(body)
                self._live(handler, body)
                return
            if path.startswith("/v1/messages/batches"):
                failure = self.next_control_failure()
                if failure is not None:
                    self._error(handler, failure)
                    return
                self._batches(handler, method, path, body)
                return
        except Refused as refused:
            self._refuse(handler, refused)
            return
        self.send(handler, 404, {"type": "error", "error": {"type": "not_found_error"}})

    def _live(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        self.wait_latency(handler)
        failure, message = self.message(body)
        if failure is not None and failure.status == 200 and failure.body is not None:
            self.send(handler, 200, failure.body)
            return
        if failure is not None and failure.status == 200:
            time.sleep(failure.delay)
            failure, message = None, self._reply(body)
        if failure is not None:
            self._error(handler, failure)
        else:
            self.send(handler, 200, message)

    def _batches(self, handler: BaseHTTPRequestHandler, method: str, path: str, body: Any) -> None:
        if method == "POST" and path == "/v1/messages/batches":
            size = int(getattr(handler, "body_size", 0))
            if size > self.max_batch_bytes:
                raise Refused(
                    413,
                    "request_too_large",
                    f"batch is {size:,} bytes; at most {self.max_batch_bytes:,} are allowed",
                )
            requests = self._check_batch(body, self.max_batch_requests)
            with self.lock:
                ordinal = len(self.batches)
                batch_id = f"msgbatch_{next(self._ids):06d}"
                polls = self.behaviour.polls_by_batch
                self.batches[batch_id] = {
                    "requests": requests,
                    "count": len(requests),
                    "polls": 0,
                    "needs": polls[ordinal] if ordinal < len(polls) else None,
                    "results": None,
                    "created_at": time.time(),
                }
                for request in requests:
                    self.batched[_batch_question(request)] += 1
            if self.behaviour.answer_at_create:
                self._outcomes(batch_id)
            self.send(handler, 200, self._batch_view(batch_id))
            return
        if method == "GET" and path == "/v1/messages/batches":
            self._list(handler, handler.path)
            return
        match = re.fullmatch(r"/v1/messages/batches/(msgbatch_\w+)(/results)?", path)
        if method != "GET" or not match or match.group(1) not in self.batches:
            raise Refused(404, "not_found_error", f"batch not found: {path}")
        batch_id = match.group(1)
        if match.group(2):
            if self.batches[batch_id].get("archived_at"):
                raise Refused(404, "not_found_error", "results are no longer available")
            if not self._ended(batch_id):
                raise Refused(404, "not_found_error", "results are not available yet")
            self._results(handler, batch_id)
        else:
            with self.lock:
                self.batches[batch_id]["polls"] += 1
            self.send(handler, 200, self._batch_view(batch_id))

    def _list(self, handler: BaseHTTPRequestHandler, raw_path: str) -> None:
        """GET /v1/messages/batches: newest first, `limit` (1-1000, default 20), `after_id`."""
        from urllib.parse import parse_qs, urlsplit

        query = {k: v[-1] for k, v in parse_qs(urlsplit(raw_path).query).items()}
        limit = int(query.get("limit", "20"))
        if not 1 <= limit <= 1000:
            raise Refused(400, "invalid_request_error", "limit: 1 to 1000")
        with self.lock:
            ids = sorted(self.batches, key=lambda b: self.batches[b]["created_at"], reverse=True)
        if "after_id" in query and query["after_id"] in ids:
            ids = ids[ids.index(query["after_id"]) + 1 :]
        page = ids[:limit]
        self.send(
            handler,
            200,
            {
                "data": [self._batch_view(b) for b in page],
                "has_more": len(ids) > limit,
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            },
        )

    @staticmethod
    def _check_batch(body: Any, most: int = 100_000) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or set(body) != {"requests"}:
            raise Refused(400, "invalid_request_error", "requests: Field required")
        requests = body["requests"]
        if not isinstance(requests, list) or not 1 <= len(requests) <= most:
            raise Refused(400, "invalid_request_error", f"requests: 1 to {most:,} requests")
        seen: set[str] = set()
        for i, request in enumerate(requests):
            if not isinstance(request, dict) or set(request) != {"custom_id", "params"}:
                raise Refused(400, "invalid_request_error", f"requests.{i}: custom_id and params")
            cid = request["custom_id"]
            if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", cid):
                raise Refused(400, "invalid_request_error", f"requests.{i}.custom_id: invalid")
            if cid in seen:
                raise Refused(
                    400, "invalid_request_error", f"requests.{i}.custom_id: duplicate {cid}"
                )
            seen.add(cid)
            if not isinstance(request["params"], dict):
                raise Refused(400, "invalid_request_error", f"requests.{i}.params: object")
        return requests

    def _ended(self, batch_id: str) -> bool:
        batch = self.batches[batch_id]
        needs = (
            batch["needs"] if batch.get("needs") is not None else self.behaviour.polls_until_done
        )
        return bool(batch["polls"] >= needs)

    def _outcomes(self, batch_id: str) -> list[bytes]:
        """Each request's result, decided once (what a finished batch stores)."""
        batch = self.batches[batch_id]
        if batch["results"] is None:
            results = []
            for request in batch["requests"]:
                params = request["params"]
                try:
                    self.check(params)
                except Refused as refused:
                    error = {"type": refused.kind, "message": refused.message}
                    results.append(
                        (
                            request["custom_id"],
                            {"type": "errored", "error": {"type": "error", "error": error}},
                        )
                    )
                    continue
                prefix, _, rest = _anthropic_text(params["messages"][-1]["content"])
                outcome = self.behaviour.batch_outcomes.get(question_of(prefix + rest))
                if outcome in ("expired", "canceled"):
                    results.append((request["custom_id"], {"type": outcome}))
                    continue
                failure, message = self.message(params)
                if failure is not None or outcome == "errored":
                    error = {"type": "api_error", "message": "Internal server error"}
                    result: dict[str, Any] = {
                        "type": "errored",
                        "error": {"type": "error", "error": error},
                    }
                else:
                    result = {"type": "succeeded", "message": message}
                results.append((request["custom_id"], result))
            if self.behaviour.shuffle_results:
                import random

                random.Random(batch_id).shuffle(results)
            # Kept as the result file's lines (compact: a million results fit in memory).
            batch["results"] = [
                json.dumps({"custom_id": cid, "result": result}).encode() for cid, result in results
            ]
            batch["tally"] = Counter(result["type"] for _, result in results)
            batch["requests"] = None  # answered: only the results are kept
        return list(batch["results"])

    def _batch_view(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        ended = self._ended(batch_id)
        n = batch["count"]
        counts = {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            counts["processing"] = 0
            self._outcomes(batch_id)
            counts.update(batch["tally"])
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": _iso(batch["created_at"]),
            "expires_at": _iso(batch["created_at"] + 86_400),
            "ended_at": _iso(batch["created_at"] + 1) if ended else None,
            "archived_at": _iso(batch["archived_at"]) if batch.get("archived_at") else None,
            "cancel_initiated_at": None,
            "results_url": (
                f"{self.url}/v1/messages/batches/{batch_id}/results"
                if ended and not batch.get("archived_at")
                else None
            ),
        }

    def archive(self, batch_id: str) -> None:
        """What the API does 29 days after a batch was created: its results are gone (the
        batch can still be retrieved, with `archived_at` set and no `results_url`)."""
        with self.lock:
            self.batches[batch_id]["needs"] = 0  # long ended
            self.batches[batch_id]["archived_at"] = time.time()

    def _results(self, handler: BaseHTTPRequestHandler, batch_id: str) -> None:
        lines = self._outcomes(batch_id)
        self.send(handler, 200, b"\n".join(lines) + b"\n", content_type="application/x-jsonl")


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _batch_question(request: Any) -> str:
    """The question of one batch request (what `batched` counts), '' when it has none."""
    try:
        prefix, _, rest = _anthropic_text(request["params"]["messages"][-1]["content"])
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return question_of(prefix + rest)


# -- Bedrock runtime ------------------------------------------------------------------------


def _aws_error(
    fake: FakeBase, handler: BaseHTTPRequestHandler, status: int, code: str, message: str
) -> None:
    with fake.lock:
        fake.calls["refused" if status == 400 else f"error {status}"] += 1
    fake.send(handler, status, {"message": message}, {"x-amzn-ErrorType": code})


def _aws_failure(fake: FakeBase, handler: BaseHTTPRequestHandler, failure: Failure) -> None:
    code = {
        429: "ThrottlingException",
        503: "ServiceUnavailableException",
        529: "ServiceUnavailableException",
    }.get(failure.status, "InternalServerException")
    headers = {"x-amzn-ErrorType": code}
    if failure.retry_after:
        headers["retry-after"] = failure.retry_after
    fake.send(handler, failure.status, {"message": f"injected {failure.status}"}, headers)


class FakeBedrockRuntime(FakeBase):
    """POST /model/{id}/converse and /model/{id}/invoke, as bedrock-runtime answers them.

    The model id must be one Bedrock serves in the signing region (a bare id of a model served
    only through an inference profile is refused, as the service does); Converse bodies are
    checked against botocore's shape, InvokeModel bodies as Anthropic-on-Bedrock bodies.
    """

    def _error(self, handler: BaseHTTPRequestHandler, failure: Failure) -> None:
        _aws_failure(self, handler, failure)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        match = re.fullmatch(r"/model/([^/]+)/(converse|invoke)", handler.path.split("?")[0])
        if method != "POST" or not match:
            self.send(handler, 404, {"message": "not found"}, {"x-amzn-ErrorType": "NotFound"})
            return
        with self.lock:
            self.calls[match.group(2)] += 1
        model_id = unquote(match.group(1))
        try:
            if body is _NOT_JSON:
                raise Refused(400, "ValidationException", "Malformed input request")
            model = bedrock_model(model_id, region_of(handler.headers.get("authorization")))
            if match.group(2) == "converse":
                validate_converse({"modelId": model_id, **body}, model)
            else:
                validate_messages(body, bedrock=True)
                _bedrock_max_tokens(body, model)
        except Refused as refused:
            _aws_error(self, handler, refused.status, refused.kind, refused.message)
            return
        self.wait_latency(handler)
        if match.group(2) == "converse":
            self._converse(handler, body)
        else:
            self._invoke(handler, body)

    def _converse(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        content = body["messages"][-1]["content"]
        prefix, cacheable, rest = "", False, ""
        for block in content:
            if "cachePoint" in block:
                prefix, rest, cacheable = prefix + rest, "", True
            else:
                rest += block.get("text", "")
        prompt = prefix + rest
        failure = self.next_failure(question_of(prompt))
        if failure is not None and failure.status == 200 and failure.body is not None:
            self.send(handler, 200, failure.body)
            return
        if failure is not None and failure.status == 200:
            time.sleep(failure.delay)
            failure = None
        if failure is not None:
            self._error(handler, failure)
            return
        max_tokens = int(body.get("inferenceConfig", {}).get("maxTokens") or 0)
        output, stop_reason = self.reply(prompt, max_tokens)
        usage = self.usage(prefix, cacheable, rest, output)
        self.send(
            handler,
            200,
            {
                "output": {"message": {"role": "assistant", "content": [{"text": output}]}},
                "stopReason": stop_reason,
                "usage": {
                    "inputTokens": usage["input_tokens"],
                    "outputTokens": usage["output_tokens"],
                    "totalTokens": usage["input_tokens"] + usage["output_tokens"],
                    "cacheReadInputTokens": usage["cache_read_input_tokens"],
                    "cacheWriteInputTokens": usage["cache_creation_input_tokens"],
                },
                "metrics": {"latencyMs": int(self.behaviour.latency * 1000)},
            },
        )

    def _invoke(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        prefix, cacheable, rest = _anthropic_text(body["messages"][-1]["content"])
        prompt = prefix + rest
        failure = self.next_failure(question_of(prompt))
        if failure is not None:
            self._error(handler, failure)
            return
        output, stop_reason = self.reply(prompt, int(body.get("max_tokens") or 0))
        self.send(
            handler,
            200,
            _bedrock_message(output, self.usage(prefix, cacheable, rest, output), stop_reason),
        )


def _bedrock_message(output: str, usage: dict[str, int], stop_reason: str) -> dict[str, Any]:
    return {
        "id": "msg_bedrock",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": output}],
        "stop_reason": stop_reason,
        "usage": usage,
    }


def _bedrock_max_tokens(body: dict[str, Any], model: BedrockModel) -> None:
    if body["max_tokens"] > model.max_tokens:
        raise Refused(
            400,
            "ValidationException",
            f"max_tokens: {body['max_tokens']} exceeds the model limit of {model.max_tokens}",
        )


# -- Bedrock batch inference control plane --------------------------------------------------

#: Bedrock's quota: a batch inference job needs at least this many records.
BEDROCK_BATCH_MIN_RECORDS = 100


class FakeBedrockBatch(FakeBase):
    """CreateModelInvocationJob / GetModelInvocationJob, reading and writing JSONL on S3.

    moto's server stands in for S3 (moto has no invocation jobs). The create request is checked
    against botocore's CreateModelInvocationJob shape, its model as the runtime checks it, and
    `clientRequestToken` makes a repeated create return the same job, as the service does. A job
    ends on the `polls_until_done`-th status request: Failed when the input has fewer than 100
    records; otherwise `<output>/<job id>/<input name>.out` gets one line per record —
    `modelOutput`, or `error` for a bad modelInput or a `batch_outcomes` "error" — plus
    `manifest.json.out`, and records marked "unprocessed" are left out (PartiallyCompleted).
    """

    def __init__(self, s3_endpoint: str, behaviour: Behaviour | None = None) -> None:
        super().__init__(behaviour)
        self.s3_endpoint = s3_endpoint
        self.jobs: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self._ids = itertools.count(1)
        #: The batch inference quotas a job is checked against when it is created ("Records per
        #: batch inference job" / "per input file" 50,000; "Batch inference input file size"
        #: 1 GB): a bigger input is refused (tests may lower them).
        self.max_records = 50_000
        self.max_bytes = 1000 * 1000 * 1000

    def _s3(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1")

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.calls[f"{method} {path.split('/')[1] if '/' in path else path}"] += 1
        failure = self.next_control_failure()
        if failure is not None:
            _aws_failure(self, handler, failure)
            return
        try:
            if method == "POST" and path == "/model-invocation-job":
                self._create(handler, body, region_of(handler.headers.get("authorization")))
                return
            if method == "GET" and path.startswith("/model-invocation-job/"):
                self._get(handler, unquote(path[len("/model-invocation-job/") :]))
                return
            if method == "GET" and path == "/model-invocation-jobs":
                self._list(handler, handler.path)
                return
        except Refused as refused:
            _aws_error(self, handler, refused.status, refused.kind, refused.message)
            return
        self.send(handler, 404, {"message": "not found"}, {"x-amzn-ErrorType": "NotFound"})

    def _create(self, handler: BaseHTTPRequestHandler, body: Any, region: str) -> None:
        if not isinstance(body, dict):
            raise Refused(400, "ValidationException", "Malformed input request")
        validate_boto("bedrock", "CreateModelInvocationJob", body)
        bedrock_model(body["modelId"], region)
        token = body.get("clientRequestToken")
        with self.lock:
            if token and token in self.tokens:
                self.send(handler, 200, {"jobArn": self.tokens[token]})
                return
            if any(j["request"]["jobName"] == body["jobName"] for j in self.jobs.values()):
                raise Refused(400, "ConflictException", f"job {body['jobName']} already exists")
        records = self._check_input(body["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
        with self.lock:
            ordinal = len(self.jobs)
            polls = self.behaviour.polls_by_batch
            job_id = f"job{next(self._ids):04d}"
            arn = f"arn:aws:bedrock:{region}:123456789012:model-invocation-job/{job_id}"
            self.jobs[arn] = {
                "id": job_id,
                "request": body,
                "region": region,
                "polls": 0,
                "needs": polls[ordinal] if ordinal < len(polls) else None,
                "records": records,
                "status": "Submitted",
            }
            if token:
                self.tokens[token] = arn
        self.send(handler, 200, {"jobArn": arn})

    def _check_input(self, uri: str) -> int:
        """Refuse an input file over the record or size quota (read from S3 as the service does),
        or one whose name does not end in `.jsonl`, which the service requires of input files."""
        bucket, key = uri[5:].split("/", 1)
        if not key.endswith(".jsonl"):
            raise Refused(
                400, "ValidationException", f"input file {uri}: its name must end in .jsonl"
            )
        try:
            found = self._s3().get_object(Bucket=bucket, Key=key)
        except Exception as exc:  # no such object: the service refuses the job
            raise Refused(400, "ValidationException", f"cannot read {uri}: {exc}") from exc
        size = int(found["ContentLength"])
        if size > self.max_bytes:
            raise Refused(
                400,
                "ValidationException",
                f"input file {uri} is {size:,} bytes; the quota is {self.max_bytes:,}",
            )
        records = sum(1 for line in found["Body"].iter_lines() if line.strip())
        if records > self.max_records:
            raise Refused(
                400,
                "ValidationException",
                f"input file {uri} has {records:,} records; the quota is {self.max_records:,}",
            )
        return records

    def _list(self, handler: BaseHTTPRequestHandler, raw_path: str) -> None:
        """ListModelInvocationJobs, filtered by `nameContains`, newest first."""
        from urllib.parse import parse_qs, urlsplit

        query = {k: v[-1] for k, v in parse_qs(urlsplit(raw_path).query).items()}
        part = query.get("nameContains", "")
        with self.lock:
            found = [
                {
                    "jobArn": arn,
                    "jobName": job["request"]["jobName"],
                    "modelId": job["request"]["modelId"],
                    "roleArn": job["request"]["roleArn"],
                    "status": job["status"] if job["status"] != "Submitted" else "InProgress",
                    "submitTime": "2026-11-26T00:00:00Z",
                    "inputDataConfig": job["request"]["inputDataConfig"],
                    "outputDataConfig": job["request"]["outputDataConfig"],
                }
                for arn, job in reversed(self.jobs.items())
                if part in job["request"]["jobName"]
            ]
        self.send(handler, 200, {"invocationJobSummaries": found})

    def _get(self, handler: BaseHTTPRequestHandler, arn: str) -> None:
        job = self.jobs.get(arn)
        if job is None:
            raise Refused(404, "ResourceNotFoundException", f"job {arn} not found")
        job["polls"] += 1
        needs = job["needs"] if job.get("needs") is not None else self.behaviour.polls_until_done
        if job["status"] == "Submitted" and job["polls"] >= needs:
            self._run(job)
        request = job["request"]
        status = job["status"] if job["status"] != "Submitted" else "InProgress"
        view = {
            "jobArn": arn,
            "jobName": request["jobName"],
            "modelId": request["modelId"],
            "roleArn": request["roleArn"],
            "status": status,
            "submitTime": "2026-11-26T00:00:00Z",
            "inputDataConfig": request["inputDataConfig"],
            "outputDataConfig": request["outputDataConfig"],
            **({"message": job["message"]} if job.get("message") else {}),
        }
        self.send(handler, 200, view)

    def _run(self, job: dict[str, Any]) -> None:
        request = job["request"]
        s3 = self._s3()
        in_uri = request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        out_uri = request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        bucket, key = in_uri[5:].split("/", 1)
        lines = [
            line
            for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
            if line.strip()
        ]
        if len(lines) < BEDROCK_BATCH_MIN_RECORDS:
            job["status"] = "Failed"
            job["message"] = (
                f"The number of records in the input file ({len(lines)}) is less than the "
                f"minimum number of records ({BEDROCK_BATCH_MIN_RECORDS}) for a batch job."
            )
            return
        model = bedrock_model(request["modelId"], job["region"])
        out_lines, errors, skipped, tokens_in, tokens_out = [], 0, 0, 0, 0
        for line in lines:
            record = json.loads(line)
            model_input = record.get("modelInput")
            row: dict[str, Any] = {"recordId": record.get("recordId"), "modelInput": model_input}
            try:
                validate_messages(model_input, bedrock=True)
                _bedrock_max_tokens(model_input, model)
            except Refused as refused:
                row["error"] = {"errorCode": 400, "errorMessage": refused.message}
                errors += 1
                out_lines.append(json.dumps(row))
                continue
            prefix, cacheable, rest = _anthropic_text(model_input["messages"][-1]["content"])
            prompt = prefix + rest
            outcome = self.behaviour.batch_outcomes.get(question_of(prompt))
            if outcome == "unprocessed":
                skipped += 1
                continue
            with self.lock:
                self.requests[question_of(prompt)] += 1
            if outcome == "error":
                row["error"] = {"errorCode": 500, "errorMessage": "Internal server error"}
                errors += 1
            else:
                output, stop_reason = self.reply(prompt, int(model_input.get("max_tokens") or 0))
                usage = self.usage(prefix, cacheable, rest, output)
                tokens_in += usage["input_tokens"]
                tokens_out += usage["output_tokens"]
                row["modelOutput"] = _bedrock_message(output, usage, stop_reason)
            out_lines.append(json.dumps(row))
        if self.behaviour.shuffle_results:
            import random

            random.Random(job["id"]).shuffle(out_lines)
        out_bucket, out_prefix = out_uri[5:].split("/", 1)
        folder = f"{out_prefix.rstrip('/')}/{job['id']}"
        s3.put_object(
            Bucket=out_bucket,
            Key=f"{folder}/{key.split('/')[-1]}.out",
            Body=("\n".join(out_lines) + "\n").encode(),
        )
        manifest = {
            "totalRecordCount": len(lines),
            "processedRecordCount": len(lines) - skipped,
            "successRecordCount": len(lines) - skipped - errors,
            "errorRecordCount": errors,
            "inputTokenCount": tokens_in,
            "outputTokenCount": tokens_out,
        }
        s3.put_object(
            Bucket=out_bucket, Key=f"{folder}/manifest.json.out", Body=json.dumps(manifest).encode()
        )
        job["status"] = "PartiallyCompleted" if skipped else "Completed"


def main() -> None:
    """`python -m tests.fakes.servers anthropic|bedrock [--latency S]`: serve until killed.

    Prints the URL on the first line, so a benchmark can run the fake in its own process and
    measure the client's CPU alone.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["anthropic", "bedrock"])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument(
        "--batch-bench",
        action="store_true",
        help="answer batches when created and keep no prompts (a million-record batch pass)",
    )
    args = parser.parse_args()
    cls = FakeAnthropic if args.kind == "anthropic" else FakeBedrockRuntime
    fake = cls(Behaviour(latency=args.latency, answer_at_create=args.batch_bench))
    if isinstance(fake, FakeAnthropic) and args.batch_bench:
        fake.keep_prompts = False
    fake.start()
    print(fake.url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin or kills us
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
