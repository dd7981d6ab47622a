"""A week of real work among 1:1s, private events and solo blocks: the email is short and ranked."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from digest_support import MONDAY, WEEK, pr

from harvester.digest import IMPACT_PROMPT, CandidateInput, Digest, build_digest, render_html, render_text
from harvester.records import Activity
from harvester.web.tokens import LinkAction


def link(public_id: str, action: LinkAction) -> str:
    return f"https://brag.example/r/{public_id}.{action}"


def ticket(key: str, title: str, **extra: Any) -> Activity:
    return Activity(id=f"jira:{key}", source="jira", kind="ticket", title=title, occurred_at=MONDAY, extra=extra)


def event(number: int, title: str, *, attendees: int = 4, organised: bool = False) -> Activity:
    return Activity(
        id=f"google_calendar:e{number}",
        source="google_calendar",
        kind="event",
        title=title,
        occurred_at=MONDAY + timedelta(hours=number),
        extra={"attendee_count": attendees, "organized": organised},
    )


def candidate(
    public_id: str, title: str, *activities: Activity, metrics: tuple[dict[str, Any], ...] = ()
) -> CandidateInput:
    return CandidateInput(
        public_id=public_id,
        week=WEEK,
        title=title,
        summary="",
        section="Projects",
        why="",
        metrics=metrics,
        activities=activities,
    )


# stored as the clusterer saves them: small work first, the incident fix last
WORK = [
    *(candidate(f"c-small{n}", f"Small fix {n}", pr(200 + n, f"Tidy module {n}", MONDAY)) for n in range(1, 7)),
    candidate(
        "c-story",
        "Added retries to webhooks (PAY-12)",
        pr(101, "PAY-12 webhook retries", MONDAY),
        ticket("PAY-12", "Webhook retries", issue_type="Story", story_points=5),
    ),
    candidate(
        "c-incident",
        "Fixed double refunds on concurrent requests (PAY-31)",
        pr(102, "PAY-31 lock refunds", MONDAY),
        ticket("PAY-31", "Double refunds", issue_type="Bug", priority="Highest"),
        metrics=({"text": "from 4% to 0%"},),
    ),
]
ROUTINE = [
    candidate("c-1on1", "1:1 Dana / Morgan", event(1, "1:1 Dana / Morgan", attendees=2)),
    candidate("c-private", "Private event", event(2, "Private event", attendees=0)),
    candidate("c-solo", "Prepare Q4 roadmap notes", event(3, "Q4 roadmap notes", attendees=1)),
    candidate("c-standup", "Daily stand-up", event(4, "Daily stand-up", attendees=6)),
]
NAMED = [
    candidate(
        "c-design1", "Design review: idempotent payouts", event(5, "Design review: idempotent payouts", organised=True)
    ),
    candidate("c-design2", "Design review: ledger", event(6, "Design review: ledger", organised=True)),
    candidate(
        "c-bridge",
        "Incident bridge",
        event(7, "Incident bridge: payouts stuck in PENDING", attendees=12, organised=True),
    ),
    candidate("c-int1", "Interview", event(8, "Interview: backend candidate")),
    candidate("c-int2", "Interview", event(9, "Interview: SRE candidate")),
]


def digest_of(
    candidates: list[CandidateInput], earlier: list[CandidateInput] | None = None, max_items: int = 7
) -> Digest:
    return build_digest(
        user="me",
        week=WEEK,
        candidates=candidates,
        earlier=earlier or [],
        link=link,
        review_page="https://brag.example/",
        zone=MONDAY.tzinfo,  # type: ignore[arg-type]
        max_items=max_items,
    )


def week_digest(max_items: int = 3) -> Digest:
    return digest_of([*ROUTINE, *WORK, *NAMED], max_items=max_items)


def test_the_email_lists_at_most_max_items_best_first_and_no_meeting() -> None:
    built = week_digest(max_items=3)
    assert [e.public_id for e in built.entries] == ["c-incident", "c-story", "c-small1"]
    # the subject counts what the email lists; the rest wait on the review page
    assert built.subject == "Your wins for 2026-W46: 3 to review"
    assert built.smaller == 5 and built.smaller_line == "and 5 smaller items on the review page"


def test_each_item_says_briefly_why_it_ranks() -> None:
    first = week_digest().entries[0]
    assert first.reasons == ("highest priority", "measured: from 4% to 0%", "confirmed by PR + ticket")


def test_stand_alone_meetings_are_rolled_up_named_by_kind_and_routine_ones_counted() -> None:
    assert week_digest().meetings == (
        "Ran the incident bridge for payouts stuck in PENDING, led 2 design reviews, interviewed 2 candidates,"
        " and 4 routine meetings"
    )


def test_a_routine_meetings_title_never_reaches_the_email() -> None:
    built = week_digest(max_items=20)
    assert built.smaller == 0 and built.smaller_line == ""
    assert len(built.entries) == len(WORK)
    for rendered in (render_html(built), render_text(built)):
        for title in ("Dana", "Private event", "roadmap", "stand-up", "SRE candidate"):
            assert title not in rendered


def test_the_rendered_email_has_the_rollup_the_smaller_line_and_one_prompt() -> None:
    built = week_digest(max_items=3)
    html, text = render_html(built), render_text(built)
    assert "led 2 design reviews" in html and "led 2 design reviews" in text
    assert '<a href="https://brag.example/" style="color:#1d4ed8;text-decoration:underline">and 5 smaller items' in html
    assert "and 5 smaller items on the review page: https://brag.example/" in text
    assert html.count(IMPACT_PROMPT) == 1 and text.count(IMPACT_PROMPT) == 1
    assert html.count(">Add impact</a>") == 3 and text.count("Add impact: https://brag.example/r/") == 3
    assert "Why it ranks: highest priority" in text
    # items come before the roll-up, and the roll-up before the count of the rest
    assert text.index("1. Fixed double refunds") < text.index("Meetings: Ran") < text.index("and 5 smaller")


def test_a_single_design_review_the_user_only_attended_is_not_led() -> None:
    one = candidate("c-d", "Design review", event(1, "Design review: idempotent payouts"))
    built = digest_of([one])
    assert built.entries == () and built.meetings == "Took part in the design review of idempotent payouts"


def test_an_incident_bridge_the_user_only_joined_is_not_ran() -> None:
    joined = candidate("c-b", "Incident bridge", event(1, "Incident bridge: search latency spike", attendees=12))
    built = digest_of([joined])
    assert built.meetings == "Joined the incident bridge for search latency spike"


def test_a_routine_meeting_grouped_into_work_is_not_its_evidence_in_the_email() -> None:
    work = candidate(
        "c-w",
        "Boosted recently viewed products in ranking (SRCH-102)",
        pr(301, "SRCH-102: Backfill view events", MONDAY),
        event(1, "Private event", attendees=0),
        event(2, "1:1 Rosa / Mateo", attendees=2),
        event(3, "Ranking recency signal sync"),
    )
    built = digest_of([work])
    (entry,) = built.entries
    # the meeting about the work stays; the private event and the 1:1 stay on the review page only
    assert [e.title for e in entry.evidence] == ["SRCH-102: Backfill view events", "Ranking recency signal sync"]
    for rendered in (render_html(built), render_text(built)):
        assert "Private event" not in rendered and "Mateo" not in rendered


def earlier_candidate(number: int, week: str) -> CandidateInput:
    return replace(
        candidate(f"c-old{number}", f"Old work {number}", pr(400 + number, f"Old {number}", MONDAY)), week=week
    )


def test_earlier_weeks_list_a_few_in_what_is_left_of_max_items_and_count_the_rest() -> None:
    earlier = [earlier_candidate(n, f"2026-W4{n % 4 + 1}") for n in range(9)]
    built = digest_of(WORK[:2], earlier, max_items=4)
    # two of this week's, then two earlier ones (oldest first) to fill max_items, seven counted
    assert [e.age_weeks for e in built.earlier] == [5, 5]
    assert built.earlier_more == 7 and built.earlier_line == "and 7 more from earlier weeks on the review page"
    assert built.subject == "Your wins for 2026-W46: 4 to review"
    text, html = render_text(built), render_html(built)
    assert text.count("Approve: ") == 4 and html.count(">Approve</a>") == 4
    assert "and 7 more from earlier weeks on the review page: https://brag.example/" in text
    assert ">and 7 more from earlier weeks on the review page</a>" in html


def test_a_full_week_leaves_earlier_weeks_to_one_line() -> None:
    earlier = [earlier_candidate(n, "2026-W44") for n in range(2)]
    built = digest_of(WORK, earlier, max_items=7)
    assert len(built.entries) == 7 and built.earlier == ()
    assert built.earlier_line == "and 2 from earlier weeks on the review page"
    assert built.subject == "Your wins for 2026-W46: 7 to review"
    assert "Still waiting from earlier weeks" in render_text(built)


def test_a_week_of_meetings_only_says_where_they_are_not_zero_to_review() -> None:
    built = digest_of([*ROUTINE, *NAMED])
    assert not built.empty and built.entries == ()
    assert built.subject == "Your wins for 2026-W46: 9 on the review page"
    assert "9 on the review page" in render_html(built)


def test_a_lunch_and_learn_is_named_by_its_topic() -> None:
    talk = candidate("c-t", "Talk", event(1, "Lunch & learn: Jetpack Compose animations", attendees=25, organised=True))
    assert digest_of([talk]).meetings == "Gave the talk “Jetpack Compose animations”"
