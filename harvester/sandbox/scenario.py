"""A generated, realistic scenario: a few weeks of one engineer's work across repositories.

Every sandbox serves the same scenario, so a pull request, the ticket in its title and branch,
and the design review about it line up the way they do in a real team.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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


@dataclass
class Scenario:
    login: str
    name: str
    now: datetime
    pull_requests: list[PullRequest] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    features: tuple[Feature, ...] = FEATURES

    @property
    def email(self) -> str:
        return f"{self.login.split('-')[0]}@acme.example"

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


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())[:40]
