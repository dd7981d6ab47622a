"""a cursor per stream: sync_cursors keyed by (user, source, stream)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the streams each built-in source declared when this revision was written; written out here, not
# imported, so the migration means the same thing whatever the connectors become
FIXED_STREAMS = {"github": ("pull_requests", "reviews"), "jira": ("tickets",)}
# google calendar's cursor held {"calendars": {calendar id: state}}: each calendar becomes a stream
CALENDAR_SOURCE = "google_calendar"
# any other source's connector implements `harvest` itself, which the runner harvests as this stream
SINGLE_STREAM = "default"
STREAM_NAME_LENGTH = 300

Row = dict[str, Any]


def _columns(*, with_stream: bool) -> list[sa.Column[Any]]:
    stream = [sa.Column("stream", sa.String(length=STREAM_NAME_LENGTH), nullable=False)] if with_stream else []
    return [
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        *stream,
        sa.Column("harvested_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _recreate(*, with_stream: bool) -> sa.Table:
    """sync_cursors with the new or the old key; its rows were read before the old table was dropped.

    Dropping and creating (no ALTER of a primary key) works alike on sqlite and postgresql, and the
    migration's one transaction keeps the rows: nothing points at this table.
    """
    key = ("user_id", "source", "stream") if with_stream else ("user_id", "source")
    op.drop_table("sync_cursors")
    return op.create_table(
        "sync_cursors",
        *_columns(with_stream=with_stream),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*key),
    )


def _rows(*, with_stream: bool) -> list[Row]:
    table = sa.table("sync_cursors", *(sa.column(c.name, c.type) for c in _columns(with_stream=with_stream)))
    return [dict(row._mapping) for row in op.get_bind().execute(sa.select(table))]


def stream_rows(old: Row) -> Iterator[Row]:
    """The cursors of a source's streams, each starting where the source's one cursor was."""
    if old["source"] == CALENDAR_SOURCE:
        calendars = (old["state"] or {}).get("calendars") or {}
        for calendar, state in calendars.items():
            yield {**old, "stream": calendar, "state": state or {}}
        return
    for stream in FIXED_STREAMS.get(old["source"], (SINGLE_STREAM,)):
        yield {**old, "stream": stream}


def source_row(streams: Iterable[Row]) -> Row:
    """One cursor for the source: the earliest of its streams', so a downgrade reads again, never skips."""
    ordered = sorted(streams, key=lambda row: (row["harvested_until"] is not None, row["harvested_until"]))
    earliest = {key: value for key, value in ordered[0].items() if key != "stream"}
    if earliest["source"] == CALENDAR_SOURCE:
        earliest["state"] = {"calendars": {row["stream"]: row["state"] for row in ordered}}
    return earliest


def upgrade() -> None:
    old = _rows(with_stream=False)
    table = _recreate(with_stream=True)
    new = [row for source_cursor in old for row in stream_rows(source_cursor)]
    if new:
        op.bulk_insert(table, new)


def downgrade() -> None:
    rows = sorted(_rows(with_stream=True), key=lambda row: (row["user_id"], row["source"]))
    table = _recreate(with_stream=False)
    old = [source_row(streams) for _key, streams in groupby(rows, key=lambda row: (row["user_id"], row["source"]))]
    if old:
        op.bulk_insert(table, old)
