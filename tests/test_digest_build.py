"""The pure digest builder and the renderings: no database, no SMTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from digest_support import EVIL_TITLE, MONDAY, WEEK, pr

from harvester.digest import (
    IMPACT_PROMPT,
    CandidateInput,
    Digest,
    build_digest,
    one_line,
    previous_week,
    render_html,
    render_text,
)
from harvester.web.tokens import LinkAction

BERLIN = ZoneInfo("Europe/Berlin")


def link(public_id: str, action: LinkAction) -> str:
    return f"https://brag.example/r/{public_id}.{action}"


def candidate(public_id: str, week: str = WEEK, title: str = "Retry card payments", **kw: object) -> CandidateInput:
    activities = kw.pop("activities", (pr(101, "PAY-12 retry on timeout", MONDAY),))
    return CandidateInput(
        public_id=public_id,
        week=week,
        title=title,
        summary="Retries card payments that time out.",
        section="Projects",
        why="both name PAY-12",
        metrics=({"text": "from 4% to 1%"},),
        activities=activities,  # type: ignore[arg-type]
    )


def digest(**kw: object) -> Digest:
    return build_digest(
        user="me",
        week=WEEK,
        candidates=kw.get("candidates", [candidate("c-1"), candidate("c-2", title=EVIL_TITLE)]),  # type: ignore[arg-type]
        earlier=kw.get("earlier", [candidate("c-old2", "2026-W45"), candidate("c-old", "2026-W43")]),  # type: ignore[arg-type]
        link=link,
        review_page="https://brag.example/",
        zone=kw.get("zone", BERLIN),
    )


def test_subject_counts_this_week_and_earlier() -> None:
    built = digest()
    assert built.subject == "Your wins for 2026-W46: 4 to review"
    assert built.period == "Mon 09 Nov – Sun 15 Nov 2026"


def test_earlier_candidates_are_apart_oldest_first_with_their_age() -> None:
    built = digest()
    assert [e.public_id for e in built.entries] == ["c-1", "c-2"]
    assert [(e.public_id, e.age_weeks, e.age) for e in built.earlier] == [
        ("c-old", 3, "3 weeks old"),
        ("c-old2", 1, "1 week old"),
    ]


def test_each_entry_has_evidence_metrics_why_and_three_signed_links() -> None:
    entry = digest().entries[0]
    assert entry.metrics == ("from 4% to 1%",)
    assert entry.why == "both name PAY-12"
    (evidence,) = entry.evidence
    assert (evidence.kind, evidence.title, evidence.url, evidence.where) == (
        "Pull request",
        "PAY-12 retry on timeout",
        "https://github.com/acme/shop/pull/101",
        "acme/shop",
    )
    assert entry.links.approve == link("c-1", "approve")
    assert entry.links.reject == link("c-1", "reject")
    assert entry.links.review == link("c-1", "review")


def test_harvested_text_is_flattened_to_one_line_and_unsafe_urls_dropped() -> None:
    hostile = pr(7, "a\r\nb\x00c\u2028d\te", MONDAY, url="javascript:alert(1)")
    entry = digest(candidates=[candidate("c-x", title="", activities=(hostile,))]).entries[0]
    # line breaks are spaces, the NUL is gone
    assert entry.evidence[0].title == "a bc d e"
    assert entry.evidence[0].url == ""
    # an emptied title (a split-out candidate) falls back to its item's title
    assert entry.title == "a bc d e"
    assert one_line("x" * 300).endswith("…") and len(one_line("x" * 300)) == 200


def test_previous_week_is_the_week_that_ended_in_the_users_timezone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert previous_week(datetime(2026, 11, 20, 12, tzinfo=UTC), berlin) == "2026-W46"
    # Sunday 23:30 UTC is already Monday of W48 in Berlin, so W47 has just ended
    assert previous_week(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), berlin) == "2026-W47"
    assert previous_week(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), UTC) == "2026-W46"


def test_html_escapes_harvested_text_and_inlines_every_style() -> None:
    html = render_html(digest())
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Bcc: evil@x" in html
    # Gmail and Outlook: table layout, style attributes; the one <style> block only recolours (dark mode)
    assert "<link" not in html and 'role="presentation"' in html
    (sheet,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert "@media (prefers-color-scheme: dark)" in sheet
    assert not re.search(r"width|height|display|padding|margin|float|position", sheet)
    # the prompt is asked once per email, each item has its own "Add impact" link
    assert html.count(IMPACT_PROMPT) == 1
    assert html.count(">Add impact</a>") == 4
    for action in ("approve", "reject", "review"):
        assert f'href="https://brag.example/r/c-2.{action}"' in html
    assert 'href="https://github.com/acme/shop/pull/101"' in html
    assert "Still waiting from earlier weeks" in html and "3 weeks old" in html


def test_text_part_keeps_each_title_on_its_own_line() -> None:
    text = render_text(digest())
    assert "2. <script>alert(1)</script> Bcc: evil@x" in text
    assert not any(line.startswith("Bcc") for line in text.splitlines())
    assert text.count(IMPACT_PROMPT) == 1
    assert "Add impact: https://brag.example/r/c-1.review" in text
    assert "Approve: https://brag.example/r/c-1.approve" in text
    assert re.search(r"3\. Retry card payments  \[2026-W43, 3 weeks old\]", text)
    assert "Metrics: from 4% to 1%" in text and "Why grouped: both name PAY-12" in text


def test_an_empty_week_still_renders() -> None:
    built = digest(candidates=[], earlier=[])
    assert built.empty and built.subject == "Your wins for 2026-W46: 0 to review"
    assert "Nothing new to review" in render_html(built) and "Nothing new to review" in render_text(built)


def test_evidence_days_are_the_users_days_in_the_email() -> None:
    # merged Tuesday 00:30 in Berlin, which is still Monday in UTC (the API's answer)
    late = pr(104, "PAY-12 retry metrics", datetime(2026, 11, 9, 23, 30, tzinfo=UTC))
    built = digest(candidates=[candidate("c-1", activities=(late,))], earlier=[])
    assert built.entries[0].evidence[0].day.isoformat() == "2026-11-10"
    assert "2026-11-10" in render_text(built) and "2026-11-09" not in render_text(built)
    assert "2026-11-10" in render_html(built) and "2026-11-09" not in render_html(built)
    in_utc = digest(candidates=[candidate("c-1", activities=(late,))], earlier=[], zone=UTC)
    assert in_utc.entries[0].evidence[0].day.isoformat() == "2026-11-09"
