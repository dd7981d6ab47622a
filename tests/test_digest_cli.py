"""`brag digest` in-process: preview, HTML file, send, and sending again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from digest_support import seed
from typer.testing import CliRunner

from harvester.cli import app
from harvester.config import load_config
from harvester.sandbox.smtp import SmtpSink
from harvester.store import repository
from harvester.store.engine import open_store

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, SmtpSink]]:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    with SmtpSink() as sink:
        path = tmp_path / "brag.toml"
        path.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n'
            '[user]\ntimezone = "Europe/Berlin"\n'
            f'[email]\nto = "me@acme.com"\nfrom = "brag@acme.com"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {sink.port}\nsmtp_security = "none"\n'
            '[web]\nbase_url = "https://brag.acme.com"\n'
        )
        sessions = open_store(load_config(path).database_url())
        with sessions.begin() as session:
            user_id = repository.get_or_create_user(session, "me", "Europe/Berlin").id
        seed(sessions, user_id)
        yield path, sink


def test_preview_lists_the_weeks_candidates(config: tuple[Path, SmtpSink]) -> None:
    path, sink = config
    result = runner.invoke(app, ["--config", str(path), "digest", "--week", "2026W46"])
    assert result.exit_code == 0, result.output
    assert "Your wins for 2026-W46: 3 to review" in result.output
    assert "c-pay" in result.output and "c-old" in result.output and "2 weeks old" in result.output
    assert sink.received == []


def test_output_writes_the_html(config: tuple[Path, SmtpSink], tmp_path: Path) -> None:
    path, _ = config
    out = tmp_path / "digest.html"
    result = runner.invoke(app, ["--config", str(path), "digest", "--week", "2026-W46", "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'href="https://brag.acme.com/r/' in html


def test_send_twice_mails_once(config: tuple[Path, SmtpSink]) -> None:
    path, sink = config
    first = runner.invoke(app, ["--config", str(path), "digest", "--week", "2026-W46", "--send"])
    assert first.exit_code == 0, first.output
    assert "Sent the 2026-W46 digest to me@acme.com" in first.output
    again = runner.invoke(app, ["--config", str(path), "digest", "--week", "2026-W46", "--send"])
    assert again.exit_code == 0, again.output
    assert "already sent" in again.output and "not sending it again" in again.output
    assert len(sink.received) == 1
    retry = runner.invoke(app, ["--config", str(path), "digest", "--retry"])
    assert retry.exit_code == 0 and "No digest waiting" in retry.output


def test_send_without_email_section_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n')
    result = runner.invoke(app, ["--config", str(path), "digest", "--send"])
    assert result.exit_code == 2 and "no [email] section" in result.output


def test_bad_week_and_conflicting_flags(config: tuple[Path, SmtpSink]) -> None:
    path, _ = config
    assert runner.invoke(app, ["--config", str(path), "digest", "--week", "46"]).exit_code == 2
    assert runner.invoke(app, ["--config", str(path), "digest", "--send", "--output", "x.html"]).exit_code == 2
