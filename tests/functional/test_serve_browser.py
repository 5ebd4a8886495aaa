"""`curator serve` in a real browser: headless Chromium (Debian's `chromium`) logs in, sees the
record screen, and a key typed in the page makes a decision that lands in the store.

Skipped where Chromium is absent, unless CURATOR_REQUIRE_BROWSER=1 (CI installs it), where that
fails. The screenshot is kept in the test's tmp folder (and copied to $CURATOR_TEST_ARTIFACTS
when set).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import struct
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from curator.llm.passes import PassOptions, RulesJudge, run_pass
from curator.store import Store
from curator.store.importer import import_files
from curator.store.reviews import queue_page, recent_decisions
from tests.browser import Browser, Page, chromium_or_skip
from tests.conftest import SAMPLE_DATA

PASSWORD = "correct horse battery"


async def sample_store(path: Path) -> list[str]:
    """A judged store of the sample data; the uids of its records."""
    store = Store.open(path, create=True)
    import_files(store, [(SAMPLE_DATA / "sample_dev.json", "dev")])
    await run_pass(store, RulesJudge(), PassOptions())
    uids = [row.uid for row in queue_page(store, sort="store", limit=999)]
    store.close()
    return uids


class Served:
    def __init__(self, process: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    db = tmp_path / "team.duckdb"
    await sample_store(db)
    log = tmp_path / "serve.log"
    env = {**os.environ, "CURATOR_CONFIG": os.devnull, "CURATOR_SERVE_PASSWORD": PASSWORD}
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "curator", "--db", str(db), "serve", "--port", "0",
            stdout=asyncio.subprocess.PIPE, stderr=err, env=env,
        )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    match = re.match(r"serving (http://127\.0\.0\.1:\d+/) ", line)
    assert match, f"unexpected first line {line!r}; log: {log.read_text()}"
    try:
        yield Served(process, match.group(1), log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


async def wait_for_screen(page: Page, ready: Callable[[str], bool], timeout: float = 90) -> str:
    """The terminal's text once `ready` holds for it (fails showing the last screen)."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = await page.screen_text()
        if ready(screen):
            return screen
        await asyncio.sleep(0.2)
    raise AssertionError(f"the page never showed what was expected; it showed:\n{screen}")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def chromium() -> str:
    return chromium_or_skip()


def test_a_missing_browser_skips_except_where_ci_requires_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CURATOR_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium not installed"):
        chromium_or_skip(look=False)
    monkeypatch.setenv("CURATOR_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="CURATOR_REQUIRE_BROWSER=1"):
        chromium_or_skip(look=False)
    assert chromium_or_skip("/opt/chromium/chrome") == "/opt/chromium/chrome"


def stored(db: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The record uids of the store, and ana's decisions as (uid, action), newest first."""
    store = Store.open(db, read_only=True)
    try:
        uids = [row.uid for row in queue_page(store, sort="store", limit=999)]
        return uids, [(e.record_uid, e.action) for e in recent_decisions(store, "ana")]
    finally:
        store.close()


async def test_a_key_typed_in_the_browser_decides_the_record_on_screen(
    chromium: str, served: Served, tmp_path: Path
) -> None:
    db = tmp_path / "team.duckdb"
    uids, decided = stored(db)
    assert decided == []
    async with Browser(chromium, tmp_path / "profile") as browser:
        page = await browser.new_page(1280, 800)
        await page.goto(served.url + "?reviewer=ana")
        # The server has a password: the login form comes first, the name taken from the URL.
        assert await page.evaluate("document.getElementById('reviewer').value") == "ana"
        assert await page.evaluate("document.querySelector('.textual-terminal')") is None
        await page.evaluate("document.getElementById('password').focus()")
        await page.type_text("not the password")
        await page.press("Enter")
        await page.wait_for("document.querySelector('.error') !== null")
        assert "Wrong password" in await page.evaluate("document.querySelector('.error').innerText")
        await page.evaluate("document.getElementById('password').focus()")
        await page.type_text(PASSWORD)
        await page.press("Enter")

        # The record screen, as xterm.js shows it in the page.
        screen = await wait_for_screen(page, lambda s: "ana" in s and any(u in s for u in uids))
        on_screen = [uid for uid in uids if uid in screen]
        assert len(on_screen) == 1, screen
        assert "accept" in screen.lower(), screen  # the footer names the keys
        shot = await page.screenshot(tmp_path / "record-screen.png")
        assert png_size(shot) == (1280, 800)
        assert len(shot) > 20_000, "the screenshot is nearly blank"
        if os.environ.get("CURATOR_TEST_ARTIFACTS"):
            shutil.copy(tmp_path / "record-screen.png", os.environ["CURATOR_TEST_ARTIFACTS"])

        await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await page.press("a")
        for _ in range(300):
            decided = stored(db)[1]
            if decided:
                break
            await asyncio.sleep(0.1)
        assert decided == [(on_screen[0], "accept")]
        # The app moved on to the next record.
        await wait_for_screen(page, lambda s: on_screen[0] not in s and any(u in s for u in uids))

        # A second tab (the same browser session, no login) is a second app process.
        second = await browser.new_page(1000, 700)
        await second.goto(served.url)
        await wait_for_screen(second, lambda s: "ana" in s and any(u in s for u in uids))
        assert "(2 open)" in served.log.read_text()

    served.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(served.process.wait(), 60) == 0
    log = served.log.read_text()
    assert "wrong password" in log
    assert "ana started a review session" in log
    assert log.count("ana ended a review session") == 2
