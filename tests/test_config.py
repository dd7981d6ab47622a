"""Configuration: where it is found, secrets, and errors that name the file, the key and the expectation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import keyring
import pytest
from support import MemoryKeyring

from harvester.config import NotConfiguredError, Settings, find_config_path, load_config, parse_settings, source_models
from harvester.errors import ConfigError
from harvester.secrets import Secret

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "brag.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(text)
    return path


def test_example_documents_every_setting() -> None:
    text = EXAMPLE.read_text()
    sections = {**Settings.model_fields, **source_models()}
    for section in sections:
        # a source that needs the user's own paths (git) is documented commented out
        assert re.search(rf"^(# )?\[{section}\]$", text, re.M), f"section [{section}] missing from {EXAMPLE.name}"
    for section, model in sections.items():
        block = re.split(r"^(?:# )?\[[a-z_]+\]$", text.split(f"[{section}]\n", 1)[1], maxsplit=1, flags=re.M)[0]
        fields = model.model_fields if isinstance(model, type) else _section_model(model.annotation).model_fields
        for name, info in fields.items():
            key = info.alias or name  # `from` is a Python keyword, so [email] from is the alias of from_
            assert re.search(rf"^(# )?{key} =", block, re.M), f"[{section}] {key} missing from {EXAMPLE.name}"


def _section_model(annotation: Any) -> Any:
    return (
        annotation
        if hasattr(annotation, "model_fields")
        else next(a for a in annotation.__args__ if a is not type(None))
    )


def test_example_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_config(EXAMPLE).settings
    assert settings.source("github") is not None and settings.source("github").base_url == "https://api.github.com"
    assert settings.user.timezone == "Europe/Berlin"


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "explicit.toml"
    monkeypatch.setenv("BRAG_CONFIG", str(tmp_path / "from-env.toml"))
    assert find_config_path(explicit) == (explicit, True)
    assert find_config_path(None) == (tmp_path / "from-env.toml", True)
    monkeypatch.delenv("BRAG_CONFIG")
    path, required = find_config_path(None)
    assert path.name == "brag.toml" and "brag-harvester" in str(path) and not required


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml")


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[github]\ntoken = "x"\nbase_ur = "https://api.github.com"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and "[github] base_ur" in message and "unknown key" in message


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gitlab: unknown key"):
        load_config(write(tmp_path, "[gitlab]\ntoken = 'x'\n"))


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[user]\ntimezone = "Mars/Olympus"\n', "[user] timezone", "IANA timezone"),
        ('[database]\nurl = "mysql://x"\n', "[database] url", "sqlite:///PATH"),
        ('[github]\ntoken = "t"\nbase_url = "api.github.com"\n', "[github] base_url", "http(s) URL"),
        ('[github]\ntoken = "t"\ntimeout = "soon"\n', "[github] timeout", "valid integer"),
    ],
)
def test_invalid_values_say_what_is_expected(tmp_path: Path, text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert key in str(caught.value) and expected in str(caught.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[github\n")
    with pytest.raises(ConfigError, match="is not valid TOML") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings({"github": {"token": "env:MY_GH_TOKEN"}})
    assert settings.source("github") is not None and settings.source("github").token is not None
    monkeypatch.setenv("MY_GH_TOKEN", "ghp_secret_value")
    assert settings.source("github").token.reveal() == "ghp_secret_value"
    monkeypatch.delenv("MY_GH_TOKEN")
    with pytest.raises(ConfigError) as caught:
        settings.source("github").token.reveal()
    assert "MY_GH_TOKEN" in str(caught.value) and "[github.token]" in str(caught.value)


def test_inline_secret_never_shows() -> None:
    settings = parse_settings({"github": {"token": "ghp_inline_secret"}})
    assert "ghp_inline_secret" not in repr(settings)
    assert "ghp_inline_secret" not in str(settings.source("github"))
    assert settings.source("github") is not None and settings.source("github").token is not None
    assert settings.source("github").token.reveal() == "ghp_inline_secret"


def test_invalid_secret_value_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "[github]\ntoken = 12345678\n"))
    assert "12345678" not in str(caught.value) and "[github] token" in str(caught.value)


def test_secret_from_keyring() -> None:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        backend.set_password("brag-harvester", "github.token", "from-keyring")
        backend.set_password("corp", "gh", "named-entry")
        settings = parse_settings({"github": {"token": "keyring:"}})
        assert settings.source("github") is not None and settings.source("github").token is not None
        assert settings.source("github").token.reveal() == "from-keyring"
        assert Secret("keyring:corp/gh").reveal() == "named-entry"
        with pytest.raises(ConfigError, match="keyring set brag-harvester nothing"):
            Secret("keyring:brag-harvester/nothing").reveal()
    finally:
        keyring.set_keyring(previous)


def test_database_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[database]\nurl = "env:BRAG_TEST_DB"\n')
    monkeypatch.setenv("BRAG_TEST_DB", f"sqlite:///{tmp_path / 'x.db'}")
    assert load_config(path).database_url() == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.delenv("BRAG_TEST_DB")
    with pytest.raises(ConfigError, match="BRAG_TEST_DB"):
        load_config(path).database_url()


SECRET = "SECRETPW-4711"


@pytest.mark.parametrize(
    "text",
    [
        f'[github]\ntoken = ["{SECRET}"]\n',
        f'[github]\ntoken = {{ reference = "{SECRET}" }}\n',
        f'[jira]\nserver = "https://acme.atlassian.net"\npat = ["{SECRET}"]\n',
        f'[jira]\nserver = "https://acme.atlassian.net"\nemail = "me@acme.com"\ntoken = {{ a = "{SECRET}" }}\n',
        f'[email]\nto = "me@acme.com"\nfrom = "me@acme.com"\nsmtp_password = ["{SECRET}"]\n',
        f'github = "{SECRET}"\n',
        f'[database]\nurl = "mysql://u:{SECRET}@h/db"\n',
        f'[database]\nurl = ["postgresql://u:{SECRET}@h/db"]\n',
        f'[web]\nbase_url = "ftp://u:{SECRET}@h/"\n',
    ],
)
def test_no_secret_is_echoed_whatever_its_type(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert "invalid configuration" in message
    assert SECRET not in message


def test_a_secret_of_the_wrong_type_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[jira]\nserver = "https://x.atlassian.net"\npat = 42\n'))
    expected = '[jira] pat: expected a string: the secret itself, "env:NAME", "file:PATH" or "keyring:"'
    assert expected in str(caught.value)


def test_a_url_keeps_everything_but_its_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, f'[database]\nurl = "mysql://u:{SECRET}@h/db"\n'))
    assert "(got 'mysql://u:***@h/db')" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        (
            '[githb]\ntoken = "x"\n',
            "githb: unknown key (check the spelling against config/brag.example.toml); did you mean 'github'?",
        ),
        ('[github]\ntokn = "x"\n', "[github] tokn: unknown key"),
        ('[github]\ntokn = "x"\n', "did you mean 'token'?"),
        ('[email]\nto = "a@b.c"\nfrm = "a@b.c"\n', "did you mean 'from'?"),
    ],
)
def test_a_mistyped_key_suggests_the_right_one(tmp_path: Path, text: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert suggestion in str(caught.value)


def test_a_key_unlike_any_other_gets_no_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[github]\nzzzz = "x"\n'))
    assert "did you mean" not in str(caught.value)


def test_a_file_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    path.write_bytes('[user]\nname = "J\u00fcrgen"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: is not UTF-8 text (line 2 is not); save it as UTF-8"


def test_no_file_anywhere_is_not_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    monkeypatch.setattr("harvester.config.default_config_path", lambda: tmp_path / "brag.toml")
    with pytest.raises(NotConfiguredError) as caught:
        load_config()
    assert str(tmp_path / "brag.toml") in str(caught.value) and "brag init" in str(caught.value)
    assert load_config(missing_ok=True).path is None


def test_without_a_keyring_the_error_says_what_to_do() -> None:
    from keyring.backends.fail import Keyring as NoKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        settings = parse_settings({"github": {"token": "keyring:"}})
        assert settings.source("github") is not None and settings.source("github").token is not None
        with pytest.raises(ConfigError) as caught:
            settings.source("github").token.reveal()
    finally:
        keyring.set_keyring(previous)
    message = str(caught.value)
    assert "[github.token]" in message and "NoKeyringError" in message
    assert "env:GITHUB_TOKEN" in message and "keyrings.alt" in message


def test_email_max_items_defaults_to_seven_and_must_be_at_least_one(tmp_path: Path) -> None:
    email = '[email]\nto = "me@acme.com"\nfrom = "brag@acme.com"\n'
    settings = load_config(write(tmp_path, email)).settings
    assert settings.email is not None and settings.email.max_items == 7
    assert load_config(write(tmp_path, email + "max_items = 3\n")).settings.email.max_items == 3  # type: ignore[union-attr]
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, email + "max_items = 0\n"))
    assert "[email] max_items" in str(caught.value)
