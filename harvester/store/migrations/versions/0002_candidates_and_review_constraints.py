"""candidates and review constraints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:44:32.579161
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("section", sa.String(length=40), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("impact", sa.Text(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["merged_into_id"], ["candidates.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "public_id", name="uq_candidate_public_id"),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index("ix_candidates_user_week", ["user_id", "week"], unique=False)

    op.create_table(
        "link_constraints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("activity_a", sa.String(length=300), nullable=False),
        sa.Column("activity_b", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", "activity_a", "activity_b", name="uq_link_constraint"),
    )
    with op.batch_alter_table("link_constraints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_constraints_user_id"), ["user_id"], unique=False)

    op.create_table(
        "candidate_items",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("candidate_id", "activity_id"),
    )
    with op.batch_alter_table("candidate_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_items_activity_id"), ["activity_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("candidate_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_items_activity_id"))

    op.drop_table("candidate_items")
    with op.batch_alter_table("link_constraints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_constraints_user_id"))

    op.drop_table("link_constraints")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_user_week")

    op.drop_table("candidates")
