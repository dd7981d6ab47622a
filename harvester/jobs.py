"""What each scheduled job does, and the guard that makes each period's run happen once.

A run is *for* a period: the harvest for the instant it was due, the digest for an ISO week, the
quarterly summary for a quarter. `execute` claims that period in `job_runs`, does the work and marks
it done, so neither a coalesced catch-up nor a restart mid-job ever repeats a finished period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from harvester.config import EmailSettings
from harvester.context import Context
from harvester.digest import outbox
from harvester.display import one_line
from harvester.documents import bragdoc
from harvester.documents.export import build, quarter_of, quarter_period
from harvester.documents.renderers import ExportFormat, render
from harvester.errors import BragError
from harvester.store import job_runs, leases, repository
from harvester.store.models import User
from harvester.timeutil import iso_week_label

log = logging.getLogger(__name__)

HARVEST, DIGEST, QUARTERLY = "harvest", "digest", "quarterly"
# the quarterly job acts only when its due day is within this many days of the quarter's end
QUARTER_LAST_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    """What a job did: the sentence `brag run` logs and returns, and the same facts as values.

    The facts go to the log record as `record.job_outcome` (with the job and its period), so a
    log handler or a test reads the counts as numbers instead of parsing the sentence.
    """

    summary: str
    facts: Mapping[str, int | str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.summary


Action = Callable[[Context, str], Outcome]


class JobFailed(BragError):
    """The job ran and could not do its work; the message says why (logged as one line)."""


def period_for(job: str, due: datetime, zone: tzinfo) -> str | None:
    """What a run due at `due` is for; None when the job has nothing to do then."""
    if job == DIGEST:
        # the week it fires in (Friday afternoon by default), the same default as `brag digest`
        return iso_week_label(due, zone)
    if job == QUARTERLY:
        day = due.astimezone(zone).date()
        quarter = quarter_of(day)
        return quarter.label if quarter.end - day <= QUARTER_LAST_WEEK else None
    return due.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def harvest(context: Context, period: str) -> Outcome:
    results = context.harvest()
    weeks = context.recluster_changed(results)
    failed = [r for r in results if not r.ok]
    for result in failed:
        log.warning("harvest: %s failed: %s", result.source, result.error)
    new = sum(r.counts.new for r in results)
    updated = sum(r.counts.updated for r in results)
    summary = f"{new} new, {updated} updated, {len(weeks)} week(s) re-clustered"
    # a refused grant is not retried: only its owner can fix it (team mode marks it "reconnect")
    transient = [r for r in failed if not (r.refused and context.team_mode)]
    if failed and len(failed) == len(results) and transient:
        raise JobFailed(f"every source failed ({', '.join(r.source for r in failed)}); {summary}")
    facts = {"new": new, "updated": updated, "weeks_reclustered": len(weeks), "sources_failed": len(failed)}
    return Outcome(summary, facts)


def digest(context: Context, week: str) -> Outcome:
    """Draft the week's digest and send the outbox; done only once the week's digest is sent.

    The outbox row is unique per (user, week) and fenced per send (digest/outbox.py), so a re-run
    after a crash never mails a week twice; a digest that may have arrived is left for the user.
    """
    context.finish_clustering()
    settings = context.config.settings.email
    if settings is None:
        raise JobFailed("no [email] section; the digest is not scheduled without one")
    base_url = context.config.settings.web.base_url
    settings, name = _recipient(context, settings)
    row = outbox.queue_week(context.sessions, context.user_id, name, week, settings, base_url, context.zone)
    deliveries = outbox.deliver_queued(context.sessions, context.user_id, settings)
    for delivery in deliveries:
        log.info("digest %s: %s%s", delivery.week, delivery.status, f" ({delivery.error})" if delivery.error else "")
    if row is None:
        return Outcome(
            f"nothing to review for {week}; no digest drafted", {"week": week, "digest": "nothing to review"}
        )
    with context.sessions() as session:
        current = repository.digest_row(session, context.user_id, week)
    status = current.status if current is not None else "missing"
    if status == "sent":
        return Outcome(f"the {week} digest is sent", {"week": week, "digest": status})
    reason = next((d.error for d in deliveries if d.week == week and d.error), None) or status
    raise JobFailed(f"the {week} digest is {status}, not sent: {reason}; see `brag digest --send`")


def _recipient(context: Context, settings: EmailSettings) -> tuple[EmailSettings, str]:
    """Who the digest is for: the configured user; in team mode the member, at their own address.

    The name is the one review links are signed with (`User.name`), so a member's links open
    their own review page once they are signed in.
    """
    if context.config.settings.team is None:
        return settings, context.config.settings.user.name
    from email.utils import formataddr

    with context.sessions() as session:
        member = session.get(User, context.user_id)
        if member is None or not member.email:
            raise JobFailed(f"member {context.user_id} has no email address; they sign in once to give one")
        # formataddr quotes a display name the identity provider sent, whatever it holds
        to = formataddr((one_line(member.display_name or ""), member.email))
        return settings.model_copy(update={"to": to}), member.name


def quarterly(context: Context, quarter: str) -> Outcome:
    """Write the quarter's summary (Markdown and HTML) and, with [email], mail it as a reminder."""
    context.finish_clustering()
    with context.sessions() as session:
        document = build(
            bragdoc.entries(session, context.user_id, context.zone), quarter_period(quarter), author=context.person_name
        )
    folder = context.config.settings.schedule.resolved_exports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for format in (ExportFormat.md, ExportFormat.html):
        path = folder / f"{quarter}-summary.{format.value}"
        path.write_bytes(render(document, format))
        written.append(path)
    note = document.overview.missing_impact_note
    if context.config.settings.email is not None:
        _mail_summary(context, quarter, written[0].read_text(encoding="utf-8"), written[1].read_text(encoding="utf-8"))
    summary = f"{quarter} summary: {document.overview.total} entries" + (f" ({note})" if note else "")
    return Outcome(summary, {"quarter": quarter, "entries": document.overview.total, "written": len(written)})


def _mail_summary(context: Context, quarter: str, text: str, html: str) -> None:
    from harvester.mail import address_domain, compose_message, send_raw, stable_message_id, with_date

    settings = context.config.settings.email
    assert settings is not None
    user = context.config.settings.user.name
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


class JobBusy(BragError):
    """The period's run is held by a live process elsewhere; try again once its lease lapses."""


def execute(context: Context, job: str, period: str, now: datetime, *, raise_failures: bool = False) -> str:
    """Run `job` for `period` unless that period is done or running elsewhere; returns what happened, for the log.

    The run is a lease held by this process and renewed while the job works (job_runs.keep_lease).
    Expected failures (BragError) are recorded and logged in one line; a bug is recorded and
    re-raised so the scheduler logs its traceback. An interrupt (the process is being killed) leaves
    the run `running`, and the next `brag run` (or this one, once the lease lapses) finishes it.
    With `raise_failures` (the task queue's workers, which retry), a failure is recorded and then
    raised, and a run held elsewhere raises JobBusy, instead of being returned as a sentence.
    """
    owner = leases.this_process()
    claimed = job_runs.claim(context.sessions, context.user_id, job, period, now, owner)
    if isinstance(claimed, job_runs.Refused):
        if raise_failures and claimed.reason.startswith(("running", "claimed")):
            raise JobBusy(f"{job} for {period}: {claimed.reason}")
        return f"{job} for {period}: {claimed.reason}"
    try:
        with job_runs.keep_lease(context.sessions, claimed, owner):
            outcome = ACTIONS[job](context, period)
    except BragError as exc:
        job_runs.finish(context.sessions, claimed, owner, error=str(exc))
        failed = {"job": job, "period": period, "status": "failed", "error": str(exc)}
        log.warning("%s for %s failed: %s", job, period, exc, extra={"job_outcome": failed})
        if raise_failures:
            raise
        return f"{job} for {period}: failed: {exc}"
    except Exception as exc:
        job_runs.finish(context.sessions, claimed, owner, error=repr(exc))
        raise
    job_runs.finish(context.sessions, claimed, owner)
    done = {**outcome.facts, "job": job, "period": period, "status": "done"}
    log.info("%s for %s: %s", job, period, outcome, extra={"job_outcome": done})
    return f"{job} for {period}: {outcome}"


def recover(context: Context, now: datetime) -> list[str]:
    """Finish every run a gone process left in the middle, once each; runs a live process holds are left to it."""
    with context.sessions() as session:
        left = [(run.job, run.period) for run in job_runs.unfinished(session, context.user_id)]
    return [execute(context, job, period, now) for job, period in left if job in ACTIONS]
