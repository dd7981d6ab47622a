"""`brag demo --team`: two people sign in, connect their accounts, and each gets their own digest."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from harvester.cli import app

ADMIN_URL = os.environ.get("BRAG_TEST_POSTGRES_URL")


@pytest.mark.skipif(not ADMIN_URL, reason="team mode runs on PostgreSQL: set BRAG_TEST_POSTGRES_URL (CI does)")
def test_the_team_demo_signs_two_people_in_and_mails_each_their_own_digest() -> None:
    result = CliRunner().invoke(app, ["demo", "--team", "--postgres", str(ADMIN_URL)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    for person in ("ada@acme.example", "grace@acme.example"):
        assert f"{person}: signed in, connected github, google_calendar, jira" in out
        assert f"{person}: the " in out and "digest is sent" in out
    assert "Digests the SMTP server received: 2" in out
    assert "to Ada Lovelace <ada@acme.example>: Your wins for" in out
    assert "to Grace Hopper <grace@acme.example>: Your wins for" in out
    # the password of the URL given is never printed
    password = make_url(str(ADMIN_URL)).password
    assert password and password not in out


def test_the_team_demo_without_postgres_says_what_it_needs() -> None:
    result = CliRunner().invoke(app, ["demo", "--team"], env={"BRAG_DEMO_POSTGRES_URL": ""})
    assert result.exit_code == 2
    assert "--postgres" in result.output and "PostgreSQL" in result.output
