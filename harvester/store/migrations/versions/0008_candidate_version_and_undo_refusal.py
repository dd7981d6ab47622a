"""candidate version and undo refusal

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo_refused", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.drop_column("undo_refused")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("version")
