"""`brag demo --team`: the team service offline, end to end, on a PostgreSQL server you point it at.

Two people sign in at the sandbox identity provider, connect GitHub, Jira Cloud and Google
Calendar through the sandboxes' OAuth consent pages (a scripted browser presses the same buttons
a person would on the real pages), are harvested with their own grants only, and each gets their
own digest at their own address from a local SMTP server. The demo makes its own database
(`brag_team_demo`, replaced on every run) on that server; team mode runs on PostgreSQL only.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from rich.console import Console
from rich.markup import escape
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from harvester import jobs
from harvester.config import LoadedConfig, parse_settings
from harvester.context import Context
from harvester.digest import previous_week
from harvester.errors import ConfigError
from harvester.sandbox.oidc import SANDBOX_PEOPLE
from harvester.sandbox.smtp import SmtpSink
from harvester.sandbox.team import ScriptedBrowser, team_sandboxes
from harvester.store import accounts, repository
from harvester.store.models import User
from harvester.team.sources import CONNECTABLE
from harvester.team.vault import new_key
from harvester.timeutil import system_timezone
from harvester.web.server import ReviewServer, available_port

DEMO_DATABASE = "brag_team_demo"
DEMO_WEEKS = 2
POSTGRES_ENV = "BRAG_DEMO_POSTGRES_URL"
MEMBERS = SANDBOX_PEOPLE[:2]


def fresh_database(admin_url: str) -> str:
    """`brag_team_demo` on the server `admin_url` reaches, dropped and made again; its URL."""
    url = make_url(admin_url)
    if not url.drivername.startswith("postgresql"):
        raise ConfigError(f"the team demo needs PostgreSQL (team mode runs on nothing else), not {url.drivername}")
    if url.database == DEMO_DATABASE:
        raise ConfigError(f"give the URL of another database on the server (postgres), not {DEMO_DATABASE} itself")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{DEMO_DATABASE}"'))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise ConfigError(f"cannot make the demo database on {url.render_as_string()}: {cause}") from None
    finally:
        admin.dispose()
    return url.set(database=DEMO_DATABASE).render_as_string(hide_password=False)


def run_team_demo(console: Console, admin_url: str, *, serve: bool = False) -> int:
    database_url = fresh_database(admin_url)
    zone_name = getattr(system_timezone(), "key", None) or "UTC"
    with team_sandboxes(jira_time_zone=zone_name) as sandboxes, SmtpSink() as sink:
        # picked once the sandboxes hold their ports, so none of them takes the site's meanwhile
        port = available_port()
        base_url = f"http://127.0.0.1:{port}"
        sandboxes.register(base_url)
        data = sandboxes.settings(database_url, base_url, new_key())
        data["user"] = {"name": "service", "timezone": zone_name}
        data["email"] = {
            "to": "operator@acme.example",
            "from": "Brag Harvester <brag@acme.example>",
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "smtp_security": "none",
        }
        service = Context.open(LoadedConfig(settings=parse_settings(data), path=None))
        console.rule("[bold]Brag Harvester team demo")
        console.print(f"Identity provider (OpenID Connect sandbox) at {sandboxes.identity.issuer}", highlight=False)
        console.print(
            f"Sandbox GitHub {sandboxes.github.base_url}, Jira Cloud {sandboxes.jira.base_url}, "
            f"Google Calendar {sandboxes.google_calendar.base_url}; SMTP {sink.host}:{sink.port}",
            highlight=False,
            soft_wrap=True,
        )
        console.print(f"Database: {make_url(database_url).render_as_string()} (replaced by the next run)\n")
        with ReviewServer(service, port=port) as site:
            ok = _every_member(console, service, site.url)
            received = {str(message["To"]): message for message in sink.messages()}
            console.print(f"\n[bold]4. Digests[/] the SMTP server received: {len(received)}")
            for address, message in sorted(received.items()):
                console.print(f"  to {escape(address)}: {escape(str(message['Subject']))}", highlight=False)
            ok = ok and len(received) == len(MEMBERS)
            if serve:
                console.print(
                    f"\n[bold]5. Browse[/] {site.url}/ and sign in as "
                    f"{' or '.join(person.name for person in MEMBERS)} (Ctrl-C stops everything)",
                    highlight=False,
                )
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:
                    console.print("Stopped.")
    return 0 if ok else 1


def _every_member(console: Console, service: Context, site: str) -> bool:
    ok = True
    console.print("[bold]1. Sign in[/] and [bold]2. connect[/] accounts, as each person would in a browser")
    for person in MEMBERS:
        browser = ScriptedBrowser()
        browser.sign_in(site, person)
        for label in ("GitHub", "Jira", "Google Calendar"):
            page = browser.connect(site, label)
            if f"{label} is connected" not in page.text:
                console.print(f"  [red]{person.name}: {label} did not connect[/]")
                ok = False
    with service.sessions() as session:
        rows = session.execute(
            select(User.id, User.email, User.name).where(User.subject.is_not(None)).order_by(User.id)
        )
        members = [(user_id, email or name) for user_id, email, name in rows]
        for user_id, who in members:
            connected = [info.source for info in accounts.grants_of(session, user_id)]
            console.print(f"  {escape(who)}: signed in, connected {', '.join(connected)}", highlight=False)
            ok = ok and sorted(connected) == sorted(CONNECTABLE)
    console.print("\n[bold]3. Harvest[/] each member with their own grants, cluster, and send their digest")
    for user_id, who in members:
        member = replace(service, user_id=user_id)
        results = member.harvest(since=member.now() - timedelta(weeks=DEMO_WEEKS))
        member.recluster_changed(results)
        with service.sessions() as session:
            items = len(repository.list_activities(session, user_id))
            candidates = len(repository.candidate_rows(session, user_id))
        failed = [f"{r.source}: {r.error}" for r in results if not r.ok]
        state = "ok" if not failed else "failed: " + "; ".join(failed)
        console.print(f"  {escape(who)}: {items} items, {candidates} candidates — {escape(state)}", highlight=False)
        week = previous_week(member.now(), member.zone)
        try:
            outcome = jobs.digest(member, week)
        except jobs.JobFailed as exc:
            console.print(f"  {escape(who)}: digest not sent: {escape(str(exc))}")
            ok = False
        else:
            console.print(f"  {escape(who)}: {escape(str(outcome))}", highlight=False)
        ok = ok and not failed
    return ok
