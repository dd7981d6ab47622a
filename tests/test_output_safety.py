"""Harvested text and links in every output: a link cannot end early, invisible reordering is gone.

One hostile pull request (a NUL, a right-to-left override and an isolate in its title, a `>` in its
URL that would close a Markdown `<...>` link) is stored, then read back through the brag doc, each
export format, the digest email, the review page and the terminal.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import docx
import pytest
from digest_support import add_candidate, pr
from markdown_it import MarkdownIt
from review_support import open_context
from rich.console import Console

from harvester.cli.review_terminal import candidate_panel
from harvester.context import Context
from harvester.digest import render_html, render_text
from harvester.digest.outbox import load_digest
from harvester.display import one_line, safe_url, visible
from harvester.documents import bragdoc
from harvester.documents.export import build, quarter_period
from harvester.documents.renderers import ExportFormat, render
from harvester.store import repository
from harvester.web import create_app

WEEK = "2026-W46"
WHEN = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
TITLE = "Fix\x00 login \u202egnp.exe\u202c form \u2066isolated\u2069 \x1b[31mred"
SHOWN = "Fix login gnp.exe form isolated [31mred"
INJECTING_URL = "https://github.com/acme/shop/pull/1>)[click me](https://evil.example/phish)"
ENCODED_URL = "https://github.com/acme/shop/pull/1%3E)[click%20me](https://evil.example/phish)"
INVISIBLE = ("\x00", "\x01", "\u202e", "\u202c", "\u2066", "\u2069", "\x1b")


def assert_clean(text: str) -> None:
    assert not [ch for ch in INVISIBLE if ch in text]


@pytest.fixture
def context(database_url: str) -> Context:
    app = open_context(database_url)
    # PostgreSQL cannot store a NUL at all (SQLite can); another control character stands in there
    title = TITLE if database_url.startswith("sqlite") else TITLE.replace("\x00", "\x01")
    with app.sessions.begin() as session:
        hostile = pr(1, title, WHEN, url=INJECTING_URL)
        add_candidate(session, app.user_id, "c-approved", WEEK, [hostile], title=title, state="approved")
        add_candidate(session, app.user_id, "c-pending", WEEK, [pr(2, title, WHEN, url=INJECTING_URL)], title=title)
    return app


def markdown_links(text: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(text)
    return [str(child.attrs["href"]) for token in tokens for child in token.children or () if child.type == "link_open"]


def test_one_function_strips_what_reorders_or_hides_text() -> None:
    assert one_line(TITLE) == SHOWN
    assert visible("a\u2028b\r\nc\x85d") == "a\nb\nc\nd"
    assert safe_url(INJECTING_URL) == ENCODED_URL
    assert safe_url("https://example.com/a b\u202e") == "https://example.com/a%20b%E2%80%AE"
    assert safe_url(" javascript:alert(1)") == "" and safe_url("\x00https://example.com") == ""
    # idempotent: escapes already there stay as they are
    assert safe_url(ENCODED_URL) == ENCODED_URL


def test_brag_doc_markdown_link_cannot_be_ended_early(context: Context) -> None:
    with context.sessions() as session:
        entries = bragdoc.entries(session, context.user_id, context.zone)
    text = bragdoc.render_markdown(entries)
    assert_clean(text)
    (href,) = markdown_links(text)
    assert href.startswith("https://github.com/acme/shop/pull/1%3E)")
    html = bragdoc.render_html(entries)
    assert_clean(html)
    assert SHOWN in html and 'href="https://github.com/acme/shop/pull/1%3E)' in html


@pytest.mark.parametrize("format", [ExportFormat.md, ExportFormat.html])
def test_export_link_cannot_be_ended_early(context: Context, format: ExportFormat) -> None:
    with context.sessions() as session:
        document = build(bragdoc.entries(session, context.user_id, context.zone), quarter_period("2026Q4"))
    text = render(document, format).decode()
    assert_clean(text)
    if format is ExportFormat.md:
        (href,) = markdown_links(text)
        assert href.startswith("https://github.com/acme/shop/pull/1%3E)")
    else:
        assert f'href="{ENCODED_URL}"' in text


def test_export_docx_has_no_invisible_characters(context: Context) -> None:
    with context.sessions() as session:
        document = build(bragdoc.entries(session, context.user_id, context.zone), quarter_period("2026Q4"))
    word = docx.Document(io.BytesIO(render(document, ExportFormat.docx)))
    text = "\n".join(p.text for p in word.paragraphs)
    assert_clean(text)
    assert SHOWN in text
    assert {rel.target_ref for rel in word.part.rels.values() if rel.is_external} == {ENCODED_URL}


def test_digest_email_has_no_invisible_characters(context: Context) -> None:
    with context.sessions.begin() as session:
        digest = load_digest(
            session,
            user_id=context.user_id,
            user_name="me",
            week=WEEK,
            base_url="http://127.0.0.1:8765",
            zone=context.zone,
        )
    for rendered in (render_text(digest), render_html(digest)):
        assert_clean(rendered)
        assert SHOWN in rendered


def test_review_page_and_terminal_have_no_invisible_characters(context: Context) -> None:
    with create_app(context, now=lambda: WHEN).test_client() as client:
        page = client.get(f"/week/{WEEK}").get_data(as_text=True)
        doc = client.get("/doc.md").get_data(as_text=True)
    assert_clean(page)
    assert_clean(doc)
    assert SHOWN in page
    with context.sessions() as session:
        row = repository.candidate_by_public_id(session, context.user_id, "c-pending")
        assert row is not None
        items = repository.candidate_members(session, [row.id])[row.id]
    console = Console(record=True, width=200)
    console.print(candidate_panel(row, items, context.zone))
    shown = console.export_text()
    assert_clean(shown)
    assert SHOWN in shown
