from __future__ import annotations

from conftest import act
from spacy.language import Language

from harvester.clustering import Constraints, ExistingCandidate, cluster_week

WEEK = [
    act("a", "pull_request", "Retry payment webhooks", paths=("api/webhooks/retry.py",)),
    act("b", "commit", "Retry payment webhooks", hours=1, paths=("api/webhooks/retry.py",)),
    act("c", "pull_request", "Add CSV export for invoices", hours=3, paths=("web/invoices/export.ts",)),
]


def test_locked_candidate_keeps_its_items_and_id(blank_nlp: Language) -> None:
    existing = [ExistingCandidate("c-mine", ("a", "c"), "approved")]
    new = act("d", "commit", "Retry payment webhooks (tests)", hours=2, paths=("api/webhooks/retry.py",))
    result = {c.id: c for c in cluster_week([*WEEK, new], blank_nlp, existing=existing)}
    assert set(result["c-mine"].activity_ids) == {"a", "c"}
    assert result["c-mine"].state == "approved"
    # similarity alone never adds to a reviewed candidate
    assert any(set(c.activity_ids) == {"b", "d"} for c in result.values())


def test_new_item_joins_locked_candidate_through_explicit_link(blank_nlp: Language) -> None:
    existing = [ExistingCandidate("c-mine", ("a",), "edited")]
    week = [act("a", "pull_request", "PAY-12 retry webhooks"), act("z", "commit", "tidy up", body="PAY-12", hours=9)]
    [candidate] = cluster_week(week, blank_nlp, existing=existing)
    assert (candidate.id, set(candidate.activity_ids)) == ("c-mine", {"a", "z"})


def test_locked_candidate_keeps_items_missing_from_this_batch(blank_nlp: Language) -> None:
    existing = [ExistingCandidate("c-old", ("a", "gone"), "approved")]
    result = {c.id: c for c in cluster_week(WEEK, blank_nlp, existing=existing)}
    assert set(result["c-old"].activity_ids) == {"a", "gone"}


def test_pending_candidate_keeps_its_id_when_unchanged(blank_nlp: Language) -> None:
    first = cluster_week(WEEK, blank_nlp)
    renamed = [ExistingCandidate(f"c-pending-{n}", c.activity_ids) for n, c in enumerate(first)]
    again = cluster_week(WEEK, blank_nlp, existing=renamed)
    assert {c.id for c in again} == {c.id for c in renamed}


def test_must_link_and_cannot_link_are_respected(blank_nlp: Language) -> None:
    split = cluster_week(WEEK, blank_nlp, constraints=Constraints(cannot_link=(("a", "b"),)))
    assert not any({"a", "b"} <= set(c.activity_ids) for c in split)
    merged = cluster_week(WEEK, blank_nlp, constraints=Constraints(must_link=(("a", "c"),)))
    [together] = [c for c in merged if "a" in c.activity_ids]
    assert {"a", "c"} <= set(together.activity_ids)
    assert "merged by you" in together.why
