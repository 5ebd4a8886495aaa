"""`curator serve` without a browser: what it binds, who it lets in, and its one-line errors."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from curator.serve import Access, ServeOptions
from curator.serve import server as serve_server
from curator.serve.server import ReviewServer
from curator.store import Store
from curator.store.importer import import_files
from tests.conftest import SAMPLE_DATA, CliResult
from tests.templates import store_copy

PASSWORD = "open sesame"
Client = TestClient[web.Request, web.Application]


def _sample(path: Path) -> None:
    store = Store.open(path, create=True)
    import_files(store, [(SAMPLE_DATA / "sample_dev.json", "dev")])
    store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The sample dev file in a store: a copy of one built once per process (tests/templates)."""
    return store_copy("serve-sample", _sample, tmp_path / "team.duckdb")


@pytest.fixture
async def client(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Client, list[str]]]:
    """The server's web application with a password, in this process (no app is started)."""
    monkeypatch.setattr(serve_server, "WRONG_PASSWORD_DELAY", 0.0)
    said: list[str] = []
    app = ReviewServer(ServeOptions(db=db), Access(PASSWORD), said.append).make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client, said


async def test_a_wrong_password_gets_neither_a_session_nor_an_app(
    client: tuple[Client, list[str]],
) -> None:
    http, said = client
    page = await http.get("/?reviewer=ana")
    text = await page.text()
    assert page.status == 200 and "type='password'" in text and "value='ana'" in text
    assert "/ws/" not in text  # no websocket address without the password
    refused = await http.post(
        "/login", data={"reviewer": "ana", "password": "open sesame!"}, allow_redirects=False
    )
    assert refused.status == 403
    assert "Wrong password." in await refused.text()
    assert "curator_session" not in refused.cookies
    assert said == ["wrong password from 127.0.0.1 (name 'ana')"]
    after = await http.get("/")
    assert "/ws/" not in await after.text()
    forged = await http.get("/ws/made-up-ticket")
    assert forged.status == 403

    logged = await http.post(
        "/login", data={"reviewer": "ana", "password": PASSWORD}, allow_redirects=False
    )
    assert logged.status == 303 and logged.headers["Location"] == "/"
    cookie = logged.cookies["curator_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    page = await http.get("/")
    text = await page.text()
    assert re.search(r"data-ws-path='/ws/[A-Za-z0-9_-]{40,}'", text), text
    assert "/static/js/textual.js" in text and "googleapis" not in text
    assert page.headers["Cache-Control"] == "no-store"
    script = await http.get("/static/js/textual.js")
    assert script.status == 200


async def test_a_bad_name_is_refused_at_login(
    client: tuple[Client, list[str]],
) -> None:
    http, _said = client
    bad = await http.post("/login", data={"reviewer": "ana\x1b[2J", "password": PASSWORD})
    assert bad.status == 400
    assert "invisible characters" in await bad.text()
    assert "\x1b" not in await bad.text()


async def test_a_name_that_is_not_utf8_is_refused_not_replaced(db: Path) -> None:
    """Found in the walk: a login form or address whose name bytes are not UTF-8 (`%ff%fe`)
    was decoded with replacement characters and accepted as '��', one identity for every
    such name; the command line refuses such bytes (they arrive as surrogates)."""
    app = ReviewServer(ServeOptions(db=db), Access(None)).make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        posted = await http.post(
            "/login",
            data=b"reviewer=ana%ff%fe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        )
        assert posted.status == 400 and "not UTF-8" in await posted.text()
        addressed = await http.get("/?reviewer=ana%ff")
        assert addressed.status == 400 and "/ws/" not in await addressed.text()


async def test_a_loopback_server_answers_to_loopback_names_only(
    client: tuple[Client, list[str]],
) -> None:
    http, _said = client
    rebound = await http.get("/", headers={"Host": "attacker.example:8000"})
    assert rebound.status == 421
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert (await http.get("/", headers={"Host": host})).status == 200, host


async def test_a_login_posted_from_another_site_is_refused(
    client: tuple[Client, list[str]],
) -> None:
    http, said = client
    form = {"reviewer": "mallory", "password": PASSWORD}
    port = http.port
    assert port is not None
    for headers in (
        {"Origin": "https://attacker.example"},
        {"Origin": f"http://localhost:{port + 1}"},  # another server on this machine
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Referer": "https://attacker.example/login.html"},  # no Origin: the Referer decides
        {"Origin": "https://attacker.example", "Referer": f"http://127.0.0.1:{port}/"},
    ):
        refused = await http.post("/login", data=form, headers=headers, allow_redirects=False)
        assert refused.status == 403, headers
        assert "curator_session" not in refused.cookies
    assert len(said) == 5 and said[0].startswith("refused a cross-site POST /login from")
    assert "/ws/" not in await (await http.get("/")).text()  # nobody got logged in

    # The server's own page: the browser sends the Host it shows in its address bar, whether
    # direct, through an SSH tunnel on another local port, or behind a TLS proxy keeping Host
    # (or passing it in X-Forwarded-Host); a script sending neither header is not a browser.
    for headers in (
        {"Origin": f"http://127.0.0.1:{port}"},
        {"Origin": "http://localhost:9000", "Host": "localhost:9000"},
        {"Referer": f"http://127.0.0.1:{port}/?reviewer=ana"},
        {"Origin": "https://review.example.org", "X-Forwarded-Host": "review.example.org"},
        {},
    ):
        logged = await http.post("/login", data=form, headers=headers, allow_redirects=False)
        assert logged.status == 303, headers
    assert len(said) == 5
    page = await http.get("/")
    assert page.headers["Referrer-Policy"] == "same-origin"  # else Origin is "null" on our POST


async def test_without_a_password_the_name_in_the_url_opens_the_app_page(db: Path) -> None:
    app = ReviewServer(ServeOptions(db=db), Access(None)).make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        page = await (await http.get("/?reviewer=bea")).text()
        assert "/ws/" in page and "bea" in page
        login = await (await http.get("/")).text()
        assert "/ws/" not in login and "type='password'" not in login
        bad = await http.get("/?reviewer=%1b%5b31mbea")
        assert bad.status == 400 and "/ws/" not in await bad.text()


async def _start(args: list[str], env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "curator", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    return process, line


async def _stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    err = (await asyncio.wait_for(process.stderr.read(), 60)).decode()
    return await asyncio.wait_for(process.wait(), 60), err


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


async def test_serve_binds_the_loopback_by_default_and_stops_on_ctrl_c(db: Path) -> None:
    env = {**os.environ, "CURATOR_CONFIG": os.devnull}
    env.pop("CURATOR_SERVE_PASSWORD", None)
    process, line = await _start(["--db", str(db), "serve", "--port", "0"], env)
    match = re.fullmatch(r"serving http://127\.0\.0\.1:(\d+)/ \(store .*team\.duckdb\)\n", line)
    assert match, line
    port = int(match.group(1))
    if os.path.exists("/proc/net/tcp"):
        assert _listening(port) == {"0100007F"}  # 127.0.0.1, nothing else
    code, err = await _stop(process)
    assert code == 0, err
    assert "WARNING" not in err
    assert "no password" in err


async def test_a_malformed_request_is_one_line_on_stderr_not_a_traceback(db: Path) -> None:
    """Found in an earlier walk: a request without a Host header (or with a Content-Length
    that is not a number) made aiohttp log a whole traceback on serve's stderr, so anyone who
    could reach the port could fill it. One escaped line each now; the 400 is unchanged."""
    env = {**os.environ, "CURATOR_CONFIG": os.devnull}
    env.pop("CURATOR_SERVE_PASSWORD", None)
    process, line = await _start(["--db", str(db), "serve", "--port", "0"], env)
    match = re.search(r":(\d+)/", line)
    assert match, line
    replies = []
    for request in (
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\x1b[31m\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", int(match.group(1)))
        writer.write(request)
        replies.append(await asyncio.wait_for(reader.read(), 30))
        writer.close()
    code, err = await _stop(process)
    assert code == 0, err
    assert replies[0].startswith(b"HTTP/1.0 400 Bad Request\r\n")
    assert replies[0].endswith(b"\r\n\r\nMissing 'Host' header in request.")
    assert replies[1].startswith(b"HTTP/1.0 400 Bad Request\r\n")
    assert "Traceback" not in err and "\x1b[" not in err, err
    refused = [e for e in err.splitlines() if "malformed request" in e]
    assert refused == [
        "curator serve: refused a malformed request from 127.0.0.1 (400): "
        "Missing 'Host' header in request.",
        "curator serve: refused a malformed request from 127.0.0.1 (400): "
        "Invalid character in Content-Length: b'Content-Length: x\\x1b[31m' ^",
    ], err


async def test_serving_beyond_the_loopback_without_a_password_warns_loudly(db: Path) -> None:
    env = {**os.environ, "CURATOR_CONFIG": os.devnull}
    env.pop("CURATOR_SERVE_PASSWORD", None)
    process, line = await _start(
        ["--db", str(db), "serve", "--port", "0", "--host", "0.0.0.0"], env
    )
    assert line.startswith("serving http://0.0.0.0:"), line
    code, err = await _stop(process)
    assert code == 0
    assert "WARNING: serving on 0.0.0.0 with NO PASSWORD" in err
    env["CURATOR_SERVE_PASSWORD"] = PASSWORD
    process, line = await _start(
        ["--db", str(db), "serve", "--port", "0", "--host", "0.0.0.0"], env
    )
    code, err = await _stop(process)
    assert code == 0 and "WARNING" not in err and "unencrypted" in err


def _one_line_error(result: CliResult, code: int, *words: str) -> None:
    assert result.code == code, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("curator: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_serve_errors_are_one_line_with_the_documented_code(
    db: Path,
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_CONFIG", os.devnull)
    monkeypatch.delenv("CURATOR_SERVE_PASSWORD", raising=False)
    serve = ["--db", str(db), "serve"]
    _one_line_error(run_cli(*serve, "--port", "70000"), 2, "serve: ", "--port", "70000")
    _one_line_error(run_cli(*serve, "--port", "eighty"), 2, "serve: ", "--port")
    _one_line_error(run_cli(*serve, "--port", "-1"), 2, "serve: ", "--port")
    _one_line_error(
        run_cli(*serve, "--password", "--password-file", str(tmp_path / "pw")), 2, "not both"
    )
    _one_line_error(run_cli(*serve, "--password-file", str(tmp_path / "missing")), 2, "missing")
    monkeypatch.setenv("CURATOR_SERVE_PASSWORD", "")
    _one_line_error(run_cli(*serve, "--port", "0"), 2, "CURATOR_SERVE_PASSWORD", "empty")
    monkeypatch.delenv("CURATOR_SERVE_PASSWORD")
    _one_line_error(
        run_cli("--db", str(tmp_path / "none.duckdb"), "serve", "--port", "0"), 3, "no store"
    )
    _one_line_error(run_cli(*serve, "--host", "192.0.2.1", "--port", "0"), 2, "--host")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _one_line_error(run_cli(*serve, "--port", str(port)), 3, "in use", str(port))


async def test_an_app_that_cannot_start_ends_the_page_session(tmp_path: Path) -> None:
    """The app process exits at once (here: no store at --db): the page's websocket is closed,
    so the page says "Session ended" instead of waiting, and the ticket cannot be reused."""
    said: list[str] = []
    access = Access(None)
    options = ServeOptions(db=tmp_path / "vanished.duckdb")
    app = ReviewServer(options, access, said.append).make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        ticket = access.issue_ticket("ana")
        ws = await http.ws_connect(f"/ws/{ticket}?width=100&height=30")
        message = await asyncio.wait_for(ws.receive(), 60)
        while message.type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            message = await asyncio.wait_for(ws.receive(), 60)
        await ws.close()
        again = await http.get(f"/ws/{ticket}")
        assert again.status == 403
    assert said == ["ana started a review session (1 open)", "ana ended a review session"]


async def test_sessions_beyond_max_sessions_are_refused(db: Path) -> None:
    said: list[str] = []
    access = Access(None)
    server = ReviewServer(ServeOptions(db=db, max_sessions=1), access, said.append)
    async with TestClient(TestServer(server.make_app(), host="127.0.0.1")) as http:
        first = await http.ws_connect(f"/ws/{access.issue_ticket('ana')}")
        assert len(server.sessions) == 1
        refused = await http.get(f"/ws/{access.issue_ticket('bea')}")
        assert refused.status == 503
        await first.close()
        await server.close_sessions()
    assert said[0] == "ana started a review session (1 open)"
    assert "refused bea: 1 sessions open" in said
