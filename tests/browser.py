"""A small Chrome DevTools Protocol client: drives the Debian `chromium` headless for the
browser tests of `curator serve`, over the websocket client of aiohttp (already a dependency),
so no browser-automation package and no downloaded browser build is needed.

`chromium_or_skip()` finds the browser; where it is absent the test is skipped with the reason,
unless CURATOR_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

#: The flags a headless Chromium needs in a container, and nothing that phones home.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
)

#: Records every xterm.js Terminal a page creates (textual-serve's page keeps its terminal in a
#: closure): a setter on Object.prototype catches the `this.terminal = new Terminal(...)` of
#: its client class. The test then reads what the terminal shows through xterm's public buffer.
CATCH_TERMINALS = """
(() => {
  window.__terminals = [];
  Object.defineProperty(Object.prototype, 'terminal', {
    configurable: true,
    set(value) {
      Object.defineProperty(this, 'terminal', {
        value, writable: true, configurable: true, enumerable: true });
      if (value && typeof value.loadAddon === 'function') window.__terminals.push(value);
    },
  });
})();
"""

SCREEN_TEXT = """
(() => {
  const t = window.__terminals && window.__terminals[0];
  if (!t) return null;
  const b = t.buffer.active, lines = [];
  for (let i = 0; i < t.rows; i++) {
    const line = b.getLine(b.viewportY + i);
    lines.push(line ? line.translateToString(true) : '');
  }
  return lines.join('\\n');
})()
"""


def find_chromium() -> str | None:
    """$CURATOR_CHROMIUM, else `chromium` on PATH, else Debian's /usr/bin/chromium."""
    found = os.environ.get("CURATOR_CHROMIUM") or shutil.which("chromium")
    if not found and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    return found


def chromium_or_skip(found: str | None = None, *, look: bool = True) -> str:
    """The Chromium executable, or skip (fail under CURATOR_REQUIRE_BROWSER=1)."""
    found = found or (find_chromium() if look else None)
    if not found:
        reason = "headless Chromium not installed (Debian: apt-get install chromium)"
        if os.environ.get("CURATOR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and CURATOR_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    return found


class CdpError(RuntimeError):
    pass


class Browser:
    """One headless Chromium process and its DevTools websocket."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.executable = executable
        self.profile = profile
        self.process: subprocess.Popen[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Browser:
        self.profile.mkdir(parents=True, exist_ok=True)
        log = (self.profile.parent / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise CdpError(f"chromium did not start; see {self.profile.parent}/chromium.log")
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            data = json.loads(message.data)
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        assert self._ws is not None
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self._ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, 60)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def new_page(self, width: int = 1280, height: int = 800) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        await page.send("Page.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        await page.send("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINALS})
        return page


class Page:
    """One tab, addressed through its flat DevTools session."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})
        await self.wait_for("document.readyState === 'complete'")

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in reply:
            raise CdpError(f"{expression[:60]}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        """The first truthy value of `expression`, polled; CdpError naming it on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(CdpError):  # a page being replaced has no context a moment
                value = await self.evaluate(expression)
                if value:
                    return value
            if time.monotonic() > deadline:
                raise CdpError(f"timed out waiting for {expression.strip()[:80]}")
            await asyncio.sleep(0.1)

    async def type_text(self, text: str) -> None:
        """Text into the focused field, as an input method would."""
        await self.send("Input.insertText", {"text": text})

    async def press(self, key: str) -> None:
        """One printable key (or Enter), pressed and released as a keyboard would."""
        if key == "Enter":
            down = {"key": "Enter", "code": "Enter", "text": "\r", "windowsVirtualKeyCode": 13}
        else:
            code = f"Key{key.upper()}" if key.isalpha() else ""
            down = {
                "key": key,
                "code": code,
                "text": key,
                "windowsVirtualKeyCode": ord(key.upper()),
            }
        await self.send("Input.dispatchKeyEvent", {"type": "keyDown", **down})
        up = {k: v for k, v in down.items() if k != "text"}
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **up})

    async def screen_text(self) -> str:
        """What the xterm.js terminal of the page shows, one line per row ("" while the page
        is being replaced and has no script context)."""
        try:
            return str(await self.evaluate(SCREEN_TEXT) or "")
        except CdpError:
            return ""

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(
            (await self.send("Page.captureScreenshot", {"format": "png"}))["data"]
        )
        path.write_bytes(data)
        return data
