"""Headless Chromium with no network, driven over the DevTools protocol on a pipe (stdlib only).

Debian's ``chromium`` (``make test`` installs it). The browser gets a proxy and a host resolver that
lead nowhere, so nothing a page asks of the internet can load; every request the page makes is
recorded (``requests``, ``failed``), with its console errors and uncaught exceptions (``errors``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "headless Chromium is needed to test the HTML reports offline: `make test` installs Debian's "
    "`chromium` when run as root (apt-get install -y chromium); otherwise install it yourself or set "
    "CALLBOT_CHROMIUM to a Chromium/Chrome binary"
)


def find_chromium() -> str:
    """The browser binary, or an AssertionError saying how to get one (the test fails, never skips)."""
    override = os.environ.get("CALLBOT_CHROMIUM")
    if override:
        assert shutil.which(override), f"CALLBOT_CHROMIUM={override}: no such executable"
        return override
    found = next((p for name in CANDIDATES if (p := shutil.which(name))), None)
    assert found, INSTALL_HINT
    return found


class Browser:
    """One headless page. Use as a context manager; ``open(path)`` loads a local file."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="callbot-chromium-")
        # the child's ends are moved above fd 10 first, so that dup2 onto 3 and 4 clobbers neither
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        for_child = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_r, from_browser_w)]
        os.close(to_browser_r)
        os.close(from_browser_w)
        to_browser_r, from_browser_w = for_child
        # --remote-debugging-pipe: the browser reads commands on fd 3 and writes on fd 4
        self._proc = subprocess.Popen(
            [
                find_chromium(),
                "--headless",
                "--no-sandbox",  # CI runs as root
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--proxy-server=http://127.0.0.1:9",  # discard port: nothing answers
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={self._profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=lambda: (os.dup2(to_browser_r, 3), os.dup2(from_browser_w, 4)),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._urls: dict[str, str] = {}
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    # ---- protocol ---------------------------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any], session: bool) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (did it crash?)")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self._record(message)
        return message

    def _record(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            self._urls[params["requestId"]] = params["request"]["url"]
            self.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            self.failed.append((self._urls.get(params["requestId"], "?"), params.get("errorText", "")))
        elif method == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            self.failed.append((params["response"]["url"], str(params["response"]["status"])))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
        elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events read meanwhile are recorded)."""
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message.get("method") == method:
                return message

    # ---- page -------------------------------------------------------------------------------------

    def open(self, path: Path, dark: bool = False) -> None:
        """Load a local file and wait until its load event; records start afresh."""
        self.requests, self.failed, self.errors = [], [], []
        self.call(
            "Emulation.setEmulatedMedia",
            session=True,
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )
        self.call("Page.navigate", session=True, url=Path(path).resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """A JavaScript expression's value (awaited when it is a promise)."""
        result = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def settle(self, seconds: float = 0.3) -> None:
        """Read events for a moment after load (late script errors, font loads)."""
        self.evaluate(f"new Promise(r => setTimeout(r, {int(seconds * 1000)}))")

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):  # gone already: killed below
            self.call("Browser.close")
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)
