"""The `brag` commands in-process, against the sandbox, with a real configuration file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harvester.cli import app
from harvester.records import Activity
from harvester.sandbox.github import DEFAULT_TOKEN, GitHubSandbox

runner = CliRunner()


def config_file(tmp_path: Path, github: GitHubSandbox, token: str = "env:TEST_GITHUB_TOKEN") -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n'
        f'[user]\ntimezone = "Europe/Berlin"\n'
        f'[github]\ntoken = "{token}"\nbase_url = "{github.base_url}"\n'
    )
    return path


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GITHUB_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("BRAG_CONFIG", raising=False)


def test_harvest_then_list_as_jsonl(tmp_path: Path, github: GitHubSandbox) -> None:
    config = str(config_file(tmp_path, github))
    result = runner.invoke(app, ["--config", config, "harvest", "--since", "2026-10-23", "--until", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "github" in result.output and "ok" in result.output
    (query,) = [r.query["q"][0] for r in github.requests if r.path == "/search/issues"]
    # dates are read in the user's timezone: midnight in Berlin is 23:00 UTC the day before
    assert query.endswith("merged:2026-10-22T22:00:00Z..2026-11-19T22:59:59Z")

    listed = runner.invoke(app, ["--config", config, "activities", "--format", "jsonl"])
    assert listed.exit_code == 0
    records = [Activity.from_json(json.loads(line)) for line in listed.stdout.splitlines()]
    assert len(records) == 15
    assert {r.kind for r in records} == {"pull_request", "review"}
    assert records == sorted(records, key=lambda r: (r.occurred_at, r.id))


def test_second_harvest_reports_unchanged(tmp_path: Path, github: GitHubSandbox) -> None:
    config = str(config_file(tmp_path, github))
    args = ["--config", config, "harvest", "--since", "2026-10-23", "--until", "2026-11-20"]
    runner.invoke(app, args)
    github.clear_log()
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    row = next(line for line in again.output.splitlines() if line.startswith("│ github"))
    assert [cell.strip() for cell in row.split("│")[3:6]] == ["0", "0", "15"]
    assert len(github.requests) == 3


def test_bad_token_exits_non_zero_and_names_the_fix(tmp_path: Path, github: GitHubSandbox) -> None:
    config = str(config_file(tmp_path, github, token="revoked-token"))
    result = runner.invoke(app, ["--config", config, "harvest"])
    assert result.exit_code == 1
    assert "invalid or expired" in result.output and "[github] token" in result.output
    assert "revoked-token" not in result.output


def test_invalid_config_exits_2_with_one_message(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    path.write_text('[user]\ntimezone = "Berlin"\n')
    result = runner.invoke(app, ["--config", str(path), "activities"])
    assert result.exit_code == 2
    assert str(path) in result.output.replace("\n", "") and "[user] timezone" in result.output


def test_missing_env_secret_names_the_variable(
    tmp_path: Path, github: GitHubSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_GITHUB_TOKEN")
    result = runner.invoke(app, ["--config", str(config_file(tmp_path, github)), "harvest"])
    assert result.exit_code != 0
    assert "TEST_GITHUB_TOKEN" in result.output


def test_bad_since_is_a_usage_error(tmp_path: Path, github: GitHubSandbox) -> None:
    result = runner.invoke(app, ["--config", str(config_file(tmp_path, github)), "harvest", "--since", "last week"])
    assert result.exit_code == 2 and "--since" in result.output


def test_demo_runs_offline() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "15 new" in result.output and "0 new, 0 updated" in result.output


def test_harvested_markup_is_printed_literally(tmp_path: Path, github: GitHubSandbox) -> None:
    github.scenario.pull_requests[0].title = "[bold red]PAY-12[/] <script>alert(1)</script>"
    config = str(config_file(tmp_path, github))
    runner.invoke(app, ["--config", config, "harvest", "--since", "2026-10-23", "--until", "2026-11-20"])
    listed = runner.invoke(app, ["--config", config, "activities"], env={"COLUMNS": "200"})
    assert "[bold red]PAY-12[/] <script>alert(1)</script>" in listed.output


def test_every_command_is_documented_in_the_readme() -> None:
    import typer.main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    group = typer.main.get_group(app)
    names = sorted(group.commands)
    assert names, "no commands registered"
    missing = [name for name in names if f"brag {name}" not in readme]
    assert missing == [], f"commands missing from README.md: {missing}"
