"""`brag demo`: the product against the sandbox servers, in a demo database every other command can then use."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import platformdirs
from rich.console import Console
from rich.markup import escape

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.sandbox import DEFAULT_API_TOKEN, JiraSandbox
from harvester.cli.init_config import ConfigChoices, render_config, write_config
from harvester.cli.tables import activity_table, candidate_table
from harvester.config import APP_NAME, CONFIG_FILENAME, EmailSettings, LoadedConfig, parse_settings
from harvester.context import Context
from harvester.digest import previous_week
from harvester.digest.outbox import deliver_queued, load_digest, queue_digest
from harvester.sandbox.scenario import Scenario
from harvester.sandbox.server import SandboxServer
from harvester.sandbox.smtp import SmtpSink
from harvester.store import repository
from harvester.sync import SourceResult
from harvester.timeutil import system_timezone
from harvester.web.server import available_port
from harvester.web.server import serve as serve_review_page

DEMO_WEEKS = 4
# everything a demo writes, besides its digest-WEEK.html files
DEMO_FILES = ("brag.db", "brag.db-wal", "brag.db-shm", "brag.db-journal", "google-token.json", CONFIG_FILENAME)


def demo_dir() -> Path:
    """Where the demo keeps its database and configuration, so every other command can run on them."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "demo"


def run_demo(console: Console, workdir: Path | None = None, *, serve: bool = False) -> int:
    workdir = workdir or demo_dir()
    _start_afresh(workdir)
    # the digest's links must point where the page will be served
    review_port = available_port() if serve else None
    zone = system_timezone()
    zone_name = getattr(zone, "key", None)
    scenario = Scenario.generate(weeks=DEMO_WEEKS)
    with (
        GitHubSandbox(scenario) as github,
        GoogleCalendarSandbox(scenario) as calendar,
        JiraSandbox(scenario, time_zone=zone_name or "UTC") as jira,
    ):
        # an expired access token whose token_uri is the sandbox: the first harvest refreshes and saves it
        token_file = workdir / "google-token.json"
        token_file.write_text(json.dumps(calendar.authorized_user_info(expired=True)))
        os.chmod(token_file, 0o600)
        settings = parse_settings(
            {
                "database": {"url": f"sqlite:///{workdir / 'brag.db'}"},
                "user": {"timezone": zone_name} if zone_name else {},
                "github": {"token": DEFAULT_TOKEN, "base_url": github.base_url},
                "jira": {"server": jira.base_url, "email": scenario.email, "token": DEFAULT_API_TOKEN},
                "google_calendar": {
                    "token_file": str(token_file),
                    "api_endpoint": calendar.calendar_url(),
                    "skip": ["standup", "lunch"],
                },
                **({"web": {"base_url": f"http://127.0.0.1:{review_port}"}} if review_port else {}),
            }
        )
        app = Context.open(LoadedConfig(settings=settings, path=None))
        console.rule("[bold]Brag Harvester demo")
        console.print(f"Sandbox GitHub at {github.base_url}, serving {scenario.name} (@{scenario.login}).")
        console.print(f"Sandbox Google Calendar at {calendar.calendar_url()}.")
        console.print(f"Sandbox Jira Cloud at {jira.base_url}.")
        console.print(f"Demo database: {workdir / 'brag.db'} (replaced by the next `brag demo`)\n", soft_wrap=True)

        since = app.now() - timedelta(weeks=DEMO_WEEKS)
        console.print(f"[bold]1. Harvest[/] the last {DEMO_WEEKS} weeks")
        first = app.harvest(since=since)
        _summary(console, first, _request_counts(github, calendar, jira))

        console.print("\n[bold]2. Harvest again[/] (no --since: continues from the saved cursor)")
        github.clear_log()
        calendar.clear_log()
        jira.clear_log()
        second = app.harvest()
        _summary(console, second, _request_counts(github, calendar, jira))

        with app.sessions() as session:
            records = repository.list_activities(session, app.user_id)
        console.print(activity_table(records, app.zone, title=f"\n{len(records)} activities in the store"))

        console.print("\n[bold]3. Cluster[/] each week into candidate accomplishments")
        weeks = app.recluster_changed(first)
        with app.sessions() as session:
            rows = repository.candidate_rows(session, app.user_id)
            members = repository.candidate_members(session, [row.id for row in rows])
        console.print(f"  {sum(w.candidates for w in weeks)} candidates in {len(weeks)} weeks")
        console.print(candidate_table(rows, members))
        console.print("\n[bold]4. Digest[/] emailed to a local SMTP server")
        mailed = _digest(console, app, workdir)
        config_path = _keep_config(workdir, zone_name, app.config.settings.web.base_url if review_port else None)
        console.print(
            f"\n[bold]Continue on the demo data[/] with its configuration, {escape(str(config_path))}:\n"
            f"  brag --config {escape(str(config_path))} review\n"
            "  (also candidates, approve, doc, export, digest and serve). The sandbox servers stop with the demo, "
            "so `harvest` needs your own accounts: run `brag init`.",
            soft_wrap=True,
            highlight=False,
        )
        code = 0 if mailed and all(r.ok for r in first + second) else 1
        if review_port is not None:
            console.print("\n[bold]5. Review[/] in your browser: open the review link above, or the page below")
            serve_review_page(app, console, port=review_port)
        return code


def _start_afresh(workdir: Path) -> None:
    """Remove what an earlier demo left (its scenario was generated for another day); nothing else."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in (*DEMO_FILES, *(p.name for p in workdir.glob("digest-*.html"))):
        (workdir / name).unlink(missing_ok=True)


def _keep_config(workdir: Path, zone_name: str | None, web_base_url: str | None) -> Path:
    """A configuration for the demo database alone: its sources were sandboxes that are gone."""
    choices = ConfigChoices(
        timezone=zone_name or "UTC",
        database_url=f"sqlite:///{workdir / 'brag.db'}",
        web_base_url=web_base_url,
        notes=(
            "The demo's data. Its sandbox servers stopped when the demo ended, so no source is",
            "configured: candidates, review, approve, doc, export, digest and serve work on this",
            "database; for your own work run `brag init`. The next `brag demo` replaces all of it.",
        ),
        written_by="brag demo",
    )
    path = workdir / CONFIG_FILENAME
    write_config(path, render_config(choices))
    return path


def _summary(console: Console, results: list[SourceResult], requests: Mapping[str, int]) -> None:
    for result in results:
        state = "ok" if result.ok else f"failed: {escape(result.error or '')}"
        counts = result.counts
        console.print(
            f"  {result.source}: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged "
            f"({requests.get(result.source, 0)} API requests) — {state}"
        )


def _digest(console: Console, app: Context, workdir: Path) -> bool:
    """Queue last week's digest, deliver it to a local SMTP sink, and save the HTML that arrived."""
    week = previous_week(app.now(), app.zone)
    base_url = app.config.settings.web.base_url
    with SmtpSink() as sink:
        email = EmailSettings.model_validate(
            {
                "to": "you@example.com",
                "from": "Brag Harvester <brag@example.com>",
                "smtp_host": sink.host,
                "smtp_port": sink.port,
                "smtp_security": "none",
            }
        )
        with app.sessions.begin() as session:
            digest = load_digest(
                session,
                user_id=app.user_id,
                user_name=app.config.settings.user.name,
                week=week,
                base_url=base_url,
                zone=app.zone,
            )
            if not digest.empty:
                queue_digest(session, app.user_id, digest, email, base_url)
        deliveries = deliver_queued(app.sessions, app.user_id, email)
        received = sink.messages()
    if not received:
        errors = "; ".join(d.error or d.status for d in deliveries) or "nothing to review"
        console.print(f"  no digest delivered ({escape(errors)})")
        return digest.empty
    message = received[-1]
    html_part = message.get_body(preferencelist=("html",))
    path = workdir / f"digest-{week}.html"
    path.write_text(html_part.get_content() if html_part is not None else "", encoding="utf-8")
    console.print(f"  SMTP server on {sink.host}:{sink.port} received: {escape(str(message['Subject']))}")
    console.print(f"  Message-ID {escape(str(message['Message-ID']))}; HTML saved to {path}", soft_wrap=True)
    console.print(f"  Review page: {base_url}/ (run `brag demo --serve` to click through it)")
    # a week of meetings only lists no item: its line and the review page are all there is
    for first in (*digest.entries, *digest.earlier)[:1]:
        console.print(f"  Review link for {first.public_id}: {first.links.review}", soft_wrap=True, highlight=False)
    return True


def _request_counts(github: SandboxServer, calendar: SandboxServer, jira: SandboxServer) -> dict[str, int]:
    return {"github": len(github.requests), "google_calendar": len(calendar.requests), "jira": len(jira.requests)}
