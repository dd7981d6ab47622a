"""`brag digest`: preview the week's digest, write it as HTML, or queue it and send the queue."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harvester.app import App
from harvester.config import EmailSettings
from harvester.digest import Digest, previous_week, render_html
from harvester.digest.outbox import Delivery, deliver_queued, load_digest, queue_digest
from harvester.errors import ConfigError
from harvester.timeutil import iso_week_label, iso_week_window

EXIT_NOT_SENT = 1


def resolve_week(app_: App, week: str | None) -> str:
    """The ISO label of `week` (2026W46 and 2026-W46 alike), or the week that just ended; ValueError if bad."""
    if week is None:
        return previous_week(app_.now(), app_.zone)
    return iso_week_label(iso_week_window(week, app_.zone).start, app_.zone)


def draft(app_: App, week: str) -> Digest:
    app_.finish_clustering()
    with app_.sessions.begin() as session:
        return load_digest(
            session,
            user_id=app_.user_id,
            user_name=app_.config.settings.user.name,
            week=week,
            base_url=app_.config.settings.web.base_url,
            zone=app_.zone,
        )


def preview(console: Console, digest: Digest) -> None:
    console.print(f"[bold]{escape(digest.subject)}[/]  ({escape(digest.period)})")
    for label, entries in (("", digest.entries), ("Still waiting from earlier weeks:", digest.earlier)):
        if entries and label:
            console.print(f"\n[bold]{label}[/]")
        for entry in entries:
            age = f" [dim]({entry.week}, {entry.age})[/]" if entry.age_weeks else ""
            console.print(f"  {entry.public_id}  {escape(entry.title)}{age}", highlight=False, soft_wrap=True)
    if digest.empty:
        console.print("Nothing to review.")
    console.print("\n[dim]Email it with: brag digest --send   ·   see it as HTML: brag digest --output digest.html[/]")


def write_html(console: Console, digest: Digest, output: Path) -> None:
    output.write_text(render_html(digest), encoding="utf-8")
    console.print(f"Wrote {escape(digest.subject)} to {escape(str(output))}")


def email_settings(app_: App) -> EmailSettings:
    settings = app_.config.settings.email
    if settings is None:
        raise ConfigError(
            "no [email] section: add one with to, from and your SMTP server (see config/brag.example.toml)",
            path=app_.config.path,
        )
    return settings


def send(console: Console, app_: App, week: str, *, draft_week: bool = True) -> int:
    """Queue the week's digest (unless only retrying), then send everything queued; 1 if any stays unsent."""
    settings = email_settings(app_)
    if draft_week:
        digest = draft(app_, week)
        if digest.empty:
            console.print(f"Nothing to review for {week}; no digest drafted.")
        else:
            with app_.sessions.begin() as session:
                row = queue_digest(session, app_.user_id, digest, settings, app_.config.settings.web.base_url)
                sent_at = row.sent_at if row.status == "sent" else None
            if sent_at is not None:
                when = f"{sent_at:%Y-%m-%d %H:%M} UTC"
                console.print(f"The {week} digest was already sent ({when}); not sending it again.", soft_wrap=True)
    deliveries = deliver_queued(app_.sessions, app_.user_id, settings)
    if any(d.status == "paused" for d in deliveries):
        console.print(
            "Digest emails are paused (you unsubscribed); nothing was mailed. Resume with `brag digest --resume`.",
            soft_wrap=True,
        )
        return EXIT_NOT_SENT
    report(console, deliveries, settings.to)
    return EXIT_NOT_SENT if any(d.status != "sent" for d in deliveries) else 0


def report(console: Console, deliveries: list[Delivery], recipient: str) -> None:
    if not deliveries:
        console.print("No digest waiting to be sent.")
    for delivery in deliveries:
        if delivery.status == "sent":
            console.print(f"Sent the {delivery.week} digest to {escape(recipient)}.", soft_wrap=True)
        elif delivery.status == "queued":
            console.print(
                f"[yellow]The {delivery.week} digest is still queued[/]: {escape(delivery.error or '')}\n"
                "  It is sent by the next `brag digest --send` or `brag digest --retry`.",
                soft_wrap=True,
                highlight=False,
            )
        else:
            console.print(
                f"[red]The {delivery.week} digest was refused[/]: {escape(delivery.error or '')}\n"
                f"  Fix [email] and run `brag digest --week {delivery.week} --send` to queue it again.",
                soft_wrap=True,
                highlight=False,
            )
