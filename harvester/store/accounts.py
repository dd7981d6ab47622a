"""Team mode's queries: people, their grants, and removing everything of theirs.

Every function that reads or writes one person's data takes `user_id` as a required argument,
so no call can forget whose data it means (a grant is found by user *and* source, never by its
own id). The operator's functions over everyone (`list_users`, `reseal_grants`,
`unopenable_grants`) return only what the `brag team` commands show, never a grant's contents.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harvester.errors import ConfigError, StoreError
from harvester.store.conflicts import insert_or_ignore
from harvester.store.models import Base, Grant, User

if TYPE_CHECKING:
    from harvester.team.vault import Vault

CONNECTED, RECONNECT = "connected", "reconnect"
# users.name is String(200) and unique; a derived name is cut short enough to take a 13-character suffix
NAME_LENGTH = 200
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True, slots=True)
class GrantInfo:
    """What may be shown about a grant: never its tokens."""

    source: str
    account: str | None
    scopes: tuple[str, ...]
    status: str
    problem: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    email: str | None
    display_name: str | None
    disabled_at: datetime | None
    paused_at: datetime | None
    grants: tuple[GrantInfo, ...]


def find_or_create_user_by_subject(session: Session, subject: str, email: str | None, display_name: str | None) -> User:
    """The user the identity provider calls `subject` ("<issuer> <sub>" or "github <id>"), created
    at first sign-in; the email and display name are refreshed from the provider each time.

    A disabled user is returned too: the caller refuses the sign-in when `disabled_at` is set.
    """
    user = session.scalars(select(User).where(User.subject == subject)).one_or_none()
    if user is None:
        user = _create_user(session, subject, email, display_name)
    if email and user.email != email:
        user.email = email
    if display_name and user.display_name != display_name:
        user.display_name = display_name
    return user


def _create_user(session: Session, subject: str, email: str | None, display_name: str | None) -> User:
    base = _name_from(email, subject)
    # a few readable names, then one derived from the subject, which is unique, so it is free
    names = [base, *(f"{base}-{n}" for n in range(2, 10))]
    names.append(f"{base}-{hashlib.sha256(subject.encode()).hexdigest()[:12]}")
    for name in names:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            continue
        values = {"name": name, "subject": subject, "email": email, "display_name": display_name}
        try:
            # a savepoint: losing the race for this name to another sign-in keeps the transaction usable
            with session.begin_nested():
                insert_or_ignore(session, User, values, conflict=["subject"])
        except IntegrityError:
            continue
        # inserted, or another process signed the same subject in first: either way its row exists now
        return session.scalars(select(User).where(User.subject == subject)).one()
    raise StoreError("users", f"could not give the user of {subject!r} a unique name", fix="please report this")


def _name_from(email: str | None, subject: str) -> str:
    """A readable unique-ish name the operator types (`brag team users --disable dana@acme.com`)."""
    if email and email.strip():
        raw = email.strip().lower()
    elif subject.startswith("github "):
        raw = subject.replace(" ", "-")
    else:
        # "<issuer> <sub>": the sub alone reads better, and a clash with another issuer's gets a suffix
        raw = subject.rsplit(" ", 1)[-1]
    name = _NAME_UNSAFE.sub("-", raw).strip("-") or "user"
    return name[: NAME_LENGTH - 13]


def user_id_by_name(session: Session, name: str) -> int | None:
    """The id of the user the operator named, or None."""
    return session.scalar(select(User.id).where(User.name == name))


def user_by_name(session: Session, name: str) -> User | None:
    """The user a review link names (links carry `User.name`)."""
    return session.scalars(select(User).where(User.name == name)).one_or_none()


def list_users(session: Session) -> list[UserInfo]:
    """Everyone, by name, with their grants' sources and status (not their contents)."""
    grants: dict[int, list[GrantInfo]] = {}
    for row in session.scalars(select(Grant).order_by(Grant.user_id, Grant.source)):
        grants.setdefault(row.user_id, []).append(_grant_info(row))
    return [
        UserInfo(
            id=user.id,
            name=user.name,
            email=user.email,
            display_name=user.display_name,
            disabled_at=user.disabled_at,
            paused_at=user.paused_at,
            grants=tuple(grants.get(user.id, ())),
        )
        for user in session.scalars(select(User).order_by(User.name))
    ]


def set_disabled(session: Session, user_id: int, when: datetime | None) -> bool:
    """Disable the user from `when` (no sign-in, harvest or digest), or enable them with None."""
    user = session.get(User, user_id)
    if user is None:
        return False
    user.disabled_at = when
    return True


def set_paused(session: Session, user_id: int, when: datetime | None) -> bool:
    """Pause the user's harvesting from `when` (their settings page), or resume it with None."""
    user = session.get(User, user_id)
    if user is None:
        return False
    user.paused_at = when
    return True


# how each connectable source is named to a person (Jira alike for Cloud's web flow and a pasted
# Data Center token)
SOURCE_LABELS = {"github": "GitHub", "jira": "Jira", "google_calendar": "Google Calendar"}


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def refused_sources(session: Session, user_id: int) -> list[str]:
    """Labels of the user's sources whose grant was refused: "reconnect GitHub" on the page and in the digest."""
    return [source_label(info.source) for info in grants_of(session, user_id) if info.status == RECONNECT]


@dataclass(frozen=True)
class Preferences:
    """What a member sets on their settings page; None falls back to the service's settings."""

    timezone: str | None = None
    digest_weekday: int | None = None
    digest_hour: int | None = None
    skip_words: tuple[str, ...] = ()
    paused: bool = False


def preferences_of(session: Session, user_id: int) -> Preferences | None:
    user = session.get(User, user_id)
    if user is None:
        return None
    return Preferences(
        timezone=user.timezone,
        digest_weekday=user.digest_weekday,
        digest_hour=user.digest_hour,
        skip_words=tuple(user.skip_words or ()),
        paused=user.paused_at is not None,
    )


def save_preferences(session: Session, user_id: int, preferences: Preferences) -> bool:
    """Store the member's time zone, digest day and hour and skip words; False if there is no such user."""
    user = session.get(User, user_id)
    if user is None:
        return False
    user.timezone = preferences.timezone
    user.digest_weekday = preferences.digest_weekday
    user.digest_hour = preferences.digest_hour
    user.skip_words = list(preferences.skip_words)
    return True


def save_grant(
    session: Session,
    user_id: int,
    source: str,
    vault: Vault,
    grant: Mapping[str, Any],
    scopes: Sequence[str],
    account: str | None,
) -> None:
    """Store the user's grant for `source`, sealed; replaces the one before (a reconnect, a refresh)."""
    key = {"user_id": user_id, "source": source}
    values = {"sealed": vault.seal(grant), "scopes": list(scopes), "account": account, "status": CONNECTED}
    # insert-or-ignore, then update: an OAuth callback arriving twice (a double click) saves one
    # row instead of failing on the unique (user, source)
    if not insert_or_ignore(session, Grant, key | values, conflict=list(key)):
        session.execute(
            update(Grant).where(Grant.user_id == user_id, Grant.source == source).values(**values, problem=None)
        )


def grant_for(session: Session, user_id: int, source: str, vault: Vault) -> dict[str, Any] | None:
    """The user's grant for `source`, opened; None when none is connected or it awaits a reconnect."""
    row = _grant_row(session, user_id, source)
    if row is None or row.status != CONNECTED:
        return None
    return vault.open(row.sealed)


def grants_of(session: Session, user_id: int) -> list[GrantInfo]:
    """The user's grants as the settings page and the digest show them."""
    rows = session.scalars(select(Grant).where(Grant.user_id == user_id).order_by(Grant.source))
    return [_grant_info(row) for row in rows]


def mark_reconnect(session: Session, user_id: int, source: str, problem: str) -> bool:
    """The source refused the user's grant (revoked, expired): show "reconnect" and skip the source.

    `problem` is shown to the user; it must say what the source answered, never a token.
    """
    row = _grant_row(session, user_id, source)
    if row is None:
        return False
    row.status = RECONNECT
    row.problem = problem
    return True


def delete_grant(session: Session, user_id: int, source: str) -> bool:
    """Forget the user's grant for `source` (disconnect); True when there was one."""
    result = session.execute(delete(Grant).where(Grant.user_id == user_id, Grant.source == source))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete_user_data(session: Session, user_id: int) -> dict[str, int]:
    """Remove every row of the user's, in every table, and the user: the rows deleted, by table.

    Tables are found from the schema, not listed here, so a table added later is covered: those
    with a `user_id` column, and those whose rows hang off such a table by a foreign key
    (candidate_items). Children go first, so nothing relies on the database's cascades.
    """
    deleted: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):
        condition = _owned_by(table, user_id)
        if condition is None:
            continue
        count = session.execute(delete(table).where(condition)).rowcount  # type: ignore[attr-defined]
        if count:
            deleted[table.name] = count
    return deleted


def _owned_by(table: Table, user_id: int) -> Any:
    """The WHERE clause selecting `user_id`'s rows of `table`, or None if it holds nobody's."""
    if table.name == User.__tablename__:
        return table.c.id == user_id
    if "user_id" in table.c:
        return table.c.user_id == user_id
    for key in table.foreign_keys:
        parent = key.column.table
        if "user_id" in parent.c:
            return key.parent.in_(select(key.column).where(parent.c.user_id == user_id))
    return None


def user_tables() -> list[Table]:
    """Every table holding rows of one user's, as `delete_user_data` finds them."""
    return [table for table in Base.metadata.sorted_tables if _owned_by(table, 0) is not None]


def user_counts(session: Session) -> dict[str, int]:
    """How many users there are, and how many of them are disabled: for `brag team health`."""
    total = session.scalar(select(func.count()).select_from(User)) or 0
    disabled = session.scalar(select(func.count()).select_from(User).where(User.disabled_at.is_not(None))) or 0
    return {"users": total, "disabled": disabled}


def grant_counts(session: Session) -> dict[str, int]:
    """Grants by status, everyone's: for `brag team health`."""
    rows = session.execute(select(Grant.status, func.count()).group_by(Grant.status))
    return {status: count for status, count in rows}


def unopenable_grants(session: Session, vault: Vault) -> list[tuple[str, str]]:
    """(user name, source) of every grant no configured key opens."""
    failed = []
    rows = session.execute(select(User.name, Grant.source, Grant.sealed).join(User, User.id == Grant.user_id))
    for name, source, sealed in rows:
        try:
            vault.open(sealed)
        except ConfigError:
            failed.append((name, source))
    return failed


def reseal_grants(session: Session, vault: Vault) -> int:
    """Seal every grant again with the vault's newest key; all or none (a ConfigError if one cannot be opened)."""
    rows = list(session.scalars(select(Grant).order_by(Grant.id).with_for_update()))
    for row in rows:
        row.sealed = vault.reseal(row.sealed)
    session.flush()
    return len(rows)


def _grant_row(session: Session, user_id: int, source: str) -> Grant | None:
    return session.scalars(select(Grant).where(Grant.user_id == user_id, Grant.source == source)).one_or_none()


def _grant_info(row: Grant) -> GrantInfo:
    return GrantInfo(
        source=row.source,
        account=row.account,
        scopes=tuple(row.scopes),
        status=row.status,
        problem=row.problem,
        updated_at=row.updated_at,
    )


__all__ = [
    "CONNECTED",
    "RECONNECT",
    "GrantInfo",
    "Preferences",
    "UserInfo",
    "delete_grant",
    "delete_user_data",
    "find_or_create_user_by_subject",
    "grant_counts",
    "grant_for",
    "grants_of",
    "list_users",
    "mark_reconnect",
    "preferences_of",
    "refused_sources",
    "reseal_grants",
    "save_grant",
    "save_preferences",
    "set_disabled",
    "set_paused",
    "source_label",
    "unopenable_grants",
    "user_counts",
    "user_id_by_name",
    "user_tables",
]
