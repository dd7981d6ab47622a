"""Building the weekly digest from candidates: pure, so it is tested without a database or SMTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from harvester import display
from harvester.clustering.meetings import classify
from harvester.clustering.rollups import meeting_rollup
from harvester.digest.model import (
    DEFAULT_MAX_ITEMS,
    EARLIER_SHOWN,
    REASONS_SHOWN,
    CandidateInput,
    Digest,
    DigestEntry,
    Links,
)
from harvester.digest.ranking import meetings_only, rank_key, stored_significance
from harvester.documents.evidence import Evidence, evidence_of
from harvester.records import Activity
from harvester.timeutil import iso_week_label, iso_week_window
from harvester.web.tokens import LinkAction

# (candidate public id, action) -> signed URL; injected so the builder needs no secret or clock
LinkMaker = Callable[[str, LinkAction], str]

# long enough for any drafted title; harvested text has no upper bound and an email should
TITLE_LIMIT = 200
SUMMARY_LIMIT = 400


def build_digest(
    *,
    user: str,
    week: str,
    candidates: Sequence[CandidateInput],
    earlier: Sequence[CandidateInput],
    link: LinkMaker,
    review_page: str,
    zone: tzinfo,
    max_items: int = DEFAULT_MAX_ITEMS,
    set_aside: Sequence[Activity] = (),
    ranking: Mapping[str, float] | None = None,
) -> Digest:
    """The digest for `week`: its best `max_items` pending candidates, best first, a line rolling up
    the meetings that stand alone, a count of the rest; then older pending ones apart, oldest first,
    at most `EARLIER_SHOWN` and only in what this week leaves of `max_items`, the rest counted.

    Candidates made only of meetings are never listed as items (the roll-up names or counts them),
    in either section; all of them stay on the review page. A routine meeting (1:1, private event,
    solo block, ritual) grouped into work is not shown as its evidence either: counted, never titled.
    Every harvested string is flattened to one clean line here; the templates still escape it.
    Evidence days are the user's (`zone`). `set_aside`: the week's meetings clustering left out
    of every candidate (harvester/clustering/setaside.py), counted in the meetings line.
    `ranking` is what the user's approvals and rejections taught the order (`learning.py`).
    """
    monday = _monday(week)
    work = _ranked([c for c in candidates if not meetings_only(c.activities)], ranking)
    meetings = [a for c in candidates if meetings_only(c.activities) for a in c.activities]
    meetings += [a for a in set_aside if a.kind == "event"]
    older = _ranked([c for c in earlier if not meetings_only(c.activities)], ranking)
    listed = work[:max_items]
    # earlier weeks fill what this week leaves of max_items, a few at most: the email stays short
    older_listed = older[: min(EARLIER_SHOWN, max(max_items - len(listed), 0))]
    return Digest(
        user=user,
        week=week,
        period=f"{monday:%a %d %b} – {monday + timedelta(days=6):%a %d %b %Y}",
        entries=tuple(_entry(c, link, 0, zone, ranking) for c in listed),
        earlier=tuple(_entry(c, link, (monday - _monday(c.week)).days // 7, zone, ranking) for c in older_listed),
        review_page=review_page,
        meetings=meeting_rollup(meetings),
        smaller=len(work) - len(listed),
        pending=len(candidates) + len(earlier),
        earlier_more=len(older) - len(older_listed),
    )


def previous_week(now: datetime, zone: tzinfo) -> str:
    """The ISO week that ended most recently in the user's timezone (the demo's week).

    The digest itself defaults to the current week, the one the scheduled digest covers.
    """
    return iso_week_label(now.astimezone(zone) - timedelta(days=7), zone)


def one_line(text: str, limit: int = TITLE_LIMIT) -> str:
    """Text safe for one line of an email: no line breaks, control or bidi characters, bounded length."""
    flat = display.one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _monday(week: str) -> date:
    # a week label names calendar dates; any zone gives the same Monday
    return iso_week_window(week, UTC).start.date()


def _evidence(activity: Activity, zone: tzinfo) -> Evidence:
    # an email bounds what it shows; the page and the doc show the whole line
    evidence = evidence_of(activity, zone)
    return replace(
        evidence,
        title=one_line(evidence.title),
        repo=one_line(evidence.repo, 100),
        source=one_line(evidence.source, 100),
    )


def _routine_meeting(activity: Activity) -> bool:
    return activity.kind == "event" and classify(activity).routine


def _ranked(candidates: Sequence[CandidateInput], ranking: Mapping[str, float] | None) -> list[CandidateInput]:
    # oldest week first, then best first; ties keep the store's order, as on the review page
    return sorted(candidates, key=lambda c: rank_key(c.week, c.activities, c.metrics, ranking))


def _entry(
    candidate: CandidateInput, link: LinkMaker, age_weeks: int, zone: tzinfo, ranking: Mapping[str, float] | None
) -> DigestEntry:
    evidence = tuple(_evidence(a, zone) for a in candidate.activities if not _routine_meeting(a))
    title = one_line(candidate.title) or (evidence[0].title if evidence else candidate.public_id)
    metrics = tuple(dict.fromkeys(one_line(str(m.get("text", "")), 80) for m in candidate.metrics if m.get("text")))
    return DigestEntry(
        public_id=candidate.public_id,
        week=candidate.week,
        title=title,
        summary=one_line(candidate.summary, SUMMARY_LIMIT),
        section=one_line(candidate.section, 60),
        why=one_line(candidate.why, SUMMARY_LIMIT),
        metrics=metrics,
        evidence=evidence,
        links=Links(
            approve=link(candidate.public_id, "approve"),
            reject=link(candidate.public_id, "reject"),
            review=link(candidate.public_id, "review"),
        ),
        age_weeks=max(age_weeks, 0),
        reasons=tuple(
            one_line(reason, 80)
            for reason in stored_significance(candidate.activities, candidate.metrics, ranking).reasons[:REASONS_SHOWN]
        ),
    )
