"""Keeping each week's candidates in the store up to date with its activities.

The pure clustering step decides the groups; this module feeds it a week from the store (with
the user's reviewed candidates, merge/split constraints and learned weights) and writes the answer
back without touching what the user reviewed or edited. Review decisions that wait to be learned
from are learned here first (`clustering/learning.py`), where the week's features are computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from spacy.language import Language
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from harvester.clustering import Candidate, Constraints, ExistingCandidate, cluster_week, extract_features, learning
from harvester.clustering.model import CandidateState
from harvester.clustering.setaside import set_aside
from harvester.clustering.similarity import pair_signals
from harvester.errors import BragError
from harvester.records import Activity
from harvester.store import repository
from harvester.store.models import CandidateRow
from harvester.timeutil import iso_week_label, iso_week_window

# attempts at one week when review actions keep landing while it is being clustered
STALE_ATTEMPTS = 3


class CandidatesChanging(BragError):
    """A week's candidates changed under every attempt to re-cluster it."""


@dataclass(frozen=True)
class WeekResult:
    week: str
    candidates: int
    new: int
    removed: int


def weeks_of(activities: Iterable[Activity], zone: tzinfo) -> set[str]:
    return {iso_week_label(activity.occurred_at, zone) for activity in activities}


def review_state(row: CandidateRow) -> CandidateState:
    """How clustering must treat a stored candidate: anything reviewed or edited is locked."""
    if row.state in ("approved", "rejected"):
        return row.state  # type: ignore[return-value]
    return "edited" if row.edited else "pending"


def recluster_weeks(
    sessions: sessionmaker[Session], user_id: int, zone: tzinfo, weeks: Iterable[str], nlp: Language
) -> list[WeekResult]:
    """Re-cluster each week, one transaction per week; reviewed candidates keep their items."""
    results = []
    for week in sorted(set(weeks)):
        for attempt in range(1, STALE_ATTEMPTS + 1):
            try:
                with sessions.begin() as session:
                    results.append(_recluster(session, user_id, zone, week, nlp))
                break
            except StaleDataError:
                # a review action changed the week while it was being clustered: cluster it again
                if attempt == STALE_ATTEMPTS:
                    raise CandidatesChanging(
                        f"the candidates of {week} kept changing while being re-grouped; run the command again"
                    ) from None
    return results


def _recluster(session: Session, user_id: int, zone: tzinfo, week: str, nlp: Language) -> WeekResult:
    window = iso_week_window(week, zone)
    marks = repository.clustering_marks(session, user_id, window.start, window.end)
    claimed = repository.claimed_activity_ids(session, user_id, except_week=week)
    activities = [
        a
        for a in repository.list_activities(session, user_id, since=window.start, until=window.end)
        if a.id not in claimed
    ]
    rows = [row for row in repository.candidate_rows(session, user_id, weeks=[week]) if row.state != "merged"]
    members = repository.candidate_members(session, [row.id for row in rows])
    existing = [
        ExistingCandidate(row.public_id, tuple(a.id for a in members[row.id]), review_state(row)) for row in rows
    ]
    must, cannot = repository.link_constraints(session, user_id)
    constraints = Constraints(must_link=tuple(must), cannot_link=tuple(cannot))
    model = repository.user_model(session, user_id)
    taught = _learn_pending(session, user_id, zone, model, nlp) if model.pending else model
    candidates = (
        cluster_week(activities, nlp, existing=existing, constraints=constraints, weights=taught.weights)
        if activities
        else []
    )
    # a 1:1 or stand-up on its own is no candidate: it stays in the store, in no candidate
    candidates, _ = set_aside(candidates, {a.id: a for a in activities})
    result = _store_week(session, user_id, week, rows, candidates)
    if taught is not model:
        # a review that changed the model since it was read makes this raise StaleDataError: redone
        repository.save_user_model(session, user_id, taught)
    # in the week's transaction: a kill before this commit leaves the week marked, to be redone
    repository.clear_clustering_marks(session, marks)
    return result


def _learn_pending(
    session: Session, user_id: int, zone: tzinfo, model: learning.UserModel, nlp: Language
) -> learning.UserModel:
    """The model after the review decisions waiting in it, each learned in its own week's window."""
    windows = {}
    for week in sorted({decision.week for decision in model.pending}):
        try:
            window = iso_week_window(week, zone)
        except ValueError:
            continue
        activities = repository.list_activities(session, user_id, since=window.start, until=window.end)
        if len(activities) > 1:
            windows[week] = (activities, pair_signals(extract_features(nlp, activities)))
    # decisions of a week with nothing left to learn from are dropped, not kept forever
    return replace(learning.settle(model, windows), pending=())


def _store_week(
    session: Session, user_id: int, week: str, rows: Sequence[CandidateRow], candidates: Sequence[Candidate]
) -> WeekResult:
    """Write the week's clustering back, after checking that `rows` are still as clustering read them.

    Raises StaleDataError (nothing written) when a review action changed one of them meanwhile,
    or when another process stored this week's candidates first.
    """
    _claim_unchanged(session, rows)
    try:
        return _write_week(session, user_id, week, rows, candidates)
    except IntegrityError as error:
        # the same candidate ids, inserted by a re-clustering of this week that committed first
        raise StaleDataError(f"candidates of {week} stored meanwhile: {error.orig}") from error


def _write_week(
    session: Session, user_id: int, week: str, rows: Sequence[CandidateRow], candidates: Sequence[Candidate]
) -> WeekResult:
    by_public_id = {row.public_id: row for row in rows}
    row_ids = repository.activity_row_ids(session, user_id, (i for c in candidates for i in c.activity_ids))
    now = datetime.now(UTC)
    new = 0
    kept: set[str] = set()
    for candidate in candidates:
        row = by_public_id.get(candidate.id)
        if row is None:
            row = CandidateRow(user_id=user_id, public_id=candidate.id, week=week, state="pending", created_at=now)
            session.add(row)
            new += 1
        if review_state(row) == "pending":
            row.title = candidate.title
            row.summary = candidate.summary
            row.section = candidate.section
            row.why = candidate.why
            row.metrics = [metric.to_json() for metric in candidate.metrics]
            row.updated_at = now
        session.flush()
        repository.set_candidate_members(session, row, (row_ids[i] for i in candidate.activity_ids if i in row_ids))
        kept.add(candidate.id)
    removed = 0
    for row in rows:
        if row.public_id not in kept and review_state(row) == "pending":
            session.delete(row)
            removed += 1
    session.flush()
    return WeekResult(week, len(candidates), new, removed)


def _claim_unchanged(session: Session, rows: Sequence[CandidateRow]) -> None:
    """Bump every read row's version, matching the version read: a row changed since matches nothing.

    A review action committed while clustering ran (seconds in spaCy) then raises StaleDataError
    before anything is written. Once this has run, nobody can change the rows until commit: on
    PostgreSQL the UPDATEs hold their row locks, on SQLite the first write holds the database's
    write lock (reads before it ran outside any transaction, so they saw the latest commit).
    """
    for row in rows:
        flag_modified(row, "state")
    session.flush()
