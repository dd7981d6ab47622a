"""`brag team`: the operator's commands for team mode (docs/team.md), PostgreSQL only.

Each command needs the configuration's `[team]` section and says so in one line when it is
absent; the store, the vault and `requests` are imported when a command runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harvester.cli.common import console, err_console, read_config, user_errors
from harvester.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from harvester.config import LoadedConfig, TeamSettings
    from harvester.store.accounts import UserInfo
    from harvester.team.checks import Check

team_app = typer.Typer(
    help="Team mode: one service for a whole organisation, on PostgreSQL (docs/team.md).",
    no_args_is_help=True,
)


class HealthFormat(StrEnum):
    text = "text"
    json = "json"


def team_config() -> tuple[LoadedConfig, TeamSettings]:
    """The configuration and its [team] section; a ConfigError naming the file when there is none."""
    config = read_config()
    team = config.settings.team
    if team is None:
        raise ConfigError(
            "has no [team] section: add one (with encryption_key and oidc_issuer or github_sign_in, "
            "see docs/team.md) to use `brag team`",
            path=config.path,
        )
    return config, team


def team_sessions(config: LoadedConfig) -> sessionmaker[Session]:
    """Sessions on the team's PostgreSQL store, migrated to the newest schema."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import sessionmaker

    from harvester.store.engine import describe, migrate
    from harvester.team.checks import postgres_engine

    engine = postgres_engine(config)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise StoreError(
            describe(engine.url), f"cannot connect: {str(exc.orig).strip()}", fix="check [database] url"
        ) from None
    return sessionmaker(engine, expire_on_commit=False)


def _print_check(check: Check) -> None:
    mark = "[green]ok[/]    " if check.ok else "[red]failed[/]"
    console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}", highlight=False, soft_wrap=True)
    if check.fix:
        console.print(f"       [yellow]fix:[/] {escape(check.fix)}", highlight=False, soft_wrap=True)


@team_app.command("init")
def init() -> None:
    """Check the database, the sign-in settings and the key.

    The database must be PostgreSQL and reachable; its schema is brought to the newest. The
    OIDC provider's discovery document must name the endpoints the sign-in uses (or
    github_sign_in is on). The encryption key must resolve to Fernet keys. Exits 1 when a check
    fails; with no usable key, it prints a new one to store.
    """
    from harvester.team.checks import check_database, check_key, check_sign_in
    from harvester.team.vault import new_key

    try:
        config, team = team_config()
    except ConfigError as exc:
        try:
            with user_errors():
                raise
        finally:
            # a [team] section without its key: the one problem this command can hand the answer to
            if "[team] encryption_key" in str(exc):
                _offer_key(new_key())
    database, _ = check_database(config, migrate=True)
    sign_in = check_sign_in(team)
    key, _vault = check_key(team, config.path, inline_ok=False)
    checks = [database, sign_in, key]
    for check in checks:
        _print_check(check)
    if not key.ok:
        _offer_key(new_key())
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
    console.print("team mode is ready: every check passed")


def _offer_key(key: str) -> None:
    console.print(
        "a new key, to store where [team] encryption_key points (environment variable, file or keyring; "
        "never in the configuration file itself):",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"  {key}", markup=False, highlight=False, soft_wrap=True)


@team_app.command("users")
def users(
    disable: Annotated[str | None, typer.Option("--disable", metavar="NAME", help="disable this user")] = None,
    enable: Annotated[str | None, typer.Option("--enable", metavar="NAME", help="enable this user again")] = None,
    delete: Annotated[
        str | None, typer.Option("--delete", metavar="NAME", help="delete this user and every row of theirs")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="delete without asking for confirmation")] = False,
    format: Annotated[HealthFormat, typer.Option("--format", help="text, or json")] = HealthFormat.text,
) -> None:
    """List the users, or disable, enable or delete one.

    The list shows each user's id, name, email, whether disabled, and connected sources with
    their status (connected, or reconnect once a source refused the grant).
    """
    from harvester.store import accounts

    chosen = [name for name in (disable, enable, delete) if name is not None]
    if len(chosen) > 1:
        raise typer.BadParameter("give one of --disable, --enable and --delete at a time")
    with user_errors():
        config, _team = team_config()
        sessions = team_sessions(config)
        if not chosen:
            with sessions() as session:
                everyone = accounts.list_users(session)
            _print_users(everyone, format)
            return
        name = chosen[0]
        with sessions.begin() as session:
            user_id = accounts.user_id_by_name(session, name)
            if user_id is None:
                err_console.print(f"no user named {escape(name)!r}; `brag team users` lists them", highlight=False)
                raise typer.Exit(1)
            if disable is not None or enable is not None:
                accounts.set_disabled(session, user_id, datetime.now(UTC) if disable else None)
                console.print(f"{escape(name)} {'disabled' if disable else 'enabled'}", highlight=False)
                return
            if not yes and not typer.confirm(
                f"Delete {name} and all of their data (activities, candidates, digests, grants)? This cannot be undone",
                default=False,
            ):
                raise typer.Exit(1)
            deleted = accounts.delete_user_data(session, user_id)
        rows = sum(count for table, count in deleted.items() if table != "users")
        console.print(f"{escape(name)} deleted, with {rows} rows of theirs", highlight=False)


def _print_users(everyone: list[UserInfo], format: HealthFormat) -> None:
    if format is HealthFormat.json:
        print(json.dumps([_user_json(user) for user in everyone], indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(everyone)} users", title_justify="left")
    for column in ("id", "name", "email", "disabled", "sources"):
        table.add_column(column, overflow="fold")
    for user in everyone:
        # one per line, so a narrow terminal wraps the email rather than a source's status
        sources = "\n".join(f"{grant.source}: {grant.status}" for grant in user.grants) or "none"
        disabled = f"{user.disabled_at:%Y-%m-%d}" if user.disabled_at else "no"
        table.add_row(str(user.id), escape(user.name), escape(user.email or ""), disabled, escape(sources))
    console.print(table)


def _user_json(user: UserInfo) -> dict[str, object]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "display_name": user.display_name,
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        "sources": {grant.source: grant.status for grant in user.grants},
    }


@team_app.command("health")
def health(
    format: Annotated[HealthFormat, typer.Option("--format", help="text, or json")] = HealthFormat.text,
) -> None:
    """Check the database and that the key opens every grant.

    Also counts users, disabled users, grants and grants awaiting a reconnect. Exits 1 when
    unhealthy (a grant awaiting its owner's reconnect is not).
    """
    from sqlalchemy.orm import Session

    from harvester.store import accounts
    from harvester.team.checks import Check, check_database, check_key

    try:
        with user_errors():
            config, team = team_config()
    except typer.Exit:
        # 1, not 2, as `brag health`: Docker reserves a healthcheck's exit code 2
        raise typer.Exit(1) from None
    database, engine = check_database(config, migrate=False)
    key, vault = check_key(team, config.path)
    checks, counts = [database, key], {}
    if engine is not None:
        with Session(engine) as session:
            counts = {**accounts.user_counts(session), **accounts.grant_counts(session)}
            if vault is not None:
                failed = accounts.unopenable_grants(session, vault)
                opened = Check("grants", True, "every stored grant opens with the configured key(s)")
                if failed:
                    names = ", ".join(f"{user}/{source}" for user, source in failed[:10])
                    opened = Check(
                        "grants",
                        False,
                        f"{len(failed)} grant(s) open with none of the configured keys: {names}",
                        "put the key that sealed them back at the end of [team] encryption_key",
                    )
                checks.append(opened)
    summary = {
        "users": counts.get("users", 0),
        "disabled": counts.get("disabled", 0),
        "grants": sum(counts.get(status, 0) for status in (accounts.CONNECTED, accounts.RECONNECT)),
        "reconnect": counts.get(accounts.RECONNECT, 0),
    }
    healthy = all(check.ok for check in checks)
    if format is HealthFormat.json:
        print(json.dumps({"healthy": healthy, "checks": [c.to_json() for c in checks], **summary}, indent=2))
    else:
        for check in checks:
            _print_check(check)
        console.print(
            f"{summary['users']} users ({summary['disabled']} disabled), {summary['grants']} grants, "
            f"{summary['reconnect']} awaiting a reconnect",
            highlight=False,
        )
    if not healthy:
        raise typer.Exit(1)


@team_app.command("rotate-key")
def rotate_key() -> None:
    """Re-seal every grant with the newest key.

    The newest key is the first of [team] encryption_key: put the new key first and keep the
    old one after it, run this, then drop the old key.
    """
    from harvester.store import accounts
    from harvester.team.vault import Vault

    with user_errors():
        config, team = team_config()
        vault = Vault.from_secret(team.encryption_key, path=config.path)
        sessions = team_sessions(config)
        # one transaction: a grant no key opens leaves every grant as it was
        with sessions.begin() as session:
            count = accounts.reseal_grants(session, vault)
    console.print(f"{count} grants re-sealed with the first key", highlight=False)
    if vault.key_count > 1:
        console.print("now remove the older key(s) from [team] encryption_key", markup=False, highlight=False)
