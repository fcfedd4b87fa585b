"""Debian's chromium, headless, driven over its DevTools protocol (a WebSocket; aiohttp's client,
already a dependency, speaks it). `make test` installs chromium (scripts/ensure-test-tools.sh);
without it a test fails, naming the fix."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1440,1000",
    "--hide-scrollbars",
)


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "the board's browser test needs Debian's chromium: run `make test-tools` "
            "(scripts/ensure-test-tools.sh) or `apt-get install -y chromium`"
        )
    return found


class HeadlessChromium:
    """One headless chromium with one page, in a profile of its own that is removed on close."""

    def __init__(self, log_path: Path) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="ticketflow-chromium-"))
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [chromium_binary(), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.loop = asyncio.new_event_loop()
        self.ids = itertools.count(1)
        try:
            self.loop.run_until_complete(self._connect(self._debugger_port()))
        except BaseException:
            self.close()
            raise

    def _debugger_port(self, timeout: float = 30.0) -> int:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"chromium exited with status {self.process.returncode} (log: {self.log.name})")
            if active.exists() and (lines := active.read_text().splitlines()):
                return int(lines[0])
            time.sleep(0.1)
        pytest.fail(f"chromium opened no DevTools port within {timeout:.0f}s (log: {self.log.name})")

    async def _connect(self, port: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:  # noqa: S310
            targets = json.load(response)
        page = next(target for target in targets if target["type"] == "page")
        self.session = aiohttp.ClientSession()
        self.socket = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        number = next(self.ids)
        await self.socket.send_json({"id": number, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.socket.receive_json(), timeout=30)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.loop.run_until_complete(self._call(method, params))

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, what: str, expression: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for the page: {what}")

    def screenshot(self, path: Path) -> Path:
        height = self.evaluate("document.documentElement.scrollHeight")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=1440,
            height=max(600, int(height)),
            deviceScaleFactor=1,
            mobile=False,
        )
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if getattr(self, "session", None) is not None:
            self.loop.run_until_complete(self.socket.close())
            self.loop.run_until_complete(self.session.close())
        self.loop.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
