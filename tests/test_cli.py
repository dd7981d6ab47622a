"""The `brag` commands in-process, against the sandbox, with a real configuration file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_support import Seeded, open_context, seed
from review_support import config_file as review_config_file
from typer.testing import CliRunner

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.cli import app
from harvester.records import Activity
from harvester.store import repository

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


def test_demo_runs_offline_and_leaves_data_to_continue_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "15 new" in result.output and "0 new, 0 updated" in result.output
    kept = tmp_path / "data" / "brag-harvester" / "demo" / "brag.toml"
    assert f"brag --config {kept} review" in result.output
    config = ["--config", str(kept)]

    listed = runner.invoke(app, [*config, "candidates", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    pending = json.loads(listed.stdout)["candidates"]
    assert pending, "the demo's candidates are there to review"
    approved = runner.invoke(app, [*config, "approve", pending[0]["id"], "--impact", "Checkout errors halved"])
    assert approved.exit_code == 0, approved.output
    doc = runner.invoke(app, [*config, "doc"])
    assert doc.exit_code == 0 and "Checkout errors halved" in doc.stdout
    assert runner.invoke(app, [*config, "digest"]).exit_code == 0
    assert runner.invoke(app, [*config, "review"], input="q\n").exit_code == 0
    # its sandboxes are gone: harvesting says what to do instead of failing on a dead port
    harvest = runner.invoke(app, [*config, "harvest"])
    assert harvest.exit_code == 2 and "brag init" in harvest.output

    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 0, again.output
    fresh = runner.invoke(app, [*config, "doc"])
    assert "Checkout errors halved" not in fresh.stdout, "the next demo starts afresh"


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


@pytest.mark.parametrize(
    ("command", "args", "option", "message"),
    [
        ("harvest", ["--since", "2026-11-20", "--until", "2026-11-10"], "--until", "is not after --since 2026-11-20"),
        ("harvest", ["--since", "2026-11-20", "--until", "2026-11-20"], "--until", "is not after --since"),
        ("harvest", ["--since", "2999-01-01"], "--since", "2999-01-01 is in the future"),
        ("harvest", ["--until", "2999-01-01"], "--until", "leave it out to harvest up to now"),
        ("activities", ["--since", "2026-11-20", "--until", "2026-11-10"], "--until", "is not after --since"),
        ("activities", ["--since", "2999-01-01"], "--since", "is in the future"),
    ],
)
def test_inverted_or_future_windows_are_usage_errors(
    tmp_path: Path, github: GitHubSandbox, command: str, args: list[str], option: str, message: str
) -> None:
    result = runner.invoke(app, ["--config", str(config_file(tmp_path, github)), command, *args])
    assert result.exit_code == 2, result.output
    assert option in result.output and message in result.output
    assert github.requests == []


def test_activities_until_in_the_future_is_fine(tmp_path: Path, github: GitHubSandbox) -> None:
    result = runner.invoke(app, ["--config", str(config_file(tmp_path, github)), "activities", "--until", "2999-01-01"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine where brag was never set up: empty user config and data dirs (platformdirs reads XDG_*)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "config" / "brag-harvester" / "brag.toml"


@pytest.mark.parametrize(
    "args", [["candidates"], ["doc"], ["activities"], ["harvest"], ["review"], ["export", "--quarter", "2026Q4"]]
)
def test_without_a_configuration_commands_say_where_they_looked(
    no_config: Path, tmp_path: Path, args: list[str]
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    text = result.output.replace("\n", "")
    assert str(no_config) in text and "brag init" in text and "brag demo" in text
    assert not (tmp_path / "data").exists(), "no default database is created"


def test_health_without_a_configuration_is_not_ok(no_config: Path) -> None:
    result = runner.invoke(app, ["health"])
    assert result.exit_code == 1
    assert "not configured" in result.output and "ok" not in result.stdout


def test_cluster_and_help_need_no_configuration(no_config: Path) -> None:
    assert runner.invoke(app, ["--help"]).exit_code == 0
    record = {
        "id": "github:pr:octo/api#1",
        "source": "github",
        "kind": "pull_request",
        "title": "Add retries to the payment client",
        "occurred_at": "2026-11-03T14:02:11+00:00",
        "repo": "octo/api",
    }
    result = runner.invoke(app, ["cluster", "-"], input=json.dumps(record) + "\n")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["candidates"]) == 1


def test_cluster_on_unreadable_input_prints_nothing_to_stdout(no_config: Path) -> None:
    result = runner.invoke(app, ["cluster", "-"], input="not json\n{]\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "line 1: not valid JSON" in result.stderr


def test_missing_token_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n[github]\nreviews = false\n')
    result = runner.invoke(app, ["--config", str(path), "harvest"])
    assert result.exit_code == 2
    assert f"{path}: [github] token is required" in result.output.replace("\n", "")


def test_unknown_source_lists_the_sources(tmp_path: Path, github: GitHubSandbox) -> None:
    result = runner.invoke(app, ["--config", str(config_file(tmp_path, github)), "harvest", "--source", "gitlab"])
    assert result.exit_code == 2
    assert "unknown source 'gitlab'" in result.output and "github, google_calendar, jira" in result.output
    assert "add a [github] section" not in result.output


def test_a_known_source_not_configured_names_its_section(tmp_path: Path, github: GitHubSandbox) -> None:
    result = runner.invoke(app, ["--config", str(config_file(tmp_path, github)), "harvest", "--source", "jira"])
    assert result.exit_code == 2
    assert "source 'jira' is not configured; add a [jira] section" in result.output.replace("\n", "")


@pytest.fixture
def seeded_config(tmp_path: Path) -> tuple[str, Seeded]:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    context = open_context(url)
    return str(review_config_file(tmp_path, url)), seed(context.sessions, context.user_id)


def test_section_names_are_accepted_in_any_case(seeded_config: tuple[str, Seeded], tmp_path: Path) -> None:
    config, seeded = seeded_config
    args = ["--config", config, "approve", seeded.payments, "--section", "design &  DOCUMENTATION"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    context = open_context(f"sqlite:///{tmp_path / 'review.db'}")
    with context.sessions() as session:
        row = repository.candidate_by_public_id(session, context.user_id, seeded.payments)
        assert row is not None and row.section == "Design & documentation"
    wrong = runner.invoke(app, ["--config", config, "approve", seeded.payments, "--section", "proj"])
    assert wrong.exit_code == 1 and "Projects, Collaboration & mentorship" in wrong.output


def test_the_export_hint_for_missing_impact_is_a_command_that_adds_it(seeded_config: tuple[str, Seeded]) -> None:
    config, seeded = seeded_config
    assert runner.invoke(app, ["--config", config, "approve", seeded.payments]).exit_code == 0
    exported = runner.invoke(app, ["--config", config, "export", "--quarter", "2026Q4"])
    assert "1 entry has no impact yet**: add it with `brag approve ID --impact TEXT`" in exported.stdout
    added = runner.invoke(app, ["--config", config, "approve", seeded.payments, "--impact", "Failures 4% → 1%"])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["--config", config, "export", "--quarter", "2026Q4"])
    assert "no impact yet" not in again.stdout and "Failures 4% → 1%" in again.stdout
