"""Runs the end-to-end bundle (build-e2e/index.js, `scripts/build.sh --e2e`: the release
code plus the `/.test/*` routes) in workerd through `wrangler dev`.

Each `Worker` gets its own temporary directory with a generated wrangler config (the
project's name and compatibility date, the test's vars and bindings), a `.dev.vars`
with the test's secrets, free loopback ports, and its own log file. `stop()` ends the
whole process group, by id, and is safe to call twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"
BUNDLE = ROOT / "build-e2e" / "index.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toml_value(v) -> str:
    return json.dumps(v)  # JSON strings, numbers and booleans are valid TOML


def _dotenv_value(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stop_process_group(proc: subprocess.Popen | None) -> None:
    """Ends a process started with `start_new_session=True` and all its children: SIGTERM,
    then SIGKILL after 10 s. Safe to call twice."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


class Worker:
    def __init__(self, vars: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
                 port: int | None = None, extra_toml: str = "", env: dict[str, str] | None = None,
                 persist_to: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="oidc-sts-e2e-"))
        project = tomllib.loads((ROOT / "wrangler.toml").read_text())
        lines = [
            f"name = {_toml_value(project['name'])}",
            f"main = {_toml_value(str(BUNDLE))}",
            f"compatibility_date = {_toml_value(project['compatibility_date'])}",
        ]
        if project.get("compatibility_flags"):
            lines.append(f"compatibility_flags = {json.dumps(project['compatibility_flags'])}")
        lines.append(extra_toml)
        lines.append("[vars]")
        for k, v in (vars or {}).items():
            lines.append(f"{k} = {_toml_value(v)}")
        (self.dir / "wrangler.toml").write_text("\n".join(lines) + "\n")
        (self.dir / ".dev.vars").write_text(
            "".join(f"{k}={_dotenv_value(v)}\n" for k, v in (secrets or {}).items()))
        # Local state (R2, Cache API): its own, or one a later Worker takes over (`persist_to`).
        self.state = persist_to or self.dir / "state"
        self.log_path = self.dir / "wrangler.log"
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_after = 0.0

    def start(self, timeout: float = 60.0) -> "Worker":
        env = dict(os.environ)
        env.update({
            "CLOUDFLARE_CF_FETCH_ENABLED": "false",
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_LOG_PATH": str(self.dir / "wrangler-logs"),
            "NO_COLOR": "1",
        })
        env.update(self.env)
        cmd = [str(WRANGLER), "dev", "--config", str(self.dir / "wrangler.toml"),
               "--ip", "127.0.0.1", "--port", str(self.port),
               "--inspector-port", str(free_port()),
               "--persist-to", str(self.state),
               "--show-interactive-dev-session=false"]
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wrangler exited with {self.proc.returncode}:\n{self.log()}")
            try:
                requests.get(self.url + "/", timeout=2)
                self.ready_after = time.monotonic() - self.started_at
                return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"worker did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        if getattr(self, "_final_log", None) is not None:
            return self._final_log
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def worker_lines(self) -> list[dict]:
        """The worker's own structured (JSON) log lines."""
        out = []
        for line in self.log().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_for_line(self, predicate, timeout: float = 5.0) -> dict | None:
        """The first structured log line that satisfies `predicate`, waiting up to `timeout`
        seconds for it (wrangler writes the worker's console output asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.worker_lines() if predicate(line)), None)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def stop(self) -> None:
        try:
            self._stop_process()
        finally:
            if os.environ.get("E2E_KEEP_WORKDIRS") != "1" and self.dir.exists():
                self._final_log = self.log()  # keep the log readable after the folder is gone
                shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_process(self) -> None:
        stop_process_group(self.proc)

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
