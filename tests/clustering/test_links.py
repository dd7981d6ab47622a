from __future__ import annotations

from conftest import act
from spacy.language import Language

from harvester.clustering import cluster_week, explicit_links


def linked(*activities: object) -> set[tuple[int, int]]:
    return {(link.a, link.b) for link in explicit_links(activities)}  # type: ignore[arg-type]


def test_ticket_key_in_pr_title_links_to_the_ticket() -> None:
    assert linked(
        act("gh:1", "pull_request", "PAY-12: retry webhooks"),
        act("jira:PAY-12", "ticket", "Webhooks are not retried"),
    ) == {(0, 1)}


def test_a_key_in_the_body_of_a_commit_titled_with_its_own_key_does_not_link() -> None:
    # jackrabbit-oak: "OAK-1586 - Implement checkpoint support" whose body says the change also
    # helps with OAK-1647 is OAK-1586's work; OAK-1647 is a piece of work of its own
    assert linked(
        act("c:1", "commit", "OAK-1586 - Implement checkpoint support", body="Helps with the case of OAK-1647."),
        act("t:1586", "ticket", "Implement checkpoint support", url="https://issues.apache.org/jira/browse/OAK-1586"),
        act("t:1647", "ticket", "Too many checkpoints", url="https://issues.apache.org/jira/browse/OAK-1647"),
        act("c:2", "commit", "Create fewer checkpoints", body="Fixes OAK-1647"),
    ) == {(0, 1), (2, 3)}


def test_ticket_key_in_branch_name_links() -> None:
    for field in ("head_ref", "branch"):
        assert linked(
            act("gh:1", "pull_request", "Retry webhooks", extra={field: "feature/OAK-154-retries"}),
            act("c:1", "commit", "more tests", body="part of OAK-154"),
        ) == {(0, 1)}


def test_ticket_linked_through_its_url() -> None:
    assert linked(
        act("gh:1", "pull_request", "Retry", body="See https://acme.atlassian.net/browse/PAY-7"),
        act("t:1", "ticket", "Retries", url="https://acme.atlassian.net/browse/PAY-7"),
    ) == {(0, 1)}


def test_hash_number_refers_to_a_pr_in_the_same_repo() -> None:
    assert linked(
        act("gh:41", "pull_request", "Retry webhooks", repo="octo/api", url="https://github.com/octo/api/pull/41"),
        act("gh:43", "pull_request", "Follow-up to #41", repo="octo/api"),
        act("gh:9", "pull_request", "Follow-up to #41", repo="octo/web"),
    ) == {(0, 1)}


def test_pr_url_in_body_links() -> None:
    assert linked(
        act("gh:41", "pull_request", "Retry webhooks", url="https://github.com/octo/api/pull/41"),
        act("c:1", "commit", "Backport", body="from https://github.com/octo/api/pull/41"),
    ) == {(0, 1)}


def test_same_epic_or_parent_links_tickets() -> None:
    assert linked(
        act("jira:PAY-13", "ticket", "Retry webhooks", extra={"epic": "PAY-1"}),
        act("jira:PAY-14", "ticket", "Alert on dead letters", extra={"epic": "PAY-1"}),
        act("jira:PAY-20", "ticket", "Unrelated", extra={"epic": "PAY-2"}),
    ) == {(0, 1)}
    assert linked(
        act("jira:PAY-13", "ticket", "Sub-task one", extra={"parent": "PAY-10"}),
        act("jira:PAY-10", "ticket", "The story"),
    ) == {(0, 1)}


def test_standards_that_look_like_keys_do_not_link() -> None:
    assert linked(act("a", "commit", "Read files as UTF-8"), act("b", "commit", "Write UTF-8 output")) == set()


def test_explicit_link_beats_dissimilar_text_and_says_why(blank_nlp: Language) -> None:
    week = [
        act("gh:1", "pull_request", "OAK-154 Add Lucene analyzer config"),
        act("c:1", "commit", "Tidy imports", body="OAK-154", hours=50),
    ]
    [candidate] = cluster_week(week, blank_nlp)
    assert "same ticket OAK-154" in candidate.why


def test_items_on_different_tickets_are_not_merged_by_similar_words(blank_nlp: Language) -> None:
    week = [
        act("c:1", "commit", "OAK-1 Lucene index: support reindex"),
        act("c:2", "commit", "OAK-2 Lucene index: support reindex of properties", hours=1),
    ]
    assert len(cluster_week(week, blank_nlp)) == 2
