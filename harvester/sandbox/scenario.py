"""A generated, realistic scenario: a few weeks of one engineer's work across repositories.

Every sandbox serves the same scenario, so a pull request, the ticket in its title and branch,
and the design review about it line up the way they do in a real team.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

ORG = "acme"
USER_LOGIN = "dana-dev"
USER_NAME = "Dana Developer"
TEAMMATES = ("sam-sre", "lee-frontend", "kim-data", "alex-backend")


@dataclass
class PullRequest:
    repo: str
    number: int
    title: str
    body: str
    author: str
    created_at: datetime
    merged_at: datetime | None
    head_ref: str
    labels: tuple[str, ...] = ()
    ticket: str | None = None
    additions: int = 0
    deletions: int = 0
    files: tuple[str, ...] = ()
    comments: int = 0

    @property
    def updated_at(self) -> datetime:
        return self.merged_at or self.created_at

    @property
    def id(self) -> int:
        return 1_000_000 + zlib.crc32(f"{self.repo}#{self.number}".encode()) % 9_000_000


@dataclass
class Review:
    id: int
    repo: str
    number: int
    reviewer: str
    state: str
    submitted_at: datetime
    body: str = ""


@dataclass
class CalendarEvent:
    """One event on one of the user's calendars, as the user sees it (their own response included).

    `all_day` events use `start.date()`..`end.date()`; `response` is the user's own attendee
    response, None when the user is not on the attendee list (their own solo events).
    """

    id: str
    summary: str
    start: datetime
    end: datetime
    organizer: str = USER_LOGIN
    attendees: tuple[str, ...] = ()
    response: str | None = "accepted"
    calendar: str = "primary"
    event_type: str = "default"
    all_day: bool = False
    visibility: str = "default"
    status: str = "confirmed"
    recurring_event_id: str | None = None
    conference: str | None = None
    description: str = ""
    ticket: str | None = None

    @property
    def start_date(self) -> date:
        return self.start.date()


@dataclass
class Feature:
    """One piece of work as a person would describe it; its PRs, ticket and meetings derive from it."""

    ticket: str
    summary: str
    repo: str
    pr_titles: tuple[str, ...]
    body: str
    labels: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    meeting: str | None = None
    issue_type: str = "Story"
    epic: str | None = None


FEATURES: tuple[Feature, ...] = (
    Feature(
        "PAY-12",
        "Retry failed webhook deliveries with exponential backoff",
        "payments-api",
        (
            "Retry failed webhook deliveries with backoff",
            "Add dead-letter queue for webhooks that exhaust retries",
        ),
        "Merchants lost events when their endpoint was briefly down. Deliveries are now retried "
        "with exponential backoff for up to 24 hours; failed deliveries dropped from 2.1% to 0.3%.",
        ("enhancement",),
        ("src/webhooks/delivery.py", "src/webhooks/retry.py", "tests/webhooks/test_retry.py"),
        "Design review: webhook retries",
        epic="PAY-1",
    ),
    Feature(
        "PAY-31",
        "Reduce p99 latency of the charges endpoint",
        "payments-api",
        ("Cache merchant settings in charges path", "Batch ledger writes on charge capture"),
        "Profiling showed two round trips per charge. p99 from 300 ms to 120 ms on /v1/charges, "
        "and database CPU down 35%.",
        ("performance",),
        ("src/charges/service.py", "src/charges/cache.py", "src/ledger/writer.py"),
        None,
        epic="PAY-1",
    ),
    Feature(
        "WEB-7",
        "Dark mode for the settings page",
        "web-app",
        ("Dark mode for settings page",),
        "Adds a theme toggle and CSS variables for the settings page. Closes a top-10 customer request.",
        ("ui", "feature"),
        ("src/settings/Theme.tsx", "src/styles/tokens.css"),
        None,
    ),
    Feature(
        "OPS-44",
        "Migrate CI to ephemeral runners",
        "infra",
        ("Move CI jobs to ephemeral runners", "Cache pip and npm downloads on ephemeral runners"),
        "Builds no longer share state; median CI time went from 14 min to 6 min (2.3x faster) "
        "and saves about $1,800 per month in runner costs.",
        ("ci",),
        ("ci/runners.tf", ".github/workflows/build.yml"),
        "CI migration sync",
    ),
    Feature(
        "PAY-58",
        "Fix double refund on concurrent requests",
        "payments-api",
        ("Fix double refund when two refund requests race",),
        "Two concurrent refund calls could both pass the balance check. Takes a row lock on the charge; "
        "adds a regression test.",
        ("bug",),
        ("src/refunds/service.py", "tests/refunds/test_concurrency.py"),
        "Incident postmortem: double refunds",
        issue_type="Bug",
    ),
    Feature(
        "DOC-3",
        "Write the payments onboarding guide",
        "payments-api",
        ("Add onboarding guide for new payments engineers",),
        "A guide to the payments architecture, local setup and on-call, for new hires.",
        ("documentation",),
        ("docs/onboarding.md",),
        None,
        issue_type="Task",
    ),
)

TEAMMATE_PR_TITLES = (
    "Bump dependencies for security advisories",
    "Add feature flag for new checkout flow",
    "Refactor invoice PDF rendering",
    "Fix flaky test in ledger reconciliation",
    "Add metrics for queue depth",
    "Improve error messages in CLI",
)


def email_of(login: str) -> str:
    """A sandbox person's address, the same in every sandbox ("sam-sre" -> sam@acme.example)."""
    return f"{login.split('-')[0]}@acme.example"


def display_name_of(login: str) -> str:
    """A sandbox person's name, the same in every sandbox ("sam-sre" -> "Sam Sre")."""
    return " ".join(part.capitalize() for part in login.split("-"))


@dataclass
class Scenario:
    login: str
    name: str
    now: datetime
    pull_requests: list[PullRequest] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    features: tuple[Feature, ...] = FEATURES
    calendar_events: list[CalendarEvent] = field(default_factory=list)

    @property
    def email(self) -> str:
        return email_of(self.login)

    def repo_full_name(self, repo: str) -> str:
        return repo if "/" in repo else f"{ORG}/{repo}"

    @classmethod
    def generate(cls, now: datetime | None = None, *, weeks: int = 4, seed: int = 7) -> Scenario:
        """The demo scenario: the features above spread over the last `weeks` weeks."""
        now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        rng = random.Random(seed)
        scenario = cls(login=USER_LOGIN, name=USER_NAME, now=now)
        numbers: dict[str, int] = {}

        def next_number(repo: str) -> int:
            numbers[repo] = numbers.get(repo, 400 + rng.randrange(50)) + 1
            return numbers[repo]

        span = timedelta(weeks=weeks)
        for index, feature in enumerate(FEATURES):
            # spread features evenly, newest last, so every recent week has work in it
            anchor = now - span + span * (index + 0.5) / len(FEATURES)
            for step, title in enumerate(feature.pr_titles):
                created = anchor + timedelta(hours=20 * step) - timedelta(hours=rng.randrange(6, 30))
                merged = anchor + timedelta(hours=20 * step, minutes=rng.randrange(0, 600))
                if merged >= now:
                    merged = now - timedelta(minutes=5 + step)
                body = feature.body if step == 0 else f"Follow-up to the first change for {feature.ticket}."
                scenario.pull_requests.append(
                    PullRequest(
                        repo=f"{ORG}/{feature.repo}",
                        number=next_number(feature.repo),
                        title=f"{feature.ticket}: {title}",
                        body=f"{body}\n\nJira: {feature.ticket}",
                        author=USER_LOGIN,
                        created_at=created,
                        merged_at=merged,
                        head_ref=f"{feature.ticket.lower()}-{_slug(title)}",
                        labels=feature.labels,
                        ticket=feature.ticket,
                        additions=rng.randrange(20, 600),
                        deletions=rng.randrange(0, 200),
                        files=feature.paths,
                        comments=rng.randrange(0, 8),
                    )
                )
        # an open PR and a closed-unmerged one: the search must not return them
        scenario.pull_requests.append(
            PullRequest(
                f"{ORG}/web-app",
                next_number("web-app"),
                "WIP: try a new router",
                "",
                USER_LOGIN,
                now - timedelta(days=2),
                None,
                "wip-router",
            )
        )
        review_id = 80_000_000
        for index, title in enumerate(TEAMMATE_PR_TITLES):
            author = TEAMMATES[index % len(TEAMMATES)]
            repo = ("payments-api", "web-app", "infra")[index % 3]
            created = now - span + span * (index + 0.3) / len(TEAMMATE_PR_TITLES)
            pr = PullRequest(
                repo=f"{ORG}/{repo}",
                number=next_number(repo),
                title=title,
                body="",
                author=author,
                created_at=created,
                merged_at=created + timedelta(hours=30),
                head_ref=_slug(title),
            )
            scenario.pull_requests.append(pr)
            review_id += 1
            scenario.reviews.append(
                Review(
                    review_id,
                    pr.repo,
                    pr.number,
                    USER_LOGIN,
                    ("APPROVED", "CHANGES_REQUESTED", "COMMENTED")[index % 3],
                    created + timedelta(hours=3 + index),
                    "Looks good, one note on error handling.",
                )
            )
        # a separate generator, so the pull requests above stay exactly as they were before meetings existed
        scenario.calendar_events = _calendar_events(now, span, random.Random(seed + 1))
        return scenario

    @classmethod
    def calendar_bulk(cls, count: int, start: datetime, end: datetime) -> Scenario:
        """`count` accepted half-hour meetings ending evenly over [start, end), for benchmarks."""
        scenario = cls(login=USER_LOGIN, name=USER_NAME, now=end, features=())
        step = (end - start) / max(count, 1)
        for index in range(count):
            finish = (start + step * (index + 1)).replace(microsecond=0)
            if finish >= end:
                finish = end - timedelta(seconds=1)
            feature = FEATURES[index % len(FEATURES)]
            scenario.calendar_events.append(
                CalendarEvent(
                    id=f"bulk{index:06d}",
                    summary=f"{feature.ticket} sync (part {index})",
                    start=finish - timedelta(minutes=30),
                    end=finish,
                    organizer=TEAMMATES[index % len(TEAMMATES)],
                    attendees=(USER_LOGIN, TEAMMATES[index % len(TEAMMATES)]),
                    conference="hangoutsMeet",
                )
            )
        return scenario

    @classmethod
    def bulk(cls, count: int, start: datetime, end: datetime, *, seed: int = 1) -> Scenario:
        """`count` merged pull requests by the user spread evenly over [start, end), for benchmarks."""
        rng = random.Random(seed)
        scenario = cls(login=USER_LOGIN, name=USER_NAME, now=end, features=())
        step = (end - start) / max(count, 1)
        for index in range(count):
            merged = (start + step * index + step * rng.random() * 0.9).replace(microsecond=0)
            feature = FEATURES[index % len(FEATURES)]
            scenario.pull_requests.append(
                PullRequest(
                    repo=f"{ORG}/{feature.repo}",
                    number=index + 1,
                    title=f"{feature.ticket}: {feature.pr_titles[0]} (part {index})",
                    body=feature.body,
                    author=USER_LOGIN,
                    created_at=merged - timedelta(hours=5),
                    merged_at=merged,
                    head_ref=f"{feature.ticket.lower()}-part-{index}",
                    labels=feature.labels,
                )
            )
        return scenario


def _calendar_events(now: datetime, span: timedelta, rng: random.Random) -> list[CalendarEvent]:
    """The meetings of the scenario: one per feature that had one, plus the noise every calendar has."""
    events: list[CalendarEvent] = []
    first_day = (now - span).replace(hour=0, minute=0, second=0)

    def at(day: datetime, hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, second=0)

    for index, feature in enumerate(FEATURES):
        if feature.meeting is None:
            continue
        anchor = now - span + span * (index + 0.5) / len(FEATURES)
        # a design review precedes the work, a postmortem follows the fix, a sync sits in the middle
        offset = timedelta(days=1) if feature.meeting.startswith("Incident") else -timedelta(days=1)
        start = at(anchor + offset, 14)
        organized = feature.meeting.startswith("Design")
        events.append(
            CalendarEvent(
                id=f"{feature.ticket.lower().replace('-', '')}meeting",
                summary=feature.meeting,
                start=start,
                end=start + timedelta(minutes=45 if organized else 60),
                organizer=USER_LOGIN if organized else TEAMMATES[index % len(TEAMMATES)],
                attendees=(USER_LOGIN, *TEAMMATES[: 2 + index % 3]),
                conference="hangoutsMeet",
                description=f"Agenda and notes for {feature.ticket}: {feature.summary}.",
                ticket=feature.ticket,
            )
        )
    day = first_day
    while day < now:
        if day.weekday() < 5:
            standup = at(day, 9, 30)
            events.append(
                CalendarEvent(
                    id=f"standup_{standup:%Y%m%dT%H%M%SZ}",
                    summary="Payments team standup",
                    start=standup,
                    end=standup + timedelta(minutes=15),
                    organizer="alex-backend",
                    attendees=(USER_LOGIN, *TEAMMATES),
                    recurring_event_id="standup",
                    conference="hangoutsMeet",
                )
            )
        if day.weekday() == 2:
            lunch = at(day, 12)
            events.append(
                CalendarEvent(
                    id=f"lunch_{lunch:%Y%m%dT%H%M%SZ}",
                    summary="Team lunch",
                    start=lunch,
                    end=lunch + timedelta(hours=1),
                    organizer="lee-frontend",
                    attendees=(USER_LOGIN, *TEAMMATES),
                    recurring_event_id="lunch",
                )
            )
        if day.weekday() == 3:
            one_on_one = at(day, 15)
            events.append(
                CalendarEvent(
                    id=f"oneonone_{one_on_one:%Y%m%dT%H%M%SZ}",
                    summary="1:1 Dana / Morgan",
                    start=one_on_one,
                    end=one_on_one + timedelta(minutes=30),
                    organizer="morgan-manager",
                    attendees=(USER_LOGIN, "morgan-manager"),
                    recurring_event_id="oneonone",
                    conference="hangoutsMeet",
                )
            )
        if day.weekday() == 1:
            focus = at(day, 13)
            events.append(
                CalendarEvent(
                    id=f"focus{day:%Y%m%d}",
                    summary="Focus time",
                    start=focus,
                    end=focus + timedelta(hours=2),
                    event_type="focusTime",
                    response=None,
                )
            )
        if day.weekday() < 5:
            events.append(
                CalendarEvent(
                    id=f"wl{day:%Y%m%d}",
                    summary="Home" if day.weekday() in (0, 4) else "Office",
                    start=day,
                    end=day + timedelta(days=1),
                    event_type="workingLocation",
                    all_day=True,
                    response=None,
                )
            )
        day += timedelta(days=1)
    middle = at(now - span / 2, 10)
    events += [
        CalendarEvent(
            "allhandsrehearsal",
            "All-hands rehearsal",
            middle,
            middle + timedelta(hours=1),
            organizer="kim-data",
            attendees=(USER_LOGIN, "kim-data", "sam-sre"),
            response="declined",
        ),
        CalendarEvent(
            "vendordemo",
            "Vendor demo: observability platform",
            middle + timedelta(days=1),
            middle + timedelta(days=1, hours=1),
            organizer="sam-sre",
            attendees=(USER_LOGIN, "sam-sre"),
            response="needsAction",
        ),
        CalendarEvent(
            "architectureguild",
            "Architecture guild",
            middle + timedelta(days=2, hours=5),
            middle + timedelta(days=2, hours=6),
            organizer="alex-backend",
            attendees=(USER_LOGIN, "alex-backend", "kim-data"),
            response="tentative",
        ),
        CalendarEvent(
            "capacityplanning",
            "Capacity planning",
            middle + timedelta(days=3),
            middle + timedelta(days=3, hours=1),
            organizer=USER_LOGIN,
            attendees=(USER_LOGIN, "sam-sre"),
            status="cancelled",
        ),
        CalendarEvent(
            "roadmapprep",
            "Prepare Q4 roadmap notes",
            middle - timedelta(days=2, hours=-4),
            middle - timedelta(days=2, hours=-6),
            response=None,
        ),
        CalendarEvent(
            "doctor",
            "Dentist",
            middle + timedelta(days=4, hours=6),
            middle + timedelta(days=4, hours=7),
            response=None,
            visibility="private",
        ),
        CalendarEvent(
            "ooo",
            "Out of office",
            (middle + timedelta(days=7)).replace(hour=0),
            (middle + timedelta(days=8)).replace(hour=0),
            event_type="outOfOffice",
            response=None,
        ),
        CalendarEvent(
            "hackathon",
            "Company hackathon",
            (middle - timedelta(days=4)).replace(hour=0),
            (middle - timedelta(days=3)).replace(hour=0),
            organizer="kim-data",
            attendees=(USER_LOGIN, *TEAMMATES),
            all_day=True,
        ),
        CalendarEvent(
            "sprintplanning",
            "Sprint planning",
            now + timedelta(days=1, hours=2),
            now + timedelta(days=1, hours=3),
            organizer="alex-backend",
            attendees=(USER_LOGIN, *TEAMMATES),
            conference="hangoutsMeet",
        ),
    ]
    # an incident review the user ran at short notice: organised by them, nobody answered yet
    incident = at(now - timedelta(days=rng.randrange(2, 5)), 16)
    events.append(
        CalendarEvent(
            "ledgerlag",
            "Ledger lag review",
            incident,
            incident + timedelta(minutes=30),
            attendees=(USER_LOGIN, "kim-data"),
            conference="hangoutsMeet",
        )
    )
    # the hand-over of the credentials the user rotated (OPS-45, a teammate's ticket): its title
    # names none of the ticket's words, its people are the ticket's reporter and commenter
    handover = at(now - timedelta(days=3), 11)
    events.append(
        CalendarEvent(
            "tokenhandover",
            "Staging hand-over",
            handover,
            handover + timedelta(minutes=30),
            organizer="sam-sre",
            attendees=(USER_LOGIN, "sam-sre", "alex-backend"),
            conference="hangoutsMeet",
            ticket="OPS-45",
        )
    )
    return sorted(events, key=lambda event: (event.start, event.id))


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())[:40]
