"""Epics become projects: a candidate's epic names it, and the doc and every export group entries under it."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from pypdf import PdfReader
from review_support import NOW, ZONE, _pr, _ticket, candidate_holding, config_file, open_context
from typer.testing import CliRunner

from harvester.candidates import recluster_weeks
from harvester.cli import app
from harvester.clustering import load_pipeline
from harvester.context import Context
from harvester.documents.bragdoc import BragEntry, render_html, render_markdown
from harvester.documents.evidence import Evidence
from harvester.documents.export import build, quarter_period
from harvester.documents.projects import Project, project_of, projects_of
from harvester.documents.renderers import ExportFormat, render
from harvester.records import Activity
from harvester.review import ReviewService
from harvester.store import repository
from harvester.web import create_app

Q4 = quarter_period("2026Q4")
PAYMENTS = Project("PAY-1", "Payments reliability")
SEARCH = Project("SRCH-1", "Search revamp")
HOSTILE_EPIC = Project("EVIL-1", "<script>alert(1)</script> *epic*")
# Mondays of 2026-W45 and 2026-W46, mid-morning
W45 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
W46 = W45 + timedelta(days=7)


def ticket(key: str, when: datetime, title: str = "", **extra: Any) -> Activity:
    """A Jira ticket activity; `extra` holds what the connector records of its epic or parent."""
    made = _ticket(key, title or f"Work on {key}", when)
    return replace(made, extra={**made.extra, **extra})


def test_a_ticket_names_its_candidate_project_by_the_epic_summary() -> None:
    work = [
        ticket("PAY-12", W45, epic="PAY-1", epic_summary="Payments reliability"),
        _pr(101, "PAY-12 retry card payments", W45),
    ]
    assert project_of(work) == PAYMENTS
    assert project_of([_pr(102, "Bump deps", W45)]) is None
    assert project_of([ticket("OPS-7", W45)]) is None


def test_a_parent_serves_when_there_is_no_epic_and_the_key_when_there_is_no_summary() -> None:
    assert project_of([ticket("WEB-8", W45, parent="WEB-7", parent_summary="Dark mode")]) == Project(
        "WEB-7", "Dark mode"
    )
    # Server/DC's Epic Link without the epic's summary (its lookup failed): named by the key
    assert project_of([ticket("PAY-40", W45, epic="PAY-1", epic_summary=None)]) == Project("PAY-1", "PAY-1")


def test_an_epic_outranks_a_parent_and_most_items_win() -> None:
    mixed = [
        ticket("WEB-8", W45, parent="WEB-7", parent_summary="Dark mode"),
        ticket("WEB-9", W45, parent="WEB-7", parent_summary="Dark mode"),
        ticket("PAY-12", W45, epic="PAY-1", epic_summary="Payments reliability"),
    ]
    assert project_of(mixed) == PAYMENTS
    two_epics = [
        ticket("SRCH-4", W45, epic="SRCH-1", epic_summary="Search revamp"),
        ticket("SRCH-5", W45, epic="SRCH-1", epic_summary="Search revamp"),
        ticket("PAY-12", W45, epic="PAY-1", epic_summary="Payments reliability"),
    ]
    assert project_of(two_epics) == SEARCH


def test_the_epic_ticket_itself_is_its_own_project() -> None:
    epic = ticket("PAY-1", W46, "Payments reliability", issue_type="Epic", parent="INIT-1", parent_summary="FY27")
    assert project_of([epic]) == PAYMENTS


def test_the_same_epic_in_different_weeks_carries_one_name() -> None:
    groups = {
        "week 45": [ticket("PAY-12", W45, epic="PAY-1", epic_summary="Payments")],
        # renamed since; and a harvest that missed the summary
        "week 46": [ticket("PAY-31", W46, epic="PAY-1", epic_summary="Payments reliability")],
        "week 47": [ticket("PAY-58", W46 + timedelta(days=7), epic="PAY-1", epic_summary=None)],
        "alone": [ticket("OPS-7", W46)],
    }
    assert projects_of(groups) == {"week 45": PAYMENTS, "week 46": PAYMENTS, "week 47": PAYMENTS, "alone": None}


def entry(
    title: str,
    day: date,
    project: Project | None = None,
    section: str = "Projects",
    impact: str | None = "Saved the team hours every week",
) -> BragEntry:
    number = sum(map(ord, title))
    evidence = Evidence(
        f"github:{number}",
        "Pull request",
        f"{title} PR",
        f"https://github.com/acme/shop/pull/{number}",
        datetime.combine(day, time(12)),
        "github",
    )
    return BragEntry(f"c-{number:08d}", day, title, impact, section, "", (evidence,), (), project)


def two_epics_two_weeks() -> list[BragEntry]:
    return [
        entry("Retried failed webhooks", date(2026, 11, 3), PAYMENTS),
        entry("Reduced charge latency", date(2026, 11, 10), PAYMENTS, impact="p99 down 60%"),
        entry("Designed the refund ledger", date(2026, 11, 11), PAYMENTS, section="Design & documentation"),
        entry("Ranked search by recency", date(2026, 11, 12), SEARCH),
        entry("Migrated CI to ephemeral runners", date(2026, 11, 4)),
        entry("Mentored Sam on on-call", date(2026, 11, 5), section="Collaboration & mentorship"),
    ]


def headed(markdown: str, level: str) -> dict[str, list[str]]:
    """Each `level` heading of a Markdown document, with the bold entry titles under it, in order."""
    found: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith(level + " "):
            current = line[len(level) + 1 :]
            found[current] = []
        elif line.startswith("#"):
            current = None
        elif current is not None and (match := re.match(r"- \*\*(.+?)\*\*", line)):
            found[current].append(match.group(1))
    return found


def test_brag_doc_groups_entries_by_project_and_keeps_the_others_in_sections() -> None:
    sections = headed(render_markdown(two_epics_two_weeks()), "###")
    assert list(sections) == [
        "Payments reliability: 3 entries",
        "Search revamp: 1 entry",
        "Projects",
        "Collaboration & mentorship",
    ]
    # newest first, whatever section each entry was drafted in
    assert sections["Payments reliability: 3 entries"] == [
        "Designed the refund ledger",
        "Reduced charge latency",
        "Retried failed webhooks",
    ]
    assert sections["Projects"] == ["Migrated CI to ephemeral runners"]
    assert "Design & documentation" not in sections
    html = render_html(two_epics_two_weeks())
    assert '<h3 class="project">Payments reliability: 3 entries</h3>' in html
    assert html.index("Payments reliability: 3 entries") < html.index("Designed the refund ledger")
    assert (
        html.index("Retried failed webhooks") < html.index("Search revamp: 1 entry") < html.index("<h3>Projects</h3>")
    )


def test_a_project_spanning_quarters_is_counted_in_each() -> None:
    entries = [*two_epics_two_weeks(), entry("Retried card payments", date(2026, 9, 28), PAYMENTS)]
    quarters = render_markdown(entries).split("## 2026Q3")
    assert "### Payments reliability: 3 entries" in quarters[0]
    assert "### Payments reliability: 1 entry" in quarters[1]


def test_export_lists_each_project_with_its_count_before_the_sections() -> None:
    document = build(two_epics_two_weeks(), Q4)
    assert [(part.heading, [item.title for item in part.items]) for part in document.projects] == [
        # in order of impact, as the sections are
        (
            "Payments reliability: 3 entries",
            ["Reduced charge latency", "Designed the refund ledger", "Retried failed webhooks"],
        ),
        ("Search revamp: 1 entry", ["Ranked search by recency"]),
    ]
    assert [part.name for part in document.sections] == ["Projects", "Collaboration & mentorship"]
    assert document.overview.total == 6
    assert document.overview.by_project == (("Payments reliability", 3), ("Search revamp", 1))
    assert document.overview.by_section == (("Projects", 1), ("Collaboration & mentorship", 1))
    # evidence is numbered in reading order, the projects' first
    cited = [
        note.number for part in (*document.projects, *document.sections) for i in part.items for note in i.footnotes
    ]
    assert cited == list(range(1, 7))


def test_every_export_format_has_the_project_headings() -> None:
    document = build(two_epics_two_weeks(), Q4)
    markdown = render(document, ExportFormat.md).decode()
    assert list(headed(markdown, "##"))[1:5] == [
        "Payments reliability: 3 entries",
        "Search revamp: 1 entry",
        "Projects",
        "Collaboration & mentorship",
    ]
    assert "- By project: Payments reliability 3, Search revamp 1" in markdown
    html = render(document, ExportFormat.html).decode()
    assert "<h2>Payments reliability: 3 entries</h2>" in html and "<h2>Search revamp: 1 entry</h2>" in html
    assert "By project: Payments reliability 3, Search revamp 1" in html
    word = docx.Document(io.BytesIO(render(document, ExportFormat.docx)))
    headings = [p.text for p in word.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings[:4] == ["Overview", "Payments reliability: 3 entries", "Search revamp: 1 entry", "Projects"]
    pdf = render(document, ExportFormat.pdf)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    body = text[text.index("Payments reliability: 3 entries") :]
    assert body.index("Search revamp: 1 entry") < body.index("Projects Migrated CI to ephemeral runners")


def test_an_epic_summary_is_harvested_text_and_escaped() -> None:
    entries = [entry("Hardened the webhook signer", date(2026, 11, 3), HOSTILE_EPIC)]
    for markdown in (render_markdown(entries), render(build(entries, Q4), ExportFormat.md).decode()):
        assert "<script>" not in markdown
        assert r"\<script\>alert(1)\</script\> \*epic\*: 1 entry" in markdown
    for html in (render_html(entries), render(build(entries, Q4), ExportFormat.html).decode()):
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; *epic*: 1 entry" in html
    word = docx.Document(io.BytesIO(render(build(entries, Q4), ExportFormat.docx)))
    assert "<script>alert(1)</script> *epic*: 1 entry" in [p.text for p in word.paragraphs]


EPIC = {"epic": "PAY-1", "epic_summary": "Payments reliability"}
STORED_WORK = (
    ticket("PAY-12", W45, "Retry failed card payments", **EPIC),
    _pr(101, "PAY-12 retry card payments on timeout", W45 + timedelta(hours=3)),
    ticket("PAY-31", W46, "Cache merchant settings on the charge path", **EPIC),
    ticket("OPS-7", W46 + timedelta(days=2), "Rotate the staging database credentials"),
)


@pytest.fixture
def approved_work(database_url: str) -> tuple[Context, dict[str, str]]:
    """STORED_WORK clustered by the real pipeline and approved; the candidate holding each ticket."""
    context = open_context(database_url)
    with context.sessions.begin() as session:
        repository.upsert_activities(session, context.user_id, STORED_WORK)
    recluster_weeks(context.sessions, context.user_id, ZONE, ["2026-W45", "2026-W46"], load_pipeline(None))
    with context.sessions.begin() as session:
        held = {
            key: candidate_holding(session, context.user_id, f"jira:{key}") for key in ("PAY-12", "PAY-31", "OPS-7")
        }
        review = ReviewService(session, context.user_id)
        for public_id in held.values():
            review.approve(public_id)
    return context, held


def test_stored_candidates_carry_their_project_in_json_and_the_doc(
    tmp_path: Path, database_url: str, approved_work: tuple[Context, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    _, held = approved_work
    config = str(config_file(tmp_path, database_url))
    runner = CliRunner()
    listed = {}
    for week in ("2026-W45", "2026-W46"):
        result = runner.invoke(app, ["--config", config, "candidates", "--week", week, "--format", "json"])
        assert result.exit_code == 0, result.output
        listed.update({c["id"]: c for c in json.loads(result.stdout)["candidates"]})
    assert list(listed[held["PAY-12"]])[-1] == "project"
    # the ticket's pull request shares its candidate, and so its project
    assert "github:acme/shop#101" in listed[held["PAY-12"]]["activity_ids"]
    assert [listed[held[key]]["project"] for key in ("PAY-12", "PAY-31", "OPS-7")] == [
        "Payments reliability",
        "Payments reliability",
        None,
    ]
    doc = runner.invoke(app, ["--config", config, "doc"])
    assert doc.exit_code == 0, doc.output
    sections = headed(doc.stdout, "###")
    assert len(sections["Payments reliability: 2 entries"]) == 2
    assert len(sections["Projects"]) == 1


def test_the_review_page_labels_a_candidate_with_its_project(approved_work: tuple[Context, dict[str, str]]) -> None:
    context, held = approved_work
    with create_app(context, now=lambda: NOW).test_client() as client:
        page = client.get("/week/2026-W45").get_data(as_text=True)
    assert page.count('<span class="project">Payments reliability</span>') == 1
    card = page[page.index(f"t-{held['PAY-12']}") :]
    assert card.index('<span class="project">Payments reliability</span>') < card.index("</header>")
