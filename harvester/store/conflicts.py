"""`INSERT … ON CONFLICT DO NOTHING` on SQLite and PostgreSQL, for rows that two processes may create at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model: Any, values: Mapping[str, Any], conflict: Sequence[str]) -> bool:
    """Insert the row unless one with the same `conflict` columns exists; True when this call inserted it.

    Losing the race is not an error (a select-then-insert raises IntegrityError there), and the
    transaction stays usable, so the caller simply reads the winner's row.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict))
        # RETURNING tells whether a row went in: psycopg reports rowcount -1 for this statement (measured)
        .returning(*table.primary_key.columns)
    )
    return session.connection().execute(statement).first() is not None
