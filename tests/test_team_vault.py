"""Grants at rest: sealed with Fernet under the configured keys, never readable in the database,
the logs, a repr or an error message; keys come from env:, file: or keyring:."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import team_support
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker
from team_support import every_text_and_bytes_value, needs_postgres, seed_everything, sign_in
from typer.testing import CliRunner

from harvester.cli import app
from harvester.config import parse_settings
from harvester.errors import ConfigError
from harvester.secrets import Secret
from harvester.store import accounts
from harvester.team.vault import Vault, new_key

team_url, team_sessions = team_support.team_url, team_support.team_sessions

TOKEN = "gho_PlainTextAccessToken1234567890"


def test_a_sealed_grant_opens_to_what_was_sealed_and_does_not_contain_it() -> None:
    vault = Vault([new_key()])
    grant = {"access_token": TOKEN, "refresh_token": "r-" + TOKEN, "expires_at": 1_790_000_000}
    sealed = vault.seal(grant)
    assert TOKEN.encode() not in sealed
    assert vault.open(sealed) == grant


def test_the_vault_and_its_errors_never_show_a_key() -> None:
    key = new_key()
    vault = Vault([key, new_key()])
    assert key not in repr(vault) and key not in str(vault)
    assert repr(vault) == "Vault(2 keys)"
    with pytest.raises(ConfigError) as caught:
        Vault([key[:-4] + "!!!!"], path=Path("/etc/brag/brag.toml"))
    message = str(caught.value)
    assert key[:20] not in message
    assert "/etc/brag/brag.toml" in message and "[team] encryption_key" in message
    assert "brag team init" in message and "Fernet.generate_key()" in message


def test_a_bad_second_key_is_named_by_its_position() -> None:
    with pytest.raises(ConfigError, match="key 2 of 2 is not a Fernet key"):
        Vault([new_key(), "not-a-key"])


def test_keys_are_read_newest_first_from_a_comma_separated_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = new_key(), new_key()
    sealed_by_old = Fernet(old.encode()).encrypt(b'{"access_token": "t"}')
    monkeypatch.setenv("BRAG_TEST_KEYS", f"{new}, {old},")
    vault = Vault.from_secret(Secret("env:BRAG_TEST_KEYS", key="team.encryption_key"))
    assert vault.key_count == 2
    assert vault.open(sealed_by_old) == {"access_token": "t"}
    # sealing uses the first key only: the new key alone opens what is sealed now
    assert Vault([new]).open(vault.seal({"a": 1})) == {"a": 1}
    with pytest.raises(ConfigError):
        Vault([old]).open(vault.seal({"a": 1}))


def test_reseal_moves_a_grant_to_the_newest_key() -> None:
    old, new = new_key(), new_key()
    sealed = Vault([old]).seal({"access_token": TOKEN})
    resealed = Vault([new, old]).reseal(sealed)
    assert Vault([new]).open(resealed) == {"access_token": TOKEN}


def test_a_grant_no_key_opens_says_what_to_do_without_any_secret() -> None:
    sealed = Vault([new_key()]).seal({"access_token": TOKEN})
    other = new_key()
    with pytest.raises(ConfigError) as caught:
        Vault([other], path=Path("brag.toml")).open(sealed)
    message = str(caught.value)
    assert "[team] encryption_key" in message and "Put that key back" in message
    assert TOKEN not in message and other not in message


def test_a_missing_key_names_the_setting_the_variable_and_how_to_make_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAG_NO_SUCH_KEY", raising=False)
    settings = parse_settings({"team": {"github_sign_in": True, "encryption_key": "env:BRAG_NO_SUCH_KEY"}})
    assert settings.team is not None
    with pytest.raises(ConfigError) as caught:
        Vault.from_secret(settings.team.encryption_key, path=Path("/srv/brag.toml"))
    message = str(caught.value)
    assert message.startswith("/srv/brag.toml: [team.encryption_key]")
    assert "BRAG_NO_SUCH_KEY" in message and "brag team init" in message


def test_a_file_secret_is_read_without_its_final_line_break(tmp_path: Path) -> None:
    key = new_key()
    (tmp_path / "key").write_text(key + "\n", encoding="utf-8")
    secret = Secret(f"file:{tmp_path / 'key'}", key="team.encryption_key")
    assert secret.reveal() == key
    assert repr(secret) == f"Secret('file:{tmp_path / 'key'}')" and key not in repr(secret)
    assert Vault.from_secret(secret).key_count == 1


def test_a_file_secret_in_the_configuration_gets_its_key_name(tmp_path: Path) -> None:
    settings = parse_settings({"team": {"github_sign_in": True, "encryption_key": f"file:{tmp_path / 'absent'}"}})
    assert settings.team is not None
    with pytest.raises(ConfigError) as caught:
        settings.team.encryption_key.reveal()
    assert str(caught.value) == (
        f"[team.encryption_key] expects the file {tmp_path / 'absent'} to hold the secret, but there is no such file"
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda path: path.mkdir(), "is a directory"),
        (lambda path: path.write_text("\n"), "is empty"),
        (lambda path: path.write_bytes(b"\xff\xfe"), "is not UTF-8 text"),
    ],
    ids=["directory", "empty", "binary"],
)
def test_an_unusable_file_secret_says_which_file_and_why(tmp_path: Path, make: object, expected: str) -> None:
    path = tmp_path / "key"
    make(path)  # type: ignore[operator]
    with pytest.raises(ConfigError) as caught:
        Secret(f"file:{path}", key="team.encryption_key").reveal()
    assert "[team.encryption_key]" in str(caught.value) and str(path) in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file; permissions cannot refuse it")
def test_an_unreadable_file_secret_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(new_key())
    path.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        Secret(f"file:{path}", key="team.encryption_key").reveal()


@pytest.mark.postgres
@needs_postgres
def test_no_token_is_in_the_database_nor_in_the_logs(
    team_sessions: sessionmaker[Session], team_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_key()
    vault = Vault([key])
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy's statement log would show bound values if the engine let it
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    tokens = [f"{TOKEN}-ana", f"{TOKEN}-ben"]
    with team_sessions.begin() as session:
        for who, token in zip(("ana", "ben"), tokens, strict=True):
            seed_everything(session, sign_in(session, who), vault, token)
    with team_sessions.begin() as session:
        ana = accounts.user_id_by_name(session, "ana@acme.test")
        assert ana is not None
        accounts.mark_reconnect(session, ana, "github", "GitHub answered 401 Bad credentials")
        assert accounts.grant_for(session, ana, "jira", vault) == {"access_token": f"{TOKEN}-ana-jira", "cloudid": "c1"}

    # and the operator's commands, which read every grant
    config = tmp_path / "brag.toml"
    config.write_text(f'[database]\nurl = "{team_url}"\n[team]\ngithub_sign_in = true\nencryption_key = "env:K"\n')
    for command in (["team", "health"], ["team", "users"], ["team", "rotate-key"], ["team", "health"]):
        result = CliRunner().invoke(app, ["--config", str(config), *command], env={"K": key})
        assert result.exit_code == 0, result.output
        assert all(token not in result.output for token in tokens) and key not in result.output

    dump = every_text_and_bytes_value(team_sessions)
    assert len(dump) > 40  # the seeded rows were read
    for token in tokens:
        assert not [value for value in dump if token.encode() in value], f"{token} is stored in the clear"
    assert not [value for value in dump if key.encode() in value], "the encryption key is stored"
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "grants" in caplog.text  # the statement log was captured
    assert all(token not in logged for token in tokens) and key not in logged
