"""team mode: who each user is at the identity provider, their settings, and their encrypted grants

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("subject", sa.String(length=500), nullable=True))
        users.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        users.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
        users.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        users.add_column(sa.Column("digest_weekday", sa.Integer(), nullable=True))
        users.add_column(sa.Column("digest_hour", sa.Integer(), nullable=True))
        users.add_column(sa.Column("skip_words", sa.JSON(), nullable=False, server_default="[]"))
        users.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        users.create_unique_constraint("uq_users_subject", ["subject"])
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "source", name="uq_grant_user_source"),
    )
    op.create_index("ix_grants_user_id", "grants", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_grants_user_id", table_name="grants")
    op.drop_table("grants")
    with op.batch_alter_table("users") as users:
        users.drop_constraint("uq_users_subject", type_="unique")
        for column in (
            "paused_at",
            "skip_words",
            "digest_hour",
            "digest_weekday",
            "disabled_at",
            "display_name",
            "email",
            "subject",
        ):
            users.drop_column(column)
