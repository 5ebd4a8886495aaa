"""The web server of `curator serve`: aiohttp around textual-serve's `AppService`.

textual-serve's own `Server` is not used because it cannot tell one browser from another: every
websocket runs the same command. Here each page load carries a single-use ticket (see `access`),
and the websocket that redeems it starts `curator review --reviewer NAME` with this server's
store and config, one process per connection, through `AppService` (which relays the app's
terminal to xterm.js in the page). The app's own quit ends the connection; a closed tab or a
stopped server sends the app a quit, so its journaled decisions are stored before it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from curator import safe_text
from curator.domain import BadInput, EnvironmentFailure
from curator.serve.access import SESSION_SECONDS, Access, BadReviewer, WrongPassword, clean_reviewer
from curator.serve.pages import login_page, terminal_page
from curator.serve.request_log import RequestLog

#: The environment variable holding the password (never passed on to the app processes).
PASSWORD_ENV = "CURATOR_SERVE_PASSWORD"
COOKIE = "curator_session"
#: A wrong password costs this long, so guessing is slow.
WRONG_PASSWORD_DELAY = 1.0
#: How long a stopping server waits for its app processes to store their decisions and exit.
STOP_SECONDS = 30.0

log = logging.getLogger("curator.serve")


@dataclass(frozen=True)
class ServeOptions:
    """What `curator serve` was asked for; `config` None means the apps run with no config."""

    db: Path
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    blind: bool = False
    judge_name: str | None = None
    max_sessions: int = 10
    title: str = "curator review"


def review_command(options: ServeOptions, reviewer: str) -> str:
    """The shell command (textual-serve runs a shell line) of one reviewer's app process.

    The installed curator of this very interpreter, with this server's store (absolute) and
    config file named explicitly, so the app sees what the server saw whatever the shell's
    environment; every value is shell-quoted, and the password variable is dropped.
    """
    argv = [sys.executable, "-m", "curator", "--db", str(options.db.resolve()), "review"]
    argv.append(f"--reviewer={clean_reviewer(reviewer)}")
    if options.blind:
        argv.append("--blind")
    if options.judge_name:
        argv.append(f"--judge={options.judge_name}")
    config = str(options.config.resolve()) if options.config else os.devnull
    return f"unset {PASSWORD_ENV}; CURATOR_CONFIG={shlex.quote(config)} exec {shlex.join(argv)}"


def is_loopback(host: str) -> bool:
    """True when `host` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The host of a Host header, without its port ("[::1]:8000" -> "::1")."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


#: Methods that change something (the login form's POST): a browser sends them cross-site.
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site_source(request: web.Request) -> str | None:
    """The page a state-changing request came from when that is not this server, else None.

    The browser says where a form was sent from: `Origin` (every current browser, on every
    POST), else `Referer`. Its host and port must be the Host the request was sent to (what
    the browser's address bar holds: behind an SSH tunnel `localhost:9000`, behind a TLS
    proxy that keeps Host the public name); a proxy that rewrites Host must pass the public
    name in `X-Forwarded-Host`, which a web page elsewhere cannot set on a form post. The
    scheme is not compared (this server speaks http; a TLS proxy in front makes it https).
    `Origin: null` (a sandboxed frame, a data: page) is never this server. With neither
    header (curl, a script) there is no browser to abuse, so the request is let through.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is None:
        return None
    try:
        netloc = urlsplit(source).netloc.lower() if source != "null" else ""
    except ValueError:
        netloc = ""
    served = {(request.host or "").lower()}
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",", 1)[0].strip().lower()
    if forwarded:
        served.add(forwarded)
    return None if netloc and netloc in served else source


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value or default)))
    except ValueError:
        return default


class _AppProcess(AppService):
    """textual-serve's AppService, which also ends the page's session when the app process ends
    on its own (it could not start, or crashed): the page then says "Session ended" and offers
    Restart instead of waiting for ever."""

    async def run(self) -> None:
        try:
            await super().run()
            await self._reap()
        finally:
            await self.remote_close()

    async def _reap(self) -> None:
        """Wait for the process that closed its output to exit (killed if it does not), so
        no zombie or stray app outlives its session."""
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclass
class _Session:
    reviewer: str
    websocket: web.WebSocketResponse
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ReviewServer:
    """The aiohttp application: login, the terminal page, and one app process per websocket."""

    def __init__(
        self, options: ServeOptions, access: Access, say: Callable[[str], None] | None = None
    ) -> None:
        self.options = options
        self.access = access
        self.say = say or log.info
        self.sessions: dict[AppService, _Session] = {}
        self.downloads = DownloadManager()

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        static = Path(str(files("textual_serve") / "static"))
        app.add_routes(
            [
                web.get("/", self.index),
                web.post("/login", self.login),
                web.get("/logout", self.logout),
                web.get("/ws/{ticket}", self.websocket),
                web.static("/static", static),
            ]
        )
        return app

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Served on the loopback only, a request must name the loopback: a web page elsewhere
        cannot reach this server by pointing a domain name at 127.0.0.1 (DNS rebinding). A form
        posted from a page elsewhere (CSRF) is refused: see `cross_site_source`."""
        if is_loopback(self.options.host) and not is_loopback(_host_name(request.host or "")):
            return web.Response(status=421, text="this server answers to localhost only\n")
        if request.method in _UNSAFE and (source := cross_site_source(request)) is not None:
            # A page elsewhere posting the login form (CSRF) would log this browser in under
            # a name of its choosing: every decision made then would carry that name.
            self.say(
                f"refused a cross-site {request.method} {request.path} from "
                f"{safe_text.one_line(source)[:200]!r} (this server: {request.host!r})"
            )
            return web.Response(status=403, text="cross-site request refused\n")
        response = await handler(request)
        if response.prepared:  # the websocket: its headers are sent
            return response
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on
        # our own login form's POST, which could not be told from a cross-site one.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def _html(self, text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html")

    def _login(self, reviewer: str, error: str = "", status: int = 200) -> web.Response:
        page = login_page(
            reviewer=reviewer,
            needs_password=self.access.needs_password,
            error=error,
            title=self.options.title,
        )
        return self._html(page, status)

    async def index(self, request: web.Request) -> web.Response:
        """The terminal page for a logged-in browser (or, with no password, for ?reviewer=NAME);
        the login form otherwise."""
        asked = request.query.get("reviewer", "")
        reviewer = None
        if asked and not self.access.needs_password:
            try:
                reviewer = clean_reviewer(asked)
            except BadReviewer as exc:
                return self._login(asked, str(exc), status=400)
        reviewer = reviewer or self.access.reviewer_of(request.cookies.get(COOKIE))
        if reviewer is None:
            return self._login(asked)
        page = terminal_page(
            ticket=self.access.issue_ticket(reviewer),
            reviewer=reviewer,
            title=self.options.title,
            font_size=_int(request.query.get("fontsize"), 16, 8, 40),
        )
        return self._html(page)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        reviewer, password = str(form.get("reviewer", "")), str(form.get("password", ""))
        try:
            session = self.access.log_in(reviewer, password)
        except BadReviewer as exc:
            return self._login(reviewer, str(exc), status=400)
        except WrongPassword:
            self.say(
                f"wrong password from {request.remote} (name {safe_text.one_line(reviewer)!r})"
            )
            await asyncio.sleep(WRONG_PASSWORD_DELAY)
            return self._login(reviewer, "Wrong password.", status=403)
        response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(
            COOKIE, session, max_age=int(SESSION_SECONDS), httponly=True, samesite="Strict"
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        self.access.log_out(request.cookies.get(COOKIE))
        response = web.Response(status=303, headers={"Location": "/"})
        response.del_cookie(COOKIE)
        return response

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Redeem the page's ticket, then run this reviewer's app for as long as the socket."""
        reviewer = self.access.redeem(request.match_info["ticket"])
        if reviewer is None:
            raise web.HTTPForbidden(text="no valid session: reload the page to log in\n")
        if len(self.sessions) >= self.options.max_sessions:
            self.say(f"refused {safe_text.one_line(reviewer)}: {len(self.sessions)} sessions open")
            raise web.HTTPServiceUnavailable(text="too many review sessions open; try later\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)

        async def close() -> None:  # the app quit: end the page's session
            await websocket.close()

        service = _AppProcess(
            review_command(self.options, reviewer),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close,
            download_manager=self.downloads,
        )
        session = _Session(reviewer, websocket)
        self.sessions[service] = session
        self.say(
            f"{safe_text.one_line(reviewer)} started a review session ({len(self.sessions)} open)"
        )
        try:
            width = _int(request.query.get("width"), 80, 20, 1000)
            height = _int(request.query.get("height"), 24, 5, 500)
            await service.start(width, height)
            try:
                await _relay(websocket, service)
            finally:
                await service.stop()
        finally:
            del self.sessions[service]
            session.done.set()
            self.say(f"{safe_text.one_line(reviewer)} ended a review session")
        return websocket

    async def close_sessions(self, timeout: float = STOP_SECONDS) -> None:
        """Close every browser connection and wait for the apps to quit (they store their
        journaled decisions first)."""
        sessions = list(self.sessions.values())
        for session in sessions:
            await session.websocket.close()
        if sessions:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in sessions)), timeout)


async def _relay(websocket: web.WebSocketResponse, service: AppService) -> None:
    """Browser to app: keys, resizes, focus; pings answered. Malformed messages are ignored."""
    async for message in websocket:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            envelope = json.loads(message.data)
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
        except (ValueError, TypeError, IndexError, KeyError):
            continue
        if kind == "stdin" and isinstance(data, str):
            await service.send_bytes(data.encode("utf-8"))
        elif kind == "resize" and isinstance(data, dict):
            width = _int(str(data.get("width")), 80, 20, 1000)
            height = _int(str(data.get("height")), 24, 5, 500)
            await service.set_terminal_size(width, height)
        elif kind == "ping":
            await websocket.send_json(["pong", data])
        elif kind == "blur":
            await service.blur()
        elif kind == "focus":
            await service.focus()


def _bind_error(options: ServeOptions, exc: OSError) -> Exception:
    where = f"{options.host}:{options.port}"
    if isinstance(exc, socket.gaierror):
        return BadInput(f"--host {options.host!r}", "", "no such host name or address")
    if exc.errno == errno.EADDRINUSE:
        return EnvironmentFailure(f"cannot serve on {where}: the port is in use (try --port)")
    if exc.errno == errno.EACCES:
        return EnvironmentFailure(
            f"cannot serve on {where}: permission denied (ports below 1024 need privileges)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return BadInput(f"--host {options.host!r}", "", "not an address of this machine")
    return EnvironmentFailure(f"cannot serve on {where}: {exc.strerror or exc}")


async def serve(
    options: ServeOptions,
    access: Access,
    *,
    say: Callable[[str], None],
    ready: Callable[[list[tuple[str, int]]], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Bind, report the bound addresses to `ready`, serve until `stop` (or SIGINT / SIGTERM)."""
    server = ReviewServer(options, access, say)
    runner = web.AppRunner(
        server.make_app(), handle_signals=False, access_log=None, logger=RequestLog(server.say)
    )
    await runner.setup()
    site = web.TCPSite(runner, options.host, options.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise _bind_error(options, exc) from exc
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    try:
        ready([(str(a[0]), int(a[1])) for a in runner.addresses])
        await stop.wait()
        say("stopping: closing the review sessions")
        await server.close_sessions()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
        await runner.cleanup()


def run(
    options: ServeOptions,
    access: Access,
    *,
    say: Callable[[str], None],
    ready: Callable[[list[tuple[str, int]]], None],
) -> None:
    """Serve until interrupted (the blocking entry point of `curator serve`)."""
    asyncio.run(serve(options, access, say=say, ready=ready))


def read_password(path: Path | None, env: dict[str, str] | None = None) -> str | None:
    """The password from a file (its first line) or from $CURATOR_SERVE_PASSWORD; None for
    neither. An empty one is an error, not "no password": that would open the server."""
    env = dict(os.environ) if env is None else env
    if path is not None:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise BadInput(str(path), "", f"cannot read the password file: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise BadInput(str(path), "", "the password file is not UTF-8 text") from exc
        password = text.split("\n", 1)[0].rstrip("\r")
        if not password:
            raise BadInput(str(path), "line 1", "the password is empty")
        return password
    if PASSWORD_ENV in env:
        if not env[PASSWORD_ENV]:
            raise BadInput(PASSWORD_ENV, "", "is set but empty (unset it for no password)")
        return env[PASSWORD_ENV]
    return None
