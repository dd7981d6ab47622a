"""A source installed from outside the core brings its own section of brag.toml and its connector."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from harvester.config import SecretSetting, Section, load_config
from harvester.errors import ConfigError
from harvester.sources import Batch, Cursor, SourcePlugin, configured_connectors, discovery
from harvester.timeutil import Window


class BoardSettings(Section):
    """What a third-party "board" source would declare for its `[board]` section."""

    url: str
    columns: list[str] = Field(default_factory=lambda: ["Done"], min_length=1)
    token: SecretSetting | None = None


class BoardConnector:
    name: ClassVar[str] = "board"
    cursor_overlap: ClassVar[timedelta] = timedelta(0)

    def __init__(self, url: str, columns: list[str]) -> None:
        self.url = url
        self.columns = columns

    @classmethod
    def from_settings(cls, section: BoardSettings) -> BoardConnector:
        return cls(section.url, section.columns)

    def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
        yield Batch()


BOARD = SourcePlugin(name="board", settings=BoardSettings, connector=f"{__name__}:BoardConnector")


@pytest.fixture
def with_board(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = dict(discovery.available_sources())
    monkeypatch.setattr(discovery, "available_sources", lambda: {**installed, "board": BOARD})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_built_in_sources_are_found_through_their_entry_points() -> None:
    assert {"github", "jira", "google_calendar", "git"} <= set(discovery.available_sources())


def test_without_package_metadata_the_connector_packages_are_the_sources() -> None:
    assert {"github", "jira", "google_calendar", "git"} <= set(discovery.builtin_sources())


@pytest.mark.usefixtures("with_board")
def test_a_plugin_section_is_validated_by_the_plugin_model_and_builds_its_connector(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[board]\nurl = "https://board.example"\ncolumns = ["Shipped"]\n'))
    section = config.settings.source("board")
    assert isinstance(section, BoardSettings) and section.columns == ["Shipped"]
    (connector,) = configured_connectors(config.settings)
    assert isinstance(connector, BoardConnector) and connector.url == "https://board.example"


@pytest.mark.usefixtures("with_board")
def test_a_mistake_in_a_plugin_section_names_the_file_the_section_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[board]\nurl = "https://board.example"\ncolumn = ["Shipped"]\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message and "[board] column: unknown key" in message and "did you mean 'columns'?" in message


@pytest.mark.usefixtures("with_board")
def test_a_plugin_section_missing_a_required_key_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[board\] url: required key is missing"):
        load_config(write(tmp_path, '[board]\ncolumns = ["Shipped"]\n'))


@pytest.mark.usefixtures("with_board")
def test_a_plugin_secret_is_named_and_never_echoed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[board]\nurl = "https://b.example"\ntoken = "board-secret-value"\n'))
    token = config.settings.source("board").token
    assert token is not None and token.key == "board.token" and "board-secret-value" not in repr(token)
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, '[board]\nurl = "https://b.example"\ntoken = ["board-secret-value"]\n'))
    assert "[board] token" in str(raised.value) and "board-secret-value" not in str(raised.value)


def test_a_section_no_source_claims_is_an_error_naming_the_file_and_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[board]\nurl = "https://board.example"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value) and "board: unknown key" in str(raised.value)


def test_a_misspelt_source_section_suggests_the_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'google_calendar'"):
        load_config(write(tmp_path, "[google_calender]\n"))


def test_errors_in_core_and_source_sections_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, '[user]\ntimezone = "Mars/Olympus"\n[github]\nbase_url = "ftp://x"\n'))
    assert "[user] timezone" in str(raised.value) and "[github] base_url" in str(raised.value)


def test_a_plugin_that_cannot_be_loaded_is_left_out_and_the_others_stay(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    targets = {**discovery.builtin_sources(), "broken": "no_such_module_anywhere:SOURCE"}

    class Entry:
        def __init__(self, name: str, value: str) -> None:
            self.name, self.value = name, value

    monkeypatch.setattr(discovery, "entry_points", lambda group: [Entry(n, v) for n, v in targets.items()])
    discovery.available_sources.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            found = discovery.available_sources()
    finally:
        discovery.available_sources.cache_clear()
    assert "broken" not in found and {"github", "jira", "google_calendar"} <= set(found)
    assert "no_such_module_anywhere" in caplog.text
