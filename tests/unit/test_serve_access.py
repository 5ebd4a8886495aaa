"""`curator serve` access rules and the app command, without a server."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from curator.domain import BadInput
from curator.serve import Access, ServeOptions, clean_reviewer, review_command
from curator.serve.access import TICKET_SECONDS, BadReviewer, WrongPassword
from curator.serve.server import is_loopback, read_password


def test_reviewer_names_are_kept_readable_and_refused_when_hostile() -> None:
    assert clean_reviewer("  José   Núñez ") == "José Núñez"
    for bad in ("", "   ", "ana\x1b[31m", "ana\u202e", "a\u200bna", "-rf", "x" * 65):
        with pytest.raises(BadReviewer):
            clean_reviewer(bad)


def test_the_app_command_is_this_curator_with_the_store_and_config_quoted(tmp_path: Path) -> None:
    config = tmp_path / "my config.toml"
    options = ServeOptions(db=tmp_path / "team db.duckdb", config=config, blind=True)
    name = "o'hara; touch /tmp/pwned $(id)"
    command = review_command(options, name)
    unset, rest = command.split("; ", 1)
    assert unset == "unset CURATOR_SERVE_PASSWORD"
    words = shlex.split(rest)
    assert words[0] == f"CURATOR_CONFIG={config.resolve()}"
    assert words[1] == "exec"
    assert words[2:] == [
        sys.executable, "-m", "curator", "--db", str((tmp_path / "team db.duckdb").resolve()),
        "review", f"--reviewer={name}", "--blind",
    ]  # fmt: skip
    no_config = shlex.split(review_command(ServeOptions(db=tmp_path / "x"), "ana").split("; ")[1])
    assert no_config[0] == f"CURATOR_CONFIG={os.devnull}"


def test_a_wrong_password_gets_no_session_and_a_ticket_is_single_use() -> None:
    now = [100.0]
    access = Access("s3cret", clock=lambda: now[0])
    with pytest.raises(WrongPassword):
        access.log_in("ana", "S3cret")
    with pytest.raises(WrongPassword):
        access.log_in("ana", "")
    session = access.log_in("ana", "s3cret")
    assert access.reviewer_of(session) == "ana"
    assert access.reviewer_of("made-up") is None
    ticket = access.issue_ticket("ana")
    assert access.redeem(ticket) == "ana"
    assert access.redeem(ticket) is None  # used
    late = access.issue_ticket("ana")
    now[0] += TICKET_SECONDS + 1
    assert access.redeem(late) is None  # expired
    access.log_out(session)
    assert access.reviewer_of(session) is None
    assert Access(None).log_in("bea", "anything") != ""


def test_loopback_names() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "", "::", "192.168.1.5", "example.com", "localhost.evil.example"):
        assert not is_loopback(host), host


def test_the_password_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2 with spaces\nignored second line\n")
    assert read_password(secret, {}) == "hunter2 with spaces"
    assert read_password(secret, {"CURATOR_SERVE_PASSWORD": "other"}) == "hunter2 with spaces"
    assert read_password(None, {"CURATOR_SERVE_PASSWORD": "env one"}) == "env one"
    assert read_password(None, {}) is None
    (tmp_path / "empty").write_text("\n")
    for bad, env in [
        (tmp_path / "empty", {}),
        (tmp_path / "missing", {}),
        (None, {"CURATOR_SERVE_PASSWORD": ""}),
    ]:
        with pytest.raises(BadInput):
            read_password(bad, env)
