"""the work an activity is about (a review's pull request) as columns of its own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# how brag up to 0010 stored a GitHub review: title "Reviewed: <the PR's title>", the PR's URL in
# extra["pull_request_url"] (connectors/github/connector.py review_activity at the time)
REVIEW_PREFIX = "Reviewed: "
BATCH = 500

activities = sa.table(
    "activities",
    sa.column("id", sa.Integer),
    sa.column("source", sa.String),
    sa.column("kind", sa.String),
    sa.column("title", sa.Text),
    sa.column("extra", sa.JSON),
    sa.column("subject_title", sa.Text),
    sa.column("subject_url", sa.Text),
)


def upgrade() -> None:
    op.add_column("activities", sa.Column("subject_title", sa.Text(), nullable=False, server_default=""))
    op.add_column("activities", sa.Column("subject_url", sa.Text(), nullable=False, server_default=""))
    # stored reviews get the subject their connector now sets, so they cluster as before without
    # waiting for a re-harvest of their window (which may never come)
    bind = op.get_bind()
    reviews = bind.execute(
        sa.select(activities.c.id, activities.c.title, activities.c.extra).where(
            activities.c.source == "github", activities.c.kind == "review"
        )
    ).all()
    statement = (
        sa.update(activities)
        .where(activities.c.id == sa.bindparam("row_id"))
        .values(subject_title=sa.bindparam("pr_title"), subject_url=sa.bindparam("pr_url"))
    )
    filled = [_subject(row_id, title, extra) for row_id, title, extra in reviews]
    for start in range(0, len(filled), BATCH):
        bind.execute(statement, filled[start : start + BATCH])


def _subject(row_id: int, title: str, extra: Any) -> dict[str, Any]:
    url = extra.get("pull_request_url") if isinstance(extra, dict) else None
    return {
        "row_id": row_id,
        "pr_title": title.removeprefix(REVIEW_PREFIX),
        "pr_url": str(url or ""),
    }


def downgrade() -> None:
    # batch mode on sqlite rebuilds the table (as 0007's downgrade does)
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_column("subject_url")
        batch_op.drop_column("subject_title")
