"""What each review page shows, read from the store into plain values the templates render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from harvester.clustering import SECTIONS
from harvester.clustering.setaside import left_out
from harvester.clustering.significance import Significance
from harvester.digest.ranking import rank_key, stored_significance
from harvester.display import one_line, visible
from harvester.documents.evidence import Evidence, evidence_of
from harvester.documents.projects import Project, projects_of
from harvester.records import Activity
from harvester.store import repository
from harvester.store.models import CandidateRow
from harvester.timeutil import iso_week_label, iso_week_window


@dataclass(frozen=True)
class CandidateView:
    public_id: str
    week: str
    state: str
    title: str
    summary: str
    section: str
    why: str
    impact: str
    metrics: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    # "2 weeks ago" for a pending candidate of an earlier week, else empty
    age: str
    # the name of the epic its items belong to, else empty
    project: str = ""
    # the significance score and the reasons that raised it, strongest first
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    # the candidate a merged one went into (where its email links now lead)
    merged_into: Choice | None = None

    @property
    def decided(self) -> bool:
        return self.state in ("approved", "rejected")


@dataclass(frozen=True)
class LeftOut:
    """An item of the week no candidate holds, and the rule that left it out."""

    evidence: Evidence
    why: str


@dataclass(frozen=True)
class Choice:
    """A candidate offered in the merge list, or named as where a merged one went."""

    public_id: str
    title: str
    week: str

    @property
    def label(self) -> str:
        return f"{self.week} · {self.title} ({self.public_id})"


@dataclass(frozen=True)
class WeekPage:
    week: str
    first_day: str
    last_day: str
    previous_week: str
    next_week: str | None
    candidates: tuple[CandidateView, ...]
    earlier: tuple[CandidateView, ...]
    merge_choices: tuple[Choice, ...]
    left_out: tuple[LeftOut, ...] = ()

    @property
    def pending(self) -> int:
        return sum(1 for c in (*self.candidates, *self.earlier) if c.state == "pending")


def canonical_week(label: str, zone: tzinfo) -> str | None:
    """The stored form of a week label (2026W46 → 2026-W46), or None if it is not a week."""
    try:
        return iso_week_label(iso_week_window(label, zone).start, zone)
    except ValueError:
        return None


def default_week(session: Session, user_id: int, now: datetime, zone: tzinfo) -> str:
    """The most recent week with something still to review; this week when nothing is pending."""
    pending = repository.candidate_rows(session, user_id, states=["pending"])
    return max((row.week for row in pending), default=iso_week_label(now, zone))


@dataclass(frozen=True)
class _Ordered:
    """A week page's candidates in the digest's order, with what ordering them needed."""

    shown: list[CandidateRow]
    earlier: list[CandidateRow]
    members: Mapping[int, Sequence[Activity]]
    learned: Mapping[str, float]
    scores: Mapping[int, Significance]


def _ordered(session: Session, user_id: int, week: str) -> _Ordered:
    """The week's candidates and the earlier weeks' pending ones, each list in the digest's order:
    work best first, meetings after it, earlier weeks oldest first."""
    shown = [row for row in repository.candidate_rows(session, user_id, weeks=[week]) if row.state != "merged"]
    earlier = [row for row in repository.candidate_rows(session, user_id, states=["pending"]) if row.week < week]
    members = repository.candidate_members(session, [row.id for row in [*shown, *earlier]])
    learned = repository.user_model(session, user_id).ranking
    scores = {row.id: stored_significance(members[row.id], row.metrics, learned) for row in [*shown, *earlier]}

    def order(row: CandidateRow) -> tuple[str, bool, float]:
        return rank_key(row.week, members[row.id], row.metrics, learned, score=scores[row.id].score)

    return _Ordered(sorted(shown, key=order), sorted(earlier, key=order), members, learned, scores)


def next_pending(session: Session, user_id: int, week: str, after: str) -> str | None:
    """The pending card after `after` on the week page, wrapping round; None when none is left.

    What the page would show, without building its cards: the order alone.
    """
    ordered = _ordered(session, user_id, week)
    return _next_in(
        [row.public_id for row in (*ordered.shown, *ordered.earlier)],
        {row.public_id for row in (*ordered.shown, *ordered.earlier) if row.state == "pending"},
        after,
    )


def _next_in(order: Sequence[str], pending: set[str], after: str) -> str | None:
    pending = pending - {after}
    start = order.index(after) + 1 if after in order else 0
    return next((i for i in [*order[start:], *order[:start]] if i in pending), None)


def week_page(session: Session, user_id: int, week: str, now: datetime, zone: tzinfo) -> WeekPage:
    window = iso_week_window(week, zone)
    this_week = iso_week_label(now, zone)
    ordered = _ordered(session, user_id, week)
    shown, earlier = ordered.shown, ordered.earlier
    views = candidate_views(
        session, user_id, [*shown, *earlier], this_week, zone, ordered.learned, ordered.members, ordered.scores
    )
    next_week = iso_week_label(window.start + timedelta(days=7), zone)
    return WeekPage(
        week=week,
        first_day=f"{window.start:%a %d %b}",
        last_day=f"{window.end - timedelta(days=1):%a %d %b %Y}",
        previous_week=iso_week_label(window.start - timedelta(days=7), zone),
        next_week=next_week if next_week <= this_week else None,
        candidates=tuple(views[row.public_id] for row in shown),
        earlier=tuple(views[row.public_id] for row in earlier),
        # merging is offered with the candidates on this page: the week's, and those still pending
        # from earlier weeks (last week's among them), newest first
        merge_choices=tuple(
            Choice(view.public_id, view.title, view.week)
            for view in sorted(views.values(), key=lambda v: v.week, reverse=True)
        ),
        left_out=tuple(
            LeftOut(evidence_of(activity, zone), rule.why)
            for activity, rule in left_out(
                repository.ungrouped_activities(session, user_id, since=window.start, until=window.end)
            )
        ),
    )


def single_candidate(
    session: Session, user_id: int, public_id: str, now: datetime, zone: tzinfo
) -> CandidateView | None:
    row = repository.candidate_by_public_id(session, user_id, public_id)
    if row is None:
        return None
    learned = repository.user_model(session, user_id).ranking
    return candidate_views(session, user_id, [row], iso_week_label(now, zone), zone, learned)[row.public_id]


def candidate_views(
    session: Session,
    user_id: int,
    rows: Sequence[CandidateRow],
    this_week: str,
    zone: tzinfo,
    learned: Mapping[str, float] | None = None,
    members: Mapping[int, Sequence[Activity]] | None = None,
    scores: Mapping[int, Significance] | None = None,
) -> dict[str, CandidateView]:
    if members is None:
        members = repository.candidate_members(session, [row.id for row in rows])
    gone = repository.gone_member_ids(session, [row.id for row in rows])
    projects = projects_of(members)
    targets = {row.merged_into_id for row in rows if row.merged_into_id is not None}
    merged_into = {
        target.id: Choice(target.public_id, one_line(target.title), target.week)
        for target in repository.candidate_rows_by_id(session, user_id, sorted(targets))
    }
    views = {}
    for row in rows:
        score = scores[row.id] if scores is not None else stored_significance(members[row.id], row.metrics, learned)
        target = merged_into.get(row.merged_into_id) if row.merged_into_id else None
        views[row.public_id] = _view(row, members[row.id], gone, this_week, zone, projects[row.id], score, target)
    return views


def _view(
    row: CandidateRow,
    items: Sequence[Activity],
    gone: set[str],
    this_week: str,
    zone: tzinfo,
    project: Project | None,
    significance: Significance,
    merged_into: Choice | None,
) -> CandidateView:
    return CandidateView(
        public_id=row.public_id,
        week=row.week,
        state=row.state,
        # a candidate is never saved without a title, but a blank one must not make an empty heading
        title=one_line(row.title) or (one_line(items[0].title) if items else row.public_id),
        summary=visible(row.summary),
        section=row.section if row.section in SECTIONS else SECTIONS[0],
        why=one_line(row.why),
        impact=visible(row.impact or ""),
        metrics=tuple(one_line(str(metric.get("text", ""))) for metric in row.metrics if metric.get("text")),
        evidence=tuple(evidence_of(item, zone, gone=item.id in gone) for item in items),
        age=_age(row.week, this_week, zone) if row.state == "pending" else "",
        project=project.name if project else "",
        score=significance.score,
        reasons=significance.reasons,
        merged_into=merged_into,
    )


def _age(week: str, this_week: str, zone: tzinfo) -> str:
    days = (iso_week_window(this_week, zone).start - iso_week_window(week, zone).start).days
    weeks = round(days / 7)
    if weeks <= 0:
        return ""
    return "last week" if weeks == 1 else f"{weeks} weeks ago"
