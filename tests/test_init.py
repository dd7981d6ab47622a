"""`brag init` in-process against the sandboxes: the file it writes, where tokens go, the checks, the next step."""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring
from support import MemoryKeyring
from typer.testing import CliRunner

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.sandbox import DEFAULT_API_TOKEN, DEFAULT_PAT, JiraSandbox
from harvester.cli import app
from harvester.cli.init_config import ConfigChoices, GitHubChoice, JiraChoice, render_config
from harvester.config import load_config
from harvester.sandbox.scenario import Scenario

runner = CliRunner()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def jira(scenario: Scenario) -> Iterator[JiraSandbox]:
    with JiraSandbox(scenario) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("INIT_GITHUB_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("INIT_JIRA_TOKEN", DEFAULT_API_TOKEN)


def test_non_interactive_init_writes_a_file_the_loader_reads_and_checks_each_source_once(
    tmp_path: Path, github: GitHubSandbox, jira: JiraSandbox, scenario: Scenario
) -> None:
    path = tmp_path / "brag.toml"
    args = [
        "init",
        "--config",
        str(path),
        "--yes",
        "--timezone",
        "America/New_York",
        "--github-url",
        github.base_url,
        "--github-token-env",
        "INIT_GITHUB_TOKEN",
        "--jira-url",
        jira.base_url,
        "--jira-email",
        scenario.email,
        "--jira-token-env",
        "INIT_JIRA_TOKEN",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    settings = load_config(path).settings
    assert settings.user.timezone == "America/New_York"
    assert settings.source("github") is not None and settings.source("github").token is not None
    assert (
        settings.source("github").token.describe() == "env:INIT_GITHUB_TOKEN"
        and settings.source("github").base_url == github.base_url
    )
    assert settings.source("jira") is not None and settings.source("jira").email == scenario.email
    assert (
        settings.source("jira").token is not None and settings.source("jira").token.describe() == "env:INIT_JIRA_TOKEN"
    )
    assert settings.source("google_calendar") is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # one cheap request each, that proves the credentials
    assert [(r.method, r.path) for r in github.requests] == [("GET", "/user")]
    assert [(r.method, r.path) for r in jira.requests] == [("GET", "/rest/api/2/myself")]
    output = result.output.replace("\n", " ")
    assert f"github: ok — signed in as @{scenario.login}" in output
    assert f"jira: ok — signed in as {scenario.email}" in output
    assert f"Next: brag --config {path} harvest --since" in output
    assert DEFAULT_TOKEN not in path.read_text() and DEFAULT_API_TOKEN not in path.read_text()


def test_the_written_file_is_enough_to_harvest(tmp_path: Path, github: GitHubSandbox) -> None:
    path = tmp_path / "brag.toml"
    args = ["init", "--config", str(path), "--yes", "--timezone", "Europe/Berlin", "--github-url", github.base_url]
    args += ["--github-token-env", "INIT_GITHUB_TOKEN", "--database-url", f"sqlite:///{tmp_path / 'init.db'}"]
    assert runner.invoke(app, args).exit_code == 0
    harvested = runner.invoke(app, ["--config", str(path), "harvest", "--since", "2026-10-23", "--until", "2026-11-20"])
    assert harvested.exit_code == 0, harvested.output
    assert (tmp_path / "init.db").exists()


def test_interactive_init_keeps_the_token_in_the_keyring(
    tmp_path: Path, github: GitHubSandbox, memory_keyring: MemoryKeyring
) -> None:
    answers = [
        "Mars/Olympus",  # refused, asked again
        "Asia/Tokyo",
        "y",  # GitHub
        github.base_url,
        "keyring",
        DEFAULT_TOKEN,  # typed hidden
        "n",  # Jira
        "n",  # Google Calendar
    ]
    result = runner.invoke(app, ["--config", str(tmp_path / "brag.toml"), "init"], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "is not an IANA timezone name" in result.output
    assert memory_keyring.entries == {("brag-harvester", "github.token"): DEFAULT_TOKEN}
    text = (tmp_path / "brag.toml").read_text()
    assert 'token = "keyring:"' in text and DEFAULT_TOKEN not in text
    settings = load_config(tmp_path / "brag.toml").settings
    assert settings.user.timezone == "Asia/Tokyo"
    assert settings.source("github") is not None and settings.source("github").token is not None
    assert settings.source("github").token.reveal() == DEFAULT_TOKEN
    assert "github: ok" in result.output and DEFAULT_TOKEN not in result.output


def test_without_a_keyring_init_falls_back_to_an_environment_variable(tmp_path: Path, github: GitHubSandbox) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        answers = ["UTC", "y", github.base_url, "keyring", DEFAULT_TOKEN, "INIT_GITHUB_TOKEN", "n", "n"]
        result = runner.invoke(app, ["init", "--config", str(tmp_path / "b.toml")], input="\n".join(answers) + "\n")
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 0, result.output
    assert "cannot store it in the OS keyring (NoKeyringError)" in result.output
    assert 'token = "env:INIT_GITHUB_TOKEN"' in (tmp_path / "b.toml").read_text()


def test_interactive_jira_server_with_a_personal_access_token(
    tmp_path: Path, scenario: Scenario, memory_keyring: MemoryKeyring
) -> None:
    with JiraSandbox(scenario, deployment="Server") as jira:
        answers = ["Europe/Berlin", "n", "y", jira.base_url, "server", "keyring", DEFAULT_PAT, "n"]
        result = runner.invoke(app, ["init", "--config", str(tmp_path / "b.toml")], input="\n".join(answers) + "\n")
        requests = [(r.method, r.path) for r in jira.requests]
    assert result.exit_code == 0, result.output
    settings = load_config(tmp_path / "b.toml").settings
    assert (
        settings.source("jira") is not None
        and settings.source("jira").pat is not None
        and settings.source("jira").email is None
    )
    assert settings.source("jira").pat.reveal() == DEFAULT_PAT
    assert requests == [("GET", "/rest/api/2/myself")] and "jira: ok" in result.output


def test_a_refused_token_fails_the_check_but_keeps_the_file(
    tmp_path: Path, github: GitHubSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INIT_GITHUB_TOKEN", "revoked")
    path = tmp_path / "brag.toml"
    args = ["init", "--config", str(path), "--yes", "--github-url", github.base_url]
    result = runner.invoke(app, [*args, "--github-token-env", "INIT_GITHUB_TOKEN"])
    assert result.exit_code == 1
    output = result.output.replace("\n", " ")
    assert "github: failed — the token was refused (401 Bad credentials)" in output and "fix:" in output
    assert load_config(path).settings.source("github") is not None


def test_no_check_sends_nothing(tmp_path: Path, github: GitHubSandbox) -> None:
    args = ["init", "--config", str(tmp_path / "b.toml"), "--yes", "--no-check", "--github-url", github.base_url]
    assert runner.invoke(app, args).exit_code == 0
    assert github.requests == []


def test_google_calendar_is_a_next_step_until_authorized(tmp_path: Path) -> None:
    args = ["init", "--config", str(tmp_path / "b.toml"), "--yes", "--google-client-secrets", "~/cs.json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "google_calendar: not authorized yet" in result.output
    assert f"Next: brag --config {tmp_path / 'b.toml'} auth google" in result.output.replace("\n", " ")
    section = load_config(tmp_path / "b.toml").settings.source("google_calendar")
    assert section is not None and section.client_secrets_file == Path("~/cs.json")


def test_google_calendar_check_reads_one_event(tmp_path: Path, scenario: Scenario) -> None:
    from harvester.config import parse_settings
    from harvester.sources.checks import check_sources

    with GoogleCalendarSandbox(scenario) as calendar:
        token_file = tmp_path / "token.json"
        token_file.write_text(json.dumps(calendar.authorized_user_info()))
        settings = parse_settings(
            {"google_calendar": {"token_file": str(token_file), "api_endpoint": calendar.calendar_url()}}
        )
        (result,) = check_sources(settings)
        (request,) = calendar.requests
    assert result.ok and result.detail == "calendar 'primary' can be read"
    assert request.path == "/calendar/v3/calendars/primary/events" and request.query["maxResults"] == ["1"]


def test_init_writes_to_the_platform_path_by_default(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--yes", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "xdg-config" / "brag-harvester" / "brag.toml"
    assert load_config(written).settings.user.timezone == "UTC"
    assert "Next: add a source" in result.output
    # and the other commands now find it
    assert runner.invoke(app, ["health"]).exit_code == 0


def test_an_existing_file_is_not_replaced_without_force(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    path.write_text('[user]\ntimezone = "UTC"\n')
    refused = runner.invoke(app, ["init", "--config", str(path), "--yes"])
    assert refused.exit_code == 2 and "already exists; pass --force" in refused.output
    assert path.read_text() == '[user]\ntimezone = "UTC"\n'
    kept = runner.invoke(app, ["init", "--config", str(path)], input="n\n")
    assert kept.exit_code == 2 and path.read_text() == '[user]\ntimezone = "UTC"\n'
    replaced = runner.invoke(app, ["init", "--config", str(path), "--yes", "--force", "--timezone", "Europe/Oslo"])
    assert replaced.exit_code == 0 and load_config(path).settings.user.timezone == "Europe/Oslo"


@pytest.mark.parametrize("value", ['quote " and \\ backslash', "line\nbreak", "tab\tand DEL \x7f", "Zürich ✓"])
def test_rendered_values_survive_toml(value: str) -> None:
    text = render_config(
        ConfigChoices(
            timezone="UTC",
            github=GitHubChoice(token="env:X", base_url=f"https://h/{value}"),
            jira=JiraChoice(server="https://j", email=value, token="env:Y"),
        )
    )
    data = tomllib.loads(text)
    assert data["github"]["base_url"] == f"https://h/{value}" and data["jira"]["email"] == value


def test_a_value_brag_would_refuse_writes_no_file(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    result = runner.invoke(app, ["init", "--config", str(path), "--yes", "--database-url", "mysql://u:SECRETPW@h/db"])
    assert result.exit_code == 2 and "[database] url" in result.output
    assert "SECRETPW" not in result.output and not path.exists()
