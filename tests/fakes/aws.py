"""moto's S3 server on loopback, and the environment that points boto3 at the fakes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: Credentials and region for the fakes: boto3 signs requests, the fakes ignore the signature.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def moto_server() -> Iterator[str]:
    """A ThreadedMotoServer on a free 127.0.0.1 port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto keeps its backends in module globals: a server started in a process where an
    # earlier test ran one would hold that test's buckets and objects (an order-dependent
    # failure under pytest-xdist). Every server starts as an empty account.
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"), timeout=30
    ).close()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def apply_env(monkeypatch: object, extra: dict[str, str] | None = None) -> None:
    """Set the fake AWS environment through pytest's monkeypatch (undone after the test)."""
    for key, value in {**FAKE_AWS_ENV, **(extra or {})}.items():
        monkeypatch.setenv(key, value)  # type: ignore[attr-defined]
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        if key in os.environ:
            monkeypatch.delenv(key)  # type: ignore[attr-defined]


class FlakyProxy:
    """A loopback HTTP proxy in front of moto's server that fails the first requests with the
    given S3 errors (503 SlowDown, 500 InternalError; 0 lets one through), then forwards
    everything unchanged.

    moto cannot inject faults; this lets a test see that S3 calls are retried. Requests are
    forwarded byte for byte (moto does not check signatures), responses relayed as they come.
    A PUT whose path contains `stall` sets `stalled`, is held until `release` is set (at most a
    minute) and is then dropped unanswered, never forwarded: a test can kill its client
    mid-upload and see what the service holds. The request `hold` names ("POST /path") is
    forwarded, and its answer held the same way (`stalled` set once the service has done it):
    a test can kill its client after a request reached the service, before it heard back.
    The request `gate` names ("POST /path") is held before it is forwarded (`stalled` set once
    it arrived) until `release` is set, then forwarded and answered as any other: a test can
    let another client act between a request's sending and its arrival (a race).
    """

    def __init__(
        self,
        upstream: str,
        failures: list[int],
        stall: str | None = None,
        hold: str | None = None,
        gate: str | None = None,
    ) -> None:
        import http.client
        import threading
        from collections import Counter
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self.failures = list(failures)
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stall = stall
        self.hold = hold
        self.gate = gate
        self.stalled = threading.Event()
        self.release = threading.Event()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command == "PUT" and proxy.stall is not None and proxy.stall in self.path:
                    proxy.stalled.set()
                    proxy.release.wait(60)
                    self.close_connection = True
                    return
                if proxy.gate == f"{self.command} {self.path.split('?')[0]}":
                    proxy.stalled.set()  # not at the service yet
                    proxy.release.wait(60)
                with proxy.lock:
                    proxy.calls[self.command] += 1
                    status = proxy.failures.pop(0) if proxy.failures else None
                if status:  # 0: this request passes
                    code = "SlowDown" if status == 503 else "InternalError"
                    data = (
                        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                        f"<Message>injected {status}</Message></Error>"
                    ).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/xml")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = target.netloc
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if proxy.hold == f"{self.command} {self.path.split('?')[0]}":
                    proxy.stalled.set()  # done at the service; its answer never comes
                    proxy.release.wait(60)
                    self.close_connection = True
                    conn.close()
                    return
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address is (host, port)
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
