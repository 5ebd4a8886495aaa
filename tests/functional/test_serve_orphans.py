"""A review app of `curator serve` whose server was killed ends, storing its decisions."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from curator.store import Store
from curator.store.importer import import_files
from tests.conftest import SAMPLE_DATA
from tests.functional.test_serve import _start
from tests.templates import store_copy


def _sample(path: Path) -> None:
    store = Store.open(path, create=True)
    import_files(store, [(SAMPLE_DATA / "sample_dev.json", "dev")])
    store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return store_copy("serve-sample", _sample, tmp_path / "team.duckdb")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def _until(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Poll `condition()` until it holds; `seconds` only bounds a hang."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        await asyncio.sleep(0.1)


async def test_a_killed_server_s_apps_store_their_decisions_and_exit(db: Path) -> None:
    """Found in a team walk: after `kill -9` of `curator serve`, each browser tab's review app
    ran on for ever (its input, the server's pipe, had ended: Textual's web driver just stopped
    reading), one more per killed server, taking turns on the store. It now quits as when the
    tab closes: its journaled decisions stored, its process gone."""
    env = {**os.environ, "CURATOR_CONFIG": os.devnull}
    env.pop("CURATOR_SERVE_PASSWORD", None)
    server, line = await _start(["--db", str(db), "serve", "--port", "0"], env)
    apps: list[int] = []
    try:
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        base = f"http://127.0.0.1:{match.group(1)}"
        journal = db.with_name(db.name + ".journal")
        screen = bytearray()
        async with aiohttp.ClientSession() as http:
            page = await (await http.get(f"{base}/?reviewer=ana")).text()
            ticket = re.search(r"data-ws-path='(/ws/[^']+)'", page)
            assert ticket, page
            url = f"{base.replace('http', 'ws')}{ticket.group(1)}?width=100&height=30"
            async with http.ws_connect(url) as ws:

                async def read() -> None:
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.BINARY:
                            screen.extend(message.data)

                reader = asyncio.create_task(read())
                await _until(lambda: b"reviewed" in screen, "showed the status line")
                await ws.send_str(json.dumps(["stdin", "a"]))
                await _until(
                    lambda: any(b'"accept"' in p.read_bytes() for p in journal.glob("*.jsonl")),
                    "journaled the decision",
                )
                apps += _children(server.pid)
                (app,) = apps
                server.send_signal(signal.SIGKILL)
                await server.wait()
                await _until(lambda: not _alive(app), "the app ended", seconds=90)
                reader.cancel()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        for pid in apps:  # an app that did not end fails the test, and is not left running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    with Store(db).connection() as con:
        stored = con.execute("SELECT action, reviewer FROM review_events").fetchall()
    assert stored == [("accept", "ana")]
