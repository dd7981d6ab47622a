"""The signing key is created once however many processes start at once, and never shown in an error."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from harvester.store import repository
from harvester.store.engine import open_store
from harvester.store.models import AppSecret
from harvester.web import tokens


def test_concurrent_first_use_agrees_on_one_key(database_url: str) -> None:
    # one engine per thread: what three `brag digest --send` processes are to the database
    factories = [open_store(database_url) for _ in range(3)]
    barrier = threading.Barrier(3)
    keys: list[str] = []
    errors: list[BaseException] = []

    def first_use(sessions: sessionmaker[Session]) -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                keys.append(repository.app_secret(session, tokens.SECRET_NAME))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(factory,)) for factory in factories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(keys) == 3 and len(set(keys)) == 1


def test_a_database_error_never_shows_the_values_it_was_given(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        repository.app_secret(session, "k")
    with pytest.raises(IntegrityError) as caught, sessions.begin() as session:
        session.add(AppSecret(name="k", value="SECRET-VALUE-THAT-MUST-NOT-SHOW"))
    assert "SECRET-VALUE-THAT-MUST-NOT-SHOW" not in str(caught.value)
