"""The deployment files, checked with their own tools where this machine has them."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ROOT = DEPLOY.parent


def test_launchd_plist_parses_and_runs_brag_run() -> None:
    with (DEPLOY / "com.bragharvester.run.plist").open("rb") as handle:
        plist = plistlib.load(handle)
    assert plist["Label"] == "com.bragharvester.run"
    assert plist["ProgramArguments"][-1] == "run" and plist["ProgramArguments"][0].endswith("/brag")
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] == {"SuccessfulExit": False}


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    brag = Path(sys.executable).with_name("brag")
    text = (DEPLOY / "brag.service").read_text()
    assert "ExecStart=%h/.local/bin/brag run" in text
    # verify checks that ExecStart exists; point it at this environment's brag
    unit = tmp_path / "brag.service"
    unit.write_text(text.replace("%h/.local/bin/brag", str(brag)))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "brag.service" not in result.stderr, result.stderr


def _engine_reason() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command"
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        last = ((info.stderr or info.stdout).strip().splitlines() or ["no output"])[-1]
        return f"`docker info` failed, no container engine: {last}"
    return None


def test_container_builds_and_its_healthcheck_passes(tmp_path: Path) -> None:
    reason = _engine_reason()
    if reason:
        print(f"skipping the container test: {reason}")
        pytest.skip(reason)
    tag = f"brag-harvester-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run(
        ["docker", "build", "-f", str(DEPLOY / "Dockerfile"), "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        inspect = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}} {{.Config.User}}", tag],
            capture_output=True,
            text=True,
            check=True,
        )
        assert '"brag","health"' in inspect.stdout and "brag" in inspect.stdout.split()[-1]
        config = tmp_path / "brag.toml"
        config.write_text('[database]\nurl = "sqlite:////tmp/brag.db"\n[user]\ntimezone = "Europe/Berlin"\n')
        config.chmod(0o644)
        health = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{tmp_path}:/config:ro", tag, "brag", "health"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert health.returncode == 0 and "ok" in health.stdout, health.stderr
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


def test_the_team_compose_file_runs_real_commands_on_one_image() -> None:
    import tomllib

    import yaml
    from typer.testing import CliRunner

    from harvester.cli import app
    from harvester.config import parse_settings

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "web", "scheduler", "worker"}
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("web", "scheduler", "worker"):
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        command = service["command"]
        assert command[0] == "brag"
        # every option the file passes is one the command takes
        result = CliRunner().invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, result.output
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "'.[team,nlp]'" in (DEPLOY / "Dockerfile").read_text()
    # the configuration the compose file mounts: the example parses, with every secret from the environment
    example = tomllib.loads((ROOT / "config" / "team.example.toml").read_text())
    settings = parse_settings(example)
    assert settings.team is not None and settings.team.encryption_key.reference.startswith("env:")
    environment = services["web"]["environment"]
    for secret in (settings.team.encryption_key, settings.team.oidc_client_secret, settings.team.github.client_secret):
        assert secret is not None and secret.reference.removeprefix("env:") in environment
