"""A real browser for the end-to-end suite: Debian's headless Chromium, driven through
`playwright-core` by a small Node process (tests/e2e/node/browser.mjs) that takes one JSON
command per line.

    with Browser() as browser:                # or the `browser` fixture (one per session)
        page = browser.new_page()             # a fresh context: its own cookie jar
        page.goto(op.authorization_url(...))
        page.fill("input[name=login]", "alice")
        page.click("#sign-in")
        page.wait_for_url(callback.url)       # a prefix, or a compiled regex
        page.text("#error"), page.content(), page.url
        page.fetch("/.auth/session")          # fetch() inside the page: {status, headers, body}
        page.evaluate("(n) => n + 1", 41)     # any function of one JSON argument
        page.cookies(), page.add_cookies([...]), page.clear_cookies()
        page.navigations()                    # main-frame document responses: url, status, location
        page.close()

The `page` fixture gives each test a fresh page and closes it afterwards.
The browser is `CHROMIUM` (default /usr/bin/chromium, which `scripts/setup.sh --e2e` installs
from Debian); nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from workerd import ROOT, stop_process_group

SCRIPT = Path(__file__).resolve().parent / "node" / "browser.mjs"


def chromium_path() -> str:
    return os.environ.get("CHROMIUM", "/usr/bin/chromium")


class BrowserError(AssertionError):
    """A command the browser could not carry out (timeout, missing element, ...)."""


class Browser:
    """One headless Chromium (a Node driver process); `new_page()` for each isolated session."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.dir = Path(tempfile.mkdtemp(prefix="e2e-browser-"))
        self.log_path = self.dir / "driver.log"
        self.proc: subprocess.Popen | None = None
        self.version = ""
        self._lines: queue.Queue = queue.Queue()
        self._serial = 0
        self._lock = threading.Lock()

    def start(self) -> "Browser":
        if not Path(chromium_path()).exists():
            raise RuntimeError(f"{chromium_path()} is missing: run scripts/setup.sh --e2e (Debian's chromium)")
        env = dict(os.environ, CHROMIUM=chromium_path())
        self.proc = subprocess.Popen(["node", str(SCRIPT)], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=open(self.log_path, "wb"),
                                     start_new_session=True, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next_line(self.timeout)
        if not ready.get("ready"):
            self.stop()
            raise RuntimeError(f"the browser did not start: {ready}\n{self.log()}")
        self.version = ready["version"]
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._lines.put(json.loads(line))
            except ValueError:
                self._lines.put({"ok": False, "error": f"unreadable driver output: {line!r}"})
        self._lines.put({"ok": False, "error": "the browser driver exited", "eof": True})

    def _next_line(self, timeout: float) -> dict:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"no answer from the browser within {timeout}s\n{self.log()}") from None

    def call(self, cmd: str, timeout: float | None = None, **args: Any) -> Any:
        """Sends one command and returns its result (raises BrowserError)."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                raise BrowserError(f"the browser is not running\n{self.log()}")
            self._serial += 1
            msg_id = self._serial
            self.proc.stdin.write(json.dumps({"id": msg_id, "cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
            while True:
                answer = self._next_line(timeout or self.timeout)
                if answer.get("eof"):
                    raise BrowserError(f"{answer['error']}\n{self.log()}")
                if answer.get("id") == msg_id:
                    break
        if not answer["ok"]:
            raise BrowserError(f"{cmd}: {answer['error']}")
        return answer["result"]

    def new_page(self, **context_options: Any) -> "Page":
        """A page in a new browser context (its own cookies and storage). Context options are
        Playwright's, e.g. `extra_http_headers={"Accept": "text/html"}`, `user_agent=...`."""
        options = {_camel(k): v for k, v in context_options.items()}
        context = self.call("newContext", options=options)
        return Page(self, context, self.call("newPage", context=context))

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Closes the browser; safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the driver closes Chromium and exits
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        stop_process_group(self.proc)

    def __enter__(self) -> "Browser":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class Page:
    """A browser tab. Cookie methods act on its context (shared by its `new_tab()`s)."""

    def __init__(self, browser: Browser, context: str, page: str):
        self.browser = browser
        self.context = context
        self.id = page

    def _call(self, cmd: str, **args: Any) -> Any:
        return self.browser.call(cmd, page=self.id, **args)

    # -- navigation --------------------------------------------------------------------

    def goto(self, url: str) -> int | None:
        """Loads `url` (following redirects); the final response's status."""
        return self._call("goto", url=url)["status"]

    @property
    def url(self) -> str:
        return self._call("url")

    def wait_for_url(self, target: str | re.Pattern, timeout: float = 15.0) -> str:
        """Waits until the page's URL starts with `target` (a string) or matches it (a compiled
        regex) and that page has loaded; returns the URL."""
        if isinstance(target, re.Pattern):
            flags = "i" if target.flags & re.IGNORECASE else ""
            return self._call("waitForURL", regex=target.pattern, flags=flags, timeout=int(timeout * 1000))
        return self._call("waitForURL", prefix=target, timeout=int(timeout * 1000))

    def navigations(self) -> list[dict]:
        """Every main-frame document response so far: {url, status, location}, redirects included."""
        return self._call("navigations")

    # -- the page --------------------------------------------------------------------------

    def fill(self, selector: str, value: str) -> None:
        self._call("fill", selector=selector, value=value)

    def click(self, selector: str) -> None:
        self._call("click", selector=selector)

    def wait_for(self, selector: str, state: str = "visible") -> None:
        self._call("waitForSelector", selector=selector, state=state)

    def content(self) -> str:
        """The page's HTML."""
        return self._call("content")

    def text(self, selector: str = "body") -> str:
        """The rendered text of the first element matching `selector`."""
        return self._call("text", selector=selector)

    def evaluate(self, fn: str, arg: Any = None) -> Any:
        """`fn` (JavaScript source of a function of one argument, may be async) run in the page
        with `arg`; its JSON-serialisable result."""
        return self._call("evaluate", fn=fn, arg=arg)

    def fetch(self, url: str, method: str = "GET", headers: dict[str, str] | None = None,
              body: str | None = None, credentials: str = "same-origin") -> dict:
        """`fetch()` from the page (the page's origin, its cookies): {status, url, headers, body}."""
        return self.evaluate(_FETCH, {"url": url, "init": {"method": method, "headers": headers or {},
                                                            "body": body, "credentials": credentials}})

    def screenshot(self, path: str | Path) -> str:
        return self._call("screenshot", path=str(path))

    # -- its context ---------------------------------------------------------------------

    def cookies(self, *urls: str) -> list[dict]:
        """The context's cookies (for `urls` only, when given): name, value, domain, path, expires,
        httpOnly, secure, sameSite."""
        return self.browser.call("cookies", context=self.context, urls=list(urls))

    def add_cookies(self, cookies: list[dict]) -> None:
        """Playwright cookie dicts: {name, value, url} or {name, value, domain, path, ...}."""
        self.browser.call("addCookies", context=self.context, cookies=cookies)

    def clear_cookies(self) -> None:
        self.browser.call("clearCookies", context=self.context)

    def new_tab(self) -> "Page":
        """Another page in the same context (same cookies)."""
        return Page(self.browser, self.context, self.browser.call("newPage", context=self.context))

    def close(self) -> None:
        """Closes this page's context (and every tab of it)."""
        self.browser.call("closeContext", context=self.context)


_FETCH = """async ({url, init}) => {
  const r = await fetch(url, init.body === null ? {...init, body: undefined} : init);
  return {status: r.status, url: r.url, headers: Object.fromEntries(r.headers), body: await r.text()};
}"""
