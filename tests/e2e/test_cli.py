"""The command-line client `osp` (cli/, target/debug/osp) end to end: a real OpenID provider
(oidc-provider, tests/e2e/oidc_provider.py) on loopback, the worker in workerd trusting it, and
the real AWS CLI and boto3 reading a restricted object through `credential_process`.

Every test runs `osp` with an empty home of its own (HOME, XDG_CONFIG_HOME, XDG_STATE_HOME,
AWS_CONFIG_FILE under tmp_path), no display and no D-Bus session bus (so no OS keyring: the
tokens go to the 0600 file fallback), and stdin closed.

Providers (one module-wide worker trusts them all, for the client id `osp-cli`):
- `op`: the defaults (PKCE required on both flows, as Keycloak enforces it on the device flow
  too; refresh-token rotation), device interval 1 s;
- `op_short`: ID tokens and access tokens that live 5 s (refresh without a prompt);
- `op_slow`: says `interval: 1` but answers `slow_down` to polls less than 2 s apart;
- `op_reject`: a non-compliant IdP that refuses any PKCE parameter (`--no-pkce`).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from keys import new_key, session_key_b64
from oidc_provider import DEVICE_GRANT, OAuthError, OidcProvider, approve_device, public_client
from s3clients import seed
from workerd import ROOT, Worker, free_port, stop_process_group

OSP = Path(os.environ.get("OSP", ROOT / "target" / "debug" / "osp"))
AWS = ROOT / ".venv" / "bin" / "aws"
CLIENT = "osp-cli"
ALICE = ("alice", "alice-password")
SECRET = b"top secret for the cli"
KEY = "restricted-data/secret.txt"


def _provider(name: str, **config) -> OidcProvider:
    return OidcProvider(name=name, clients=[public_client(CLIENT, ["http://127.0.0.1/callback"])], **config)


@pytest.fixture(scope="module")
def idps():
    if not OSP.exists():
        pytest.fail(f"{OSP} is missing: run `cargo build -p oidc-sts-proxy-cli` first")
    ops = {
        "op": _provider("cli", device_interval=1, slow_down_increment=1),
        "op_short": _provider("cli-short", device_interval=1, slow_down_increment=1,
                              ttl={"IdToken": 5, "AccessToken": 5}),
        "op_slow": _provider("cli-slow", device_interval=1, device_enforced_interval=2, slow_down_increment=1),
        "op_reject": _provider("cli-reject", pkce="reject", device_interval=1, slow_down_increment=1),
    }
    try:
        for op in ops.values():
            op.start()
        yield ops
    finally:
        for op in ops.values():
            op.stop()


@pytest.fixture(scope="module")
def worker(idps):
    """The worker: /.sts trusts every provider for `osp-cli`; the client configuration names
    `op`; alice (of each provider) may read the restricted product."""
    issuers = [op.issuer for op in idps.values()]
    catalogue = {"accounts": {"demo": {"products": {
        "restricted-data": {"visibility": "restricted", "readers": [{"iss": i, "sub": "alice"} for i in issuers],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
    port = free_port()
    key = new_key("cli-e2e")
    w = Worker(
        port=port,
        vars={
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}",
            "OIDC_PROVIDER_KID": key.kid,
            "INSECURE_TEST_ROUTES": "1",  # for seeding the local bucket only
            "AUTH_ISSUER": ",".join(issuers),
            "AUTH_AUDIENCE": CLIENT,
            "CATALOGUE": json.dumps(catalogue),
            "CLI_CLIENT_ID": CLIENT,
            "CLI_ISSUER": idps["op"].issuer,
        },
        secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key_b64()},
        extra_toml='[[r2_buckets]]\nbinding = "DATA"\nbucket_name = "e2e-data"\n',
    )
    try:
        w.start()
        seed(w, {f"demo/{KEY}": SECRET})
        yield w
    finally:
        w.stop()


class Osp:
    """`osp` with an empty home of its own; every output kept (for the no-token check)."""

    def __init__(self, root: Path, worker: Worker, browser_recorder: bool = False, bus: str | None = None):
        self.root = root
        self.worker = worker
        self.home = root / "home"
        self.home.mkdir()
        self.outputs: list[str] = []
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "OSP_", "XDG_")) and k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(root / "config"), XDG_STATE_HOME=str(root / "state"),
                   XDG_CACHE_HOME=str(root / "cache"), AWS_CONFIG_FILE=str(self.home / ".aws" / "config"),
                   # No session bus (unless given): the keyring does not answer, the file
                   # fallback is used.
                   DBUS_SESSION_BUS_ADDRESS=bus or f"unix:path={root / 'no-bus'}", NO_COLOR="1")
        self.browser_log = root / "browser-calls"
        if browser_recorder:
            script = root / "browser.sh"
            script.write_text(f"#!/bin/sh\necho \"$@\" >> {self.browser_log}\n")
            script.chmod(0o755)
            env["BROWSER"] = str(script)
        self.env = env

    def run(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(OSP), *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        self.outputs += [p.stdout, p.stderr]
        if check:
            assert p.returncode == 0, f"osp {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def start(self, *args: str) -> "Running":
        return Running(self, subprocess.Popen([str(OSP), *args], env=self.env, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    def login_args(self, op: OidcProvider) -> list[str]:
        """The deployment's URL; a provider other than the one it names given by flag."""
        args = [self.worker.url]
        if op.name != "cli":
            args += ["--issuer", op.issuer]
        return args

    def device_login(self, op: OidcProvider, *extra: str, user=ALICE) -> "Running":
        running = self.start("login", *self.login_args(op), "--device", *extra)
        complete = running.wait_for(r"or open (\S+)")
        approve_device(complete.group(1), *user)
        running.finish()
        return running

    @property
    def token_file(self) -> Path:
        return self.root / "state" / "osp" / "tokens" / "default.json"

    def tokens(self) -> dict:
        return json.loads(self.token_file.read_text())

    def credentials(self, *args: str) -> dict:
        return json.loads(self.run("credentials", *args).stdout)

    def browser_calls(self) -> list[str]:
        return self.browser_log.read_text().splitlines() if self.browser_log.exists() else []


class Running:
    """An `osp` still running: its stderr read line by line."""

    def __init__(self, osp: Osp, proc: subprocess.Popen):
        self.osp, self.proc = osp, proc
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        self.stdout = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.stderr.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        self.proc.kill()
        raise AssertionError(f"no {pattern!r} from osp; stderr so far:\n{''.join(self.stderr)}")

    def finish(self, timeout: float = 60, expect: int = 0) -> None:
        self.stdout = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        while (line := self.lines.get(timeout=5)) is not None:
            self.stderr.append(line)
        self.osp.outputs += [self.stdout, self.text]
        assert self.proc.returncode == expect, f"osp exited {self.proc.returncode}\n{self.text}"

    @property
    def text(self) -> str:
        return "".join(self.stderr)


@pytest.fixture
def osp(tmp_path, worker):
    return Osp(tmp_path, worker)


@pytest.fixture
def secret_service(tmp_path):
    """A D-Bus session bus with GNOME Keyring's Secret Service on it (Debian's gnome-keyring,
    which `scripts/setup.sh --e2e` installs), its login keyring created and unlocked; the
    bus address."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run scripts/setup.sh --e2e (Debian's gnome-keyring)")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = dict(os.environ, HOME=str(tmp_path / "keyring-home"), XDG_DATA_HOME=str(tmp_path / "keyring-data"),
               XDG_RUNTIME_DIR=str(run))
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1",
                            f"--address=unix:path={run / 'bus'}"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, start_new_session=True, env=env)
    keyring = None
    try:
        env["DBUS_SESSION_BUS_ADDRESS"] = address = bus.stdout.readline().strip()
        keyring = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--login", "--components=secrets"],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True, env=env)
        keyring.stdin.write(b"keyring-password")  # creates and unlocks the login keyring
        keyring.stdin.close()
        yield address
    finally:
        stop_process_group(keyring)
        stop_process_group(bus)


def s3_client(creds: dict, worker: Worker):
    return boto3.client("s3", endpoint_url=worker.url, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def counts_delta(op: OidcProvider, before: dict) -> dict:
    after = op.counts()
    return {"slow_down": after["slow_down"] - before["slow_down"],
            "pkce_refused": after["pkce_refused"] - before["pkce_refused"],
            "refresh": after["token"].get("refresh_token", 0) - before["token"].get("refresh_token", 0)}


# ---------------------------------------------------------------------------------------
# the client-configuration document


def test_the_worker_publishes_the_client_configuration_and_names_it_among_its_features(worker, idps):
    r = requests.get(worker.url + "/.well-known/oidc-sts-proxy-client", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {"issuer": idps["op"].issuer, "client_id": CLIENT, "scopes": "openid offline_access",
                        "pkce": True, "sts_endpoint": worker.url + "/.sts", "s3_endpoint": worker.url,
                        "region": "us-east-1"}
    assert requests.get(worker.url + "/", timeout=10).json()["features"]["cli_client"] == "enabled"


# ---------------------------------------------------------------------------------------
# login


def test_device_login_with_only_the_url_then_credentials_read_a_restricted_object(osp, idps, worker):
    op = idps["op"]
    before = op.counts()
    running = osp.device_login(op)
    assert "enter the code" in running.text and "Signed in as alice at " in running.text
    # PKCE is required on the device flow (the challenge, then the verifier): nothing refused.
    assert counts_delta(op, before) == {"slow_down": 0, "pkce_refused": 0, "refresh": 0}
    creds = osp.credentials()
    assert creds["Version"] == 1 and creds["AccessKeyId"].startswith("ASIA")
    body = s3_client(creds, worker).get_object(Bucket="demo", Key=KEY)["Body"].read()
    assert body == SECRET
    # Cached: the same credentials again, without a request to the worker or the provider.
    assert osp.credentials()["AccessKeyId"] == creds["AccessKeyId"]


def test_without_a_display_login_uses_the_device_flow_by_itself(osp, idps):
    running = osp.start("login", *osp.login_args(idps["op"]))
    assert running.wait_for(r"No browser can be shown here")
    complete = running.wait_for(r"or open (\S+)")
    approve_device(complete.group(1), *ALICE)
    running.finish()


def test_loopback_login_in_a_headless_browser(osp, idps, page):
    op = idps["op"]
    before = op.counts()
    running = osp.start("login", *osp.login_args(op), "--no-browser")
    url = running.wait_for(r"^\s+(http://127\.0\.0\.1:\d+/auth\?\S+)").group(1)
    redirect = re.search(r"redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)%2Fcallback", url)
    assert redirect, url
    assert "code_challenge_method=S256" in url and "prompt=consent" in url
    page.goto(url)
    page.fill("input[name=login]", ALICE[0])
    page.fill("input[name=password]", ALICE[1])
    page.click("#sign-in")
    page.wait_for("#allow")
    page.click("#allow")
    page.wait_for_url(f"http://127.0.0.1:{redirect.group(1)}/callback")
    assert page.text("#title") == "Signed in"
    running.finish()
    assert "Signed in as alice" in running.text
    assert counts_delta(op, before)["pkce_refused"] == 0
    assert osp.tokens()["refresh_token"], "offline_access with prompt=consent brings a refresh token"


def test_the_device_flow_honours_slow_down(osp, idps):
    """op_slow says interval 1 but wants 2 s between polls: the first poll after the free one
    meets slow_down; a client that then waits 5 s more meets no second one (one that ignored
    it would)."""
    op = idps["op_slow"]
    before = op.counts()
    running = osp.start("login", *osp.login_args(op), "--device")
    complete = running.wait_for(r"or open (\S+)")
    polls = lambda: op.counts()["token"].get(DEVICE_GRANT, 0) - before["token"].get(DEVICE_GRANT, 0)  # noqa: E731
    deadline = time.monotonic() + 20
    while polls() < 2 and time.monotonic() < deadline:  # pending (the free poll), then slow_down
        time.sleep(0.2)
    approve_device(complete.group(1), *ALICE)
    running.finish()
    assert counts_delta(op, before)["slow_down"] == 1
    assert polls() == 3


def test_a_device_flow_without_pkce_is_refused_by_a_provider_that_enforces_it(osp, idps):
    op = idps["op"]
    running = osp.start("login", *osp.login_args(op), "--device", "--no-pkce")
    running.finish(expect=1)
    assert "warning: PKCE is off" in running.text
    assert "invalid_request" in running.text and "PKCE is required" in running.text


def test_no_pkce_signs_in_at_a_provider_that_refuses_pkce_parameters(osp, idps, worker):
    op = idps["op_reject"]
    with_pkce = osp.start("login", *osp.login_args(op), "--device")
    with_pkce.finish(expect=1)
    assert "invalid_request" in with_pkce.text and "--no-pkce" in with_pkce.text
    before = op.counts()
    running = osp.device_login(op, "--no-pkce")
    assert "warning: PKCE is off" in running.text
    assert counts_delta(op, before)["pkce_refused"] == 0
    assert s3_client(osp.credentials(), worker).head_object(Bucket="demo", Key=KEY)["ContentLength"] == len(SECRET)


# ---------------------------------------------------------------------------------------
# credentials for tools


def test_credential_process_serves_the_aws_cli_and_boto3(osp, idps, worker, monkeypatch):
    aws_config = osp.home / ".aws" / "config"
    aws_config.parent.mkdir()
    aws_config.write_text("# kept as it is\n[profile other]\nregion = eu-west-1\n")
    osp.device_login(idps["op"])
    osp.run("configure-aws")
    text = aws_config.read_text()
    assert text.startswith("# kept as it is\n[profile other]\nregion = eu-west-1\n\n[default]\ncredential_process = ")
    assert f"endpoint_url = {worker.url}\n" in text and "    addressing_style = path\n" in text
    # The AWS CLI, with nothing but the profile.
    env = {**osp.env, "PATH": f"{AWS.parent}:{osp.env['PATH']}"}
    p = subprocess.run([str(AWS), "s3", "cp", f"s3://demo/{KEY}", "-"], env=env, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == SECRET
    # boto3 with the profile (credential_process runs osp with this environment).
    for k, v in osp.env.items():
        monkeypatch.setenv(k, v)
    for k in [k for k in os.environ if k.startswith("AWS_") and k != "AWS_CONFIG_FILE"]:
        monkeypatch.delenv(k)
    s3 = boto3.Session(profile_name="default").client("s3")
    assert s3.get_object(Bucket="demo", Key=KEY)["Body"].read() == SECRET


def test_env_and_json_formats(osp, idps, worker):
    osp.device_login(idps["op"])
    env = osp.run("credentials", "--format", "env").stdout
    assert re.search(r"^export AWS_SESSION_TOKEN='[^']+'$", env, re.M)
    assert f"export AWS_ENDPOINT_URL='{worker.url}'" in env
    shell = subprocess.run(["sh", "-c", f"{env}\nprintf %s \"$AWS_ACCESS_KEY_ID\""], capture_output=True, text=True)
    as_json = osp.credentials("--format", "json")
    assert shell.stdout == as_json["AccessKeyId"] and as_json["Region"] == "us-east-1"


def test_after_the_id_token_expires_credentials_refresh_without_a_prompt(tmp_path, worker, idps):
    """5-second ID tokens: after they expire, `osp credentials` (no terminal, a BROWSER that
    records being called) refreshes with the refresh token, which rotates; three at once cause
    one refresh."""
    osp = Osp(tmp_path, worker, browser_recorder=True)
    op = idps["op_short"]
    osp.device_login(op)
    first = osp.tokens()
    time.sleep(6)
    before = op.counts()
    creds = osp.credentials()
    assert counts_delta(op, before)["refresh"] == 1
    second = osp.tokens()
    assert second["refresh_token"] != first["refresh_token"] and second["id_token"] != first["id_token"]
    assert s3_client(creds, worker).get_object(Bucket="demo", Key=KEY)["Body"].read() == SECRET
    with pytest.raises(OAuthError) as reused:  # the old one was rotated away
        op.refresh(CLIENT, first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    assert osp.browser_calls() == []


def test_concurrent_credentials_share_one_refresh(tmp_path, worker, idps):
    osp = Osp(tmp_path, worker)
    op = idps["op_short"]
    osp.device_login(op)
    time.sleep(6)
    before = op.counts()
    procs = [subprocess.Popen([str(OSP), "credentials"], env=osp.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0, 0], results
    assert len({json.loads(r[0])["AccessKeyId"] for r in results}) == 1, "the later two read the cache"
    assert counts_delta(op, before)["refresh"] == 1


def test_a_revoked_refresh_token_fails_fast_with_a_clear_message(tmp_path, worker, idps):
    osp = Osp(tmp_path, worker, browser_recorder=True)
    op = idps["op_short"]
    osp.device_login(op)
    op.revoke(CLIENT, osp.tokens()["refresh_token"])
    time.sleep(6)
    started = time.monotonic()
    p = osp.run("credentials", check=False, timeout=30)
    assert time.monotonic() - started < 10
    assert p.returncode == 3 and p.stdout == ""
    assert "invalid_grant" in p.stderr and p.stderr.rstrip().endswith("run `osp login`")
    assert osp.browser_calls() == []
    assert not osp.token_file.exists(), "the dead tokens are gone"
    again = osp.run("credentials", check=False)
    assert again.returncode == 3 and "not signed in" in again.stderr


# ---------------------------------------------------------------------------------------
# status, logout, secrets


def test_status_then_logout_revokes_the_refresh_token(osp, idps):
    op = idps["op"]
    osp.device_login(op)
    status = osp.run("status").stdout
    assert status.startswith("default: signed in as alice\n")
    assert f"identity provider  {op.issuer} (client {CLIENT}, PKCE on)" in status
    assert "refresh token      yes" in status and "tokens kept in" in status
    refresh_token = osp.tokens()["refresh_token"]
    before = op.counts()
    out = osp.run("logout")
    assert "revoked at the identity provider" in out.stderr
    assert op.counts()["requests"].get("/token/revocation", 0) == before["requests"].get("/token/revocation", 0) + 1
    assert not osp.token_file.exists()
    with pytest.raises(OAuthError) as revoked:
        op.refresh(CLIENT, refresh_token)
    assert revoked.value.error == "invalid_grant"
    assert osp.run("status").stdout.startswith("default: signed out")
    p = osp.run("credentials", check=False)
    assert p.returncode == 3 and "run `osp login`" in p.stderr


def test_the_file_fallback_is_private_and_no_token_appears_in_any_output(osp, idps):
    osp.device_login(idps["op"], "--verbose")
    mode = stat.S_IMODE(osp.token_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert stat.S_IMODE(osp.token_file.parent.stat().st_mode) == 0o700
    osp.run("credentials", "--verbose")
    tokens = osp.tokens()
    osp.run("--verbose", "status")
    verbose = "\n".join(osp.outputs)
    # --verbose logs each request with parameter names, never their values.
    assert re.search(r"POST http://127\.0\.0\.1:\d+/device/auth \[client_id scope=openid offline_access code_challenge "
                     r"code_challenge_method=S256\]", verbose), verbose
    assert "code_verifier" in verbose and "WebIdentityToken" in verbose
    secrets = [tokens["id_token"], tokens["refresh_token"], tokens["credentials"]["secret_access_key"]]
    osp.run("--verbose", "logout")
    everything = "\n".join(osp.outputs)
    for secret in secrets[:2]:
        assert secret not in everything
        for part in secret.split("."):
            assert len(part) < 16 or part not in everything
    # The STS credentials are printed by `credentials` (that is its job), and only there.
    printed = [o for o in osp.outputs if secrets[2] in o]
    assert len(printed) == 1 and json.loads(printed[0])["SecretAccessKey"] == secrets[2]


def test_with_a_secret_service_the_tokens_go_to_the_os_keyring_and_no_file(tmp_path, worker, idps, secret_service):
    osp = Osp(tmp_path, worker, bus=secret_service)
    running = osp.device_login(idps["op"])
    assert 'tokens kept in the OS keyring (service "osp")' in running.text
    assert [f.name for f in osp.token_file.parent.iterdir()] == ["default.in-keyring"], "a marker, no token"
    assert "signed in" not in (osp.token_file.parent / "default.in-keyring").read_text().lower()
    assert "tokens kept in     the OS keyring" in osp.run("status").stdout
    creds = osp.credentials()
    assert s3_client(creds, worker).get_object(Bucket="demo", Key=KEY)["Body"].read() == SECRET
    assert osp.credentials()["AccessKeyId"] == creds["AccessKeyId"], "cached in the keyring"
    osp.run("logout")
    assert osp.run("status").stdout.startswith("default: signed out")
    assert osp.run("credentials", check=False).returncode == 3


def test_completions_and_man_page_come_from_the_argument_definitions(osp):
    bash = osp.run("completions", "bash").stdout
    assert "_osp()" in bash and "configure-aws" in bash
    assert "compdef" in osp.run("completions", "zsh").stdout
    man = osp.run("man").stdout
    assert man.startswith(".ie \\n(.g .ds Aq") or ".TH osp" in man
    assert "credentials" in man and "configure\\-aws" in man


def test_a_deployment_that_does_not_offer_the_cli_or_cannot_be_reached_is_told(osp, provider):
    """`provider` is a worker without CLI_CLIENT_ID: its client configuration is 404."""
    p = osp.run("login", provider.url, check=False)
    assert p.returncode == 1 and "publishes no client configuration" in p.stderr, p.stderr
    p = osp.run("login", f"http://127.0.0.1:{free_port()}", check=False)
    assert p.returncode == 1 and "fetching the client configuration" in p.stderr, p.stderr
