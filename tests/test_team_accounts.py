"""Team mode's store: each person's grants reachable only with their user id, and deleting a
person removes every row of theirs in every table while everyone else's stay. PostgreSQL only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import team_support
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from team_support import needs_postgres, seed_everything, sign_in

from harvester.store import accounts
from harvester.store.models import Base, CandidateItem, CandidateRow, Grant, User
from harvester.team.vault import Vault, new_key

pytestmark = [pytest.mark.postgres, needs_postgres]
team_url, team_sessions, vault = team_support.team_url, team_support.team_sessions, team_support.vault


def test_first_sign_in_creates_the_user_and_the_next_finds_them(team_sessions: sessionmaker[Session]) -> None:
    subject = "https://login.acme.test 00u1dana"
    with team_sessions.begin() as session:
        dana = accounts.find_or_create_user_by_subject(session, subject, "Dana.Kim@acme.test", "Dana Kim")
        first_id = dana.id
    with team_sessions.begin() as session:
        again = accounts.find_or_create_user_by_subject(session, subject, "dana@acme.test", "Dana K.")
        assert again.id == first_id
        # the provider's newest email and name win; the name the operator types stays
        assert (again.email, again.display_name, again.name) == ("dana@acme.test", "Dana K.", "dana.kim@acme.test")
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_user_names_are_unique_even_when_two_identities_share_an_email(team_sessions: sessionmaker[Session]) -> None:
    with team_sessions.begin() as session:
        first = accounts.find_or_create_user_by_subject(session, "https://old.idp 1", "lee@acme.test", None)
        second = accounts.find_or_create_user_by_subject(session, "https://new.idp 9", "lee@acme.test", None)
        github = accounts.find_or_create_user_by_subject(session, "github 583231", None, "Octo Cat")
        opaque = accounts.find_or_create_user_by_subject(session, "https://idp 7f/3 x", None, None)
        assert [first.name, second.name] == ["lee@acme.test", "lee@acme.test-2"]
        more = [
            accounts.find_or_create_user_by_subject(session, f"https://idp {n}", "lee@acme.test", None)
            for n in range(9)
        ]
        assert [user.name for user in more[:7]] == [f"lee@acme.test-{n}" for n in range(3, 10)]
        assert len({user.name for user in more}) == 9 and more[8].name.startswith("lee@acme.test-")
        assert github.name == "github-583231"
        assert opaque.name == "x"


def test_a_users_grant_is_reachable_only_with_their_own_id(team_sessions: sessionmaker[Session], vault: Vault) -> None:
    with team_sessions.begin() as session:
        ana, ben = sign_in(session, "ana"), sign_in(session, "ben")
        accounts.save_grant(session, ana, "github", vault, {"access_token": "ana-token"}, ["repo:read"], "ana-gh")
    with team_sessions() as session:
        assert accounts.grant_for(session, ana, "github", vault) == {"access_token": "ana-token"}
        assert accounts.grant_for(session, ben, "github", vault) is None
        assert accounts.grants_of(session, ben) == []
        assert not accounts.mark_reconnect(session, ben, "github", "401")
        assert not accounts.delete_grant(session, ben, "github")
        assert accounts.grant_for(session, ana, "github", vault) == {"access_token": "ana-token"}


def test_a_refused_grant_awaits_a_reconnect_until_it_is_saved_again(
    team_sessions: sessionmaker[Session], vault: Vault
) -> None:
    with team_sessions.begin() as session:
        ana = sign_in(session, "ana")
        accounts.save_grant(session, ana, "jira", vault, {"access_token": "t1"}, ["read:jira-work"], "ana")
        assert accounts.mark_reconnect(session, ana, "jira", "Jira answered 401: the grant was revoked")
    with team_sessions.begin() as session:
        # the harvest skips the source: there is no grant to use
        assert accounts.grant_for(session, ana, "jira", vault) is None
        (info,) = accounts.grants_of(session, ana)
        assert (info.source, info.status, info.problem) == (
            "jira",
            "reconnect",
            "Jira answered 401: the grant was revoked",
        )
        accounts.save_grant(
            session, ana, "jira", vault, {"access_token": "t2"}, ["read:jira-work", "read:jira-user"], "a"
        )
    with team_sessions() as session:
        assert accounts.grant_for(session, ana, "jira", vault) == {"access_token": "t2"}
        (info,) = accounts.grants_of(session, ana)
        assert (info.status, info.problem, info.scopes) == ("connected", None, ("read:jira-work", "read:jira-user"))
        assert session.scalar(select(func.count()).select_from(Grant)) == 1


def test_disconnecting_forgets_only_that_source(team_sessions: sessionmaker[Session], vault: Vault) -> None:
    with team_sessions.begin() as session:
        ana = sign_in(session, "ana")
        for source in ("github", "google_calendar"):
            accounts.save_grant(session, ana, source, vault, {"access_token": source}, [], None)
        assert accounts.delete_grant(session, ana, "github")
    with team_sessions() as session:
        assert [grant.source for grant in accounts.grants_of(session, ana)] == ["google_calendar"]


def test_disabling_and_enabling_a_user(team_sessions: sessionmaker[Session]) -> None:
    when = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with team_sessions.begin() as session:
        ana = sign_in(session, "ana")
        assert accounts.set_disabled(session, ana, when)
    with team_sessions.begin() as session:
        (listed,) = accounts.list_users(session)
        assert listed.disabled_at == when
        assert accounts.set_disabled(session, ana, None)
        assert not accounts.set_disabled(session, ana + 1000, when)
    with team_sessions() as session:
        assert accounts.list_users(session)[0].disabled_at is None


def test_pausing_and_resuming_touches_only_that_user(team_sessions: sessionmaker[Session]) -> None:
    when = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with team_sessions.begin() as session:
        sign_in(session, "ben")
        ana = sign_in(session, "ana")
        assert accounts.set_paused(session, ana, when)
    with team_sessions.begin() as session:
        assert [(user.name, user.paused_at) for user in accounts.list_users(session)] == [
            ("ana@acme.test", when),
            ("ben@acme.test", None),
        ]
        assert accounts.set_paused(session, ana, None)
    with team_sessions() as session:
        assert [user.paused_at for user in accounts.list_users(session)] == [None, None]


def test_deleting_a_user_leaves_nothing_of_theirs_in_any_table(
    team_sessions: sessionmaker[Session], vault: Vault
) -> None:
    with team_sessions.begin() as session:
        ana, ben = sign_in(session, "ana"), sign_in(session, "ben")
        seed_everything(session, ana, vault, "ana-token")
        seed_everything(session, ben, vault, "ben-token")
    tables = [table for table in Base.metadata.sorted_tables if "user_id" in table.c]
    # every table holding a person's data is seeded, so a table added later without being covered fails here
    assert {table.name for table in tables} | {"users", "candidate_items"} == {t.name for t in accounts.user_tables()}
    with team_sessions() as session:
        before = {table.name: _rows_of(session, table, ben) for table in tables}
        for table in tables:
            assert _rows_of(session, table, ana) > 0, f"the test seeds no row of {table.name}"
        assert before["grants"] == 2

    with team_sessions.begin() as session:
        deleted = accounts.delete_user_data(session, ana)
    assert deleted["grants"] == 2 and deleted["users"] == 1 and deleted["candidate_items"] == 1

    with team_sessions() as session:
        for table in tables:
            assert _rows_of(session, table, ana) == 0, f"{table.name} still holds rows of the deleted user"
        assert {table.name: _rows_of(session, table, ben) for table in tables} == before
        assert session.get(User, ana) is None and session.get(User, ben) is not None
        # rows without a user_id of their own: a candidate's items hang off the candidate
        items = select(func.count()).select_from(CandidateItem).join(CandidateRow)
        assert session.scalar(items.where(CandidateRow.user_id == ben)) == 1
        assert session.scalar(select(func.count()).select_from(CandidateItem)) == 1
        assert accounts.grant_for(session, ben, "github", vault) == {"access_token": "ben-token"}


def _rows_of(session: Session, table: object, user_id: int) -> int:
    column = table.c.user_id  # type: ignore[attr-defined]
    return session.scalar(select(func.count()).select_from(table).where(column == user_id)) or 0  # type: ignore[arg-type]


def test_reseal_moves_every_grant_to_the_first_key_and_is_all_or_nothing(team_sessions: sessionmaker[Session]) -> None:
    old, new = new_key(), new_key()
    with team_sessions.begin() as session:
        ana, ben = sign_in(session, "ana"), sign_in(session, "ben")
        accounts.save_grant(session, ana, "github", Vault([old]), {"access_token": "a"}, [], None)
        accounts.save_grant(session, ben, "github", Vault([old]), {"access_token": "b"}, [], None)
    with team_sessions() as session:
        # a key that opens none of them changes nothing
        with pytest.raises(Exception, match="Put that key back"):
            accounts.reseal_grants(session, Vault([new]))
        session.rollback()
        assert accounts.unopenable_grants(session, Vault([new])) == [
            ("ana@acme.test", "github"),
            ("ben@acme.test", "github"),
        ]
    with team_sessions.begin() as session:
        assert accounts.reseal_grants(session, Vault([new, old])) == 2
    with team_sessions() as session:
        assert accounts.unopenable_grants(session, Vault([new])) == []
        assert accounts.grant_for(session, ben, "github", Vault([new])) == {"access_token": "b"}
        assert accounts.unopenable_grants(session, Vault([old])) == [
            ("ana@acme.test", "github"),
            ("ben@acme.test", "github"),
        ]
