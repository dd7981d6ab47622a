"""Team mode's tests run on PostgreSQL only, as team mode does: a fresh database per test.

Also the few things several team test modules share: a user seeded with a row in every table
that holds one person's data, and a local OpenID Connect discovery endpoint.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from support import fresh_postgres_database

from harvester.records import Activity
from harvester.store import accounts, repository
from harvester.store.engine import open_store
from harvester.store.models import (
    CandidateItem,
    CandidateRow,
    HarvestRun,
    JobRun,
    LinkConstraint,
    ReviewAction,
    SyncCursor,
    UserModelRow,
)
from harvester.team.vault import Vault, new_key

POSTGRES_URL = os.environ.get("BRAG_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="team mode is PostgreSQL only: set BRAG_TEST_POSTGRES_URL=postgresql+psycopg://USER:PASSWORD@HOST/DB",
)


@pytest.fixture
def team_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    assert POSTGRES_URL
    yield from fresh_postgres_database(POSTGRES_URL, prefix="brag_team")


@pytest.fixture
def team_sessions(team_url: str) -> Iterator[sessionmaker[Session]]:
    sessions = open_store(team_url)
    yield sessions
    sessions.kw["bind"].dispose()


@pytest.fixture
def vault() -> Vault:
    return Vault([new_key()])


def sign_in(session: Session, who: str) -> int:
    """A user as the sign-in creates them: subject at the provider, email, display name."""
    user = accounts.find_or_create_user_by_subject(
        session, f"https://login.acme.test {who}-sub", f"{who}@acme.test", who.title()
    )
    session.flush()
    return user.id


def seed_everything(session: Session, user_id: int, vault: Vault, token: str) -> None:
    """One or more rows of the user's in every table that holds a user's data, grants included."""
    when = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    activity = Activity(
        id=f"github:acme/shop#{user_id}",
        source="github",
        kind="pull_request",
        title=f"Fix checkout for user {user_id}",
        url="https://github.com/acme/shop/pull/1",
        occurred_at=when,
        repo="acme/shop",
    )
    repository.upsert_activities(session, user_id, [activity])
    (activity_row_id,) = repository.activity_row_ids(session, user_id, [activity.id]).values()
    candidate = CandidateRow(
        user_id=user_id, public_id=f"c-{user_id:08x}", week="2026-W46", title="Fixed checkout", section="Delivery"
    )
    session.add(candidate)
    session.flush()
    session.add(CandidateItem(candidate_id=candidate.id, activity_id=activity_row_id))
    session.add(SyncCursor(user_id=user_id, source="github", stream="pulls", harvested_until=when))
    session.add(HarvestRun(user_id=user_id, source="github", window_start=when, window_end=when, status="ok"))
    session.add(LinkConstraint(user_id=user_id, kind="must", activity_a="a", activity_b="b"))
    session.add(ReviewAction(user_id=user_id, action="approve"))
    session.add(JobRun(user_id=user_id, job="harvest", period=when.isoformat(), status="done", started_at=when))
    session.add(UserModelRow(user_id=user_id))
    repository.save_digest_draft(
        session, user_id, "2026-W46", message_id=f"<{user_id}@brag>", subject="Your week", recipient="x", message=b"m"
    )
    accounts.save_grant(
        session, user_id, "github", vault, {"access_token": token}, ["read:user"], account=f"octo{user_id}"
    )
    accounts.save_grant(
        session, user_id, "jira", vault, {"access_token": token + "-jira", "cloudid": "c1"}, ["read:jira-work"], None
    )
    session.flush()


class Discovery:
    """A local OpenID provider's discovery document: /.well-known/openid-configuration, as given."""

    def __init__(self, document: dict[str, Any] | None = None, status: int = 200) -> None:
        self.status = status
        self._document = document
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                found = self.path == "/.well-known/openid-configuration"
                body = json.dumps(owner.document()).encode()
                self.send_response(owner.status if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def document(self) -> dict[str, Any]:
        if self._document is not None:
            return self._document
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
        }

    def __enter__(self) -> Discovery:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def team_config(path: Path, url: str, **team: str | bool) -> Path:
    """A configuration file with [database] url and a [team] section of these keys."""
    lines = [f'[database]\nurl = "{url}"\n[team]']
    for key, value in team.items():
        lines.append(f"{key} = {json.dumps(value)}")
    if team.get("github_sign_in"):
        # GitHub sign-in goes through the service's GitHub app
        lines.append('[team.github]\nclient_id = "Iv1.team-tests"\nclient_secret = "env:BRAG_TEAM_GITHUB_SECRET"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def every_text_and_bytes_value(sessions: sessionmaker[Session]) -> list[bytes]:
    """Every non-null value of every text, JSON or binary column of every table, as bytes."""
    with sessions() as session:
        columns = session.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN "
                "('text', 'character varying', 'character', 'bytea', 'json', 'jsonb')"
            )
        ).all()
        values: list[bytes] = []
        for table, column, data_type in columns:
            cast = "" if data_type == "bytea" else "::text"
            rows = session.execute(text(f'SELECT "{column}"{cast} FROM "{table}" WHERE "{column}" IS NOT NULL'))
            for (value,) in rows:
                values.append(bytes(value) if data_type == "bytea" else str(value).encode())
    return values
