"""The brag doc: approved entries only, newest first, by quarter then section, escaped in both formats."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker
from support import NOW
from typer.testing import CliRunner

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import GitHubSandbox
from harvester.candidates import recluster_weeks, weeks_of
from harvester.cli import app
from harvester.clustering import load_pipeline
from harvester.documents import bragdoc
from harvester.documents.bragdoc import BragEntry, render_html, render_markdown
from harvester.documents.evidence import Evidence
from harvester.review import ReviewService
from harvester.store import repository
from harvester.sync import SyncRunner

BERLIN = ZoneInfo("Europe/Berlin")


def evidence_on(day: date, title: str, url: str, gone: bool = False) -> Evidence:
    return Evidence("github:pr:1", "Pull request", title, url, datetime.combine(day, time(12)), "github", gone=gone)


def entry(day: date, section: str, title: str, impact: str | None = "Saved 3 h a week") -> BragEntry:
    return BragEntry(
        candidate_id=f"c-{title[:6]}",
        day=day,
        title=title,
        impact=impact,
        section=section,
        summary="1 PR",
        evidence=(evidence_on(day, title, "https://github.com/acme/api/pull/1"),),
        metrics=(),
    )


def test_grouped_newest_quarter_first_then_section_order() -> None:
    doc = render_markdown(
        [
            entry(date(2026, 8, 1), "Projects", "Old project"),
            entry(date(2026, 11, 2), "Collaboration & mentorship", "Mentored Sam"),
            entry(date(2026, 11, 9), "Projects", "New project"),
            entry(date(2026, 10, 5), "Projects", "Earlier project"),
        ]
    )
    order = [
        doc.index(text)
        for text in (
            "## 2026Q4",
            "### Projects",
            "New project",
            "Earlier project",
            "### Collaboration",
            "Mentored Sam",
            "## 2026Q3",
            "Old project",
        )
    ]
    assert order == sorted(order)


def test_markdown_escapes_harvested_markup() -> None:
    doc = render_markdown([entry(date(2026, 11, 2), "Projects", "Fix <script>alert(1)</script> [link](x) *bold*")])
    assert "<script>" not in doc
    assert r"\<script\>" in doc and r"\[link\](x)" in doc and r"\*bold\*" in doc


def test_missing_impact_is_visible() -> None:
    assert "_not written yet_" in render_markdown([entry(date(2026, 11, 2), "Projects", "Thing", impact=None)])


def test_html_escapes_and_drops_unsafe_links() -> None:
    unsafe = BragEntry(
        candidate_id="c-1",
        day=date(2026, 11, 2),
        title="<img src=x onerror=alert(1)>",
        impact="<b>big</b>",
        section="Projects",
        summary="",
        evidence=(evidence_on(date(2026, 11, 2), "x", bragdoc.safe_url("javascript:alert(1)")),),
        metrics=(),
    )
    html = render_html([unsafe])
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;big&lt;/b&gt;" in html
    assert "javascript:" not in html


@pytest.fixture
def reviewed(sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox, connector: GitHubConnector) -> str:
    """Harvest the scenario, cluster it, approve the webhook work with an impact; returns its id."""
    (result,) = SyncRunner(sessions, user_id).run([connector], now=NOW, since=NOW - timedelta(weeks=4))
    recluster_weeks(sessions, user_id, BERLIN, weeks_of(result.counts.changed, BERLIN), load_pipeline(None))
    with sessions.begin() as session:
        rows = repository.candidate_rows(session, user_id)
        members = repository.candidate_members(session, [r.id for r in rows])
        webhook = next(r for r in rows if any("webhook" in a.title for a in members[r.id]))
        other = next(r for r in rows if r is not webhook)
        service = ReviewService(session, user_id)
        service.approve(webhook.public_id, impact="Failed deliveries down from 2.1% to 0.3%")
        service.reject(other.public_id)
        return webhook.public_id


def test_only_approved_candidates_become_entries(sessions: sessionmaker[Session], user_id: int, reviewed: str) -> None:
    with sessions() as session:
        doc_entries = bragdoc.entries(session, user_id, BERLIN)
    assert [e.candidate_id for e in doc_entries] == [reviewed]
    (only,) = doc_entries
    assert only.impact == "Failed deliveries down from 2.1% to 0.3%"
    assert only.evidence and all(e.url.startswith("https://github.com/") for e in only.evidence)
    assert all("webhook" in e.title for e in only.evidence)
    assert only.quarter == "2026Q4"


def test_brag_doc_command(tmp_path: Path, database_url: str, reviewed: str) -> None:
    config = tmp_path / "brag.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[user]\ntimezone = "Europe/Berlin"\n')
    runner = CliRunner()
    md = runner.invoke(app, ["--config", str(config), "doc"])
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith("# Brag document") and "Failed deliveries down from 2.1% to 0.3%" in md.stdout
    out = tmp_path / "doc.html"
    html = runner.invoke(app, ["--config", str(config), "doc", "--format", "html", "--output", str(out)])
    assert html.exit_code == 0
    assert "Failed deliveries down from 2.1% to 0.3%" in out.read_text()
