from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering import cluster_week, extract_features
from harvester.clustering.drafting import draft_title
from harvester.clustering.similarity import shared_terms
from harvester.records import Activity


def review(
    activity_id: str,
    pr_title: str,
    number: int,
    *,
    body: str = "",
    hours: float = 0,
    repo: str = "acme/api",
    state: str = "COMMENTED",
    comments: int = 0,
) -> object:
    """A review as the GitHub connector records it: the PR's title and URL are its subject."""
    url = f"https://github.com/{repo}/pull/{number}"
    return act(activity_id, "review", f"Reviewed: {pr_title}", body=body, hours=hours, repo=repo,
               url=url + "#pullrequestreview-1",
               extra={"pull_request_url": url, "state": state, "comments": comments},
               subject_title=pr_title, subject_url=url)  # fmt: skip


def test_a_review_is_drafted_from_its_subject_whatever_its_own_title_says() -> None:
    # another source's wording: the core reads the subject, never the title's phrasing
    subject = {
        "subject_title": "Add retries to payment webhooks",
        "subject_url": "https://gitlab.example/acme/api/-/merge_requests/12",
    }
    one = act("m1", "review", "Approved merge request !12", source="gitlab", **subject)
    same = act("m2", "review", "Commented on merge request !12", source="gitlab", hours=1, **subject)
    assert draft_title([one, same]) == "Reviewed “Add retries to payment webhooks”"


def test_reviews_of_one_pr_renamed_meanwhile_count_once() -> None:
    before = review("r1", "Add metrics", 8)
    renamed = review("r2", "Add metrics for queue depth", 8, hours=3)
    assert draft_title([before, renamed]) == "Reviewed “Add metrics”"  # type: ignore[list-item]


def test_review_titles_do_not_repeat_reviewed() -> None:
    one = review("r1", "Refactor invoice PDF rendering", 7)
    two = review("r2", "Add metrics for queue depth", 8)
    again = review("r3", "Refactor invoice PDF rendering", 7, hours=2)
    assert draft_title([one]) == "Reviewed “Refactor invoice PDF rendering”"  # type: ignore[list-item]
    assert draft_title([one, two, again]) == (  # type: ignore[list-item]
        "Reviewed 2 pull requests in acme/api: “Refactor invoice PDF rendering”, “Add metrics for queue depth”"
    )


def test_a_week_of_reviews_names_the_most_substantial_first() -> None:
    week = [
        review("r1", "Bump the linter", 1),
        review("r2", "Rename a flag", 2, repo="acme/web", comments=1),
        review("r3", "Split the ledger writer", 3, state="CHANGES_REQUESTED", comments=2),
        review("r4", "Add queue depth metrics", 4, repo="acme/infra", comments=6),
        review("r5", "Fix a typo", 5),
    ]
    assert draft_title(week) == (  # type: ignore[arg-type]
        "Reviewed 5 pull requests across 3 repositories: “Split the ledger writer”, “Add queue depth metrics”, "
        "“Rename a flag” and 2 more"
    )


def test_reviews_are_gathered_not_grouped_by_their_verdict_words(nlp: Language) -> None:
    week = [
        review("r1", "Fix flaky test in ledger reconciliation", 1, body="Looks good, one note on naming"),
        review("r2", "Add metrics for queue depth", 2, body="Looks good, one note on naming", hours=1),
        act("p1", "pull_request", "Add CSV export to the invoices page", repo="acme/web", hours=2,
            body="Looks good to me, one note", paths=("web/invoices/export.ts",)),
    ]  # fmt: skip
    candidates = {frozenset(c.activity_ids): c for c in cluster_week(week, nlp)}  # type: ignore[arg-type]
    assert set(candidates) == {frozenset({"r1", "r2"}), frozenset({"p1"})}
    reviews = candidates[frozenset({"r1", "r2"})]
    assert reviews.title == (
        "Reviewed 2 pull requests in acme/api: “Fix flaky test in ledger reconciliation”, “Add metrics for queue depth”"
    )
    assert reviews.why == "reviews of teammates' PRs this week"
    assert reviews.section == "Collaboration & mentorship"


def test_a_figure_stated_on_the_ticket_and_the_pr_is_listed_once(blank_nlp: Language) -> None:
    week = [
        act("p", "pull_request", "PAY-31: Cache merchant settings", body="p99 from 300 ms to 120 ms"),
        act("t", "ticket", "Reduce p99 latency", body="p99 from 300 ms to 120 ms", url="x/browse/PAY-31"),
    ]
    [candidate] = cluster_week(week, blank_nlp)
    assert [m.text for m in candidate.metrics] == ["p99 from 300 ms to 120 ms"]


def test_two_tickets_never_merge_by_similarity(blank_nlp: Language) -> None:
    week = [
        act("t1", "ticket", "Lucene index: support reindex", source="jira"),
        act("t2", "ticket", "Lucene index: support reindex of properties", source="jira", hours=1),
    ]
    assert len(cluster_week(week, blank_nlp)) == 2


def test_figures_past_the_analysed_part_of_a_long_body_are_found(nlp: Language) -> None:
    body = "Context. " * 200 + "Builds are 3x faster."
    [features] = extract_features(nlp, [act("p", "pull_request", "Speed up CI", body=body)])
    assert [(m.kind, m.field, body[m.start : m.end]) for m in features.metrics] == [("multiplier", "body", "3x")]


def test_title_terms_are_lemmas_and_identifier_parts(nlp: Language) -> None:
    [features] = extract_features(nlp, [act("c", "commit", "Fixes retries in WebhookSender for PAY-12")])
    assert {"fix", "retry", "webhooksender", "webhook", "sender"} <= set(features.terms)
    assert "pay" not in features.terms


def test_the_why_line_names_words_of_the_titles_first(blank_nlp: Language) -> None:
    body = "Merchants lost events when their endpoint was down.\n\nJira: PAY-12"
    features = extract_features(
        blank_nlp,
        [
            act("p", "pull_request", "Retry failed webhook deliveries with backoff", body=body),
            act("t", "ticket", "Retry failed webhook deliveries with exponential backoff", body=body),
        ],
    )
    assert shared_terms(features) == ["delivery", "webhook", "backoff"]


@pytest.mark.parametrize(
    ("title", "drafted"),
    [
        ("Fix double refund on concurrent requests", "Fixed double refund on concurrent requests"),
        ("Adds theme toggle", "Added theme toggle"),
        ("Speed up CI", "Sped up CI"),
        ("Write the payments onboarding guide", "Wrote the payments onboarding guide"),
        # a software verb the dictionary lacks is still a verb
        ("Refactor invoice PDF rendering", "Refactored invoice PDF rendering"),
        ("Migrated CI to ephemeral runners", "Migrated CI to ephemeral runners"),
        # a noun that is also a verb stays a noun: a verb goes before it
        ("Design review: webhook retries", "Completed design review: webhook retries"),
        ("Fix for double refunds", "Shipped fix for double refunds"),
        ("Cleanup unused feature flags", "Cleaned up unused feature flags"),
        ("Rollout of the new checkout", "Shipped rollout of the new checkout"),
        ("Dark mode for the settings page", "Shipped dark mode for the settings page"),
        ("CSV export for invoices", "Shipped CSV export for invoices"),
        # ...and so does the modifier of a compound noun, while the same word before an object is a verb
        ("Test harness for the billing service", "Shipped test harness for the billing service"),
        ("Search results pagination", "Shipped search results pagination"),
        ("Cache merchant settings in charges path", "Cached merchant settings in charges path"),
        ("Update docs for the webhooks API", "Updated docs for the webhooks API"),
        ("Lucene index: support reindex", "Supported reindex in Lucene index"),
        # a common noun after the verb is lower-cased, a name keeps its capital
        ("Typo tolerance for product search", "Shipped typo tolerance for product search"),
        ("Per-tenant rate limits in the API gateway", "Shipped per-tenant rate limits in the API gateway"),
        ("Elasticsearch snapshot credentials", "Shipped Elasticsearch snapshot credentials"),
    ],
)
def test_a_title_leads_with_a_past_tense_verb_never_an_inflected_noun(title: str, drafted: str) -> None:
    assert draft_title([act("p", "pull_request", title)]) == drafted


def test_a_bug_led_by_a_noun_reads_as_fixed() -> None:
    bug = act("t", "ticket", "Flaky test in ledger reconciliation", extra={"issue_type": "Bug"})
    assert draft_title([bug]) == "Fixed flaky test in ledger reconciliation"


def test_a_title_names_its_own_ticket_once_never_the_epic() -> None:
    ticket = act(
        "PAY-12",
        "ticket",
        "Retry failed webhook deliveries with exponential backoff",
        url="https://jira.example/browse/PAY-12",
        extra={"key": "PAY-12", "epic": "PAY-1"},
    )
    pr = act("p", "pull_request", "PAY-12: Retry failed webhook deliveries with backoff (PAY-1)", hours=1)
    assert draft_title([ticket, pr], ["PAY-1", "PAY-12"]) == (
        "Retried failed webhook deliveries with exponential backoff (PAY-12)"
    )  # fmt: skip


def test_without_a_ticket_the_single_referenced_key_is_named_and_several_are_not() -> None:
    one = act("p", "pull_request", "PAY-31: Cache merchant settings")
    two = act("q", "pull_request", "PAY-31 and PAY-32: Batch ledger writes", hours=1)
    assert draft_title([one], ["PAY-31"]) == "Cached merchant settings (PAY-31)"
    assert draft_title([one, two], ["PAY-31", "PAY-32"]) == "Cached merchant settings"


@pytest.mark.parametrize(
    ("title", "organized", "drafted"),
    [
        ("Design review: idempotent payouts", True, "Led the design review of idempotent payouts"),
        ("Design review: idempotent payouts", False, "Took part in the design review of idempotent payouts"),
        ("Incident bridge: payouts stuck in PENDING", True, "Ran the incident bridge for payouts stuck in PENDING"),
        ("Incident postmortem: double refunds", False, "Took part in the postmortem of double refunds"),
        ("Tech talk: Postgres locking", True, "Gave a talk on Postgres locking"),
        ("CI migration sync", False, "Attended the CI migration sync"),
        ("Private event", False, "Private event"),
    ],
)
def test_a_meeting_led_candidate_says_what_the_user_did(title: str, organized: bool, drafted: str) -> None:
    event = act("e", "event", title, extra={"organized": organized, "attendee_count": 6})
    assert draft_title([event]) == drafted


def test_a_block_in_the_users_own_calendar_is_not_worded_as_a_meeting_they_ran() -> None:
    def block(title: str, attendees: int) -> Activity:
        return Activity(
            id=f"google_calendar:primary:{title}",
            source="google_calendar",
            kind="event",
            title=title,
            occurred_at=datetime(2026, 11, 24, 15, tzinfo=UTC),
            extra={"organized": True, "attendee_count": attendees},
        )

    assert draft_title([block("Prepare Q4 roadmap notes", 0)]) == "Prepare Q4 roadmap notes"
    assert draft_title([block("Focus time", 0)]) == "Focus time"
    assert draft_title([block("Ledger lag review", 0)]) == "Worked on ledger lag review"


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ("Search returns 500 for queries with emoji", "Fixed “Search returns 500 for queries with emoji” (SRCH-97)"),
        ("Checkout fails on Safari 17", "Fixed “Checkout fails on Safari 17” (SRCH-97)"),
        ("Login button does nothing on Android", "Fixed “Login button does nothing on Android” (SRCH-97)"),
        ("Fix for timezone drift in reports", "Fixed timezone drift in reports (SRCH-97)"),
        ("Fix crash on launch", "Fixed crash on launch (SRCH-97)"),
    ],
)
def test_a_bug_titled_by_its_symptom_is_quoted_not_inflected(summary: str, title: str) -> None:
    # the symptom's first word is its subject: "Searched returns 500" and "Checked out fails" misread it
    bug = act("t", "ticket", summary, url="https://jira.example/browse/SRCH-97",
              extra={"key": "SRCH-97", "issue_type": "Bug"})  # fmt: skip
    assert draft_title([bug]) == title


def test_a_meeting_topic_cut_from_its_title_keeps_its_brackets_closed() -> None:
    bridge = act("e", "event", "Incident bridge: search latency spike (SEV-2)",
                 extra={"organized": True, "attendee_count": 9})  # fmt: skip
    assert draft_title([bridge]) == "Ran the incident bridge for search latency spike (SEV-2)"
