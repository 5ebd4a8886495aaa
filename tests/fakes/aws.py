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
