"""The review state machine: pure transitions on snapshots, then ReviewService on the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from review_support import (
    ACTIVITIES,
    EARLIER_WEEK,
    MONDAY,
    WEEK,
    ZONE,
    Seeded,
    candidate_holding,
    harvest_new_payments_pr,
    seed,
)
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harvester import candidates
from harvester import review as review_module
from harvester.candidates import recluster_weeks
from harvester.clustering import Candidate, load_pipeline
from harvester.review import (
    Outcome,
    ReviewError,
    ReviewService,
    Snapshot,
    approve,
    edit,
    merge,
    reject,
    reopen,
    split,
)
from harvester.store import repository
from harvester.store.models import CandidateRow, ReviewAction

PENDING = Snapshot(
    public_id="c-1",
    state="pending",
    title="Retry failed card payments",
    summary="2 PRs, 1 ticket",
    section="Projects",
    impact=None,
    edited=False,
    merged_into=None,
    activity_ids=("jira:PAY-12", "gh#101", "gh#102"),
)
OTHER = replace(PENDING, public_id="c-2", title="Rotate credentials", activity_ids=("jira:OPS-7",))
MERGED = replace(OTHER, state="merged", merged_into="c-1", activity_ids=())


def test_approve_as_drafted() -> None:
    outcome = approve(PENDING)
    assert outcome.changed == (replace(PENDING, state="approved"),)
    assert outcome.constraints == () and outcome.created == ()


def test_approve_with_edits_strips_them_and_marks_edited() -> None:
    (approved,) = approve(PENDING, title="  Card retries ", impact=" Failures 4% → 1% ", section="Learning").changed
    assert (approved.state, approved.title, approved.impact, approved.section) == (
        "approved",
        "Card retries",
        "Failures 4% → 1%",
        "Learning",
    )
    assert approved.edited


def test_blank_impact_clears_it() -> None:
    (approved,) = approve(replace(PENDING, impact="old"), impact="   ").changed
    assert approved.impact is None


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"section": "Hobbies"}, "unknown section 'Hobbies'"),
        ({"title": "  "}, "the title cannot be empty"),
    ],
)
def test_approve_refuses_bad_edits(edits: dict[str, str], message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        approve(PENDING, **edits)


def test_edit_keeps_the_state_and_locks() -> None:
    (edited,) = edit(PENDING, impact="Fewer failed checkouts").changed
    assert (edited.state, edited.impact, edited.edited) == ("pending", "Fewer failed checkouts", True)
    (still_rejected,) = edit(replace(PENDING, state="rejected"), title="New").changed
    assert still_rejected.state == "rejected"


def test_reject_and_change_of_mind() -> None:
    (rejected,) = reject(PENDING).changed
    assert rejected.state == "rejected"
    assert approve(rejected).changed[0].state == "approved"


def test_a_merged_candidate_cannot_be_acted_on() -> None:
    for action in (approve, reject, edit):
        with pytest.raises(ReviewError, match="it was merged into c-1"):
            action(MERGED)
    with pytest.raises(ReviewError, match="merged into c-1"):
        merge(PENDING, MERGED)
    with pytest.raises(ReviewError, match="merged into c-1"):
        split(MERGED, "jira:OPS-7")


def test_merge_moves_items_and_asks_to_keep_them_together() -> None:
    outcome = merge(PENDING, OTHER)
    target, other = outcome.changed
    assert target.activity_ids == ("jira:PAY-12", "gh#101", "gh#102", "jira:OPS-7")
    assert target.edited
    assert (other.state, other.merged_into, other.activity_ids) == ("merged", "c-1", ())
    assert outcome.constraints == (("must", "jira:PAY-12", "jira:OPS-7"),)


def test_merge_into_itself_is_refused() -> None:
    with pytest.raises(ReviewError, match="into itself"):
        merge(PENDING, PENDING)


def test_split_takes_one_item_out_and_keeps_it_apart() -> None:
    outcome = split(PENDING, "gh#102", "c-new")
    (rest,) = outcome.changed
    (alone,) = outcome.created
    assert rest.activity_ids == ("jira:PAY-12", "gh#101")
    assert (alone.public_id, alone.state, alone.activity_ids, alone.section) == (
        "c-new",
        "pending",
        ("gh#102",),
        "Projects",
    )
    assert outcome.constraints == (("cannot", "gh#102", "jira:PAY-12"), ("cannot", "gh#102", "gh#101"))


def test_reopen_puts_a_decision_back_and_keeps_the_wording() -> None:
    approved = replace(PENDING, state="approved", impact="Fewer failed checkouts", edited=True)
    (back,) = reopen(approved).changed
    assert (back.state, back.impact, back.edited) == ("pending", "Fewer failed checkouts", True)
    with pytest.raises(ReviewError, match="already waiting"):
        reopen(PENDING)
    with pytest.raises(ReviewError, match="merged into c-1"):
        reopen(MERGED)


def test_split_refuses_unknown_items_and_single_item_candidates() -> None:
    with pytest.raises(ReviewError, match="gh#999 is not in c-1; its items are: jira:PAY-12, gh#101, gh#102"):
        split(PENDING, "gh#999")
    with pytest.raises(ReviewError, match="c-2 has only one item"):
        split(OTHER, "jira:OPS-7")


def test_snapshot_round_trips_through_json() -> None:
    assert Snapshot.from_json(PENDING.to_json()) == PENDING


@pytest.fixture
def seeded(sessions: sessionmaker[Session], user_id: int) -> Seeded:
    return seed(sessions, user_id)


def review(session: Session, user_id: int) -> ReviewService:
    return ReviewService(session, user_id)


def test_service_approve_then_undo(sessions: sessionmaker[Session], user_id: int, seeded: Seeded) -> None:
    with sessions.begin() as session:
        review(session, user_id).approve(seeded.payments, impact="Failures 4% → 1%")
    with sessions.begin() as session:
        row = repository.candidate_by_public_id(session, user_id, seeded.payments)
        assert row is not None and row.state == "approved" and row.reviewed_at is not None
        assert review(session, user_id).undo().description == f"approved {seeded.payments}"
    with sessions() as session:
        assert review(session, user_id).snapshot(seeded.payments).state == "pending"
        row = repository.candidate_by_public_id(session, user_id, seeded.payments)
        assert row is not None and row.impact is None and row.reviewed_at is None


def test_undo_goes_back_one_action_at_a_time(sessions: sessionmaker[Session], user_id: int, seeded: Seeded) -> None:
    with sessions.begin() as session:
        service = review(session, user_id)
        service.reject(seeded.xss)
        service.approve(seeded.credentials)
        assert service.undo().description == f"approved {seeded.credentials}"
        assert service.undo().description == f"rejected {seeded.xss}"
        with pytest.raises(ReviewError, match="nothing to undo"):
            service.undo()


def test_unknown_candidate_names_the_listing_command(sessions: sessionmaker[Session], user_id: int) -> None:
    with sessions() as session, pytest.raises(ReviewError, match="no candidate 'c-nope'; `brag candidates`"):
        review(session, user_id).approve("c-nope")


def test_service_merge_records_must_link_and_undo_removes_it(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded
) -> None:
    with sessions.begin() as session:
        review(session, user_id).merge(seeded.payments, seeded.xss)
        assert repository.link_constraints(session, user_id) == ([("github:acme/shop#103", "jira:PAY-12")], [])
        review(session, user_id).undo()
        assert repository.link_constraints(session, user_id) == ([], [])
        assert review(session, user_id).snapshot(seeded.xss).activity_ids == ("github:acme/shop#103",)


def test_merge_and_split_redraft_what_membership_says_and_undo_puts_it_back(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded
) -> None:
    with sessions.begin() as session:
        drafted = repository.candidate_by_public_id(session, user_id, seeded.payments)
        assert drafted is not None
        summary, why = drafted.summary, drafted.why
        assert summary == "2 PRs in acme/shop, 1 ticket"
        review(session, user_id).merge(seeded.payments, seeded.credentials)
        assert (drafted.summary, drafted.why) == (
            "2 PRs in acme/shop, 2 tickets",
            f"{why}; you merged in “Rotated the staging database credentials (OPS-7)”",
        )
        review(session, user_id).undo()
        assert (drafted.summary, drafted.why) == (summary, why)
        alone = review(session, user_id).split(seeded.payments, "github:acme/shop#102")
        assert drafted.summary == "1 PR in acme/shop, 1 ticket"
        assert drafted.why.startswith("you split “") and drafted.why.endswith("” out of it")
        row = repository.candidate_by_public_id(session, user_id, alone.public_id)
        assert row is not None and row.why == f"you split it out of “{drafted.title}”"


def test_a_summary_the_user_wrote_survives_a_merge(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded
) -> None:
    with sessions.begin() as session:
        review(session, user_id).edit(seeded.payments, summary="Retries for the card gateway")
        review(session, user_id).merge(seeded.payments, seeded.credentials)
        row = repository.candidate_by_public_id(session, user_id, seeded.payments)
        assert row is not None and row.summary == "Retries for the card gateway"


def test_service_split_creates_a_candidate_and_undo_deletes_it(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded
) -> None:
    with sessions.begin() as session:
        alone = review(session, user_id).split(seeded.payments, "github:acme/shop#102")
        assert alone.activity_ids == ("github:acme/shop#102",)
        row = repository.candidate_by_public_id(session, user_id, alone.public_id)
        assert row is not None and row.week == WEEK
        # drafted from its one item right away, not left blank until the next re-clustering
        assert row.title and row.summary == "1 PR in acme/shop"
        assert sorted(repository.link_constraints(session, user_id)[1]) == [
            ("github:acme/shop#101", "github:acme/shop#102"),
            ("github:acme/shop#102", "jira:PAY-12"),
        ]
        review(session, user_id).undo()
        assert repository.candidate_by_public_id(session, user_id, alone.public_id) is None
        assert repository.link_constraints(session, user_id) == ([], [])
        assert len(review(session, user_id).snapshot(seeded.payments).activity_ids) == 3


def recluster(sessions: sessionmaker[Session], user_id: int) -> None:
    recluster_weeks(sessions, user_id, ZONE, [EARLIER_WEEK, WEEK], load_pipeline(None))


def holder(sessions: sessionmaker[Session], user_id: int, activity_id: str) -> str:
    with sessions() as session:
        return candidate_holding(session, user_id, activity_id)


def test_reclustering_keeps_a_split_apart(sessions: sessionmaker[Session], user_id: int, seeded: Seeded) -> None:
    with sessions.begin() as session:
        alone = review(session, user_id).split(seeded.payments, "github:acme/shop#102").public_id
    recluster(sessions, user_id)
    # the ticket key still links the split-out PR to the others; the cannot-link wins
    assert holder(sessions, user_id, "github:acme/shop#102") == alone
    assert holder(sessions, user_id, "github:acme/shop#101") == seeded.payments


def test_reclustering_keeps_a_merge_together(sessions: sessionmaker[Session], user_id: int, seeded: Seeded) -> None:
    with sessions.begin() as session:
        review(session, user_id).merge(seeded.payments, seeded.xss)
    recluster(sessions, user_id)
    assert holder(sessions, user_id, "github:acme/shop#103") == seeded.payments


def test_reclustering_keeps_a_merge_across_weeks(sessions: sessionmaker[Session], user_id: int, seeded: Seeded) -> None:
    with sessions.begin() as session:
        review(session, user_id).merge(seeded.credentials, seeded.earlier)
    recluster(sessions, user_id)
    assert holder(sessions, user_id, "github:acme/shop#90") == seeded.credentials
    with sessions() as session:
        row = repository.candidate_by_public_id(session, user_id, seeded.earlier)
        assert row is not None and row.state == "merged"


def test_undo_that_reclustering_outdated_says_why_and_moves_on(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded
) -> None:
    with sessions.begin() as session:
        review(session, user_id).reject(seeded.xss)
        review(session, user_id).split(seeded.payments, "github:acme/shop#102")
    harvest_new_payments_pr(sessions, user_id)
    recluster(sessions, user_id)
    # the pending payments candidate now has a new member, hence a new id; the old one is gone
    regrouped = holder(sessions, user_id, "jira:PAY-12")
    assert regrouped != seeded.payments
    with sessions.begin() as session:
        undone = review(session, user_id).undo()
    assert not undone.applied
    assert undone.message == (
        f'Cannot undo "split github:acme/shop#102 out of {seeded.payments} into {undone.description.split()[-1]}": '
        f"{seeded.payments} no longer exists: a harvest has re-grouped its items since. "
        "It is skipped; undo again to go back to the action before it"
    )
    # nothing changed, and the next undo goes to the action before the split
    assert holder(sessions, user_id, "jira:PAY-12") == regrouped
    with sessions.begin() as session:
        assert review(session, user_id).undo().message == f"Undone: rejected {seeded.xss}"
        assert review(session, user_id).snapshot(seeded.xss).state == "pending"
        with pytest.raises(ReviewError, match="nothing to undo"):
            review(session, user_id).undo()


def test_undo_never_takes_an_item_from_another_candidate(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded
) -> None:
    with sessions.begin() as session:
        review(session, user_id).merge(seeded.credentials, seeded.xss)
        # the merge moved #103 into credentials; re-clustering cannot move it, so simulate a later
        # split that was itself skipped: #103 ends in a candidate the merge never touched
        alone = review(session, user_id).split(seeded.credentials, "github:acme/shop#103").public_id
        journal = session.scalars(select(ReviewAction).order_by(ReviewAction.id.desc())).first()
        assert journal is not None
        journal.undone_at, journal.undo_refused = datetime.now(UTC), "skipped for the test"
    with sessions.begin() as session:
        undone = review(session, user_id).undo()
    assert undone.refused == f"github:acme/shop#103 is now in {alone}: a harvest has re-grouped it since"
    assert holder(sessions, user_id, "github:acme/shop#103") == alone


def test_undo_keeps_the_items_reclustering_added(sessions: sessionmaker[Session], user_id: int, seeded: Seeded) -> None:
    with sessions.begin() as session:
        review(session, user_id).approve(seeded.payments, impact="Failures 4% → 1%")
    harvest_new_payments_pr(sessions, user_id)
    recluster(sessions, user_id)
    # the new PR names the approved candidate's ticket, so it joins it
    assert holder(sessions, user_id, "github:acme/shop#104") == seeded.payments
    with sessions.begin() as session:
        assert review(session, user_id).undo().applied
    with sessions() as session:
        snapshot = review(session, user_id).snapshot(seeded.payments)
    assert snapshot.state == "pending" and snapshot.impact is None
    # back to pending with its items, and the PR that joined it since is not left in no candidate
    assert set(snapshot.activity_ids) == {
        "jira:PAY-12",
        "github:acme/shop#101",
        "github:acme/shop#102",
        "github:acme/shop#104",
    }


def test_an_approve_committed_while_reclustering_runs_is_kept(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    harvest_new_payments_pr(sessions, user_id)
    real_cluster_week = candidates.cluster_week
    interleaved: list[str] = []

    def approve_while_clustering(*args: Any, **kwargs: Any) -> list[Candidate]:
        # the re-clustering has read the week and is in spaCy; the user approves in another session
        result = real_cluster_week(*args, **kwargs)
        if not interleaved:
            with sessions.begin() as other:
                approved = ReviewService(other, user_id).approve(seeded.payments, title="Card payments retry")
                interleaved.append(approved.public_id)
        return result

    monkeypatch.setattr(candidates, "cluster_week", approve_while_clustering)
    recluster_weeks(sessions, user_id, ZONE, [WEEK], load_pipeline(None))
    assert interleaved == [seeded.payments]
    with sessions() as session:
        row = repository.candidate_by_public_id(session, user_id, seeded.payments)
        # from its stale read the re-clustering would have deleted it (its membership changed)
        assert row is not None
        assert (row.state, row.title) == ("approved", "Card payments retry")
        snapshot = review(session, user_id).snapshot(seeded.payments)
    assert {"jira:PAY-12", "github:acme/shop#101", "github:acme/shop#102"} <= set(snapshot.activity_ids)
    assert holder(sessions, user_id, "github:acme/shop#104") == seeded.payments


def test_two_reclusterings_of_a_new_week_at_once_store_it_once(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = [
        replace(ACTIVITIES[1], id=f"github:acme/shop#{n}", title=title, occurred_at=MONDAY + timedelta(days=7))
        for n, title in ((201, "PAY-30 refund webhooks"), (202, "Upgrade the linter"))
    ]
    with sessions.begin() as session:
        repository.upsert_activities(session, user_id, later)
    real_cluster_week = candidates.cluster_week
    inner: list[int] = []

    def another_process_clusters_first(*args: Any, **kwargs: Any) -> list[Candidate]:
        result = real_cluster_week(*args, **kwargs)
        if not inner:
            inner.append(1)
            # the same week, re-clustered and committed by another process while this one was in spaCy
            recluster_weeks(sessions, user_id, ZONE, ["2026-W47"], load_pipeline(None))
        return result

    monkeypatch.setattr(candidates, "cluster_week", another_process_clusters_first)
    (result,) = recluster_weeks(sessions, user_id, ZONE, ["2026-W47"], load_pipeline(None))
    assert inner == [1] and result.new == 0
    with sessions() as session:
        rows = repository.candidate_rows(session, user_id, weeks=["2026-W47"])
        members = repository.candidate_members(session, [row.id for row in rows])
    held = sorted(a.id for row in rows for a in members[row.id])
    assert held == ["github:acme/shop#201", "github:acme/shop#202"]


def test_a_review_action_from_a_stale_read_is_refused_not_written(
    sessions: sessionmaker[Session], user_id: int, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_approve = review_module.approve
    seen: list[str] = []

    def reject_meanwhile(candidate: Snapshot, **edits: Any) -> Outcome:
        # the service has read the candidate; another session acts on it before the write
        with sessions.begin() as other:
            if other.get_bind().dialect.name == "postgresql":
                # the service's read holds the row lock: nobody can change it until it commits
                with pytest.raises(OperationalError, match="could not obtain lock"):
                    other.execute(
                        select(CandidateRow)
                        .where(CandidateRow.public_id == candidate.public_id)
                        .with_for_update(nowait=True)
                    )
                seen.append("locked")
                return real_approve(candidate, **edits)
        with sessions.begin() as other:
            ReviewService(other, user_id).reject(candidate.public_id)
        seen.append("rejected meanwhile")
        return real_approve(candidate, **edits)

    monkeypatch.setattr(review_module, "approve", reject_meanwhile)
    with sessions.begin() as session:
        service = review(session, user_id)
        if session.get_bind().dialect.name == "postgresql":
            assert service.approve(seeded.payments, title="Card retries").state == "approved"
            assert seen == ["locked"]
            return
        with pytest.raises(ReviewError, match="nothing was changed"):
            service.approve(seeded.payments, title="Card retries")
    assert seen == ["rejected meanwhile"]
    with sessions() as session:
        row = repository.candidate_by_public_id(session, user_id, seeded.payments)
        assert row is not None and (row.state, row.title) == ("rejected", row.title) and row.title != "Card retries"
