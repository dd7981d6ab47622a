"""`brag team` in-process against real PostgreSQL and a local OpenID discovery endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import team_support
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker
from team_support import Discovery, needs_postgres, seed_everything, sign_in, team_config
from typer.testing import CliRunner

from harvester.cli import app
from harvester.store import accounts
from harvester.store.engine import SCHEMA_HEAD
from harvester.team.vault import Vault, new_key

team_url, team_sessions = team_support.team_url, team_support.team_sessions
runner = CliRunner()
KEY = new_key()


def brag(config: Path, *args: str, key: str | None = KEY, input: str | None = None) -> tuple[int, str]:
    env = {"BRAG_TEAM_KEY": key} if key is not None else {}
    result = runner.invoke(app, ["--config", str(config), *args], env=env, input=input)
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAG_TEAM_KEY", raising=False)
    monkeypatch.delenv("BRAG_CONFIG", raising=False)


@pytest.mark.parametrize(
    "command", [["init"], ["users"], ["users", "--delete", "x", "--yes"], ["health"], ["rotate-key"]]
)
def test_every_team_command_without_a_team_section_says_to_add_one(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "brag.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n')
    code, output = brag(config, "team", *command)
    # health exits 1 as `brag health` does: Docker reserves a healthcheck's exit code 2
    assert code == (1 if command == ["health"] else 2)
    (line,) = output.strip().splitlines()
    assert line == (
        f"configuration error: {config}: has no [team] section: add one (with encryption_key and oidc_issuer or "
        "github_sign_in, see docs/team.md) to use `brag team`"
    )
    assert not (tmp_path / "brag.db").exists()


def test_init_on_sqlite_fails_the_database_check(tmp_path: Path) -> None:
    config = team_config(
        tmp_path / "brag.toml",
        f"sqlite:///{tmp_path / 'brag.db'}",
        github_sign_in=True,
        encryption_key="env:BRAG_TEAM_KEY",
    )
    code, output = brag(config, "team", "init")
    assert code == 1
    assert "failed database:" in output and "team mode runs on PostgreSQL only" in output
    assert "ok     sign-in: GitHub is the identity" in output and "ok     encryption key" in output


def test_init_fails_a_key_written_into_the_configuration_file(tmp_path: Path) -> None:
    key = new_key()
    config = team_config(tmp_path / "brag.toml", "sqlite:///x.db", github_sign_in=True, encryption_key=key)
    code, output = brag(config, "team", "init")
    assert code == 1
    assert "failed encryption key: [team] encryption_key is written into the configuration file itself" in output
    assert "env:NAME" in output and key not in output


def test_a_team_section_without_a_key_gets_a_fresh_one_to_store(tmp_path: Path) -> None:
    config = team_config(tmp_path / "brag.toml", "sqlite:///x.db", github_sign_in=True)
    code, output = brag(config, "team", "init")
    assert code == 2
    assert "[team] encryption_key: required key is missing" in output
    Fernet(_printed_key(output))


def _printed_key(output: str) -> str:
    lines = output.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("a new key, to store where [team] encryption_key")]
    return lines[at + 1].strip()


@pytest.mark.postgres
@needs_postgres
class TestOnPostgres:
    def test_init_migrates_and_checks_the_discovery_document_and_the_key(self, tmp_path: Path, team_url: str) -> None:
        with Discovery() as provider:
            config = team_config(
                tmp_path / "brag.toml",
                team_url,
                oidc_issuer=provider.issuer,
                oidc_client_id="brag",
                oidc_client_secret="env:BRAG_TEAM_KEY",
                encryption_key="env:BRAG_TEAM_KEY",
            )
            code, output = brag(config, "team", "init")
            again_code, again = brag(config, "team", "init")
        assert code == 0, output
        assert provider.requests == ["/.well-known/openid-configuration"] * 2
        assert f"PostgreSQL, schema {SCHEMA_HEAD} (migrated now)" in output
        assert "discovery names the authorization, token, JWKS and userinfo endpoints" in output
        assert "team mode is ready" in output and KEY not in output
        assert again_code == 0 and "(migrated now)" not in again and f"PostgreSQL, schema {SCHEMA_HEAD}" in again

    @pytest.mark.parametrize(
        ("document", "status", "expected"),
        [
            (
                {"issuer": "ISSUER", "authorization_endpoint": "a", "token_endpoint": "t", "userinfo_endpoint": "u"},
                200,
                "does not name jwks_uri",
            ),
            ({}, 404, "answered HTTP 404"),
            (
                {
                    "issuer": "https://elsewhere",
                    "authorization_endpoint": "a",
                    "token_endpoint": "t",
                    "jwks_uri": "j",
                    "userinfo_endpoint": "u",
                },
                200,
                "says its issuer is 'https://elsewhere'",
            ),
        ],
        ids=["no-jwks", "not-found", "wrong-issuer"],
    )
    def test_init_fails_on_a_discovery_document_the_sign_in_cannot_use(
        self, tmp_path: Path, team_url: str, document: dict[str, str], status: int, expected: str
    ) -> None:
        with Discovery(document, status) as provider:
            if document.get("issuer") == "ISSUER":
                document["issuer"] = provider.issuer
            config = team_config(
                tmp_path / "brag.toml",
                team_url,
                oidc_issuer=provider.issuer,
                oidc_client_id="brag",
                oidc_client_secret="s3cret",
                encryption_key="env:BRAG_TEAM_KEY",
            )
            code, output = brag(config, "team", "init")
        assert code == 1
        assert "failed sign-in:" in output and expected in output
        assert "fix: check [team] oidc_issuer" in output
        assert "ok     database" in output and "s3cret" not in output

    def test_init_with_an_unreachable_provider_and_no_key_fails_both_and_prints_a_key(
        self, tmp_path: Path, team_url: str
    ) -> None:
        with Discovery() as provider:
            issuer = provider.issuer  # closed when the block ends: nothing listens there
        config = team_config(
            tmp_path / "brag.toml",
            team_url,
            oidc_issuer=issuer,
            oidc_client_id="brag",
            oidc_client_secret="x",
            encryption_key="env:BRAG_TEAM_KEY",
        )
        code, output = brag(config, "team", "init", key=None)
        assert code == 1
        assert f"failed sign-in: cannot fetch {issuer}/.well-known/openid-configuration: ConnectionError" in output
        assert "failed encryption key:" in output and "BRAG_TEAM_KEY" in output
        Fernet(_printed_key(output))

    def test_users_lists_disables_enables_and_deletes(
        self, tmp_path: Path, team_url: str, team_sessions: sessionmaker[Session]
    ) -> None:
        vault = Vault([KEY])
        with team_sessions.begin() as session:
            ana, ben = sign_in(session, "ana"), sign_in(session, "ben")
            seed_everything(session, ana, vault, "ana-token")
            accounts.save_grant(session, ben, "github", vault, {"access_token": "b"}, [], "ben")
            accounts.mark_reconnect(session, ben, "github", "revoked")
        config = team_config(tmp_path / "brag.toml", team_url, github_sign_in=True, encryption_key="env:BRAG_TEAM_KEY")

        code, output = brag(config, "team", "users", "--format", "json")
        assert code == 0, output
        assert [(u["name"], u["email"], u["disabled_at"], u["sources"]) for u in json.loads(output)] == [
            ("ana@acme.test", "ana@acme.test", None, {"github": "connected", "jira": "connected"}),
            ("ben@acme.test", "ben@acme.test", None, {"github": "reconnect"}),
        ]
        code, output = brag(config, "team", "users")
        assert code == 0 and output.startswith("2 users")
        (ana_row,) = [line for line in output.splitlines() if "ana@acme.test" in line]
        (ben_row,) = [line for line in output.splitlines() if "ben@acme.test" in line]
        assert "github: connected" in ana_row and "jira: connected" in output and "github: reconnect" in ben_row

        assert brag(config, "team", "users", "--disable", "ben@acme.test")[0] == 0
        listed = json.loads(brag(config, "team", "users", "--format", "json")[1])
        assert listed[1]["disabled_at"] is not None and listed[0]["disabled_at"] is None
        assert brag(config, "team", "users", "--enable", "ben@acme.test")[0] == 0
        assert json.loads(brag(config, "team", "users", "--format", "json")[1])[1]["disabled_at"] is None

        code, output = brag(config, "team", "users", "--delete", "ana@acme.test", input="n\n")
        assert code == 1 and "cannot be undone" in output
        assert len(json.loads(brag(config, "team", "users", "--format", "json")[1])) == 2
        code, output = brag(config, "team", "users", "--delete", "ana@acme.test", "--yes")
        assert code == 0 and "ana@acme.test deleted, with 12 rows of theirs" in output
        assert [u["name"] for u in json.loads(brag(config, "team", "users", "--format", "json")[1])] == [
            "ben@acme.test"
        ]

        code, output = brag(config, "team", "users", "--disable", "nobody")
        assert code == 1 and "no user named 'nobody'" in output

    def test_health_counts_and_fails_when_the_key_opens_no_grant(
        self, tmp_path: Path, team_url: str, team_sessions: sessionmaker[Session]
    ) -> None:
        with team_sessions.begin() as session:
            ana, ben = sign_in(session, "ana"), sign_in(session, "ben")
            accounts.save_grant(session, ana, "github", Vault([KEY]), {"access_token": "a"}, [], None)
            accounts.save_grant(session, ben, "jira", Vault([KEY]), {"access_token": "b"}, [], None)
            accounts.mark_reconnect(session, ben, "jira", "401")
            accounts.set_disabled(session, ben, session.get(accounts.User, ben).created_at)  # type: ignore[attr-defined,union-attr]
        config = team_config(tmp_path / "brag.toml", team_url, github_sign_in=True, encryption_key="env:BRAG_TEAM_KEY")
        code, output = brag(config, "team", "health", "--format", "json")
        assert code == 0, output
        report = json.loads(output)
        assert report["healthy"] is True
        assert (report["users"], report["disabled"], report["grants"], report["reconnect"]) == (2, 1, 2, 1)

        code, output = brag(config, "team", "health", "--format", "json", key=new_key())
        assert code == 1
        (grants,) = [check for check in json.loads(output)["checks"] if check["name"] == "grants"]
        assert grants["ok"] is False and "ana@acme.test/github, ben@acme.test/jira" in grants["detail"]

    def test_health_fails_when_the_database_is_unreachable(self, tmp_path: Path) -> None:
        url = "postgresql+psycopg://brag:pw@127.0.0.1:1/brag"
        config = team_config(tmp_path / "brag.toml", url, github_sign_in=True, encryption_key="env:BRAG_TEAM_KEY")
        code, output = brag(config, "team", "health")
        assert code == 1
        assert "failed database: postgresql+psycopg://brag:***@127.0.0.1:1/brag:" in output and ":pw@" not in output

    def test_rotating_the_key(self, tmp_path: Path, team_url: str, team_sessions: sessionmaker[Session]) -> None:
        old, new = KEY, new_key()
        with team_sessions.begin() as session:
            for who in ("ana", "ben"):
                accounts.save_grant(
                    session, sign_in(session, who), "github", Vault([old]), {"access_token": who}, [], None
                )
        config = team_config(tmp_path / "brag.toml", team_url, github_sign_in=True, encryption_key="env:BRAG_TEAM_KEY")
        # the new key first, the old one after it: everything still opens before the rotation
        assert brag(config, "team", "health", key=f"{new},{old}")[0] == 0
        assert brag(config, "team", "health", key=new)[0] == 1

        code, output = brag(config, "team", "rotate-key", key=f"{new},{old}")
        assert code == 0, output
        assert "2 grants re-sealed with the first key" in output and "now remove the older key(s)" in output

        # the operator drops the old key: the new one alone opens every grant
        assert brag(config, "team", "health", key=new)[0] == 0
        assert brag(config, "team", "health", key=old)[0] == 1
        with team_sessions() as session:
            ana = accounts.user_id_by_name(session, "ana@acme.test")
            assert ana is not None
            assert accounts.grant_for(session, ana, "github", Vault([new])) == {"access_token": "ana"}

    def test_rotating_with_a_key_list_missing_the_old_key_changes_nothing(
        self, tmp_path: Path, team_url: str, team_sessions: sessionmaker[Session]
    ) -> None:
        with team_sessions.begin() as session:
            accounts.save_grant(
                session, sign_in(session, "ana"), "github", Vault([KEY]), {"access_token": "a"}, [], None
            )
        config = team_config(tmp_path / "brag.toml", team_url, github_sign_in=True, encryption_key="env:BRAG_TEAM_KEY")
        code, output = brag(config, "team", "rotate-key", key=new_key())
        assert code == 2 and "Put that key back" in output
        assert brag(config, "team", "health")[0] == 0


def test_brag_harvest_in_team_mode_says_members_are_harvested_by_the_workers(tmp_path: Path) -> None:
    config = team_config(
        tmp_path / "brag.toml",
        f"sqlite:///{tmp_path / 'brag.db'}",
        github_sign_in=True,
        encryption_key="env:BRAG_TEAM_KEY",
    )
    code, output = brag(config, "harvest")
    assert code == 2 and "by `brag worker`" in output
