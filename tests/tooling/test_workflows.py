"""The GitHub workflows: valid against GitHub's schema (offline), and wired the way the
README says: CI on pushes and pull requests; a reusable deploy per environment whose
secrets reach scripts through `env:` only; preview, staging and production callers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import ROOT, run

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.y*ml"))
CHECK_JSONSCHEMA = ROOT / ".venv" / "bin" / "check-jsonschema"


def load(name: str) -> dict:
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())  # YAML 1.2: `on` stays a string


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def test_the_three_workflows_exist():
    assert {f.name for f in FILES} == {"ci.yml", "deploy.yml", "release.yml"}


@pytest.mark.skipif(not CHECK_JSONSCHEMA.exists(), reason="check-jsonschema not installed (scripts/setup.sh --e2e)")
def test_every_workflow_validates_against_the_github_workflow_schema_offline():
    r = run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", *FILES])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_shell_script(path):
    """`${{ ... }}` inside `run:` is pasted into the script before bash sees it: a secret
    would land in a shell string, an attacker-controlled value would become code."""
    wf = YAML(typ="safe").load(path.read_text())
    for job_id, step in steps(wf):
        if "run" in step:
            assert "${{" not in step["run"], f"{job_id}: {step.get('name', step['run'][:40])}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege_pinned_actions_and_timeouts(path):
    wf = YAML(typ="safe").load(path.read_text())
    assert wf["permissions"] == {"contents": "read"}
    for job_id, job in wf["jobs"].items():
        if "uses" not in job:  # a job that calls a reusable workflow has no runner of its own
            assert job.get("timeout-minutes"), job_id
            assert job["runs-on"] == "ubuntu-24.04", job_id
    for job_id, step in steps(wf):
        if "uses" in step:
            assert re.fullmatch(r"actions/[a-z-]+@v\d+", step["uses"]), step["uses"]
        if step.get("uses", "").startswith("actions/checkout"):
            assert step["with"]["persist-credentials"] is False, job_id


def test_secrets_appear_only_in_step_env_blocks():
    for path in FILES:
        wf = YAML(typ="safe").load(path.read_text())
        for job_id, step in steps(wf):
            for key, value in step.items():
                if key != "env":
                    assert "secrets." not in str(value) and "toJSON(secrets)" not in str(value), (path.name, job_id, key)


def test_ci_runs_the_test_command_and_a_live_cargo_audit_on_pushes_and_pull_requests():
    wf = load("ci.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(wf["on"])
    runs = {job_id: [s.get("run", "") for s in job["steps"]] for job_id, job in wf["jobs"].items()}
    assert "make test" in runs["test"]
    audit = " ".join(runs["audit"])
    assert "cargo audit" in audit and "--no-fetch" not in audit and "--db" not in audit
    assert "cargo install cargo-audit --locked" in audit
    toolchain = " ".join(runs["test"])
    assert "--component rustfmt,clippy" in toolchain and "--target wasm32-unknown-unknown" in toolchain


def test_deploy_is_reusable_per_environment_builds_once_and_smoke_tests():
    wf = load("deploy.yml")
    inputs = wf["on"]["workflow_call"]["inputs"]
    assert inputs["environment"] == {**inputs["environment"], "required": True, "type": "string"}
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    assert "environment" not in build  # the build never has the environment's secrets in reach
    assert not any("secrets" in str(s) for s in build["steps"])
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "${{ inputs.environment }}"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    names = [s.get("uses", s.get("run", "")) for s in deploy["steps"]]
    assert "npm ci --no-audit --no-fund --loglevel=error" in names  # the wrangler in package-lock.json
    assert not any(re.search(r"wrangler@|npm (install|i) ", n) for n in names)
    assert 'scripts/deploy.sh "$ENVIRONMENT"' in names
    assert names.index('scripts/deploy.sh "$ENVIRONMENT"') < names.index('scripts/smoke.sh "$URL" "$KID" "$KID_PREVIOUS"')
    step = next(s for s in deploy["steps"] if s.get("run") == 'scripts/deploy.sh "$ENVIRONMENT"')
    for name in ("OIDC_PROVIDER_KEY", "OIDC_PROVIDER_KEY_PREVIOUS", "SESSION_TOKEN_KEY",
                 "SESSION_TOKEN_KEY_PREVIOUS", "CLOUDFLARE_API_TOKEN"):
        assert step["env"][name] == "${{ secrets.%s }}" % name
    assert step["env"]["BACKEND_SECRET_NAMES"] == "${{ vars.BACKEND_SECRET_NAMES }}"


def test_release_deploys_preview_staging_and_production_after_ci():
    wf = load("release.yml")
    assert {"pull_request", "push", "workflow_dispatch"} <= set(wf["on"])
    assert wf["on"]["push"]["branches"] == ["main"]
    jobs = wf["jobs"]
    assert jobs["ci"]["uses"] == "./.github/workflows/ci.yml"
    for env_name in ("preview", "staging", "production"):
        job = jobs[env_name]
        assert job["uses"] == "./.github/workflows/deploy.yml"
        assert job["with"] == {"environment": env_name}
        assert job["secrets"] == "inherit"
        assert job["needs"] == "ci"
    assert "head.repo.full_name == github.repository" in jobs["preview"]["if"]  # never forks
    assert "refs/heads/main" in jobs["staging"]["if"]
    assert "refs/tags/v" in jobs["production"]["if"] and "workflow_dispatch" in jobs["production"]["if"]


def test_deployed_environments_exist_in_wrangler_toml():
    import tomllib
    envs = tomllib.loads((ROOT / "wrangler.toml").read_text())["env"]
    assert {"preview", "staging", "production"} <= set(envs)
