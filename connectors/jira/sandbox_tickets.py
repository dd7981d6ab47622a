"""Jira tickets for the sandbox scenario: one per feature, resolved after its pull requests merged.

The tickets line up with the GitHub sandbox: PR titles and branches carry these keys. Around
them sit the tickets a harvest must tell apart: work the user transitioned to done on someone
else's ticket (with and without a resolution), work still in progress, a ticket reopened after
the user closed it, a teammate's ticket, and an epic.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from harvester.sandbox.scenario import FEATURES, TEAMMATES, USER_LOGIN, Scenario

# status -> status category key, as in Jira's default software workflow plus the classic "Closed"
STATUS_CATEGORIES = {
    "To Do": "new",
    "In Progress": "indeterminate",
    "In Review": "indeterminate",
    "Done": "done",
    "Closed": "done",
}
EPICS = {"PAY-1": "Payments reliability"}


@dataclass(frozen=True)
class Transition:
    at: datetime
    by: str
    from_status: str
    to_status: str


@dataclass(frozen=True)
class Comment:
    at: datetime
    by: str
    body: str


@dataclass
class Ticket:
    key: str
    summary: str
    issue_type: str
    status: str
    assignee: str | None
    created_at: datetime
    description: str = ""
    reporter: str = USER_LOGIN
    resolved_at: datetime | None = None
    resolution: str | None = None
    priority: str = "Medium"
    labels: tuple[str, ...] = ()
    epic: str | None = None
    story_points: float | None = None
    transitions: tuple[Transition, ...] = field(default_factory=tuple)
    comments: tuple[Comment, ...] = field(default_factory=tuple)

    @property
    def project(self) -> str:
        return self.key.split("-", 1)[0]

    @property
    def number(self) -> int:
        return int(self.key.split("-", 1)[1])

    @property
    def id(self) -> int:
        return 10_000 + zlib.crc32(self.key.encode()) % 90_000

    @property
    def status_category(self) -> str:
        return STATUS_CATEGORIES[self.status]

    @property
    def updated_at(self) -> datetime:
        times = [self.created_at, *(t.at for t in self.transitions)]
        if self.resolved_at:
            times.append(self.resolved_at)
        return max(times)


def _odd_seconds(key: str) -> timedelta:
    # real resolution times are not on whole minutes; JQL dates are, which is what the tests probe
    return timedelta(seconds=7 + zlib.crc32(key.encode()) % 50)


def scenario_tickets(scenario: Scenario) -> list[Ticket]:
    """The Jira side of `scenario`: feature tickets resolved a few hours after their last merge."""
    now = scenario.now
    user = scenario.login
    tickets: list[Ticket] = []
    for index, feature in enumerate(scenario.features):
        pulls = [pr for pr in scenario.pull_requests if pr.ticket == feature.ticket and pr.merged_at]
        if not pulls:
            continue
        created = min(pr.created_at for pr in pulls) - timedelta(days=2)
        resolved = max(pr.merged_at for pr in pulls if pr.merged_at) + timedelta(hours=2) + _odd_seconds(feature.ticket)
        if resolved >= now:
            resolved = now - timedelta(minutes=3) + _odd_seconds(feature.ticket) / 10
        started = created + timedelta(days=1)
        tickets.append(
            Ticket(
                key=feature.ticket,
                summary=feature.summary,
                issue_type=feature.issue_type,
                status="Done",
                assignee=user,
                created_at=created,
                description=feature.body,
                reporter=TEAMMATES[index % len(TEAMMATES)],
                resolved_at=resolved,
                resolution="Done",
                priority="High" if feature.issue_type == "Bug" else "Medium",
                labels=feature.labels,
                epic=feature.epic,
                story_points=(3.0, 5.0, 8.0)[index % 3] if feature.issue_type == "Story" else None,
                transitions=(
                    Transition(started, user, "To Do", "In Progress"),
                    Transition(resolved, user, "In Progress", "Done"),
                ),
            )
        )
    tickets += _surrounding_tickets(now, user)
    return tickets


def _surrounding_tickets(now: datetime, user: str) -> list[Ticket]:
    day = timedelta(days=1)
    rotated = now - 3 * day + timedelta(hours=2, seconds=41)
    copy_done = now - 6 * day + timedelta(minutes=17, seconds=5)
    closed_then_reopened = now - 10 * day
    return [
        Ticket("PAY-1", EPICS["PAY-1"], "Epic", "In Progress", user, now - 60 * day, "Fewer failed payments."),
        # the user did the work on a teammate's ticket and closed it
        Ticket(
            "OPS-45",
            "Rotate CI runner credentials",
            "Task",
            "Done",
            "sam-sre",
            now - 9 * day,
            "The runner tokens were two years old.",
            reporter="sam-sre",
            resolved_at=rotated,
            resolution="Done",
            labels=("security", "ci"),
            transitions=(
                Transition(now - 5 * day, user, "To Do", "In Progress"),
                Transition(rotated, user, "In Progress", "Done"),
            ),
            comments=(Comment(now - 4 * day, "alex-backend", "Staging runners picked up the new tokens."),),
        ),
        # a workflow without a resolution: the transition time is all there is
        Ticket(
            "WEB-9",
            "Update copy on the pricing page",
            "Task",
            "Closed",
            "lee-frontend",
            now - 12 * day,
            "Marketing's new wording for the three plans.",
            reporter="lee-frontend",
            priority="Low",
            transitions=(Transition(copy_done, user, "In Review", "Closed"),),
        ),
        Ticket("PAY-60", "Support partial captures", "Story", "In Progress", user, now - 5 * day, epic="PAY-1"),
        Ticket(
            "PAY-61",
            "Reconcile payouts nightly",
            "Story",
            "Done",
            user,
            now - 70 * day,
            resolved_at=now - 40 * day + timedelta(seconds=13),
            resolution="Done",
            transitions=(Transition(now - 40 * day + timedelta(seconds=13), user, "In Progress", "Done"),),
        ),
        Ticket(
            "PAY-62",
            "Investigate flaky ledger test",
            "Bug",
            "In Progress",
            user,
            now - 14 * day,
            transitions=(
                Transition(closed_then_reopened, user, "In Progress", "Done"),
                Transition(closed_then_reopened + day, "kim-data", "Done", "In Progress"),
            ),
        ),
        Ticket(
            "WEB-10",
            "Fix focus ring on the login form",
            "Bug",
            "Done",
            "lee-frontend",
            now - 8 * day,
            reporter="lee-frontend",
            resolved_at=now - 4 * day,
            resolution="Done",
            transitions=(Transition(now - 4 * day, "lee-frontend", "In Progress", "Done"),),
        ),
    ]


def bulk_tickets(count: int, start: datetime, end: datetime) -> list[Ticket]:
    """`count` tickets the user resolved, spread evenly over [start, end), plus their epic; for benchmarks."""
    tickets = [Ticket("PAY-1", EPICS["PAY-1"], "Epic", "In Progress", USER_LOGIN, start - timedelta(days=30))]
    step = (end - start) / max(count, 1)
    for index in range(count):
        resolved = (start + step * index + step * 0.5).replace(microsecond=0)
        feature = FEATURES[index % len(FEATURES)]
        key = f"{feature.ticket.split('-')[0]}-{1000 + index}"
        tickets.append(
            Ticket(
                key=key,
                summary=f"{feature.summary} (part {index})",
                issue_type=feature.issue_type,
                status="Done",
                assignee=USER_LOGIN,
                created_at=resolved - timedelta(days=3),
                description=feature.body,
                resolved_at=resolved,
                resolution="Done",
                labels=feature.labels,
                epic=feature.epic,
                story_points=2.0 if feature.issue_type == "Story" else None,
                transitions=(Transition(resolved, USER_LOGIN, "In Progress", "Done"),),
            )
        )
    return tickets
