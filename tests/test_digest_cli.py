"""`brag digest` in-process: preview, HTML file, send, and sending again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from digest_support import MONDAY, WEEK, add_candidate, pr, seed
from typer.testing import CliRunner

from harvester.cli import app
from harvester.config import load_config
from harvester.records import Activity
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


# unrelated enough that clustering, which runs before the preview, keeps each on its own
SMALL_WORK = (
    "Upgrade the PDF renderer",
    "Fix timezone of invoice dates",
    "Add CSV export of orders",
    "Remove dead feature flags",
    "Speed up login page",
    "Translate checkout into Polish",
    "Rotate webhook signing keys",
)


def seed_a_full_week(path: Path) -> None:
    """Seven more small candidates (nine in W46), a named meeting and a 1:1, besides `seed`'s."""
    sessions = open_store(load_config(path).database_url())
    with sessions.begin() as session:
        user_id = repository.get_or_create_user(session, "me", "Europe/Berlin").id
        for number, title in enumerate(SMALL_WORK):
            add_candidate(session, user_id, f"c-small{number}", WEEK, [pr(300 + number, title, MONDAY)], title=title)
        bridge = meeting("e-bridge", "Incident bridge: payouts stuck in PENDING", attendees=12, organized=True)
        add_candidate(session, user_id, "c-bridge", WEEK, [bridge], title="Ran the incident bridge")
        add_candidate(session, user_id, "c-1on1", WEEK, [meeting("e-1on1", "1:1 Dana / Morgan", attendees=2)])


def test_preview_shows_the_rollups_and_the_counts_the_email_has(config: tuple[Path, SmtpSink]) -> None:
    path, sink = config
    seed_a_full_week(path)
    result = runner.invoke(app, ["--config", str(path), "digest", "--week", "2026-W46"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    # nine work candidates, seven listed: the subject counts those, the rest are one line each
    assert "Your wins for 2026-W46: 7 to review" in output
    assert "Meetings: Ran the incident bridge for payouts stuck in PENDING, and 1 routine meeting." in output
    assert "and 2 smaller items on the review page" in output
    assert "Still waiting from earlier weeks: and 1 from earlier weeks on the review page" in output
    assert "c-bridge" not in output and "Morgan" not in output and "c-old" not in output
    assert sink.received == []


def test_the_mailed_subject_counts_what_the_email_lists(config: tuple[Path, SmtpSink]) -> None:
    path, sink = config
    seed_a_full_week(path)
    result = runner.invoke(app, ["--config", str(path), "digest", "--week", "2026-W46", "--send"])
    assert result.exit_code == 0, result.output
    (message,) = sink.messages()
    assert message["Subject"] == "Your wins for 2026-W46: 7 to review"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert text.count("Approve: ") == 7 and "and 1 from earlier weeks on the review page" in text


def meeting(event_id: str, title: str, *, attendees: int, organized: bool = False) -> Activity:
    return Activity(
        id=f"google_calendar:primary:{event_id}",
        source="google_calendar",
        kind="event",
        title=title,
        occurred_at=MONDAY + timedelta(days=1),
        extra={"attendee_count": attendees, "organized": organized},
    )
