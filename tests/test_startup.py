"""Commands that only describe themselves start without the heavy libraries.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("spacy", "github", "jira", "googleapiclient")

PROBE = """
import json, sys
from typer.testing import CliRunner
from harvester.cli import app
args = json.loads(sys.argv[1])
result = CliRunner().invoke(app, args) if args else None
print(json.dumps({
    "exit_code": result.exit_code if result else 0,
    "output": result.output if result else "",
    "heavy": sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[2]))),
}))
"""


def probe(*args: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_cli_imports_no_nlp_and_no_client_library() -> None:
    assert probe()["heavy"] == []


@pytest.mark.parametrize("command", [["--help"], ["candidates", "--help"], ["harvest", "--help"]])
def test_help_imports_no_nlp_and_no_client_library(command: list[str]) -> None:
    result = probe(*command)
    assert result["exit_code"] == 0 and "Usage" in str(result["output"])
    assert result["heavy"] == []


def test_schedule_imports_no_nlp_and_no_client_library(tmp_path: Path) -> None:
    config = tmp_path / "brag.toml"
    config.write_text(
        f'[user]\nname = "me"\ntimezone = "UTC"\n[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n'
        '[github]\ntoken = "ghp_x"\n[jira]\nserver = "https://acme.atlassian.net"\nemail = "me@acme.test"\n'
        'token = "t"\n[google_calendar]\n',
        encoding="utf-8",
    )
    result = probe("--config", str(config), "schedule")
    assert result["exit_code"] == 0 and "harvest" in str(result["output"])
    assert result["heavy"] == []
