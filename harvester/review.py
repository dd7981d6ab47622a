"""Reviewing candidates: one state machine for the web page, the email links and the terminal.

A candidate is pending, approved, rejected, or merged into another. The transitions are pure
functions over snapshots (tested without a database); `ReviewService` applies them to the store,
records each action with what it replaced so `undo` can put it back, and turns merges and splits
into must-link / cannot-link constraints that later re-clustering respects. Each decision also
teaches the user's learned model (`clustering/learning.py`): the pairs it confirms or separates,
for the grouping weights, and approve / reject, for the ranking.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from itertools import combinations, islice
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from harvester.clustering import SECTIONS, candidate_id, learning
from harvester.clustering.drafting import draft_summary, draft_title
from harvester.clustering.sections import suggest_section
from harvester.display import one_line
from harvester.errors import BragError
from harvester.records import Activity
from harvester.store import repository
from harvester.store.models import CandidateRow
from harvester.timeutil import iso_week_label

STATES = ("pending", "approved", "rejected", "merged")


class ReviewError(BragError):
    """An action that does not apply to the candidate as it is (named in the message)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything review can change about one candidate."""

    public_id: str
    state: str
    title: str
    summary: str
    section: str
    impact: str | None
    edited: bool
    merged_into: str | None
    activity_ids: tuple[str, ...]
    # why the items are together; None leaves the stored sentence as it is (journals written before
    # this field carry none)
    why: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "activity_ids": list(self.activity_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(**{**data, "activity_ids": tuple(data["activity_ids"])})


@dataclass(frozen=True)
class Outcome:
    """What an action does: new versions of candidates, new candidates, and constraints to remember."""

    action: str
    changed: tuple[Snapshot, ...] = ()
    created: tuple[Snapshot, ...] = ()
    constraints: tuple[tuple[str, str, str], ...] = ()
    description: str = ""
    # the week of a created candidate when the action changes no existing one (include)
    week: str = ""


def _live(candidate: Snapshot, verb: str) -> None:
    if candidate.state == "merged":
        raise ReviewError(f"cannot {verb} {candidate.public_id}: it was merged into {candidate.merged_into}")


def approve(
    candidate: Snapshot,
    *,
    title: str | None = None,
    summary: str | None = None,
    impact: str | None = None,
    section: str | None = None,
) -> Outcome:
    _live(candidate, "approve")
    if section is not None and section not in SECTIONS:
        raise ReviewError(f"unknown section {section!r}; choose one of: {', '.join(SECTIONS)}")
    if title is not None and not title.strip():
        raise ReviewError("the title cannot be empty")
    new_title = title.strip() if title is not None else candidate.title
    new_summary = summary.strip() if summary is not None else candidate.summary
    new_section = section if section is not None else candidate.section
    new_impact = (impact.strip() or None) if impact is not None else candidate.impact
    before = (candidate.title, candidate.summary, candidate.section, candidate.impact)
    changed = (new_title, new_summary, new_section, new_impact) != before
    approved = replace(
        candidate,
        state="approved",
        title=new_title,
        summary=new_summary,
        section=new_section,
        impact=new_impact,
        edited=candidate.edited or changed,
    )
    return Outcome("approve", changed=(approved,), description=f"approved {candidate.public_id}")


def edit(
    candidate: Snapshot,
    *,
    title: str | None = None,
    summary: str | None = None,
    impact: str | None = None,
    section: str | None = None,
) -> Outcome:
    """Change the wording without deciding; the candidate is then locked against re-clustering."""
    outcome = approve(candidate, title=title, summary=summary, impact=impact, section=section)
    (edited,) = outcome.changed
    return Outcome(
        "edit",
        changed=(replace(edited, state=candidate.state, edited=True),),
        description=f"edited {candidate.public_id}",
    )


def reject(candidate: Snapshot) -> Outcome:
    _live(candidate, "reject")
    return Outcome(
        "reject", changed=(replace(candidate, state="rejected"),), description=f"rejected {candidate.public_id}"
    )


def reopen(candidate: Snapshot) -> Outcome:
    """Put an approved or rejected candidate back to pending, keeping its wording (the card's Undo)."""
    _live(candidate, "reopen")
    if candidate.state == "pending":
        raise ReviewError(f"{candidate.public_id} is already waiting for review")
    return Outcome(
        "reopen",
        changed=(replace(candidate, state="pending"),),
        description=f"put {candidate.public_id} back to review (it was {candidate.state})",
    )


def merge(target: Snapshot, other: Snapshot, *, summary: str | None = None, why: str | None = None) -> Outcome:
    """Move `other`'s items into `target`; `other` is then merged and shows nowhere.

    `summary` and `why` are the merged group's new texts (the service drafts them from its items).
    """
    if target.public_id == other.public_id:
        raise ReviewError(f"cannot merge {target.public_id} into itself")
    _live(target, "merge into")
    _live(other, "merge")
    items = target.activity_ids + tuple(a for a in other.activity_ids if a not in target.activity_ids)
    anchor = target.activity_ids[0] if target.activity_ids else None
    constraints = tuple(("must", anchor, item) for item in other.activity_ids if anchor and item != anchor)
    return Outcome(
        "merge",
        changed=(
            # the merged group is the user's decision: locked like an edit, so re-clustering keeps it
            # whole and, across weeks, the other week no longer claims the moved items
            replace(
                target,
                activity_ids=items,
                edited=True,
                summary=target.summary if summary is None else summary,
                why=target.why if why is None else why,
            ),
            replace(other, state="merged", merged_into=target.public_id, activity_ids=()),
        ),
        constraints=constraints,
        description=f"merged {other.public_id} into {target.public_id}",
    )


def split(
    candidate: Snapshot,
    activity_id: str,
    new_id: str | None = None,
    *,
    title: str = "",
    summary: str = "",
    rest_summary: str | None = None,
    rest_why: str | None = None,
) -> Outcome:
    """Take one item out into a candidate of its own, and never group them again.

    `title` and `summary` are the new candidate's drafts, `rest_summary` and `rest_why` the remaining
    group's new texts (the service drafts them from the items).
    """
    _live(candidate, "split")
    if activity_id not in candidate.activity_ids:
        raise ReviewError(
            f"{activity_id} is not in {candidate.public_id}; its items are: {', '.join(candidate.activity_ids)}"
        )
    if len(candidate.activity_ids) < 2:
        raise ReviewError(f"{candidate.public_id} has only one item; there is nothing to split")
    rest = tuple(a for a in candidate.activity_ids if a != activity_id)
    alone = Snapshot(
        public_id=new_id or candidate_id([activity_id]),
        state="pending",
        title=title,
        summary=summary,
        section=candidate.section,
        impact=None,
        edited=False,
        merged_into=None,
        activity_ids=(activity_id,),
        why=f"you split it out of “{one_line(candidate.title)}”",
    )
    remaining = replace(
        candidate,
        activity_ids=rest,
        summary=candidate.summary if rest_summary is None else rest_summary,
        why=candidate.why if rest_why is None else rest_why,
    )
    return Outcome(
        "split",
        changed=(remaining,),
        created=(alone,),
        constraints=tuple(("cannot", activity_id, other) for other in rest),
        description=f"split {activity_id} out of {candidate.public_id} into {alone.public_id}",
    )


def include(activity: Activity, new_id: str, week: str, *, title: str, summary: str, section: str) -> Outcome:
    """Make a candidate of an item clustering left out of every candidate (a 1:1, a stand-up).

    The new candidate is marked edited: it is the user's own, so re-clustering keeps it whole and
    never sets it aside again.
    """
    made = Snapshot(
        public_id=new_id,
        state="pending",
        title=title,
        summary=summary,
        section=section,
        impact=None,
        edited=True,
        merged_into=None,
        activity_ids=(activity.id,),
    )
    return Outcome("include", created=(made,), week=week, description=f"made {new_id} of {activity.id}")


def _redrafted(summary: str, before: Sequence[Activity], after: Sequence[Activity]) -> str:
    """The summary for a group's new members: redrafted when it was the draft ("2 PRs, 1 ticket"),
    kept when the user wrote their own."""
    return draft_summary(after) if not summary.strip() or summary == draft_summary(before) else summary


def taught_pairs(
    outcome: Outcome, before: Sequence[Snapshot], approved_elsewhere: Sequence[str] = ()
) -> list[tuple[str, str, bool]]:
    """The pairs of activities an action says are (True) or are not (False) one piece of work.

    A merge: the target's items with the merged ones. A split: the item with the rest. An approval
    (not a re-approval): the candidate's items together, and apart from `approved_elsewhere` (the
    items of the week's candidates approved before it). Reject and edit say nothing about grouping.
    """
    if outcome.action == "merge":
        target, other = before
        return [(a, b, True) for a in target.activity_ids for b in other.activity_ids if a != b]
    if outcome.action == "split":
        (alone,) = outcome.created
        (rest,) = outcome.changed
        return [(alone.activity_ids[0], b, False) for b in rest.activity_ids]
    if outcome.action == "approve" and before[0].state != "approved":
        items = outcome.changed[0].activity_ids
        together = [(a, b, True) for a, b in combinations(items, 2)]
        return together + [(a, b, False) for a in items for b in approved_elsewhere if a != b]
    return []


def decided(outcome: Outcome, before: Sequence[Snapshot]) -> bool | None:
    """True for a new approval, False for a new rejection, None for anything else (ranking learns these)."""
    if outcome.action in ("approve", "reject") and before[0].state != outcome.changed[0].state:
        return outcome.action == "approve"
    return None


@dataclass(frozen=True)
class Undone:
    """What `undo` did with the most recent action: put it back, or found it could not (`refused`)."""

    description: str
    refused: str | None = None

    @property
    def applied(self) -> bool:
        return self.refused is None

    @property
    def message(self) -> str:
        if self.refused is None:
            return f"Undone: {self.description}"
        return (
            f'Cannot undo "{self.description}": {self.refused}. It is skipped; '
            "undo again to go back to the action before it"
        )


@contextmanager
def _current() -> Iterator[None]:
    """Turn a write from a stale read (a harvest re-grouped the candidate meanwhile) into a sentence."""
    try:
        yield
    except StaleDataError:
        raise ReviewError(
            "a harvest re-grouped these candidates while this action was being saved; nothing was changed, "
            "look at them again"
        ) from None


class ReviewService:
    """Applies review actions to one user's candidates in the store, with an undo journal."""

    def __init__(self, session: Session, user_id: int) -> None:
        self.session = session
        self.user_id = user_id
        # rows read so far, held so the session keeps these objects (it holds them weakly): a write
        # then carries the version first read, and fails if the row changed since (StaleDataError)
        self._read: dict[int, CandidateRow] = {}

    def snapshot(self, public_id: str) -> Snapshot:
        row = self._row(public_id)
        members = repository.candidate_members(self.session, [row.id])[row.id]
        merged_into = repository.candidate_public_id(self.session, row.merged_into_id) if row.merged_into_id else None
        return Snapshot(
            public_id=row.public_id,
            state=row.state,
            title=row.title,
            summary=row.summary,
            section=row.section,
            impact=row.impact,
            edited=row.edited,
            merged_into=merged_into,
            activity_ids=tuple(a.id for a in members),
            why=row.why,
        )

    def approve(self, public_id: str, **edits: str | None) -> Snapshot:
        return self._apply(approve(self.snapshot(public_id), **edits))[0]

    def edit(self, public_id: str, **edits: str | None) -> Snapshot:
        return self._apply(edit(self.snapshot(public_id), **edits))[0]

    def reject(self, public_id: str) -> Snapshot:
        return self._apply(reject(self.snapshot(public_id)))[0]

    def reopen(self, public_id: str) -> Snapshot:
        return self._apply(reopen(self.snapshot(public_id)))[0]

    def merge(self, target: str, other: str) -> Snapshot:
        into, merged = self.snapshot(target), self.snapshot(other)
        if target == other:
            return self._apply(merge(into, merged))[0]
        before, added = self._members(target), self._members(other)
        why = f"you merged in “{one_line(merged.title)}”"
        outcome = merge(
            into,
            merged,
            summary=_redrafted(into.summary, before, [*before, *(a for a in added if a not in before)]),
            why=f"{into.why}; {why}" if into.why and len(before) > 1 else why,
        )
        return self._apply(outcome)[0]

    def split(self, public_id: str, activity_id: str) -> Snapshot:
        new_id = self._free_id(activity_id)
        members = self._members(public_id)
        item = [a for a in members if a.id == activity_id]
        candidate = self.snapshot(public_id)
        outcome = split(
            candidate,
            activity_id,
            new_id,
            title=draft_title(item) if item else "",
            summary=draft_summary(item) if item else "",
            rest_summary=_redrafted(candidate.summary, members, [a for a in members if a.id != activity_id]),
            rest_why=f"you split “{one_line(draft_title(item))}” out of it" if item else None,
        )
        self._apply(outcome)
        return outcome.created[0]

    def include(self, activity_id: str, zone: tzinfo) -> Snapshot:
        """Make a candidate of an activity no candidate holds, in its week in the user's `zone`."""
        found = repository.activity_by_external_id(self.session, self.user_id, activity_id)
        if found is None:
            raise ReviewError(f"no item {activity_id!r}; `brag candidates --format json` lists the ones left out")
        if holders := repository.candidate_holders(self.session, self.user_id, [activity_id]).get(activity_id):
            raise ReviewError(f"{activity_id} is already in {sorted(holders)[0]}")
        new_id = self._free_id(activity_id)
        outcome = include(
            found,
            new_id,
            iso_week_label(found.occurred_at, zone),
            title=draft_title([found]),
            summary=draft_summary([found]),
            section=suggest_section([found]),
        )
        self._apply(outcome)
        return outcome.created[0]

    def _free_id(self, activity_id: str) -> str:
        new_id = candidate_id([activity_id])
        while repository.candidate_by_public_id(self.session, self.user_id, new_id) is not None:
            new_id = candidate_id([activity_id, new_id])
        return new_id

    def _members(self, public_id: str) -> list[Activity]:
        row = self._row(public_id)
        return repository.candidate_members(self.session, [row.id])[row.id]

    def undo(self) -> Undone:
        """Put back what the most recent action changed, or say why that is no longer possible.

        Either way the action leaves the journal's head, so the next undo goes to the one before.
        """
        action = repository.last_review_action(self.session, self.user_id)
        if action is None:
            raise ReviewError("nothing to undo")
        with _current():
            before = [Snapshot.from_json(data) for data in action.before]
            included = action.action == "include"
            refused = self._undo_blocker(before, action.created, made_edited=included)
            if refused is None:
                if included:
                    # the included item goes back to clustering, which sets it aside again (or,
                    # with what a harvest brought since, groups it)
                    freed = [a for public_id in action.created for a in self._member_ids(public_id)]
                    repository.mark_for_clustering(self.session, self.user_id, freed)
                self._put_back(before, action.created, action.constraint_ids)
            repository.close_review_action(self.session, action, refused)
        return Undone(action.description, refused)

    def _undo_blocker(self, before: Sequence[Snapshot], created: Sequence[str], *, made_edited: bool) -> str | None:
        """Why putting `before` back would lose or steal something (re-clustering ran since), or None.

        `made_edited`: the action created its candidates edited (include), so only a review counts.
        """
        for snapshot in before:
            if repository.candidate_by_public_id(self.session, self.user_id, snapshot.public_id) is None:
                return f"{snapshot.public_id} no longer exists: a harvest has re-grouped its items since"
        for public_id in created:
            row = repository.candidate_by_public_id(self.session, self.user_id, public_id)
            if row is not None and (row.state != "pending" or (row.edited and not made_edited)):
                decided = row.state if row.state != "pending" else "edited"
                return f"{public_id}, which it created, has been {decided} since"
        involved = {s.public_id for s in before} | set(created)
        restored = [a for s in before for a in s.activity_ids]
        for activity_id, holders in sorted(repository.candidate_holders(self.session, self.user_id, restored).items()):
            if others := sorted(holders - involved):
                return f"{activity_id} is now in {others[0]}: a harvest has re-grouped it since"
        for public_id in created:
            if made_edited:
                # its items were in no candidate before; undo hands them back to clustering
                continue
            if extra := sorted(set(self._member_ids(public_id)) - set(restored)):
                return f"{extra[0]} has joined {public_id} since; undoing would leave it in no candidate"
        return None

    def _put_back(self, before: Sequence[Snapshot], created: Sequence[str], constraint_ids: Sequence[int]) -> None:
        restored = {a for s in before for a in s.activity_ids}
        for snapshot in before:
            # items re-clustering added since stay where they are, so undo never leaves one ungrouped
            gained = tuple(a for a in self._member_ids(snapshot.public_id) if a not in restored)
            self._write(replace(snapshot, activity_ids=snapshot.activity_ids + gained))
        for public_id in created:
            row = repository.candidate_by_public_id(self.session, self.user_id, public_id)
            if row is not None:
                repository.delete_candidate(self.session, row)
        repository.delete_link_constraints(self.session, constraint_ids)

    def _member_ids(self, public_id: str) -> list[str]:
        row = repository.candidate_by_public_id(self.session, self.user_id, public_id)
        if row is None:
            return []
        return [a.id for a in repository.candidate_members(self.session, [row.id])[row.id]]

    def _apply(self, outcome: Outcome) -> Sequence[Snapshot]:
        with _current():
            return self._record(outcome)

    def _record(self, outcome: Outcome) -> Sequence[Snapshot]:
        before = [self.snapshot(s.public_id).to_json() for s in outcome.changed]
        week = outcome.week or self._row(outcome.changed[0].public_id).week
        for snapshot in outcome.created:
            repository.add_candidate(
                self.session,
                self.user_id,
                public_id=snapshot.public_id,
                week=week,
                title=snapshot.title,
                section=snapshot.section,
            )
        for snapshot in (*outcome.changed, *outcome.created):
            self._write(snapshot)
        constraint_ids = []
        for kind, a, b in outcome.constraints:
            added = repository.add_link_constraint(self.session, self.user_id, kind, a, b)
            if added is not None:
                constraint_ids.append(added)
        repository.add_review_action(
            self.session,
            self.user_id,
            action=outcome.action,
            description=outcome.description,
            before=before,
            created=[s.public_id for s in outcome.created],
            constraint_ids=constraint_ids,
        )
        self._learn(outcome, [Snapshot.from_json(data) for data in before], week)
        return [*outcome.changed, *outcome.created]

    def _learn(self, outcome: Outcome, before: Sequence[Snapshot], week: str) -> None:
        """Teach the user's model what the action says; the pairs wait for the next clustering,
        which has the week's features (learning.UserModel), the ranking learns at once."""
        approved = decided(outcome, before)
        elsewhere = self._approved_items(week, outcome.changed[0].public_id) if approved else []
        # after the write, the changed and created candidates hold every item the pairs name
        known = {a.id: a for s in (*outcome.changed, *outcome.created) for a in self._members(s.public_id)}
        known |= {a.id: a for a in elsewhere}
        taught = (
            (a, b, same)
            for a, b, same in taught_pairs(outcome, before, [a.id for a in elsewhere])
            if a in known and b in known and learning.similarity_decides(known[a], known[b])
        )
        pairs = list(islice(taught, learning.MAX_PAIRS_PER_DECISION))
        if approved is None and not pairs:
            return
        model = repository.user_model(self.session, self.user_id, for_update=True)
        ranking = model.ranking
        if approved is not None:
            public_id = outcome.changed[0].public_id
            keys = learning.ranking_keys_of_json(self._members(public_id), self._row(public_id).metrics)
            ranking = learning.update_ranking(ranking, keys, approved=approved)
        pending = (*model.pending, learning.Decision(week, tuple(pairs))) if pairs else model.pending
        learned = replace(
            model, ranking=ranking, pending=pending[-learning.MAX_PENDING :], decisions=model.decisions + 1
        )
        repository.save_user_model(self.session, self.user_id, learned)

    def _approved_items(self, week: str, except_public_id: str) -> list[Activity]:
        rows = repository.candidate_rows(self.session, self.user_id, weeks=[week], states=["approved"])
        rows = [row for row in rows if row.public_id != except_public_id]
        members = repository.candidate_members(self.session, [row.id for row in rows])
        return [a for row in rows for a in members[row.id]]

    def _write(self, snapshot: Snapshot) -> None:
        row = self._row(snapshot.public_id)
        target = (
            repository.candidate_by_public_id(self.session, self.user_id, snapshot.merged_into)
            if snapshot.merged_into
            else None
        )
        row.state = snapshot.state
        row.title = snapshot.title
        row.summary = snapshot.summary
        row.section = snapshot.section
        row.impact = snapshot.impact
        if snapshot.why is not None:
            row.why = snapshot.why
        row.edited = snapshot.edited
        row.merged_into_id = target.id if target else None
        row.updated_at = datetime.now(UTC)
        if snapshot.state in ("approved", "rejected"):
            row.reviewed_at = row.reviewed_at or row.updated_at
        else:
            row.reviewed_at = None
        ids = repository.activity_row_ids(self.session, self.user_id, snapshot.activity_ids)
        repository.set_candidate_members(self.session, row, ids.values())

    def _row(self, public_id: str) -> CandidateRow:
        # locked on PostgreSQL, so a re-clustering that is writing this week finishes first
        row = repository.candidate_for_update(self.session, self.user_id, public_id)
        if row is None:
            raise ReviewError(f"no candidate {public_id!r}; `brag candidates` lists them")
        self._read[row.id] = row
        return row
