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

#: Decides the model's reply text from the user prompt. Default: always "correct".
Responder = Callable[[str], str]


def default_responder(prompt: str) -> str:
    return "<reason>The figures match the table.</reason>\n<judgement>correct</judgement>"


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
                return json.loads(raw) if raw else {}

            def do_POST(self) -> None:
                fake._dispatch(self, "POST", self._body())

            def do_GET(self) -> None:
                fake._dispatch(self, "GET", None)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

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
    """POST /v1/messages, and the Message Batches API under /v1/messages/batches."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        super().__init__(behaviour)
        self.batches: dict[str, dict[str, Any]] = {}
        self.prompts: list[str] = []
        #: the `thinking` field of every Messages request (None when absent)
        self.thinking: list[Any] = []
        self._ids = itertools.count(1)

    @staticmethod
    def invalid(params: dict[str, Any]) -> str | None:
        """What the real API rejects with 400 (the parts curator could get wrong)."""
        roles = [m.get("role") for m in params.get("messages", [])]
        if not roles or roles[0] != "user" or roles[-1] != "user":
            return "messages: first and last turns must be user turns"
        if any(a == b for a, b in itertools.pairwise(roles)):
            return "messages: roles must alternate between user and assistant"
        thinking = params.get("thinking")
        if thinking is not None:
            if thinking.get("type") not in ("enabled", "disabled"):
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
        output = self.behaviour.responder(prefix + rest)
        with self.lock:
            self.prompts.append(prefix + rest)
        usage = self.usage(sys_prefix + sys_rest + prefix, cacheable or sys_cache, rest, output)
        return {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": params.get("model", ""),
            "content": [{"type": "text", "text": output}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    def _error(self, handler: BaseHTTPRequestHandler, failure: Failure) -> None:
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(failure.status, "api_error")
        headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
        body = {"type": "error", "error": {"type": kind, "message": f"injected {failure.status}"}}
        self.send(handler, failure.status, body, headers)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.calls[f"{method} {re.sub(r'msgbatch_[0-9a-z]+', '{id}', path)}"] += 1
        if method == "POST" and path == "/v1/messages":
            with self.lock:
                self.thinking.append(body.get("thinking"))
            problem = self.invalid(body)
            if problem is not None:
                error = {"type": "invalid_request_error", "message": problem}
                self.send(handler, 400, {"type": "error", "error": error})
                return
            if self.behaviour.latency:
                time.sleep(self.behaviour.latency)
            failure, message = self.message(body)
            if failure is not None and failure.status == 200:
                time.sleep(failure.delay)
                failure, message = None, self._reply(body)
            if failure is not None:
                self._error(handler, failure)
            else:
                self.send(handler, 200, message)
            return
        if method == "POST" and path == "/v1/messages/batches":
            batch_id = f"msgbatch_{next(self._ids):06d}"
            self.batches[batch_id] = {"requests": body["requests"], "polls": 0}
            self.send(handler, 200, self._batch_view(batch_id))
            return
        match = re.fullmatch(r"/v1/messages/batches/(msgbatch_\w+)(/results)?", path)
        if method == "GET" and match and match.group(1) in self.batches:
            batch_id = match.group(1)
            if match.group(2):
                self._results(handler, batch_id)
            else:
                self.batches[batch_id]["polls"] += 1
                self.send(handler, 200, self._batch_view(batch_id))
            return
        self.send(handler, 404, {"type": "error", "error": {"type": "not_found_error"}})

    def _batch_view(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        ended = batch["polls"] >= self.behaviour.polls_until_done
        n = len(batch["requests"])
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else n,
                "succeeded": n if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-11-26T00:00:00Z",
            "expires_at": "2026-11-27T00:00:00Z",
            "ended_at": "2026-11-26T00:10:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    def _results(self, handler: BaseHTTPRequestHandler, batch_id: str) -> None:
        lines = []
        for request in self.batches[batch_id]["requests"]:
            failure, message = self.message(request["params"])
            if failure is not None:
                result: dict[str, Any] = {
                    "type": "errored",
                    "error": {"type": "error", "error": {"type": "api_error", "message": "x"}},
                }
            else:
                result = {"type": "succeeded", "message": message}
            lines.append(json.dumps({"custom_id": request["custom_id"], "result": result}))
        self.send(
            handler, 200, ("\n".join(lines) + "\n").encode(), content_type="application/x-jsonl"
        )


# -- Bedrock runtime ------------------------------------------------------------------------


class FakeBedrockRuntime(FakeBase):
    """POST /model/{id}/converse and /model/{id}/invoke, as bedrock-runtime answers them."""

    def _error(self, handler: BaseHTTPRequestHandler, failure: Failure) -> None:
        code = {
            429: "ThrottlingException",
            503: "ServiceUnavailableException",
            529: "ServiceUnavailableException",
        }.get(failure.status, "InternalServerException")
        headers = {"x-amzn-ErrorType": code}
        if failure.retry_after:
            headers["retry-after"] = failure.retry_after
        self.send(handler, failure.status, {"message": f"injected {failure.status}"}, headers)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        match = re.fullmatch(r"/model/([^/]+)/(converse|invoke)", handler.path.split("?")[0])
        if method != "POST" or not match:
            self.send(handler, 404, {"message": "not found"}, {"x-amzn-ErrorType": "NotFound"})
            return
        with self.lock:
            self.calls[match.group(2)] += 1
        if self.behaviour.latency:
            time.sleep(self.behaviour.latency)
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
        if failure is not None:
            self._error(handler, failure)
            return
        output = self.behaviour.responder(prompt)
        usage = self.usage(prefix, cacheable, rest, output)
        self.send(
            handler,
            200,
            {
                "output": {"message": {"role": "assistant", "content": [{"text": output}]}},
                "stopReason": "end_turn",
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
        output = self.behaviour.responder(prompt)
        self.send(
            handler,
            200,
            {
                "id": "msg_bedrock",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": output}],
                "stop_reason": "end_turn",
                "usage": self.usage(prefix, cacheable, rest, output),
            },
        )


# -- Bedrock batch inference control plane --------------------------------------------------


class FakeBedrockBatch(FakeBase):
    """CreateModelInvocationJob / GetModelInvocationJob, reading and writing JSONL on S3.

    moto's server stands in for S3 (moto has no invocation jobs); a job completes on the
    `polls_until_done`-th status request, writing `<output>/<job id>/<input name>.out` as Bedrock
    does, each line `{"recordId", "modelInput", "modelOutput"}`.
    """

    def __init__(self, s3_endpoint: str, behaviour: Behaviour | None = None) -> None:
        super().__init__(behaviour)
        self.s3_endpoint = s3_endpoint
        self.jobs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def _s3(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1")

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.calls[f"{method} {path.split('/')[1] if '/' in path else path}"] += 1
        if method == "POST" and path == "/model-invocation-job":
            job_id = f"job{next(self._ids):04d}"
            arn = f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{job_id}"
            self.jobs[arn] = {"id": job_id, "request": body, "polls": 0, "status": "Submitted"}
            self.send(handler, 200, {"jobArn": arn})
            return
        if method == "GET" and path.startswith("/model-invocation-job/"):
            from urllib.parse import unquote

            arn = unquote(path[len("/model-invocation-job/") :])
            job = self.jobs.get(arn)
            if job is None:
                self.send(
                    handler,
                    404,
                    {"message": "no job"},
                    {"x-amzn-ErrorType": "ResourceNotFoundException"},
                )
                return
            job["polls"] += 1
            if job["status"] != "Completed" and job["polls"] >= self.behaviour.polls_until_done:
                self._run(arn, job)
            request = job["request"]
            self.send(
                handler,
                200,
                {
                    "jobArn": arn,
                    "jobName": request["jobName"],
                    "modelId": request["modelId"],
                    "roleArn": request["roleArn"],
                    "status": job["status"] if job["status"] == "Completed" else "InProgress",
                    "submitTime": "2026-11-26T00:00:00Z",
                    "inputDataConfig": request["inputDataConfig"],
                    "outputDataConfig": request["outputDataConfig"],
                },
            )
            return
        self.send(handler, 404, {"message": "not found"}, {"x-amzn-ErrorType": "NotFound"})

    def _run(self, arn: str, job: dict[str, Any]) -> None:
        request = job["request"]
        s3 = self._s3()
        in_uri = request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        out_uri = request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        bucket, key = in_uri[5:].split("/", 1)
        lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
        out_lines = []
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            model_input = record["modelInput"]
            prefix, cacheable, rest = _anthropic_text(model_input["messages"][-1]["content"])
            prompt = prefix + rest
            with self.lock:
                self.requests[question_of(prompt)] += 1
            output = self.behaviour.responder(prompt)
            out_lines.append(
                json.dumps(
                    {
                        "recordId": record["recordId"],
                        "modelInput": model_input,
                        "modelOutput": {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "text", "text": output}],
                            "usage": self.usage(prefix, cacheable, rest, output),
                        },
                    }
                )
            )
        out_bucket, out_prefix = out_uri[5:].split("/", 1)
        out_key = f"{out_prefix.rstrip('/')}/{job['id']}/{key.split('/')[-1]}.out"
        s3.put_object(Bucket=out_bucket, Key=out_key, Body=("\n".join(out_lines) + "\n").encode())
        job["status"] = "Completed"


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
    args = parser.parse_args()
    cls = FakeAnthropic if args.kind == "anthropic" else FakeBedrockRuntime
    fake = cls(Behaviour(latency=args.latency))
    fake.start()
    print(fake.url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin or kills us
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
