"""One piece of evidence as every output shows it: the brag doc, the exports, the digest, the review page, the terminal.

An activity becomes `Evidence` here, once: its kind as a word a manager reads, its title on one
clean line, its link only if it is a safe http(s) URL, its time in the user's zone, and whether
the source has since deleted it (an approved entry keeps such evidence, labelled, never silently).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from harvester.display import one_line, safe_url
from harvester.records import Activity
from harvester.timeutil import local_time

# the word shown for each record kind (harvester.records.Kind), everywhere evidence is listed
KIND_LABELS = {
    "pull_request": "Pull request",
    "review": "Review",
    "ticket": "Ticket",
    "event": "Meeting",
    "commit": "Commit",
}
# the word shown for each built-in source where evidence is counted by source (the summaries)
SOURCE_LABELS = {"github": "GitHub", "jira": "Jira", "google_calendar": "Google Calendar"}
# shown beside evidence whose activity the source reported gone (activities.gone_at)
GONE_NOTE = "deleted at the source"


def kind_label(kind: str) -> str:
    """The reader's word for a record kind; an unknown kind (a plugin's) is shown as it is."""
    return KIND_LABELS.get(kind, one_line(kind))


def source_label(source: str) -> str:
    """The reader's word for a source; another connector's name is shown as it is."""
    return SOURCE_LABELS.get(source, one_line(source) or "other")


@dataclass(frozen=True)
class Evidence:
    """One activity behind an entry; `url` is empty unless it is an http(s) link safe to put in an href."""

    activity_id: str
    kind: str
    title: str
    url: str
    # the activity's time in the user's zone: the day shown is the user's day, not UTC's
    at: datetime
    source: str = ""
    repo: str = ""
    gone: bool = False

    @property
    def day(self) -> date:
        return self.at.date()

    @property
    def when(self) -> str:
        return f"{self.at:%a %d %b %H:%M}"

    @property
    def where(self) -> str:
        return self.repo or self.source

    @property
    def gone_label(self) -> str:
        """ "(deleted at the source)" for gone evidence, else empty; appended after the title."""
        return f"({GONE_NOTE})" if self.gone else ""


def evidence_of(activity: Activity, zone: tzinfo, *, gone: bool = False) -> Evidence:
    """`activity` as evidence; harvested strings are flattened here, escaping stays each renderer's job."""
    return Evidence(
        activity_id=activity.id,
        kind=kind_label(activity.kind),
        # a blank title must not leave an empty line in a list of evidence
        title=one_line(activity.title) or activity.id,
        # only web links survive: a harvested `javascript:` URL must never become a clickable link
        url=safe_url(activity.url),
        at=local_time(activity.occurred_at, zone),
        source=activity.source,
        repo=one_line(activity.repo),
        gone=gone,
    )


__all__ = ["GONE_NOTE", "KIND_LABELS", "SOURCE_LABELS", "Evidence", "evidence_of", "kind_label", "source_label"]
