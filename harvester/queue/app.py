"""The procrastinate app on the service's database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from harvester.errors import ConfigError

if TYPE_CHECKING:
    import procrastinate


def conninfo(database_url: str) -> str:
    """The libpq connection string psycopg takes, from the SQLAlchemy URL of [database] url."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            "the task queue needs PostgreSQL (procrastinate keeps its jobs there); "
            "set [database] url = postgresql+psycopg://…",
            key="database.url",
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(database_url: str) -> procrastinate.App:
    import procrastinate

    from harvester.queue.tasks import blueprint

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)))
    app.add_tasks_from(blueprint(), namespace="brag")
    return app


def ensure_schema(app: procrastinate.App) -> bool:
    """Create procrastinate's tables and functions once; True when they were created now."""
    with app.open():
        connector = app.connector.get_sync_connector()
        found = connector.execute_query_one("SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present")
        if found["present"]:
            return False
        app.schema_manager.apply_schema()
        return True
