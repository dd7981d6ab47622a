"""Evidence the source deleted stays on an approved entry, labelled, in the doc, the exports and the review page."""

from __future__ import annotations

import io
import re

import docx
import pytest
from review_support import NOW, WEEK, Seeded, open_context, seed

from harvester.context import Context
from harvester.documents import bragdoc
from harvester.documents.evidence import GONE_NOTE
from harvester.documents.export import build, quarter_period
from harvester.documents.renderers import ExportFormat, render
from harvester.review import ReviewService
from harvester.store import repository
from harvester.web import create_app

GONE_PR = "github:acme/shop#102"
GONE_TITLE = "PAY-12 add retry metrics dashboard"
KEPT_TITLE = "PAY-12 retry card payments on timeout"
LABEL = f"({GONE_NOTE})"


@pytest.fixture
def context(database_url: str) -> Context:
    return open_context(database_url)


@pytest.fixture
def approved_with_gone_item(context: Context) -> Seeded:
    """The payments work approved, then the source reports one of its pull requests deleted."""
    seeded = seed(context.sessions, context.user_id)
    with context.sessions.begin() as session:
        ReviewService(session, context.user_id).approve(seeded.payments, impact="Card failures down from 4% to 1%")
    with context.sessions.begin() as session:
        assert repository.mark_gone(session, context.user_id, "github", [GONE_PR]) == 1
    # what `brag doc` runs first: the week is re-clustered, the approved entry keeps its items
    context.finish_clustering()
    return seeded


def line_with(text: str, title: str) -> str:
    (line,) = [line for line in text.splitlines() if title in line]
    return line


def test_label_is_exactly_the_documented_words() -> None:
    assert LABEL == "(deleted at the source)"


def test_brag_doc_keeps_and_labels_gone_evidence(context: Context, approved_with_gone_item: Seeded) -> None:
    with context.sessions() as session:
        entries = bragdoc.entries(session, context.user_id, context.zone)
    (entry,) = entries
    assert [e.gone for e in entry.evidence] == [False, False, True]
    markdown = bragdoc.render_markdown(entries)
    assert line_with(markdown, GONE_TITLE).endswith(LABEL)
    assert LABEL not in line_with(markdown, KEPT_TITLE)
    html = bragdoc.render_html(entries)
    assert re.search(rf"{GONE_TITLE}</a> <span class=\"gone\">\({GONE_NOTE}\)</span></li>", html)
    assert html.count(GONE_NOTE) == 1


@pytest.mark.parametrize("format", [ExportFormat.md, ExportFormat.html])
def test_export_keeps_and_labels_gone_evidence(
    context: Context, approved_with_gone_item: Seeded, format: ExportFormat
) -> None:
    with context.sessions() as session:
        document = build(bragdoc.entries(session, context.user_id, context.zone), quarter_period("2026Q4"))
    assert len(document.footnotes) == 3
    text = render(document, format).decode()
    assert text.count(GONE_NOTE) == 1
    assert LABEL in line_with(text, GONE_TITLE) and LABEL not in line_with(text, KEPT_TITLE)


def test_docx_export_labels_gone_evidence(context: Context, approved_with_gone_item: Seeded) -> None:
    with context.sessions() as session:
        document = build(bragdoc.entries(session, context.user_id, context.zone), quarter_period("2026Q4"))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render(document, ExportFormat.docx))).paragraphs]
    assert LABEL in line_with("\n".join(paragraphs), GONE_TITLE)
    assert LABEL not in line_with("\n".join(paragraphs), KEPT_TITLE)


def test_review_page_labels_gone_evidence(context: Context, approved_with_gone_item: Seeded) -> None:
    with create_app(context, now=lambda: NOW).test_client() as client:
        page = client.get(f"/week/{WEEK}").get_data(as_text=True)
    assert page.count(GONE_NOTE) == 1
    # the approved card is one line; the item that vanished is named on it, with the label
    gone_item = page[page.index(GONE_TITLE) :]
    assert gone_item.index(LABEL) < gone_item.index("</header>")
