"""Review decisions teach the user's own clustering and ranking, kept in the store."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from review_support import ACTIVITIES, WEEK, ZONE, config_file, seed
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from harvester import candidates
from harvester.candidates import recluster_weeks
from harvester.cli import app
from harvester.clustering import Candidate, extract_features, learning, load_pipeline
from harvester.clustering.similarity import pair_probabilities
from harvester.digest.outbox import load_digest
from harvester.records import Activity
from harvester.review import ReviewService, Snapshot, approve, merge, reject, split, taught_pairs
from harvester.store import repository
from harvester.store.engine import open_store
from harvester.store.models import CandidateRow
from harvester.web.pages import week_page

runner = CliRunner()
PR_101, PR_103 = "github:acme/shop#101", "github:acme/shop#103"


def model_of(sessions: sessionmaker[Session], user_id: int) -> learning.UserModel:
    with sessions() as session:
        return repository.user_model(session, user_id)


def likelihood(weights: dict[str, float] | None, a: str, b: str) -> float:
    """How likely clustering finds two of the seeded week's activities the same work."""
    week = [activity for activity in ACTIVITIES if activity.occurred_at >= ACTIVITIES[0].occurred_at]
    index = {activity.id: i for i, activity in enumerate(week)}
    probabilities = pair_probabilities(extract_features(load_pipeline(None), week), weights=weights)
    return float(probabilities[index[a], index[b]])


def test_a_merge_is_learned_by_the_next_clustering_and_kept_across_a_restart(
    database_url: str, sessions: sessionmaker[Session], user_id: int
) -> None:
    seeded = seed(sessions, user_id)
    with sessions.begin() as session:
        ReviewService(session, user_id).merge(seeded.payments, seeded.xss)
    waiting = model_of(sessions, user_id)
    # the pairs wait for the week's features; the coefficients have not moved yet
    assert len(waiting.pending) == 1 and waiting.weights == learning.declared_weights()
    recluster_weeks(sessions, user_id, ZONE, [WEEK], load_pipeline(None))
    learned = model_of(sessions, user_id)
    assert learned.pending == () and learned.weights != learning.declared_weights()
    assert likelihood(dict(learned.weights), PR_101, PR_103) > likelihood(None, PR_101, PR_103)
    restarted = open_store(database_url)
    assert model_of(restarted, user_id).weights == learned.weights
    restarted.kw["bind"].dispose()


def test_a_split_is_learned_the_other_way(sessions: sessionmaker[Session], user_id: int) -> None:
    seeded = seed(sessions, user_id)
    with sessions.begin() as session:
        ReviewService(session, user_id).split(seeded.payments, PR_101)
    recluster_weeks(sessions, user_id, ZONE, [WEEK], load_pipeline(None))
    learned = model_of(sessions, user_id)
    ticket = "jira:PAY-12"
    assert likelihood(dict(learned.weights), PR_101, ticket) < likelihood(None, PR_101, ticket)


def test_one_users_decisions_never_change_another_users_model(sessions: sessionmaker[Session], user_id: int) -> None:
    with sessions.begin() as session:
        other = repository.get_or_create_user(session, "someone else", "Europe/Berlin").id
    mine = seed(sessions, user_id)
    seed(sessions, other)
    with sessions() as session:
        their_order = [c.public_id for c in week_page(session, other, WEEK, ACTIVITIES[0].occurred_at, ZONE).candidates]
    with sessions.begin() as session:
        review = ReviewService(session, user_id)
        review.merge(mine.payments, mine.xss)
        review.approve(mine.payments)
        review.reject(mine.credentials)
    for user in (user_id, other):
        recluster_weeks(sessions, user, ZONE, [WEEK], load_pipeline(None))
    assert model_of(sessions, user_id).decisions == 3
    assert model_of(sessions, other) == learning.UserModel()
    with sessions() as session:
        page = week_page(session, other, WEEK, ACTIVITIES[0].occurred_at, ZONE)
    assert [c.public_id for c in page.candidates] == their_order


def pull_request(number: int, repo: str, title: str, days: int) -> Activity:
    return Activity(
        id=f"github:{repo}#{number}",
        source="github",
        kind="pull_request",
        title=title,
        url=f"https://github.com/{repo}/pull/{number}",
        occurred_at=ACTIVITIES[0].occurred_at + timedelta(days=days),
        repo=repo,
    )


def add(session: Session, user_id: int, public_id: str, week: str, activity: Activity) -> None:
    repository.upsert_activities(session, user_id, [activity])
    row = CandidateRow(user_id=user_id, public_id=public_id, week=week, title=activity.title, section="Projects")
    session.add(row)
    session.flush()
    repository.set_candidate_members(
        session, row, repository.activity_row_ids(session, user_id, [activity.id]).values()
    )


def test_what_the_user_approves_and_rejects_reorders_the_page_the_list_and_the_email(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], user_id: int
) -> None:
    with sessions.begin() as session:
        # last week: the user rejects the docs repository's PRs and approves the shop's
        add(session, user_id, "c-docs-1", "2026-W45", pull_request(1, "acme/docs", "Fix a typo", -6))
        add(session, user_id, "c-docs-2", "2026-W45", pull_request(2, "acme/docs", "Reword the intro", -5))
        add(session, user_id, "c-shop-1", "2026-W45", pull_request(3, "acme/shop", "Cache the cart", -4))
        # this week: two PRs worth the same declared points, the docs one stored first
        add(session, user_id, "c-docs", WEEK, pull_request(4, "acme/docs", "Add a glossary", 1))
        add(session, user_id, "c-shop", WEEK, pull_request(5, "acme/shop", "Speed up checkout", 2))
        # as a finished clustering run leaves them, so `brag candidates` lists them as stored
        monday = ACTIVITIES[0].occurred_at
        marks = repository.clustering_marks(session, user_id, monday - timedelta(days=9), monday + timedelta(days=9))
        repository.clear_clustering_marks(session, marks)
    now = ACTIVITIES[0].occurred_at + timedelta(days=4)

    def orders() -> tuple[list[str], list[str], list[str]]:
        with sessions() as session:
            page = [c.public_id for c in week_page(session, user_id, WEEK, now, ZONE).candidates]
            digest = load_digest(session, user_id=user_id, user_name="me", week=WEEK, base_url="http://x", zone=UTC)
        listed = runner.invoke(
            app,
            ["--config", str(config_file(tmp_path, database_url)), "candidates", "--week", WEEK, "--format", "json"],
        )
        assert listed.exit_code == 0, listed.output
        return page, [e.public_id for e in digest.entries], [c["id"] for c in json.loads(listed.stdout)["candidates"]]

    assert orders() == (["c-docs", "c-shop"],) * 3
    with sessions.begin() as session:
        review = ReviewService(session, user_id)
        review.reject("c-docs-1")
        review.reject("c-docs-2")
        review.approve("c-shop-1")
    assert orders() == (["c-shop", "c-docs"],) * 3


def test_a_decision_saved_while_clustering_learns_is_not_lost(
    sessions: sessionmaker[Session], user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(sessions, user_id)
    with sessions.begin() as session:
        ReviewService(session, user_id).merge(seeded.payments, seeded.xss)
    real_cluster_week = candidates.cluster_week
    interleaved: list[str] = []

    def approve_while_clustering(*args: Any, **kwargs: Any) -> list[Candidate]:
        # the re-clustering has learned from the merge and is in spaCy; the user approves last week's PR
        if not interleaved:
            with sessions.begin() as other:
                interleaved.append(ReviewService(other, user_id).approve(seeded.earlier).public_id)
        return real_cluster_week(*args, **kwargs)

    monkeypatch.setattr(candidates, "cluster_week", approve_while_clustering)
    recluster_weeks(sessions, user_id, ZONE, [WEEK], load_pipeline(None))
    model = model_of(sessions, user_id)
    # the week was clustered again from the model with both decisions: the merge learned, the approval kept
    assert interleaved == [seeded.earlier]
    assert model.pending == () and model.weights != learning.declared_weights()
    assert model.ranking and model.decisions == 2


def test_each_action_teaches_the_pairs_it_speaks_about() -> None:
    one = Snapshot("c-1", "pending", "t", "", "Projects", None, False, None, ("a", "b"))
    two = replace(one, public_id="c-2", activity_ids=("c",))
    assert taught_pairs(merge(one, two), [one, two]) == [("a", "c", True), ("b", "c", True)]
    assert taught_pairs(split(one, "b"), [one]) == [("b", "a", False)]
    assert taught_pairs(approve(one), [one], ["x"]) == [("a", "b", True), ("a", "x", False), ("b", "x", False)]
    # approving again (an edit of an approved candidate) and rejecting say nothing about grouping
    approved = replace(one, state="approved")
    assert taught_pairs(approve(approved, title="New"), [approved]) == []
    assert taught_pairs(reject(one), [one]) == []
