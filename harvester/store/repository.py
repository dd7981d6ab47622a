"""The one module that queries the store; everything else calls these functions."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from harvester.records import Activity, storable_text
from harvester.store import leases
from harvester.store.conflicts import insert_or_ignore
from harvester.store.models import (
    ActivityRow,
    AppSecret,
    CandidateItem,
    CandidateRow,
    DigestRow,
    HarvestRun,
    JobRun,
    LinkConstraint,
    ReviewAction,
    SyncCursor,
    User,
    UserModelRow,
)

if TYPE_CHECKING:
    # the learner imports numpy and the similarity model; the store loads it only when asked for it
    from harvester.clustering.learning import UserModel


@dataclass
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    # new and updated records, for the steps that must follow a change (re-clustering their weeks)
    changed: list[Activity] = field(default_factory=list, repr=False, compare=False)

    def add(self, other: UpsertCounts) -> None:
        self.changed.extend(other.changed)
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


def get_or_create_user(session: Session, name: str, timezone_name: str | None = None) -> User:
    """The named user, created on first use; a configured timezone replaces the stored one.

    Insert-or-ignore, then read (as `app_secret`): two processes using a fresh database at once
    both get the one row, where a select-then-insert made the slower one fail on the unique name.
    """
    insert_or_ignore(session, User, {"name": name, "timezone": timezone_name}, conflict=["name"])
    user = session.scalars(select(User).where(User.name == name)).one()
    if timezone_name and user.timezone != timezone_name:
        user.timezone = timezone_name
    return user


# record fields added after the first release count in the hash only when set: rows stored before
# keep their hash, and the first harvest after an upgrade updates only the records that gained one
ADDED_FIELDS = frozenset({"subject_title", "subject_url"})


def content_hash(activity: Activity) -> str:
    fields = {k: v for k, v in activity.to_json().items() if v or k not in ADDED_FIELDS}
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def upsert_activities(session: Session, user_id: int, activities: Sequence[Activity]) -> UpsertCounts:
    """Insert new activities and update changed ones in place, keyed on (user, source, id).

    One `INSERT … ON CONFLICT DO UPDATE` per chunk, so two harvests writing the same items at once
    both succeed. The update applies only when the content changed (or the item had been reported
    gone), so harvesting the same window twice adds nothing and changes nothing; RETURNING names
    the rows written, and a row whose `first_seen_at` is this call's is one it inserted.
    """
    counts = UpsertCounts()
    # a page can repeat an item when the source reorders between requests; the last copy wins (and
    # one statement may not touch a row twice). key order: concurrent writers lock rows alike, no deadlock
    latest = [a for _key, a in sorted({(a.source, a.id): a for a in activities}.items(), key=lambda item: item[0])]
    now = datetime.now(UTC)
    for start in range(0, len(latest), UPSERT_CHUNK):
        chunk = latest[start : start + UPSERT_CHUNK]
        by_key = {(a.source, a.id): a for a in chunk}
        rows = _upsert_rows(user_id, chunk, now)
        for source, external_id, first_seen_at in session.execute(_upsert_statement(session, rows[0]), rows):
            activity = by_key[(source, external_id)]
            if first_seen_at == now:
                counts.new += 1
            else:
                counts.updated += 1
            counts.changed.append(activity)
        counts.unchanged += len(chunk)
    counts.unchanged -= counts.new + counts.updated
    return counts


# rows per statement: 20 columns each stays far below sqlite's 32,766 bound parameters
UPSERT_CHUNK = 500
NATURAL_KEY = ("user_id", "source", "external_id")


def _insert(session: Session) -> Any:
    """The dialect's INSERT, the one with ON CONFLICT (sqlite and postgresql spell it alike)."""
    return _insert_of(session.get_bind().dialect.name)


def _insert_of(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _upsert_rows(user_id: int, chunk: Sequence[Activity], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            **_columns(activity),
            "user_id": user_id,
            "content_hash": content_hash(activity),
            "first_seen_at": now,
            "updated_at": now,
            "gone_at": None,
            "needs_clustering": True,
        }
        for activity in chunk
    ]


def _upsert_statement(session: Session, example: dict[str, Any]) -> Any:
    """One upsert for many rows, run with the rows as parameters: compiled once and cached, and
    sent as multi-row VALUES by SQLAlchemy's insertmanyvalues (a statement built with
    `.values(rows)` spent 1.6 s of CPU per 1,000 activities coercing each value; this, 0.12 s)."""
    return _upsert_for(session.get_bind().dialect.name, tuple(example))


@functools.lru_cache(maxsize=8)
def _upsert_for(dialect: str, columns: tuple[str, ...]) -> Any:
    # built once per dialect and column set: constructing the statement (its `excluded` columns)
    # was a fifth of an upsert's CPU when done for every page (py-spy, a 150-user team week)
    table: Any = ActivityRow.__table__
    insert = _insert_of(dialect)(table)
    written = {name: insert.excluded[name] for name in columns if name not in (*NATURAL_KEY, "first_seen_at")}
    return insert.on_conflict_do_update(
        index_elements=list(NATURAL_KEY),
        set_=written,
        where=(table.c.content_hash != insert.excluded.content_hash) | table.c.gone_at.is_not(None),
    ).returning(table.c.source, table.c.external_id, table.c.first_seen_at)


def mark_gone(session: Session, user_id: int, source: str, external_ids: Sequence[str]) -> int:
    """Mark activities the source reports as gone; returns how many stored ones were not gone already.

    The row stays, so a reviewed candidate keeps its evidence; a gone item leaves clustering (and
    so its pending candidates) and comes back, with its candidate links, if the source sends it again.
    """
    marked = 0
    ids = list(dict.fromkeys(external_ids))
    now = datetime.now(UTC)
    for start in range(0, len(ids), UPSERT_CHUNK):
        result = session.execute(
            update(ActivityRow)
            .where(
                ActivityRow.user_id == user_id,
                ActivityRow.source == source,
                ActivityRow.external_id.in_(ids[start : start + UPSERT_CHUNK]),
                ActivityRow.gone_at.is_(None),
            )
            .values(gone_at=now, updated_at=now, needs_clustering=True)
            .execution_options(synchronize_session=False)
        )
        marked += int(getattr(result, "rowcount", 0) or 0)
    return marked


def _columns(activity: Activity) -> dict[str, Any]:
    offset = activity.occurred_at.utcoffset() or timedelta(0)
    return {
        "source": activity.source,
        "external_id": activity.id,
        "kind": activity.kind,
        "title": activity.title,
        "body": activity.body,
        "url": activity.url,
        "occurred_at": activity.occurred_at,
        "utc_offset_minutes": int(offset.total_seconds() // 60),
        "repo": activity.repo,
        "paths": list(activity.paths),
        "labels": list(activity.labels),
        "author": activity.author,
        "extra": dict(activity.extra),
        "subject_title": activity.subject_title,
        "subject_url": activity.subject_url,
    }


def row_to_activity(row: ActivityRow) -> Activity:
    offset = timezone(timedelta(minutes=row.utc_offset_minutes))
    return Activity(
        id=row.external_id,
        source=row.source,
        kind=row.kind,  # type: ignore[arg-type]
        title=row.title,
        body=row.body,
        url=row.url,
        occurred_at=row.occurred_at.astimezone(offset),
        repo=row.repo,
        paths=tuple(row.paths),
        labels=tuple(row.labels),
        author=row.author,
        extra=dict(row.extra),
        subject_title=row.subject_title,
        subject_url=row.subject_url,
    )


def list_activities(
    session: Session,
    user_id: int,
    *,
    sources: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Activity]:
    """The user's activities in time order, without those the source reported gone."""
    query = select(ActivityRow).where(ActivityRow.user_id == user_id, ActivityRow.gone_at.is_(None))
    if sources:
        query = query.where(ActivityRow.source.in_(list(sources)))
    if since is not None:
        query = query.where(ActivityRow.occurred_at >= since)
    if until is not None:
        query = query.where(ActivityRow.occurred_at < until)
    query = query.order_by(ActivityRow.occurred_at, ActivityRow.external_id)
    return [row_to_activity(row) for row in session.scalars(query)]


def ungrouped_activities(session: Session, user_id: int, *, since: datetime, until: datetime) -> list[Activity]:
    """The window's activities in no candidate (clustering set them aside), in time order."""
    grouped = select(CandidateItem.activity_id).where(CandidateItem.activity_id == ActivityRow.id).exists()
    query = (
        select(ActivityRow)
        .where(
            ActivityRow.user_id == user_id,
            ActivityRow.gone_at.is_(None),
            ActivityRow.occurred_at >= since,
            ActivityRow.occurred_at < until,
            ~grouped,
        )
        .order_by(ActivityRow.occurred_at, ActivityRow.external_id)
    )
    return [row_to_activity(row) for row in session.scalars(query)]


def mark_for_clustering(session: Session, user_id: int, external_ids: Iterable[str]) -> None:
    """Have the next clustering look at these activities' weeks again."""
    wanted = list(dict.fromkeys(external_ids))
    if wanted:
        session.execute(
            update(ActivityRow)
            .where(ActivityRow.user_id == user_id, ActivityRow.external_id.in_(wanted))
            .values(needs_clustering=True, updated_at=datetime.now(UTC))
        )


def clustering_due(session: Session, user_id: int) -> list[datetime]:
    """When each activity that changed since its week was last clustered happened (cheap: an index)."""
    query = select(ActivityRow.occurred_at).where(ActivityRow.user_id == user_id, ActivityRow.needs_clustering)
    return list(session.scalars(query.distinct()))


def clustering_marks(session: Session, user_id: int, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
    """(row id, updated_at) of the window's activities waiting to be clustered."""
    rows = session.execute(
        select(ActivityRow.id, ActivityRow.updated_at).where(
            ActivityRow.user_id == user_id,
            ActivityRow.needs_clustering,
            ActivityRow.occurred_at >= since,
            ActivityRow.occurred_at < until,
        )
    )
    return [(row_id, updated_at) for row_id, updated_at in rows]


def clear_clustering_marks(session: Session, marks: Sequence[tuple[int, datetime]]) -> None:
    """Clear the marks read before clustering; a row changed since (another harvest) keeps its mark."""
    if not marks:
        return
    statement = (
        update(ActivityRow)
        .where(ActivityRow.id == bindparam("row_id"), ActivityRow.updated_at == bindparam("seen"))
        .values(needs_clustering=False)
    )
    # executed on the connection: an executemany of plain UPDATE … WHERE, not the ORM's bulk update by key
    session.connection().execute(statement, [{"row_id": row_id, "seen": seen} for row_id, seen in marks])


def load_cursor(session: Session, user_id: int, source: str, stream: str) -> SyncCursor | None:
    return session.get(SyncCursor, (user_id, source, stream))


def load_cursors(session: Session, user_id: int, source: str) -> dict[str, SyncCursor]:
    """Every stored cursor of the source, by stream name."""
    rows = session.scalars(select(SyncCursor).where(SyncCursor.user_id == user_id, SyncCursor.source == source))
    return {row.stream: row for row in rows}


def save_cursor(
    session: Session,
    user_id: int,
    source: str,
    stream: str,
    harvested_until: datetime | None,
    state: dict[str, Any],
) -> None:
    """Insert or replace one stream's cursor in one statement, so concurrent harvests never collide."""
    values = {"harvested_until": harvested_until, "state": state, "updated_at": datetime.now(UTC)}
    insert = _insert(session)(SyncCursor).values(user_id=user_id, source=source, stream=stream, **values)
    session.execute(insert.on_conflict_do_update(index_elements=["user_id", "source", "stream"], set_=values))


def start_run(session: Session, user_id: int, source: str, start: datetime, end: datetime) -> HarvestRun:
    run = HarvestRun(user_id=user_id, source=source, window_start=start, window_end=end)
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, counts: UpsertCounts, status: str, error: str | None) -> None:
    run = session.get(HarvestRun, run_id)
    if run is None:
        return
    run.finished_at = datetime.now(UTC)
    run.status = status
    run.new, run.updated, run.unchanged = counts.new, counts.updated, counts.unchanged
    # a server's error text can carry a NUL, which postgresql refuses
    run.error = storable_text(error) if error is not None else None


def activity_by_external_id(session: Session, user_id: int, external_id: str) -> Activity | None:
    """One of the user's activities by its id (`github:pr:…`), unless the source reported it gone."""
    row = session.scalar(
        select(ActivityRow).where(
            ActivityRow.user_id == user_id, ActivityRow.external_id == external_id, ActivityRow.gone_at.is_(None)
        )
    )
    return row_to_activity(row) if row is not None else None


def activity_row_ids(session: Session, user_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(ActivityRow.external_id, ActivityRow.id).where(
                ActivityRow.user_id == user_id, ActivityRow.external_id.in_(wanted[start : start + 500])
            )
        )
        found.update({external_id: row_id for external_id, row_id in rows})
    return found


def candidate_rows(
    session: Session, user_id: int, *, weeks: Iterable[str] | None = None, states: Iterable[str] | None = None
) -> list[CandidateRow]:
    query = select(CandidateRow).where(CandidateRow.user_id == user_id)
    if weeks is not None:
        query = query.where(CandidateRow.week.in_(list(weeks)))
    if states is not None:
        query = query.where(CandidateRow.state.in_(list(states)))
    return list(session.scalars(query.order_by(CandidateRow.week, CandidateRow.created_at, CandidateRow.id)))


def team_members(session: Session, *, harvesting: bool = False) -> list[int]:
    """Ids of the people signed up to a team service (they have a sign-in subject) and not disabled;
    with `harvesting`, not those who paused their harvest either."""
    query = select(User.id).where(User.subject.is_not(None), User.disabled_at.is_(None))
    if harvesting:
        query = query.where(User.paused_at.is_(None))
    return list(session.scalars(query.order_by(User.id)))


def candidate_rows_by_id(session: Session, user_id: int, row_ids: Iterable[int]) -> list[CandidateRow]:
    """The user's candidates stored under `row_ids` (others' rows are never returned)."""
    ids = list(row_ids)
    if not ids:
        return []
    return list(session.scalars(select(CandidateRow).where(CandidateRow.user_id == user_id, CandidateRow.id.in_(ids))))


def candidate_by_public_id(session: Session, user_id: int, public_id: str) -> CandidateRow | None:
    return session.scalar(
        select(CandidateRow).where(CandidateRow.user_id == user_id, CandidateRow.public_id == public_id)
    )


def candidate_for_update(session: Session, user_id: int, public_id: str) -> CandidateRow | None:
    """The candidate, locked until commit on PostgreSQL (SQLite has no row locks).

    Not refreshed when the session still holds it: its version stays the one first read, so a
    write from that read fails (StaleDataError) if the row changed since, instead of overwriting.
    """
    return session.scalar(
        select(CandidateRow)
        .where(CandidateRow.user_id == user_id, CandidateRow.public_id == public_id)
        .with_for_update()
    )


def candidate_holders(session: Session, user_id: int, external_ids: Iterable[str]) -> dict[str, set[str]]:
    """For each activity (external id), the public ids of the user's candidates that hold it."""
    wanted = list(dict.fromkeys(external_ids))
    holders: dict[str, set[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(ActivityRow.external_id, CandidateRow.public_id)
            .join(CandidateItem, CandidateItem.activity_id == ActivityRow.id)
            .join(CandidateRow, CandidateRow.id == CandidateItem.candidate_id)
            .where(CandidateRow.user_id == user_id, ActivityRow.external_id.in_(wanted[start : start + 500]))
        )
        for external_id, public_id in rows:
            holders.setdefault(external_id, set()).add(public_id)
    return holders


def candidate_members(session: Session, candidate_ids: Iterable[int]) -> dict[int, list[Activity]]:
    """Each candidate's activities, in time order."""
    ids = list(candidate_ids)
    members: dict[int, list[Activity]] = {candidate_id: [] for candidate_id in ids}
    if not ids:
        return members
    rows = session.execute(
        select(CandidateItem.candidate_id, ActivityRow)
        .join(ActivityRow, ActivityRow.id == CandidateItem.activity_id)
        .where(CandidateItem.candidate_id.in_(ids))
        .order_by(ActivityRow.occurred_at, ActivityRow.external_id)
    )
    for candidate_id, activity in rows:
        members[candidate_id].append(row_to_activity(activity))
    return members


def gone_member_ids(session: Session, candidate_ids: Iterable[int]) -> set[str]:
    """Ids of the candidates' activities that the source has since reported gone (kept, as evidence)."""
    ids = list(candidate_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(ActivityRow.external_id)
            .join(CandidateItem, CandidateItem.activity_id == ActivityRow.id)
            .where(CandidateItem.candidate_id.in_(ids), ActivityRow.gone_at.is_not(None))
        )
    )


def set_candidate_members(session: Session, candidate: CandidateRow, activity_row_ids_: Iterable[int]) -> None:
    """Make the candidate's members exactly these activities: one DELETE and one INSERT for what changed.

    Plain statements, not ORM objects: nothing reads CandidateItem objects back, and the unit of
    work's per-object flush was about a fifth of a re-clustering's CPU (cProfile, 50 users' weeks).
    """
    session.flush()
    wanted = set(activity_row_ids_)
    current = set(session.scalars(select(CandidateItem.activity_id).where(CandidateItem.candidate_id == candidate.id)))
    if current - wanted:
        session.execute(
            delete(CandidateItem)
            .where(CandidateItem.candidate_id == candidate.id, CandidateItem.activity_id.in_(current - wanted))
            .execution_options(synchronize_session=False)
        )
    if wanted - current:
        rows = [{"candidate_id": candidate.id, "activity_id": activity_id} for activity_id in sorted(wanted - current)]
        session.execute(insert(CandidateItem), rows)


def claimed_activity_ids(session: Session, user_id: int, *, except_week: str) -> set[str]:
    """External ids held by reviewed candidates of other weeks (a merge can pull items across weeks)."""
    rows = session.scalars(
        select(ActivityRow.external_id)
        .join(CandidateItem, CandidateItem.activity_id == ActivityRow.id)
        .join(CandidateRow, CandidateRow.id == CandidateItem.candidate_id)
        .where(
            CandidateRow.user_id == user_id,
            CandidateRow.week != except_week,
            (CandidateRow.state != "pending") | CandidateRow.edited,
        )
    )
    return set(rows)


def link_constraints(session: Session, user_id: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(must-link pairs, cannot-link pairs) from the user's merges and splits."""
    must: list[tuple[str, str]] = []
    cannot: list[tuple[str, str]] = []
    for row in session.scalars(select(LinkConstraint).where(LinkConstraint.user_id == user_id)):
        (must if row.kind == "must" else cannot).append((row.activity_a, row.activity_b))
    return must, cannot


def add_link_constraint(session: Session, user_id: int, kind: str, a: str, b: str) -> int | None:
    """Remember a merge (must) or split (cannot); the opposite constraint on the same pair is dropped.

    Returns the new constraint's id, or None when the same constraint was already there.
    """
    first, second = sorted((a, b))
    opposite = "cannot" if kind == "must" else "must"
    for row in session.scalars(
        select(LinkConstraint).where(
            LinkConstraint.user_id == user_id,
            LinkConstraint.activity_a == first,
            LinkConstraint.activity_b == second,
        )
    ):
        if row.kind == opposite:
            session.delete(row)
        else:
            return None
    constraint = LinkConstraint(user_id=user_id, kind=kind, activity_a=first, activity_b=second)
    session.add(constraint)
    session.flush()
    return constraint.id


def app_secret(session: Session, name: str) -> str:
    """The named random key, created on first use; every process of an installation shares it.

    Insert-or-ignore, then read: of processes starting at once, one key wins and all read it,
    and no constraint error (whose message would carry the fresh key) is ever raised.
    """
    import secrets

    insert_or_ignore(session, AppSecret, {"name": name, "value": secrets.token_urlsafe(48)}, conflict=["name"])
    value = session.scalars(select(AppSecret.value).where(AppSecret.name == name)).one()
    return str(value)


def digest_row(session: Session, user_id: int, week: str) -> DigestRow | None:
    return session.scalar(select(DigestRow).where(DigestRow.user_id == user_id, DigestRow.week == week))


def save_digest_draft(
    session: Session, user_id: int, week: str, *, message_id: str, subject: str, recipient: str, message: bytes
) -> DigestRow:
    """Queue the week's digest, or refresh a queued or failed draft with newer content.

    A digest that is sent, being sent or possibly delivered (unknown) is returned untouched: a
    resend must be the very message that may have arrived, and one email per user and week.
    """
    content = {"message_id": message_id, "subject": subject, "recipient": recipient, "message": message}
    now = datetime.now(UTC)
    fresh = {"status": "queued", "attempts": 0, "created_at": now, "updated_at": now}
    key = {"user_id": user_id, "week": week}
    inserted = insert_or_ignore(session, DigestRow, key | content | fresh, conflict=list(key))
    row = digest_row(session, user_id, week)
    assert row is not None
    if not inserted and row.status in ("queued", "failed"):
        row.message_id, row.subject, row.recipient, row.message = message_id, subject, recipient, message
        row.status = "queued"
        row.updated_at = now
        session.flush()
    return row


def queued_digests(session: Session, user_id: int) -> list[DigestRow]:
    return digests_in(session, user_id, "queued")


def digests_in(session: Session, user_id: int, *statuses: str) -> list[DigestRow]:
    """The user's digests in any of `statuses`, oldest week first."""
    query = (
        select(DigestRow)
        .where(DigestRow.user_id == user_id, DigestRow.status.in_(statuses))
        .order_by(DigestRow.week, DigestRow.id)
    )
    return list(session.scalars(query))


def claim_digest(session: Session, digest_id: int, owner: str | None = None) -> bool:
    """Mark a queued digest as being sent by `owner`; False when another process got it first or it was sent."""
    return _move_digest(session, digest_id, "queued", "sending", claimed_by=owner or leases.this_process())


def hand_over_digest(session: Session, digest_id: int, owner: str) -> bool:
    """Just before DATA: sending -> unknown, only while `owner` still holds the claim.

    This is the fence: a process whose claim was released (it looked dead) cannot send any more,
    and from here on the row is never queued again automatically, whatever happens next.
    """
    return _move_digest(session, digest_id, "sending", "unknown", claimed_by=owner, held_by=owner)


def release_digest(session: Session, digest_id: int, owner: str, error: str) -> bool:
    """Give a claim back before the handover (sending -> queued); a row already `unknown` stays so."""
    moved = _move_digest(session, digest_id, "sending", "queued", claimed_by=None, held_by=owner)
    if moved:
        session.execute(update(DigestRow).where(DigestRow.id == digest_id).values(last_error=error))
    return moved


def _move_digest(
    session: Session, digest_id: int, before: str, after: str, *, claimed_by: str | None, held_by: str | None = None
) -> bool:
    condition = [DigestRow.id == digest_id, DigestRow.status == before]
    if held_by is not None:
        condition.append(DigestRow.claimed_by == held_by)
    values: dict[str, Any] = {"status": after, "claimed_by": claimed_by, "updated_at": datetime.now(UTC)}
    if after == "sending":
        values["attempts"] = DigestRow.attempts + 1
    result = session.execute(update(DigestRow).where(*condition).values(**values))
    return bool(getattr(result, "rowcount", 0) == 1)


def finish_digest(
    session: Session, digest_id: int, *, status: str, error: str | None = None, owner: str | None = None
) -> bool:
    """Record how a send ended: sent, queued again, failed, superseded or unknown, with the error.

    With `owner`, only while that process still holds the row (sending or unknown), so a process
    that lost its claim never overwrites what the new holder recorded.
    """
    condition = [DigestRow.id == digest_id]
    if owner is not None:
        condition += [DigestRow.claimed_by == owner, DigestRow.status.in_(("sending", "unknown"))]
    now = datetime.now(UTC)
    # the attempt is over: nobody waits on the row any more, whatever its status
    values: dict[str, Any] = {"status": status, "last_error": error, "updated_at": now, "claimed_by": None}
    if status == "sent":
        values["sent_at"] = now
    result = session.execute(update(DigestRow).where(*condition).values(**values))
    return bool(getattr(result, "rowcount", 0) == 1)


def held_by_nobody(row: DigestRow, stale_before: datetime) -> bool:
    """Whether the process holding a sending/unknown row is gone (exited here, or silent since `stale_before`)."""
    return leases.is_gone(row.claimed_by) or row.updated_at < stale_before


def release_abandoned_sends(session: Session, user_id: int, stale_before: datetime) -> list[str]:
    """Queue again `sending` rows whose process is gone; the weeks released.

    Safe to resend: a `sending` row never reached DATA (`hand_over_digest` moves it on first).
    """
    released = []
    for row in digests_in(session, user_id, "sending"):
        if held_by_nobody(row, stale_before) and _requeue(
            session, row, "the previous attempt stopped before the message was handed to the server; sending it now"
        ):
            released.append(row.week)
    return released


def requeue_unconfirmed(session: Session, user_id: int, stale_before: datetime) -> list[str]:
    """`brag digest --retry`: queue `unknown` rows (possibly delivered) again, once nobody waits on them."""
    requeued = []
    for row in digests_in(session, user_id, "unknown"):
        if held_by_nobody(row, stale_before) and _requeue(session, row, "resent on request; it may arrive twice"):
            requeued.append(row.week)
    return requeued


def _requeue(session: Session, row: DigestRow, error: str) -> bool:
    # only the state that was judged abandoned: another process may have released and claimed it since
    holder = DigestRow.claimed_by.is_(None) if row.claimed_by is None else DigestRow.claimed_by == row.claimed_by
    result = session.execute(
        update(DigestRow)
        .where(DigestRow.id == row.id, DigestRow.status == row.status, holder)
        .values(status="queued", last_error=error, updated_at=datetime.now(UTC), claimed_by=None)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def set_digests_paused(session: Session, user_id: int, paused_at: datetime | None) -> None:
    """Pause (unsubscribe) or resume the user's digest emails."""
    user = session.get(User, user_id)
    if user is not None:
        user.digests_paused_at = paused_at
        session.flush()


def digests_paused_at(session: Session, user_id: int) -> datetime | None:
    user = session.get(User, user_id)
    return user.digests_paused_at if user is not None else None


def new_job_run(
    session: Session, user_id: int, job: str, period: str, *, owner: str, now: datetime, expires: datetime
) -> int | None:
    """The id of the period's run, started for `owner`; None when the period has a run already.

    Insert-or-ignore: of two processes starting the period at once, one inserts and the other
    reads the winner's row (`job_run`) instead of failing on the unique (user, job, period).
    """
    key = {"user_id": user_id, "job": job, "period": period}
    fresh = {"status": JobRun.RUNNING, "attempts": 1, "started_at": now, "owner": owner, "lease_expires_at": expires}
    if not insert_or_ignore(session, JobRun, key | fresh, conflict=list(key)):
        return None
    return job_run(session, user_id, job, period).id


def job_run(session: Session, user_id: int, job: str, period: str) -> JobRun:
    """The period's run (it must exist)."""
    query = select(JobRun).where(JobRun.user_id == user_id, JobRun.job == job, JobRun.period == period)
    return session.scalars(query).one()


def take_over_job_run(session: Session, seen: JobRun, *, owner: str, now: datetime, expires: datetime) -> bool:
    """Restart a run for `owner` if it is still as `seen`; False when another process changed it first.

    A compare-and-set on attempts, which every start increments: of two processes taking over, one wins.
    """
    result = session.execute(
        update(JobRun)
        .where(JobRun.id == seen.id, JobRun.attempts == seen.attempts, JobRun.status == seen.status)
        .values(
            status=JobRun.RUNNING,
            attempts=seen.attempts + 1,
            started_at=now,
            finished_at=None,
            error=None,
            owner=owner,
            lease_expires_at=expires,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def renew_job_run(session: Session, run_id: int, owner: str, expires: datetime) -> bool:
    """Move a running run's lease expiry on; False when `owner` no longer holds the run."""
    result = session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.owner == owner, JobRun.status == JobRun.RUNNING)
        .values(lease_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def finish_job_run(session: Session, run_id: int, owner: str, *, status: str, error: str | None) -> bool:
    """Record how `owner`'s run ended; False (nothing written) when another process holds it now."""
    result = session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.owner == owner, JobRun.status == JobRun.RUNNING)
        .values(status=status, error=error, finished_at=datetime.now(UTC), lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def running_job_runs(session: Session, user_id: int) -> list[JobRun]:
    """The user's runs still `running` (a dead process's, or a live one's), oldest first."""
    query = select(JobRun).where(JobRun.user_id == user_id, JobRun.status == JobRun.RUNNING).order_by(JobRun.started_at)
    return list(session.scalars(query))


def latest_job_runs(session: Session, user_id: int) -> dict[str, JobRun]:
    """Each job's most recently started run."""
    rows = session.scalars(select(JobRun).where(JobRun.user_id == user_id).order_by(JobRun.started_at))
    return {row.job: row for row in rows}


def last_review_action(session: Session, user_id: int) -> ReviewAction | None:
    """The user's most recent review action that was neither undone nor refused an undo."""
    return session.scalar(
        select(ReviewAction)
        .where(ReviewAction.user_id == user_id, ReviewAction.undone_at.is_(None))
        .order_by(ReviewAction.id.desc())
        .limit(1)
    )


def add_review_action(
    session: Session,
    user_id: int,
    *,
    action: str,
    description: str,
    before: list[dict[str, Any]],
    created: list[str],
    constraint_ids: list[int],
) -> ReviewAction:
    """Journal one review action with the candidates' snapshots before it, for `brag undo`."""
    row = ReviewAction(
        user_id=user_id,
        action=action,
        description=description,
        before=before,
        created=created,
        constraint_ids=constraint_ids,
    )
    session.add(row)
    session.flush()
    return row


def close_review_action(session: Session, action: ReviewAction, refused: str | None) -> None:
    """Take the action off the journal's head: undone, or (with `refused`) found impossible to undo."""
    action.undo_refused = refused
    action.undone_at = datetime.now(UTC)
    session.flush()


def add_candidate(
    session: Session, user_id: int, *, public_id: str, week: str, title: str, section: str
) -> CandidateRow:
    """A new pending candidate of `week` with no items yet (review's split creates these)."""
    row = CandidateRow(user_id=user_id, public_id=public_id, week=week, title=title, section=section)
    session.add(row)
    session.flush()
    return row


def delete_candidate(session: Session, row: CandidateRow) -> None:
    session.delete(row)


def candidate_public_id(session: Session, row_id: int) -> str | None:
    """The public id of the candidate stored under `row_id`, if it still exists."""
    row = session.get(CandidateRow, row_id)
    return row.public_id if row is not None else None


def delete_link_constraints(session: Session, constraint_ids: Iterable[int]) -> None:
    """Forget the given merges and splits (an undone action's)."""
    for constraint_id in constraint_ids:
        constraint = session.get(LinkConstraint, constraint_id)
        if constraint is not None:
            session.delete(constraint)


def user_model(session: Session, user_id: int, *, for_update: bool = False) -> UserModel:
    """What the user's review decisions taught so far; the declared model when nothing yet.

    `for_update` locks the row on PostgreSQL (review actions: another one of the same user waits).
    """
    from harvester.clustering.learning import Decision, UserModel

    statement = select(UserModelRow).where(UserModelRow.user_id == user_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = session.scalars(statement.execution_options(populate_existing=True)).first()
    if row is None:
        return UserModel()
    return UserModel(
        offsets={str(k): float(v) for k, v in row.weight_offsets.items()},
        ranking={str(k): float(v) for k, v in row.ranking.items()},
        pending=tuple(Decision.from_json(d) for d in row.pending),
        decisions=row.decisions,
        version=row.version,
    )


def save_user_model(session: Session, user_id: int, model: UserModel) -> None:
    """Store the model read as `model.version`; raises StaleDataError (nothing saved) when another
    transaction saved the user's model since that read."""
    values = {
        "weight_offsets": dict(model.offsets),
        "ranking": dict(model.ranking),
        "pending": [d.to_json() for d in model.pending],
        "decisions": model.decisions,
        "updated_at": datetime.now(UTC),
    }
    if model.version == 0:
        if not insert_or_ignore(session, UserModelRow, {"user_id": user_id, **values, "version": 1}, ["user_id"]):
            raise StaleDataError(f"the learned model of user {user_id} was stored meanwhile")
        return
    changed = session.execute(
        update(UserModelRow)
        .where(UserModelRow.user_id == user_id, UserModelRow.version == model.version)
        .values(**values, version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleDataError(f"the learned model of user {user_id} changed since it was read")
