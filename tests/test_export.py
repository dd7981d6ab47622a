"""Quarterly summaries: what goes in (order of impact, overview, footnotes) and each format opened and read."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from harvester.cli import app
from harvester.documents import bragdoc
from harvester.documents.bragdoc import BragEntry
from harvester.documents.evidence import Evidence
from harvester.documents.export import ExportDocument, build, impact_rank, quarter_period, range_period
from harvester.documents.renderers import ExportFormat, render

Q4 = quarter_period("2026Q4")
HOSTILE = '<script>alert("x")</script> **bold** [link](javascript:alert(1)) & <b>'


def evidence_on(day: date, kind: str, title: str, url: str, source: str = "github", gone: bool = False) -> Evidence:
    return Evidence(f"{source}:{title}", kind, title, url, datetime.combine(day, time(12)), source, gone=gone)


def entry(
    title: str,
    *,
    day: date = date(2026, 11, 2),
    section: str = "Projects",
    impact: str | None = "Saved the team 3 h a week",
    evidence: int = 1,
    metrics: tuple[str, ...] = (),
    source: str = "github",
) -> BragEntry:
    return BragEntry(
        candidate_id=f"c-{sum(map(ord, title)):08d}",
        day=day,
        title=title,
        impact=impact,
        section=section,
        summary="",
        evidence=tuple(
            evidence_on(
                day, "PR", f"{title} part {n}", f"https://github.com/acme/api/pull/{sum(map(ord, title)) + n}", source
            )
            for n in range(evidence)
        ),
        metrics=metrics,
    )


def sample() -> list[BragEntry]:
    return [
        entry("Webhook retries", impact="Failed deliveries down from 2.1% to 0.3%", evidence=2),
        entry("Webhook dashboard", impact=None, evidence=3, day=date(2026, 12, 1)),
        entry("Payments cleanup", impact="Fewer pages for on-call", evidence=4),
        entry("Mentored Sam on webhook design", section="Collaboration & mentorship", impact=None, source="jira"),
        entry("Summer work", day=date(2026, 8, 30)),
    ]


def test_order_of_impact_numbers_then_impact_then_none() -> None:
    numbers = entry("A", impact="Latency down 40%", evidence=1)
    metric_only = entry("B", impact="Faster", metrics=("p95 1.2 s → 0.7 s",), evidence=1)
    words = entry("C", impact="Happier customers", evidence=5)
    none = entry("D", impact=None, evidence=9)
    ranked = sorted([none, words, metric_only, numbers], key=impact_rank)
    assert [e.title for e in ranked[2:]] == ["C", "D"]
    assert {e.title for e in ranked[:2]} == {"A", "B"}
    more_evidence = entry("E", impact="Latency down 10%", evidence=3)
    assert sorted([numbers, more_evidence], key=impact_rank)[0] is more_evidence


def test_overview_counts_themes_and_missing_impact() -> None:
    document = build(sample(), Q4)
    overview = document.overview
    assert overview.total == 4  # the August entry is outside the quarter
    assert overview.by_section == (("Projects", 3), ("Collaboration & mentorship", 1))
    assert overview.by_source == (("GitHub", 9), ("Jira", 1))
    assert overview.themes[0] == "webhook"
    assert overview.missing_impact_note == "2 entries have no impact yet"
    assert build([entry("X", impact=None)], Q4).overview.missing_impact_note == "1 entry has no impact yet"
    assert build([entry("X")], Q4).overview.missing_impact_note == ""


def test_sections_in_order_of_impact_with_numbered_footnotes() -> None:
    document = build(sample(), Q4)
    projects = document.sections[0]
    assert [item.title for item in projects.items] == ["Webhook retries", "Payments cleanup", "Webhook dashboard"]
    numbers = [note.number for item in projects.items for note in item.footnotes]
    assert numbers == list(range(1, 10))
    assert [note.number for note in document.footnotes] == list(range(1, 11))


def test_the_same_link_keeps_its_number() -> None:
    shared = evidence_on(date(2026, 11, 2), "ticket", "PAY-1", "https://acme.atlassian.net/browse/PAY-1", "jira")
    one = BragEntry("c-1", date(2026, 11, 2), "One", "x 1", "Projects", "", (shared,), ())
    two = BragEntry("c-2", date(2026, 11, 3), "Two", "x 2", "Projects", "", (shared,), ())
    document = build([one, two], Q4)
    assert len(document.footnotes) == 1
    assert all(item.footnotes[0].number == 1 for item in document.sections[0].items)


def test_periods() -> None:
    assert (Q4.start, Q4.end, Q4.label) == (date(2026, 10, 1), date(2027, 1, 1), "2026Q4")
    assert quarter_period("2026-q1").end == date(2026, 4, 1)
    half = range_period(date(2026, 1, 1), date(2026, 6, 30))
    assert half.contains(date(2026, 6, 30)) and not half.contains(date(2026, 7, 1))
    with pytest.raises(ValueError, match="quarter like 2026Q4"):
        quarter_period("2026Q5")
    with pytest.raises(ValueError, match="before it starts"):
        range_period(date(2026, 2, 1), date(2026, 1, 1))


def hostile_document() -> ExportDocument:
    evil = BragEntry(
        "c-evil",
        date(2026, 11, 5),
        HOSTILE,
        "Impact <img src=x onerror=alert(1)> with a \x0b control character",
        "Projects",
        "",
        (evidence_on(date(2026, 11, 5), "PR", "<i>evidence</i>", "https://github.com/acme/api/pull/7?a=1&b=2"),),
        (),
    )
    return build([evil, *sample()], Q4)


def test_markdown_escapes_untrusted_text() -> None:
    text = render(hostile_document(), ExportFormat.md).decode()
    assert text.startswith("# Summary of 2026Q4")
    assert "<script>" not in text and r"\<script\>" in text and r"\*\*bold\*\*" in text
    assert "**2 entries have no impact yet**" in text
    assert "- **Webhook retries** (2026-11-02)[^" in text
    assert "[^1]: PR: " in text and "<https://github.com/acme/api/pull/7?a=1&b=2>" in text


def test_html_escapes_untrusted_text_and_links_footnotes() -> None:
    html = render(hostile_document(), ExportFormat.html).decode()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert 'href="https://github.com/acme/api/pull/7?a=1&amp;b=2"' in html
    assert '<sup><a href="#fn-1">[1]</a></sup>' in html and 'id="fn-1"' in html
    assert "2 entries have no impact yet" in html
    # the brag doc's styling is shared, not copied
    assert ".numbers { color: #1a7f37;" in html


def test_pdf_reads_back_as_the_summary() -> None:
    data = render(hostile_document(), ExportFormat.pdf)
    assert data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    flat = " ".join(text.split())
    assert "Summary of 2026Q4" in flat and "Overview" in flat
    assert "2 entries have no impact yet" in flat
    assert '<script>alert("x")</script>' in flat  # shown as text, not run
    assert "Failed deliveries down from 2.1% to 0.3%" in flat
    assert flat.index("Webhook retries") < flat.index("Payments cleanup") < flat.index("Webhook dashboard")


def test_docx_has_headings_lists_and_numbered_references() -> None:
    data = render(hostile_document(), ExportFormat.docx)
    word = docx.Document(io.BytesIO(data))
    headings = [(p.style.name, p.text) for p in word.paragraphs if p.style is not None and "Heading" in p.style.name]
    assert ("Heading 1", "Overview") in headings and ("Heading 1", "Projects") in headings
    assert ("Heading 1", "Evidence") in headings
    bullets = [p.text for p in word.paragraphs if p.style is not None and p.style.name == "List Bullet"]
    assert "2 entries have no impact yet" in bullets
    assert any(text.startswith(HOSTILE) for text in bullets)  # literal, markup and all
    superscripts = [r.text for p in word.paragraphs for r in p.runs if r.font.superscript]
    assert superscripts[:2] == ["[1]", "[2]"]
    references = [p.text for p in word.paragraphs if p.text.startswith("[")]
    assert references[0].startswith("[1]\tPR: Webhook retries part 0 (2026-11-02) https://github.com/acme/api/pull/")
    assert any("<i>evidence</i>" in text for text in references)
    links = {rel.target_ref for rel in word.part.rels.values() if rel.is_external}
    assert "https://github.com/acme/api/pull/7?a=1&b=2" in links


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n[user]\ntimezone = "Europe/Berlin"\n')
    monkeypatch.setattr(bragdoc, "entries", lambda session, user_id, zone: sample())
    return path


@pytest.mark.parametrize("format", list(ExportFormat))
def test_export_command_writes_each_format(config: Path, tmp_path: Path, format: ExportFormat) -> None:
    out = tmp_path / f"summary.{format.value}"
    result = CliRunner().invoke(
        app, ["--config", str(config), "export", "--quarter", "2026Q4", "--format", format.value, "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 4 entries of 2026Q4" in result.output and "2 entries have no impact yet" in result.output
    assert out.stat().st_size > 0


def test_export_command_range_and_option_errors(config: Path) -> None:
    runner = CliRunner()
    half = runner.invoke(app, ["--config", str(config), "export", "--from", "2026-07-01", "--to", "2026-12-31"])
    assert half.exit_code == 0, half.output
    assert "Summary of 2026-07-01 – 2026-12-31" in half.stdout and "Summer work" in half.stdout
    both = runner.invoke(app, ["--config", str(config), "export", "--quarter", "2026Q4", "--from", "2026-07-01"])
    assert both.exit_code == 2 and "either --quarter or --from/--to" in both.output
    binary = runner.invoke(app, ["--config", str(config), "export", "--quarter", "2026Q4", "--format", "pdf"])
    assert binary.exit_code == 2 and "--output" in binary.output


def test_title_names_the_person_and_the_dates_and_numbers_follow_the_impact() -> None:
    said = entry(
        "Cut checkout latency",
        impact="p99 from 300 ms to 120 ms for every shopper",
        metrics=("p99 from 300 ms to 120 ms", "24 hours"),
    )
    document = build([said], quarter_period("2026Q4"), author="Dana Kim")
    assert document.title == "Summary of 2026Q4 for Dana Kim"
    text = render(document, ExportFormat.md).decode()
    assert "_1 October – 31 December 2026_" in text
    # the number the impact already states is not repeated as a fragment; the other one is listed
    assert "Measured: 24 hours" in text and "Measured: p99" not in text and "Numbers:" not in text
    word = docx.Document(io.BytesIO(render(document, ExportFormat.docx)))
    assert word.core_properties.author == "Dana Kim" and word.core_properties.title == document.title
