"""activities gone at the source, durable clustering marks, ids as long as the sources allow

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS = (("activities", "external_id"), ("link_constraints", "activity_a"), ("link_constraints", "activity_b"))


def upgrade() -> None:
    op.add_column("activities", sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("activities", sa.Column("needs_clustering", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_activities_user_needs_clustering", "activities", ["user_id", "needs_clustering"])
    # items an interrupted run stored but never grouped: the next command that reads candidates groups them
    op.execute(
        "UPDATE activities SET needs_clustering = true WHERE id NOT IN (SELECT activity_id FROM candidate_items)"
    )
    # sqlite does not enforce varchar lengths, and rebuilding `activities` there would cascade-delete
    # candidate_items through the foreign key, so only postgresql needs (and gets) the wider columns
    if op.get_bind().dialect.name != "sqlite":
        for table, column in ID_COLUMNS:
            op.alter_column(table, column, type_=sa.String(1_200), existing_type=sa.String(300))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table, column in ID_COLUMNS:
            op.alter_column(table, column, type_=sa.String(300), existing_type=sa.String(1_200))
    op.drop_index("ix_activities_user_needs_clustering", table_name="activities")
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_column("needs_clustering")
        batch_op.drop_column("gone_at")
