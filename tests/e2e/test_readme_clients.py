"""The README's walkthrough and its "Every common client" blocks, run from the README text.

Every fenced block that follows a `<!-- e2e: NAME -->` marker is run as written, against a
worker configured as `make dev` configures it: the vars of wrangler.toml's `[vars]`, fresh
development secrets, the `DATA` R2 bucket seeded from dev/sample-bucket. The one change
made to the text is the port: `127.0.0.1:8787` becomes the test worker's. Each client block
runs after the `credentials` block, in one `bash -euo pipefail`, as a reader would run it in
the walkthrough's shell; a Python block is saved as client.py and run with the venv's Python.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from keys import new_key, session_key_b64
from s3clients import seed
from workerd import ROOT, Worker, free_port

README = ROOT / "README.md"
SAMPLE = ROOT / "dev" / "sample-bucket"
DEV_ORIGIN = "127.0.0.1:8787"

PUBLIC = (SAMPLE / "demo/public-data/README.txt").read_text().splitlines()[0]
SECRET = (SAMPLE / "demo/restricted-data/secret.txt").read_text().strip()

# What each block must print; a block in the README without an entry here fails the test.
EXPECTED: dict[str, list[str]] = {
    "credentials": [PUBLIC, "PRE public-data/", "PRE restricted-data/", SECRET],
    "aws-cli": ["public-data/climate/temperatures.csv", SECRET],
    "boto3": [SECRET, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Security-Token=", PUBLIC],
    "rclone": [SECRET, "climate/temperatures.csv", "README.txt"],
    "gdal": ["station (String) = north", "lat (String) = 61.2", "mean_temperature_c (String) = 15.2"],
    "duckdb": ["[('north', 61.2), ('south', 44.1)]", "15.2"],
}
NEEDS = {"rclone": "rclone", "gdal": "ogrinfo"}  # Debian packages, installed by scripts/setup.sh --e2e

MARKED = re.compile(r"^<!-- e2e: ([a-z0-9-]+) -->\n```(sh|python)\n(.*?)^```$", re.M | re.S)


def readme_blocks() -> dict[str, tuple[str, str]]:
    blocks: dict[str, tuple[str, str]] = {}
    for name, lang, body in MARKED.findall(README.read_text()):
        assert name not in blocks, f"two README blocks are marked {name}"
        blocks[name] = (lang, body)
    return blocks


def test_every_marked_readme_block_is_checked_and_every_check_has_its_block():
    assert sorted(readme_blocks()) == sorted(EXPECTED)
    assert len(re.findall(r"<!-- e2e:", README.read_text())) == len(EXPECTED), "a marker without a fenced block"


@pytest.fixture(scope="module")
def dev_worker():
    """The worker as `make dev` runs it, on a free port instead of 8787."""
    port = free_port()
    project = tomllib.loads((ROOT / "wrangler.toml").read_text())
    dev_vars = {k: str(v).replace(DEV_ORIGIN, f"127.0.0.1:{port}") for k, v in project["vars"].items()}
    bucket = project["r2_buckets"][0]
    w = Worker(port=port, vars=dev_vars,
               secrets={"OIDC_PROVIDER_KEY": new_key(dev_vars["OIDC_PROVIDER_KID"]).pem,
                        "SESSION_TOKEN_KEY": session_key_b64()},
               extra_toml=f'[[r2_buckets]]\nbinding = "{bucket["binding"]}"\nbucket_name = "{bucket["bucket_name"]}"\n')
    try:
        w.start()
        seed(w, {str(f.relative_to(SAMPLE)): f.read_bytes() for f in sorted(SAMPLE.rglob("*")) if f.is_file()})
        yield w
    finally:
        w.stop()


def offline_duckdb_httpfs(home: Path, env: dict) -> None:
    """What `INSTALL httpfs` does for a reader online, from the PyPI package of the extension
    (this machine reaches no extensions.duckdb.org)."""
    spec = importlib.util.find_spec("duckdb_ext")
    assert spec and spec.submodule_search_locations, "duckdb-ext-httpfs is in tests/e2e/requirements.txt"
    repo = Path(list(spec.submodule_search_locations)[0]) / "extensions"
    subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.sql(\"INSTALL httpfs FROM '{repo}'\")"],
                   env=env, check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "credentials"] + ["credentials"])
def test_a_readme_block_runs_as_written(dev_worker, tmp_path, name):
    if name in NEEDS and shutil.which(NEEDS[name]) is None:
        pytest.skip(f"{NEEDS[name]} is installed by scripts/setup.sh --e2e")
    blocks = readme_blocks()
    port_of = lambda text: text.replace(DEV_ORIGIN, f"127.0.0.1:{dev_worker.port}")  # noqa: E731
    script = port_of(blocks["credentials"][1])
    if name != "credentials":
        lang, body = blocks[name]
        if lang == "python":
            (tmp_path / "client.py").write_text(port_of(body))
            body = "python3 client.py\n"
        script += "\n" + port_of(body)

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_", "GDAL_", "CPL_"))}
    env.update(HOME=str(home), PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    if name == "duckdb":
        offline_duckdb_httpfs(home, env)
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f"README block {name} failed:\n{r.stdout}\n{r.stderr}"
    for want in EXPECTED[name]:
        assert want in r.stdout, f"README block {name} did not print {want!r}:\n{r.stdout}\n{r.stderr}"
    assert "SessionToken" not in r.stderr
