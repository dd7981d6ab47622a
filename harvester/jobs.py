"""What each scheduled job does, and the guard that makes each period's run happen once.

A run is *for* a period: the harvest for the instant it was due, the digest for an ISO week, the
quarterly summary for a quarter. `execute` claims that period in `job_runs`, does the work and marks
it done, so neither a coalesced catch-up nor a restart mid-job ever repeats a finished period.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from rich.console import Console

from harvester import bragdoc
from harvester.app import App
from harvester.errors import BragError
from harvester.export import build, quarter_of, quarter_period
from harvester.renderers import ExportFormat, render
from harvester.store import job_runs
from harvester.timeutil import iso_week_label

log = logging.getLogger(__name__)

HARVEST, DIGEST, QUARTERLY = "harvest", "digest", "quarterly"
# the quarterly job acts only when its due day is within this many days of the quarter's end
QUARTER_LAST_WEEK = timedelta(days=7)

Action = Callable[[App, str], str]


class JobFailed(BragError):
    """The job ran and could not do its work; the message says why (logged as one line)."""


def period_for(job: str, due: datetime, zone: tzinfo) -> str | None:
    """What a run due at `due` is for; None when the job has nothing to do then."""
    if job == DIGEST:
        # the digest fires near the end of the week it is about (Friday afternoon by default)
        return iso_week_label(due, zone)
    if job == QUARTERLY:
        day = due.astimezone(zone).date()
        quarter = quarter_of(day)
        return quarter.label if quarter.end - day <= QUARTER_LAST_WEEK else None
    return due.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def harvest(app: App, period: str) -> str:
    results = app.harvest()
    weeks = app.recluster_changed(results)
    failed = [r for r in results if not r.ok]
    for result in failed:
        log.warning("harvest: %s failed: %s", result.source, result.error)
    new = sum(r.counts.new for r in results)
    updated = sum(r.counts.updated for r in results)
    summary = f"{new} new, {updated} updated, {len(weeks)} week(s) re-clustered"
    if failed and len(failed) == len(results):
        raise JobFailed(f"every source failed ({', '.join(r.source for r in failed)}); {summary}")
    return summary


def send_weekly_digest(app: App, week: str) -> int:
    """Adapter onto `brag digest --send`: the same code path, its report going to the log."""
    from harvester import digest_command

    buffer = io.StringIO()
    code = digest_command.send(Console(file=buffer, width=200, no_color=True), app, week, draft_week=True)
    for line in buffer.getvalue().splitlines():
        if line.strip():
            log.info("digest: %s", line.strip())
    return code


def digest(app: App, week: str) -> str:
    # the outbox row is unique per (user, week), so even a re-run after a crash never mails a week twice
    if send_weekly_digest(app, week) != 0:
        raise JobFailed(f"the {week} digest is still queued; it is retried by the next run or `brag digest --retry`")
    return f"digest for {week} handled"


def quarterly(app: App, quarter: str) -> str:
    """Write the quarter's summary (Markdown and HTML) and, with [email], mail it as a reminder."""
    app.finish_clustering()
    with app.sessions() as session:
        document = build(bragdoc.entries(session, app.user_id, app.zone), quarter_period(quarter))
    folder = app.config.settings.schedule.resolved_exports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for format in (ExportFormat.md, ExportFormat.html):
        path = folder / f"{quarter}-summary.{format.value}"
        path.write_bytes(render(document, format))
        written.append(path)
    note = document.overview.missing_impact_note
    if app.config.settings.email is not None:
        _mail_summary(app, quarter, written[0].read_text(encoding="utf-8"), written[1].read_text(encoding="utf-8"))
    return f"{quarter} summary: {document.overview.total} entries" + (f" ({note})" if note else "")


def _mail_summary(app: App, quarter: str, text: str, html: str) -> None:
    from harvester.mailer import address_domain, compose_message, send_raw, stable_message_id, with_date

    settings = app.config.settings.email
    assert settings is not None
    user = app.config.settings.user.name
    message = compose_message(
        subject=f"Your {quarter} summary is ready: the quarter ends this week",
        sender=settings.from_,
        recipient=settings.to,
        text=text,
        html=html,
        message_id=stable_message_id("quarterly", quarter, user, address_domain(settings.from_)),
    )
    send_raw(with_date(message.as_bytes(), datetime.now(UTC)), settings, recipients=[settings.to])


ACTIONS: dict[str, Action] = {HARVEST: harvest, DIGEST: digest, QUARTERLY: quarterly}


def execute(app: App, job: str, period: str, now: datetime) -> str:
    """Run `job` for `period` unless that period is already done; returns what happened, for the log.

    Expected failures (BragError) are recorded and logged in one line; a bug is recorded and
    re-raised so the scheduler logs its traceback. An interrupt (the process is being killed) leaves
    the run `running`, and the next `brag run` finishes it first (see `recover`).
    """
    run_id = job_runs.claim(app.sessions, app.user_id, job, period, now)
    if run_id is None:
        return f"{job} for {period}: already done"
    try:
        outcome = ACTIONS[job](app, period)
    except BragError as exc:
        job_runs.finish(app.sessions, run_id, error=str(exc))
        log.warning("%s for %s failed: %s", job, period, exc)
        return f"{job} for {period}: failed: {exc}"
    except Exception as exc:
        job_runs.finish(app.sessions, run_id, error=repr(exc))
        raise
    job_runs.finish(app.sessions, run_id)
    log.info("%s for %s: %s", job, period, outcome)
    return f"{job} for {period}: {outcome}"


def recover(app: App, now: datetime) -> list[str]:
    """Finish every run a previous process left in the middle, once each, before scheduling resumes."""
    with app.sessions() as session:
        left = [(run.job, run.period) for run in job_runs.unfinished(session, app.user_id)]
    return [execute(app, job, period, now) for job, period in left if job in ACTIONS]
