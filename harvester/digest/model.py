"""The weekly digest as plain data: what the templates render and what tests inspect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harvester.documents.evidence import Evidence
from harvester.records import Activity

IMPACT_PROMPT = "What changed for users or the business? A number helps."
# how many of the week's candidates the email lists when [email] max_items is not set
DEFAULT_MAX_ITEMS = 7
# the reasons shown with each item: enough to say why it ranks, short enough to skim
REASONS_SHOWN = 3
# earlier weeks' pending candidates the email lists, in what is left of max_items; the rest are
# counted ("and 9 more from earlier weeks"): the page has them, the email stays short
EARLIER_SHOWN = 3


@dataclass(frozen=True)
class CandidateInput:
    """One stored candidate and its activities, as the builder needs them (no database types)."""

    public_id: str
    week: str
    title: str
    summary: str
    section: str
    why: str
    metrics: tuple[dict[str, Any], ...]
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class Links:
    approve: str
    reject: str
    review: str


@dataclass(frozen=True)
class DigestEntry:
    public_id: str
    week: str
    title: str
    summary: str
    section: str
    why: str
    metrics: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    links: Links
    # whole weeks since the candidate's week; 0 for this week's candidates
    age_weeks: int = 0
    # why it ranks where it does (significance reasons, strongest first)
    reasons: tuple[str, ...] = ()

    @property
    def age(self) -> str:
        if self.age_weeks <= 0:
            return "this week"
        return "1 week old" if self.age_weeks == 1 else f"{self.age_weeks} weeks old"


@dataclass(frozen=True)
class Digest:
    user: str
    week: str
    period: str
    entries: tuple[DigestEntry, ...]
    earlier: tuple[DigestEntry, ...]
    review_page: str
    impact_prompt: str = IMPACT_PROMPT
    # "Led 2 design reviews, …, and 5 routine meetings": this week's stand-alone meetings, or ""
    meetings: str = ""
    # this week's pending candidates neither listed nor rolled up (on the review page)
    smaller: int = 0
    # every pending candidate, listed or not: a digest is drafted when there is any
    pending: int | None = None
    # earlier weeks' pending candidates not listed (on the review page)
    earlier_more: int = 0
    # team mode: the sources that refused the member's grant, by name ("GitHub"); skipped until reconnected
    reconnect: tuple[str, ...] = ()
    settings_page: str = ""

    @property
    def reconnect_line(self) -> str:
        if not self.reconnect:
            return ""
        names = " and ".join(self.reconnect)
        return (
            f"{names} stopped accepting your connection, so new work there is not harvested: "
            f"reconnect {names} on your settings page."
        )

    @property
    def to_review(self) -> int:
        """The candidates the email lists: this week's and earlier weeks' (what the subject counts)."""
        return len(self.entries) + len(self.earlier)

    @property
    def smaller_line(self) -> str:
        if not self.smaller:
            return ""
        return f"and {self.smaller} smaller item{'s' if self.smaller != 1 else ''} on the review page"

    @property
    def earlier_line(self) -> str:
        if not self.earlier_more:
            return ""
        more = "more " if self.earlier else ""
        return f"and {self.earlier_more} {more}from earlier weeks on the review page"

    @property
    def count_line(self) -> str:
        """What the email lists ("7 to review"), as its subject and header say."""
        if self.to_review or not self.pending:
            return f"{self.to_review} to review"
        # only meetings or unlisted items are waiting: say where they are, not "0 to review"
        return f"{self.pending} on the review page"

    @property
    def subject(self) -> str:
        return f"Your wins for {self.week}: {self.count_line}"

    @property
    def empty(self) -> bool:
        return (self.to_review if self.pending is None else self.pending) == 0
