from __future__ import annotations

import json
from pathlib import Path

from conftest import act
from spacy.language import Language

from harvester.clustering import Candidate, cluster_week
from harvester.records import Activity


def groups(candidates: list[Candidate]) -> set[frozenset[str]]:
    return {frozenset(c.activity_ids) for c in candidates}


DEMO_WEEK = Path(__file__).with_name("demo_week_w48.jsonl")


def test_pr_ticket_and_design_review_become_one_candidate(nlp: Language) -> None:
    week = [
        act("gh:1", "pull_request", "Retry failed payment webhooks with backoff", repo="octo/api",
            url="https://github.com/octo/api/pull/41", body="Fixes PAY-12.", paths=("api/webhooks/retry.py",)),
        act("jira:PAY-12", "ticket", "Payment webhooks are not retried", hours=-24,
            url="https://acme.atlassian.net/browse/PAY-12", labels=("Story",)),
        act("cal:1", "event", "Design review: payment webhook retries", hours=-20),
        act("gh:2", "pull_request", "Upgrade the logging library", repo="octo/api", hours=30,
            url="https://github.com/octo/api/pull/42", paths=("requirements.txt",)),
    ]  # fmt: skip
    assert groups(cluster_week(week, nlp)) == {
        frozenset({"gh:1", "jira:PAY-12", "cal:1"}),
        frozenset({"gh:2"}),
    }


def test_two_unrelated_prs_in_the_same_repo_stay_apart(nlp: Language) -> None:
    week = [
        act("gh:1", "pull_request", "Add CSV export to the invoices page", repo="octo/web",
            paths=("web/invoices/export.ts",)),
        act("gh:2", "pull_request", "Fix flaky login test on Safari", repo="octo/web", hours=5,
            paths=("web/auth/login.spec.ts",)),
    ]  # fmt: skip
    assert groups(cluster_week(week, nlp)) == {frozenset({"gh:1"}), frozenset({"gh:2"})}


def test_every_activity_lands_in_exactly_one_candidate(nlp: Language) -> None:
    week = [act(f"c:{i}", "commit", f"Commit number {i} about topic {i % 3}", hours=i) for i in range(12)]
    ids = [i for c in cluster_week(week, nlp) for i in c.activity_ids]
    assert sorted(ids) == sorted(a.id for a in week)


def test_candidate_ids_are_deterministic(blank_nlp: Language) -> None:
    week = [act("a", "commit", "Add retries"), act("b", "commit", "Add retries", hours=1)]
    first, second = cluster_week(week, blank_nlp), cluster_week(list(reversed(week)), blank_nlp)
    assert [c.id for c in first] == [c.id for c in second]
    assert first[0].id.startswith("c-")


def test_items_without_files_are_never_grouped_by_timing_alone(nlp: Language) -> None:
    # the demo's week 2026-W48 as `brag activities --format jsonl` wrote it: OPS-45 was grouped with
    # an unrelated review, and WEB-9 with a 1:1, "because: similar files and timing", with no file
    week = [Activity.from_json(json.loads(line)) for line in DEMO_WEEK.read_text().splitlines()]
    groups = [set(c.activity_ids) for c in cluster_week(week, nlp)]
    assert {"jira:OPS-45"} in groups and {"jira:WEB-9"} in groups
    assert {"jira:PAY-58", "github:pr:acme/payments-api#430", "google_calendar:primary:pay58meeting"} in groups


def test_items_without_files_still_join_the_work_whose_words_they_share(nlp: Language) -> None:
    pr = act(
        "github:pr:acme/infra#44",
        "pull_request",
        "Move CI to ephemeral runners",
        repo="acme/infra",
        paths=("ci/runners.tf",),
    )
    ticket = act("jira:OPS-44", "ticket", "Migrate CI to ephemeral runners", hours=3)
    (candidate,) = cluster_week([pr, ticket], nlp)
    assert set(candidate.activity_ids) == {pr.id, ticket.id}
