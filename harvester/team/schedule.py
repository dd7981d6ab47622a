"""When each member's digest is due: their own day and hour, in their own time zone.

In team mode the scheduler's digest tick fires every hour (`TEAM_DIGEST_CRON`); at each tick the
members whose digest time has come (their settings page's day and hour, or the service's
`[schedule] digest` where they chose none) within the grace period, and whose digest for that
week is not done yet, get a digest job. A tick missed while the scheduler was down is caught up by
the next one; the queueing lock and the job's claim in `job_runs` keep any week from being done
twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.scheduler import due_time, trigger_for
from harvester.store.models import JobRun, User
from harvester.timeutil import iso_week_label, zone_named

DIGEST = "digest"
TEAM_DIGEST_CRON = "0 * * * *"
# crontab's day-of-week names, Monday first as the settings page numbers them (0 = Monday)
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class MemberSchedule:
    user_id: int
    timezone: str | None
    digest_weekday: int | None
    digest_hour: int | None


def member_cron(service_cron: str, weekday: int | None, hour: int | None) -> str:
    """The service's digest cron with the member's own day and hour put in where they chose one."""
    minute, hours, day, month, days_of_week = service_cron.split()
    if hour is not None:
        hours = str(hour)
    if weekday is not None:
        days_of_week = _DAY_NAMES[weekday]
    return f"{minute} {hours} {day} {month} {days_of_week}"


def digests_due(
    session: Session,
    schedules: list[MemberSchedule],
    service_cron: str,
    service_zone: tzinfo,
    now: datetime,
    grace: timedelta,
) -> Mapping[str, list[int]]:
    """The members whose digest is due at `now`, by the ISO week (in their own zone) it is for."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for member in schedules:
        zone = zone_named(member.timezone, service_zone)
        trigger = trigger_for(member_cron(service_cron, member.digest_weekday, member.digest_hour), zone)
        fired = due_time(trigger, now)
        if fired is not None and fired >= now - grace:
            wanted[iso_week_label(fired, zone)].append(member.user_id)
    if not wanted:
        return {}
    rows = session.execute(
        select(JobRun.user_id, JobRun.period).where(
            JobRun.job == DIGEST, JobRun.period.in_(list(wanted)), JobRun.status == JobRun.DONE
        )
    )
    done = {(user_id, period) for user_id, period in rows}
    due = {week: [user for user in users if (user, week) not in done] for week, users in sorted(wanted.items())}
    return {week: users for week, users in due.items() if users}


def member_schedules(session: Session, user_ids: list[int]) -> list[MemberSchedule]:
    rows = session.execute(
        select(User.id, User.timezone, User.digest_weekday, User.digest_hour)
        .where(User.id.in_(user_ids))
        .order_by(User.id)
    )
    return [MemberSchedule(*row) for row in rows]
