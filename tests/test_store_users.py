"""The user row is created once when two processes use a fresh database at the same moment."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from harvester.store import repository
from harvester.store.engine import open_store
from harvester.store.models import User

# a safety net so a broken build fails instead of hanging; no step waits on a clock
STUCK = 60.0


def test_two_first_uses_at_once_share_one_user(database_url: str) -> None:
    """The worst interleaving: the second process looks the user up after the first inserted it
    and before it committed, then writes too."""
    first, second = open_store(database_url), open_store(database_url)
    inserted, commit_now, committed = threading.Event(), threading.Event(), threading.Event()
    ids: dict[str, int] = {}
    errors: list[BaseException] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            # the first process commits while this one writes: a writer waits for it, or sees its row
            commit_now.set()

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            commit_now.set()
            assert committed.wait(STUCK)

    event.listen(second.kw["bind"], "before_cursor_execute", before)
    event.listen(second.kw["bind"], "after_cursor_execute", after)

    def use(name: str, sessions: sessionmaker[Session], *, holds_commit: bool) -> None:
        try:
            if not holds_commit:
                assert inserted.wait(STUCK)
            with sessions.begin() as session:
                ids[name] = repository.get_or_create_user(session, "me", "Europe/Berlin").id
                if holds_commit:
                    inserted.set()
                    assert commit_now.wait(STUCK)
            if holds_commit:
                committed.set()
        except BaseException as exc:
            errors.append(exc)
            inserted.set()
            committed.set()

    threads = [
        threading.Thread(target=use, args=("first", first), kwargs={"holds_commit": True}),
        threading.Thread(target=use, args=("second", second), kwargs={"holds_commit": False}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ids["first"] == ids["second"]
    with first() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_a_configured_timezone_replaces_the_stored_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        created = repository.get_or_create_user(session, "me")
    with sessions.begin() as session:
        again = repository.get_or_create_user(session, "me", "Europe/Berlin")
    with sessions.begin() as session:
        kept = repository.get_or_create_user(session, "me")
    assert created.id == again.id == kept.id
    assert kept.timezone == "Europe/Berlin"
