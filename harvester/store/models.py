"""Tables. Every row belongs to a user, so team mode is the same schema with more users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; SQLite drops offsets, so normalise on the way in and out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# google calendar event ids may be 1,024 characters (documented), plus our "google_calendar:<calendar>:"
# prefix and the instance suffix of a recurring event; jira keys and github ids are far shorter
EXTERNAL_ID_LENGTH = 1_200
# a stream is a record type ("reviews") or a calendar id, and calendar ids are email addresses
# (group calendars too: c_<hash>@group.calendar.google.com), at most 254 characters (RFC 5321)
STREAM_NAME_LENGTH = 300


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime}  # noqa: RUF012


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # set by the digest's unsubscribe link; no digest is mailed while it is set
    digests_paused_at: Mapped[datetime | None]
    # team mode (docs/team.md): who signed in, as the identity provider names them. `subject` is
    # "<issuer> <sub>" (or "github <id>"), unique; single-user mode leaves all of these empty
    subject: Mapped[str | None] = mapped_column(String(500), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # an operator's `brag team users disable`: no sign-in, no harvest, no digest while it is set
    disabled_at: Mapped[datetime | None]
    # the user's own choices on the settings page; None falls back to the service's [schedule]
    digest_weekday: Mapped[int | None] = mapped_column(Integer)
    digest_hour: Mapped[int | None] = mapped_column(Integer)
    skip_words: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # the user paused harvesting from the settings page
    paused_at: Mapped[datetime | None]


class Grant(Base):
    """One user's connected account at one source: the OAuth tokens (or a pasted personal access
    token), encrypted with the service's Fernet key; never stored, logged or shown in the clear."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "source", name="uq_grant_user_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    # Fernet token of the JSON grant (access and refresh tokens, expiry, site ids such as Jira's cloudid)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    # the account's name at the source, shown on the settings page ("octocat")
    account: Mapped[str | None] = mapped_column(String(200))
    # "connected", or "reconnect" once the source refused the grant (revoked or expired)
    status: Mapped[str] = mapped_column(String(16), default="connected")
    problem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class ActivityRow(Base):
    """One harvested item; (user, source, external_id) is its natural key."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("user_id", "source", "external_id", name="uq_activity_natural_key"),
        Index("ix_activities_user_occurred", "user_id", "occurred_at"),
        Index("ix_activities_user_needs_clustering", "user_id", "needs_clustering"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime]
    # the source's own UTC offset, so records read back exactly as harvested
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    repo: Mapped[str] = mapped_column(String(300), default="")
    paths: Mapped[list[str]] = mapped_column(default=list)
    labels: Mapped[list[str]] = mapped_column(default=list)
    author: Mapped[str] = mapped_column(String(200), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    subject_title: Mapped[str] = mapped_column(Text, default="", server_default="")
    subject_url: Mapped[str] = mapped_column(Text, default="", server_default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    # the source said it is gone (a cancelled meeting); kept so reviewed candidates keep their evidence
    gone_at: Mapped[datetime | None]
    # set with every new, changed or gone record and cleared with its week's candidates, so a run
    # killed between storing and clustering is finished by the next command that reads candidates
    needs_clustering: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())


class SyncCursor(Base):
    """How far one stream of a source has been harvested for a user; written with the records it covers."""

    __tablename__ = "sync_cursors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(STREAM_NAME_LENGTH), primary_key=True)
    harvested_until: Mapped[datetime | None]
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class HarvestRun(Base):
    """One source harvested once: when, what window, what it changed, how it ended."""

    __tablename__ = "harvest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=_now)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class CandidateRow(Base):
    """A candidate accomplishment: a group of one week's activities, drafted and then reviewed."""

    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("user_id", "public_id", name="uq_candidate_public_id"),
        Index("ix_candidates_user_week", "user_id", "week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # the id users type (`brag approve c-1a2b3c4d`); derived from the first membership, then kept
    public_id: Mapped[str] = mapped_column(String(32))
    week: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    section: Mapped[str] = mapped_column(String(40))
    why: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # pending | approved | rejected | merged
    state: Mapped[str] = mapped_column(String(12), default="pending")
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    impact: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    reviewed_at: Mapped[datetime | None]
    # bumped by every ORM update; an update or delete made from a stale read matches no row and
    # raises StaleDataError, so re-clustering never overwrites a decision committed meanwhile
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CandidateItem(Base):
    __tablename__ = "candidate_items"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LinkConstraint(Base):
    """What the user's merges (must) and splits (cannot) say about two activities; clustering obeys it."""

    __tablename__ = "link_constraints"
    __table_args__ = (UniqueConstraint("user_id", "kind", "activity_a", "activity_b", name="uq_link_constraint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    activity_a: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    activity_b: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class ReviewAction(Base):
    """One review action with what it replaced, so `brag undo` can put it back."""

    __tablename__ = "review_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # snapshots of the changed candidates before the action, and what the action created
    before: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created: Mapped[list[str]] = mapped_column(JSON, default=list)
    constraint_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # set when undone, and also when undo could not put it back (then `undo_refused` says why),
    # so the next undo goes to the action before it
    undone_at: Mapped[datetime | None]
    undo_refused: Mapped[str | None] = mapped_column(Text)


class AppSecret(Base):
    """Random keys generated on first use (signing email links, CSRF), shared by every process."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class DigestRow(Base):
    """One weekly digest email in the outbox; unique per (user, week).

    status: queued (waiting, or an attempt failed before the message was handed over; retried),
    sending (claimed by `claimed_by`, nothing handed over yet), unknown (the message was or may
    have been handed over and no answer was recorded; resent only by `brag digest --retry`), sent,
    failed (the server refused the message itself), superseded. See docs/digest.md.
    """

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("user_id", "week", name="uq_digest_user_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # the whole rendered message, so a retry sends exactly what was drafted
    message: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None]
    # the process holding a sending or unknown row (leases.this_process())
    claimed_by: Mapped[str | None] = mapped_column(String(200))


class JobRun(Base):
    """One scheduled job's run for one period (store/job_runs.py): unique per (user, job, period)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("user_id", "job", "period", name="uq_job_run_period"),)
    # the statuses: running holds a lease; a failed run is taken over by the next claim
    RUNNING, DONE, FAILED = "running", "done", "failed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(32))
    # what the run is for: an ISO instant (harvest), an ISO week (digest) or a quarter (2026Q4)
    period: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # the lease: who holds a running run, and until when unless renewed (store/leases.py)
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]


class UserModelRow(Base):
    """What one user's review decisions taught their clustering and ranking (clustering/learning.py)."""

    __tablename__ = "user_models"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # learned minus declared coefficients of the similarity model (keyed as similarity._WEIGHTS,
    # plus "bias"): a refit of the declared weights keeps what the user taught
    weight_offsets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # points added to the significance score, by ranking key ("kind:review", "repo:acme/shop")
    ranking: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # decisions whose pairs the next clustering learns from (it has the week's features)
    pending: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    # compared on every save (repository.save_user_model): a save from a stale read changes nothing
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class RateBudget(Base):
    """One shared request budget: a token bucket per (source, token), taken by every worker (queue/budget.py).

    The token itself is never stored, only its SHA-256, so the table tells nothing about the grant.
    """

    __tablename__ = "rate_budgets"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # requests left; below zero, requests already promised to takers who are waiting for them
    tokens: Mapped[float] = mapped_column(Float)
    # when `tokens` was last counted, by the database's clock (workers' clocks may disagree)
    counted_at: Mapped[datetime]
