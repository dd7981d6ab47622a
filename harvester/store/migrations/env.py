"""Alembic environment: always run through harvester.store.engine with a live connection.

`migrate()` passes a connection already inside its one transaction, holding the migration lock, so
`begin_transaction()` below adds nothing: every revision commits together or not at all.
"""

from __future__ import annotations

from alembic import context

from harvester.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through harvester.store.engine.migrate(), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
