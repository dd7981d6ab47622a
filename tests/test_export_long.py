"""Long summaries: every entry and every piece of evidence survives in each format, markers stay apart."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn
from pypdf import PdfReader

from harvester.documents.bragdoc import BragEntry
from harvester.documents.evidence import Evidence
from harvester.documents.export import ExportDocument, build, quarter_period
from harvester.documents.projects import Project
from harvester.documents.renderers import ExportFormat, pdf, render
from harvester.documents.renderers.html import Part, parts_of, print_runs

Q4 = quarter_period("2026Q4")
EPIC = Project("PAY-1", "Payments reliability")


def long_entries(count: int) -> list[BragEntry]:
    """`count` entries of three links each; every third entry also cites its neighbour's last link."""
    entries = []
    for n in range(count):
        day = date(2026, 10, 1) + timedelta(days=n % 90)
        urls = [f"https://github.com/acme/api/pull/{3 * n + k}" for k in range(3)]
        if n % 3 == 2:
            urls[0] = f"https://github.com/acme/api/pull/{3 * n - 1}"
        evidence = tuple(
            Evidence(
                f"github:{url}", "Pull request", f"Change {url.rsplit('/', 1)[1]}", url, datetime.combine(day, time(9))
            )
            for url in urls
        )
        entries.append(
            BragEntry(
                f"c-{n}",
                day,
                f"Entry number {n:03d}",
                f"Saved {n} minutes",
                ["Projects", "Collaboration & mentorship"][n % 2],
                "",
                evidence,
                (),
                project=EPIC if n % 4 == 0 else None,
            )
        )
    return entries


def markdown_titles(document: ExportDocument) -> list[str]:
    return re.findall(r"^- \*\*(Entry number \d{3})\*\*", render(document, ExportFormat.md).decode(), re.MULTILINE)


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_print_runs_keep_every_entry_in_order_and_mark_the_rest_of_a_split_part() -> None:
    document = build(long_entries(30), Q4)
    items = tuple(item for part in parts_of(document) for item in part.items)
    parts = [Part("A", "section", items[:3]), Part("B", "section", items[3:13]), Part("C", "section", items[13:15])]
    runs = list(print_runs(parts, 4))
    assert [item for run in runs for part in run for item in part.items] == list(items[:15])
    assert all(sum(len(part.items) for part in run) <= 4 for run in runs)
    # A (3 entries) leaves room for one of B's, but the run is more than half full: B opens the next run
    assert [(part.heading, len(part.items), part.continued) for part in runs[0]] == [("A", 3, False)]
    assert [(part.heading, part.continued) for part in runs[1]] == [("B", False)]
    assert [(part.heading, part.continued) for part in runs[2]] == [("B", True)]
    assert list(print_runs([], 4)) == [[]]


def test_docx_every_evidence_link_is_a_hyperlink_to_its_url() -> None:
    document = build(long_entries(60), Q4)
    word = docx.Document(io.BytesIO(render(document, ExportFormat.docx)))
    rels = word.part.rels
    links = word.element.body.findall(".//" + qn("w:hyperlink"))
    shown = {link.findtext(".//" + qn("w:t")): rels[link.get(qn("r:id"))] for link in links}
    urls = {note.evidence.url for note in document.footnotes}
    assert len(urls) == 160 and set(shown) == urls
    assert all(rel.is_external and rel.reltype == RELATIONSHIP_TYPE.HYPERLINK for rel in shown.values())
    assert all(rel.target_ref == url for url, rel in shown.items())
    # one relationship per link, however often it is cited
    assert sum(1 for rel in rels.values() if rel.reltype == RELATIONSHIP_TYPE.HYPERLINK) == len(urls)
    bullets = [p.text for p in word.paragraphs if p.style is not None and p.style.name == "List Bullet"]
    assert [text.split(" (")[0] for text in bullets if text.startswith("Entry number")] == markdown_titles(document)


def test_html_markers_are_apart() -> None:
    html = render(build(long_entries(3), Q4), ExportFormat.html).decode()
    assert (
        '<time datetime="2026-10-01">2026-10-01</time> <sup><a href="#fn-1">[1]</a></sup>'
        '<sup><a href="#fn-2">[2]</a></sup><sup><a href="#fn-3">[3]</a></sup>'
    ) in html


@pytest.mark.parametrize("entries_per_run", [1000, 7])
def test_pdf_lists_each_entry_with_its_numbered_clickable_evidence(
    monkeypatch: pytest.MonkeyPatch, entries_per_run: int
) -> None:
    monkeypatch.setattr(pdf, "ENTRIES_PER_RUN", entries_per_run)
    document = build(long_entries(24), Q4)
    data = render(document, ExportFormat.pdf)
    text = pdf_text(data)
    assert re.findall(r"Entry number \d{3}", text) == markdown_titles(document)
    for part in parts_of(document):
        for item in part.items:
            refs = " · ".join(
                f"[{note.number}] {note.evidence.kind}: {note.evidence.title} ({note.evidence.day.isoformat()})"
                for note in item.footnotes
            )
            assert refs in text, item.title
    assert not re.search(r"\d{4}-\d\d-\d\d\d", text)  # no marker glued to a date
    reader = PdfReader(io.BytesIO(data))
    targets = {
        annotation.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annotation in page.get("/Annots", [])
        if "/A" in annotation.get_object()
    }
    assert targets == {note.evidence.url for note in document.footnotes}
    assert text.startswith("Summary of 2026Q4") and text.count("Overview") == 1


def test_a_pdf_in_several_runs_numbers_its_pages_on(monkeypatch: pytest.MonkeyPatch) -> None:
    document = build(long_entries(24), Q4)
    monkeypatch.setattr(pdf, "ENTRIES_PER_RUN", 7)
    pages = PdfReader(io.BytesIO(render(document, ExportFormat.pdf))).pages
    footers = [page.extract_text().split()[-1] for page in pages]
    assert footers == [str(n) for n in range(1, len(pages) + 1)]
    assert "Collaboration & mentorship (continued)" in " ".join(page.extract_text() for page in pages)
    monkeypatch.setattr(pdf, "ENTRIES_PER_RUN", 1000)
    single = PdfReader(io.BytesIO(render(document, ExportFormat.pdf))).pages
    assert single[0].extract_text().split()[-3:] == ["1", "/", str(len(single))]
