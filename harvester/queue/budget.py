"""A request budget shared by every worker: a token bucket per (source, token), kept in PostgreSQL.

A limit that belongs to a token, not to a process (GitHub's 30 searches a minute, for a token that
several members' jobs use, such as a GitHub App installation token), has to be counted where all
workers see it. Each request takes one token from the bucket's row with a single
`INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row lock makes concurrent takers, on any machine,
go one after another, and each learns how long to wait before its request. A taker is never
refused: when the bucket is empty it is promised the next token that refills, so takers queue in
the order they asked, and nothing loops or polls. Time is the database's clock, so workers whose
clocks disagree still share one count.

The connector stays database-free: it is given a `pacer`, a plain callable it calls before each
request that counts against the limit; `SharedBudget` is that callable.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import extract, func, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from harvester.errors import ConfigError, RateLimitError
from harvester.secrets import Secret
from harvester.store.models import RateBudget


@dataclass(frozen=True)
class Rate:
    """At most `limit` requests in any `per` seconds, up to `burst` of them at once.

    The bucket holds `burst` tokens and refills at (limit - burst) / per a second, so any window
    of `per` seconds sees at most burst + (limit - burst) = limit requests, wherever it starts:
    a limit that resets at fixed times (GitHub's) is never overrun.
    """

    limit: int
    per: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.burst < self.limit or self.per <= 0:
            raise ValueError(f"a rate needs 1 <= burst < limit and per > 0, not {self}")

    @property
    def refill_per_second(self) -> float:
        return (self.limit - self.burst) / self.per


# GitHub's search API: 30 requests a minute per token (documented: docs.github.com/rest/search);
# a burst of 5 lets a run's first pages go at once and still keeps any minute at 30
GITHUB_SEARCH = Rate(limit=30, per=60.0, burst=5)


def token_sha256(token: Secret | str) -> str:
    """What the budget is keyed by: the token's SHA-256, so the table never holds the token."""
    value = token.reveal() if isinstance(token, Secret) else token
    return hashlib.sha256(value.encode()).hexdigest()


def take(session: Session, source: str, token_key: str, rate: Rate) -> float:
    """Take one request from the budget of (`source`, `token_key`); the seconds to wait before sending it.

    0 when a token was there; otherwise the time until the token promised to this taker refills.
    The row is created full on first use. Commit soon: the row stays locked until then.
    """
    if session.get_bind().dialect.name != "postgresql":
        raise ConfigError("a shared request budget needs PostgreSQL (the team service's database)", key="database.url")
    table: Any = RateBudget.__table__
    now = func.clock_timestamp()
    insert = postgresql.insert(table).values(
        source=source, token_sha256=token_key, tokens=float(rate.burst - 1), counted_at=now
    )
    refilled = table.c.tokens + extract("epoch", now - table.c.counted_at) * rate.refill_per_second
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.source, table.c.token_sha256],
        set_={"tokens": func.least(float(rate.burst), refilled) - 1, "counted_at": now},
    ).returning(table.c.tokens)
    left = float(session.execute(statement).scalar_one())
    return max(0.0, -left / rate.refill_per_second)


def give_back(session: Session, source: str, token_key: str) -> None:
    """Return a token taken but not used (the taker gave up rather than wait that long)."""
    session.execute(
        update(RateBudget)
        .where(RateBudget.source == source, RateBudget.token_sha256 == token_key)
        .values(tokens=RateBudget.tokens + 1)
    )


class SharedBudget:
    """A connector's pacer: each call takes one request from the shared budget and sleeps until it is due.

    With `max_wait`, a request that would wait longer gives its token back and raises RateLimitError
    (transient: the job is retried later) instead of holding a worker's thread that long.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        source: str,
        token: Secret | str,
        rate: Rate,
        *,
        max_wait: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.source = source
        self.key = token_sha256(token)
        self.rate = rate
        self.max_wait = max_wait
        self._sleep = sleep

    def take(self) -> float:
        """Take one request; the seconds to wait before sending it."""
        with self.sessions.begin() as session:
            return take(session, self.source, self.key, self.rate)

    def __call__(self) -> None:
        wait = self.take()
        if self.max_wait is not None and wait > self.max_wait:
            with self.sessions.begin() as session:
                give_back(session, self.source, self.key)
            raise RateLimitError(
                self.source,
                f"the shared request budget ({self.rate.limit} per {self.rate.per:g} s for this token) is "
                f"spent for the next {wait:.0f} s, more than the {self.max_wait:g} s a request may wait",
                wait_seconds=wait,
            )
        if wait > 0:
            self._sleep(wait)
