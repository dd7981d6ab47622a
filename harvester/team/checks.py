"""What `brag team init` and `brag team health` verify, each check a record with its fix.

The checks never raise for what they find: a refused connection, a missing key or a broken
discovery document is a failed `Check` naming the setting and what to do, so the operator sees
every problem in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from harvester.config import LoadedConfig, TeamSettings
from harvester.errors import BragError, ConfigError
from harvester.secrets import REFERENCE_PREFIXES
from harvester.team.vault import KEY_SETTING, Vault

__all__ = [
    "DISCOVERY_PATH",
    "REQUIRED_ENDPOINTS",
    "Check",
    "check_database",
    "check_key",
    "check_sign_in",
    "postgres_engine",
]

# OpenID Connect Discovery 1.0 §4: the document is at the issuer + this path
DISCOVERY_PATH = "/.well-known/openid-configuration"
# what the sign-in needs from it: the authorization code flow's two endpoints, the keys that sign
# ID tokens, and userinfo for the email and name (§3 lists all but jwks_uri and userinfo as REQUIRED)
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
DISCOVERY_TIMEOUT_SECONDS = 10
DATABASE_FIX = "set [database] url to postgresql+psycopg://USER@HOST/DB (or env:NAME holding it)"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def postgres_engine(config: LoadedConfig) -> Engine:
    """An engine on the configured database, which must be PostgreSQL: team mode's only store."""
    from harvester.store.engine import create_db_engine

    url = config.database_url()
    if make_url(url).get_backend_name() != "postgresql":
        raise ConfigError(
            f"team mode runs on PostgreSQL only (SQLite is the single-user store); {DATABASE_FIX}",
            path=config.path,
            key="database.url",
        )
    return create_db_engine(url)


def check_database(config: LoadedConfig, *, migrate: bool) -> tuple[Check, Engine | None]:
    """PostgreSQL, reachable, and at the newest schema (`migrate` brings it there first)."""
    from harvester.store.engine import SCHEMA_HEAD, describe
    from harvester.store.engine import migrate as migrate_schema

    name = "database"
    try:
        engine = postgres_engine(config)
    except ConfigError as exc:
        # the error already says what to set
        return Check(name, False, str(exc)), None
    where = describe(engine.url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        applied = migrate_schema(engine) if migrate else False
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except BragError as exc:
        return Check(name, False, str(exc), getattr(exc, "fix", "")), None
    except DBAPIError as exc:
        said = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        if "alembic_version" in said:
            return Check(name, False, f"{where}: no brag schema yet", "run `brag team init`"), None
        return Check(name, False, f"{where}: {said}", "check [database] url and that the server is running"), None
    except SQLAlchemyError as exc:
        return Check(name, False, f"{where}: {type(exc).__name__}: {exc}", "check [database] url"), None
    if version != SCHEMA_HEAD:
        return Check(name, False, f"{where}: schema {version}, newest is {SCHEMA_HEAD}", "run `brag team init`"), None
    detail = f"{where}: PostgreSQL, schema {SCHEMA_HEAD}" + (" (migrated now)" if applied else "")
    return Check(name, True, detail), engine


def check_sign_in(team: TeamSettings) -> Check:
    """The OIDC provider's discovery document names every endpoint the sign-in uses, or GitHub sign-in is on."""
    name = "sign-in"
    if team.oidc_issuer is None:
        if team.github_sign_in and team.github is None:
            return Check(
                name,
                False,
                "github_sign_in = true needs the GitHub app: [team.github] client_id and client_secret",
                "register a GitHub App (or OAuth App) with the callback <[web] base_url>/auth/callback",
            )
        if team.github_sign_in:
            return Check(name, True, "GitHub is the identity (github_sign_in = true, the [team.github] app)")
        return Check(
            name,
            False,
            "no way to sign in: neither [team] oidc_issuer nor github_sign_in is set",
            "set oidc_issuer, oidc_client_id and oidc_client_secret, or github_sign_in = true",
        )
    secret = team.oidc_client_secret
    given = {"oidc_client_id": team.oidc_client_id, "oidc_client_secret": secret}
    missing = [key for key, value in given.items() if not value]
    if missing or secret is None:
        return Check(name, False, f"[team] {' and '.join(missing)} not set", "register this service with the provider")
    try:
        secret.reveal()
    except ConfigError as exc:
        return Check(name, False, str(exc), "make the client secret readable where the reference says")
    return _check_discovery(team.oidc_issuer)


def _check_discovery(issuer: str) -> Check:
    import requests

    name, url = "sign-in", issuer + DISCOVERY_PATH
    fix = "check [team] oidc_issuer: it is the provider's issuer URL, without /.well-known/…"
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        return Check(name, False, f"cannot fetch {url}: {type(exc).__name__}", fix + ", and that it is reachable")
    if response.status_code != 200:
        return Check(name, False, f"{url} answered HTTP {response.status_code}", fix)
    try:
        document = response.json()
    except ValueError:
        return Check(name, False, f"{url} is not JSON", fix)
    if not isinstance(document, dict):
        return Check(name, False, f"{url} is not a discovery document (not a JSON object)", fix)
    absent = [key for key in REQUIRED_ENDPOINTS if not isinstance(document.get(key), str) or not document[key]]
    if absent:
        return Check(name, False, f"{url} does not name {', '.join(absent)}", fix)
    # §4.3: the issuer in the document must be exactly the one configured, or ID tokens will not validate
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        return Check(name, False, f"{url} says its issuer is {document.get('issuer')!r}, not {issuer!r}", fix)
    return Check(name, True, f"{issuer}: discovery names the authorization, token, JWKS and userinfo endpoints")


def check_key(team: TeamSettings, path: Path | None, *, inline_ok: bool = True) -> tuple[Check, Vault | None]:
    """The encryption key(s) resolve and are Fernet keys; the vault when they are.

    `inline_ok=False` (`brag team init`) also fails a key written into the configuration file
    itself, which travels with every copy and backup of the file.
    """
    try:
        vault = Vault.from_secret(team.encryption_key, path=path)
    except ConfigError as exc:
        # the error already says how to make a key
        return Check("encryption key", False, str(exc)), None
    where = team.encryption_key.describe()
    if not inline_ok and not team.encryption_key.reference.startswith(REFERENCE_PREFIXES):
        return Check(
            "encryption key",
            False,
            f"{KEY_SETTING} is written into the configuration file itself",
            "keep it out of the file: move it to an environment variable (env:NAME), a file readable only by "
            "the service (file:PATH) or the keyring (keyring:)",
        ), vault
    count = f"{vault.key_count} keys, the first seals" if vault.key_count > 1 else "1 key"
    return Check("encryption key", True, f"{KEY_SETTING} from {where}: {count}"), vault
