"""`brag digest`: preview the week's digest, write it as HTML, or queue it and send the queue."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harvester.config import EmailSettings
from harvester.context import Context
from harvester.digest import Digest, render_html
from harvester.digest.model import DEFAULT_MAX_ITEMS, DigestEntry
from harvester.digest.outbox import IN_PROGRESS, UNKNOWN, Delivery, deliver_queued, load_digest, queue_week
from harvester.errors import ConfigError
from harvester.timeutil import iso_week_label, iso_week_window

EXIT_NOT_SENT = 1


def resolve_week(context: Context, week: str | None) -> str:
    """The ISO label of `week` (2026W46 and 2026-W46 alike), or the current week; ValueError if bad.

    The current week in [user] timezone is also what the scheduled digest covers (jobs.period_for),
    so `brag digest --send` on a Friday and the Friday job draft the same row; earlier weeks'
    pending candidates are in it either way.
    """
    if week is None:
        return iso_week_label(context.now(), context.zone)
    return iso_week_label(iso_week_window(week, context.zone).start, context.zone)


def draft(context: Context, week: str) -> Digest:
    context.finish_clustering()
    with context.sessions.begin() as session:
        return load_digest(
            session,
            user_id=context.user_id,
            user_name=context.config.settings.user.name,
            week=week,
            base_url=context.config.settings.web.base_url,
            zone=context.zone,
            max_items=email.max_items if (email := context.config.settings.email) else DEFAULT_MAX_ITEMS,
        )


def preview(console: Console, digest: Digest) -> None:
    """The email in short, in its order: the items, the meetings line, the count of the rest, earlier weeks."""
    console.print(f"[bold]{escape(digest.subject)}[/]  ({escape(digest.period)})")
    _entries(console, digest.entries)
    if digest.meetings:
        console.print(f"  Meetings: {escape(digest.meetings)}.", highlight=False, soft_wrap=True)
    if digest.smaller:
        console.print(f"  [dim]{escape(digest.smaller_line)}[/]", highlight=False)
    if digest.earlier or digest.earlier_more:
        console.print("\n[bold]Still waiting from earlier weeks:[/]")
        _entries(console, digest.earlier)
        if digest.earlier_more:
            console.print(f"  [dim]{escape(digest.earlier_line)}[/]", highlight=False)
    if digest.empty:
        console.print("Nothing to review.")
    console.print("\n[dim]Email it with: brag digest --send   ·   see it as HTML: brag digest --output digest.html[/]")


def _entries(console: Console, entries: Sequence[DigestEntry]) -> None:
    for entry in entries:
        age = f" [dim]({entry.week}, {entry.age})[/]" if entry.age_weeks else ""
        console.print(f"  {entry.public_id}  {escape(entry.title)}{age}", highlight=False, soft_wrap=True)


def write_html(console: Console, digest: Digest, output: Path, recipient: str | None = None) -> None:
    """The email's HTML part in a file; `recipient` ([email] to) names the user as the email would."""
    output.write_text(render_html(digest, recipient), encoding="utf-8")
    console.print(f"Wrote {escape(digest.subject)} to {escape(str(output))}")


def email_settings(context: Context) -> EmailSettings:
    settings = context.config.settings.email
    if settings is None:
        raise ConfigError(
            "no [email] section: add one with to, from and your SMTP server (see config/brag.example.toml)",
            path=context.config.path,
        )
    return settings


def send(console: Console, context: Context, week: str, *, draft_week: bool = True) -> int:
    """Queue the week's digest (unless only retrying), then send everything queued; 1 if any stays unsent.

    `draft_week=False` is `--retry`: it also resends a digest whose delivery is unknown.
    """
    settings = email_settings(context)
    if draft_week:
        row = queue_week(
            context.sessions,
            context.user_id,
            context.config.settings.user.name,
            week,
            settings,
            context.config.settings.web.base_url,
            context.zone,
        )
        if row is None:
            console.print(f"Nothing to review for {week}; no digest drafted.")
        elif row.status == "sent" and row.sent_at is not None:
            when = f"{row.sent_at:%Y-%m-%d %H:%M} UTC"
            console.print(f"The {week} digest was already sent ({when}); not sending it again.", soft_wrap=True)
    deliveries = deliver_queued(context.sessions, context.user_id, settings, resend_unknown=not draft_week)
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
        console.print(_sentence(delivery, recipient), soft_wrap=True, highlight=False)


def _sentence(delivery: Delivery, recipient: str) -> str:
    week, error = delivery.week, escape(delivery.error or "")
    if delivery.status == "sent":
        return f"Sent the {week} digest to {escape(recipient)}."
    if delivery.status == "queued":
        return (
            f"[yellow]The {week} digest is still queued[/]: {error}\n"
            "  It is sent by the next `brag digest --send` or `brag digest --retry`."
        )
    if delivery.status == IN_PROGRESS:
        return f"The {week} digest is being sent right now: {error}\n  Not sending it from here as well."
    if delivery.status == UNKNOWN:
        return (
            f"[yellow]The {week} digest may or may not have arrived[/]: {error}\n"
            f"  It is not sent again on its own. Check {escape(recipient)}'s inbox; to send it anyway, run "
            "`brag digest --retry` (a copy that does arrive twice has the same Message-ID)."
        )
    return (
        f"[red]The {week} digest was refused[/]: {error}\n"
        f"  Fix [email] and run `brag digest --week {week} --send` to queue it again."
    )
