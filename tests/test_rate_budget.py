"""The shared request budget (harvester/queue/budget.py) on real PostgreSQL, taken by two processes and two connectors.

No test asserts how long anything took: the budget says how long each taker must wait, so the
tests count the takers that may go now and check that every other one was promised its own
later slot, one refill apart, whichever process or thread asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import team_support
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streams_support import read_all
from support import NOW

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.errors import RateLimitError
from harvester.queue.budget import GITHUB_SEARCH, Rate, SharedBudget, take, token_sha256
from harvester.store.engine import open_store
from harvester.store.models import RateBudget
from harvester.timeutil import Window

pytestmark = pytest.mark.skipif(
    not os.environ.get("BRAG_TEST_POSTGRES_URL"),
    reason="the shared budget lives in PostgreSQL: set BRAG_TEST_POSTGRES_URL (CI does)",
)
REPO = Path(__file__).resolve().parent.parent
# three requests at once, then one an hour: a test's few seconds refill nothing measurable
HOURLY = Rate(limit=4, per=3 * 3600.0, burst=3)
SLOT = 1 / HOURLY.refill_per_second

team_url = team_support.team_url


@pytest.fixture
def sessions(team_url: str) -> Iterator[sessionmaker[Session]]:
    found = open_store(team_url)
    yield found
    found.kw["bind"].dispose()


def slots(waits: list[float]) -> list[int]:
    """Which refill each taker was promised: 0 for those that went at once, then 1, 2, …"""
    return sorted(round(wait / SLOT + 0.49) for wait in waits)


def test_the_github_search_rate_never_exceeds_30_in_any_minute() -> None:
    assert GITHUB_SEARCH.burst + GITHUB_SEARCH.refill_per_second * 60 == 30


def test_a_full_budget_lets_the_burst_go_and_promises_the_rest_one_slot_each(
    sessions: sessionmaker[Session],
) -> None:
    budget = SharedBudget(sessions, "github", "a-shared-token", HOURLY)
    waits = [budget.take() for _ in range(6)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert slots(waits) == [0, 0, 0, 1, 2, 3]
    with sessions() as session:
        row = session.scalars(select(RateBudget)).one()
    # the token is not stored, only its hash
    assert row.token_sha256 == token_sha256("a-shared-token") != "a-shared-token"


def test_two_processes_share_one_budget(team_url: str, sessions: sessionmaker[Session]) -> None:
    script = (
        "import json, sys\n"
        "from harvester.queue.budget import Rate, SharedBudget\n"
        "from harvester.store.engine import open_store\n"
        "budget = SharedBudget(open_store(sys.argv[1]), 'github', 'a-shared-token', Rate(4, 3 * 3600.0, 3))\n"
        "print(json.dumps([budget.take() for _ in range(5)]))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    takers = [
        subprocess.Popen([sys.executable, "-c", script, team_url], stdout=subprocess.PIPE, env=environment)
        for _ in range(2)
    ]
    waits = [wait for taker in takers for wait in json.loads(taker.communicate(timeout=120)[0])]

    assert all(taker.returncode == 0 for taker in takers)
    # ten takes, three at once, and seven later slots, none promised twice across the processes
    assert slots(waits) == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]


def test_other_tokens_and_sources_have_their_own_budgets(sessions: sessionmaker[Session]) -> None:
    for _ in range(3):
        SharedBudget(sessions, "github", "token-a", HOURLY).take()
    assert SharedBudget(sessions, "github", "token-b", HOURLY).take() == 0.0
    assert SharedBudget(sessions, "jira", "token-a", HOURLY).take() == 0.0
    assert SharedBudget(sessions, "github", "token-a", HOURLY).take() > 0.0


def test_the_budget_refills_with_time(sessions: sessionmaker[Session]) -> None:
    # one at once, then ten a second
    quick = Rate(limit=11, per=1.0, burst=1)
    budget = SharedBudget(sessions, "github", "a-shared-token", quick)
    assert budget.take() == 0.0
    promised = budget.take()
    assert promised > 0.0
    # sleeping past the promised slot and one more refill: the bucket is full again
    time.sleep(promised + 2 / quick.refill_per_second)
    assert budget.take() == 0.0


def test_a_taker_that_would_wait_too_long_gives_its_token_back(sessions: sessionmaker[Session]) -> None:
    budget = SharedBudget(sessions, "github", "a-shared-token", HOURLY, max_wait=60.0)
    for _ in range(3):
        budget()
    with pytest.raises(RateLimitError) as refused:
        budget()
    assert refused.value.wait_seconds is not None and refused.value.wait_seconds > 60.0
    # the refused taker's slot went back: the next one is promised the first slot, not the second
    assert slots([budget.take()]) == [1]


def test_take_refuses_a_database_other_than_postgresql(tmp_path: Path) -> None:
    from harvester.errors import ConfigError

    local = open_store(f"sqlite:///{tmp_path / 'brag.db'}")
    with local.begin() as session, pytest.raises(ConfigError):
        take(session, "github", token_sha256("t"), HOURLY)


def test_two_github_connectors_on_one_token_take_from_one_budget(
    sessions: sessionmaker[Session], github: GitHubSandbox
) -> None:
    slept: list[float] = []
    budget = SharedBudget(sessions, "github", DEFAULT_TOKEN, HOURLY, sleep=slept.append)
    windows = [Window(NOW - timedelta(days=7 * (n + 1)), NOW - timedelta(days=7 * n)) for n in range(3)]

    def harvest() -> None:
        connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False, pacer=budget)
        for window in windows:
            read_all(connector, window)

    threads = [threading.Thread(target=harvest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # six searches (two connectors, three windows each): three went at once, three were paced
    assert github.count("/search/issues") == 6
    assert slots(slept) == [1, 2, 3]
    with sessions() as session:
        row = session.scalars(select(RateBudget)).one()
    assert round(row.tokens) == HOURLY.burst - 6
