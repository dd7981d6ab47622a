"""The scheduler driven by a controlled clock: a simulated week with a sleep gap and a restart,
a restart in the middle of a job, and the daylight-saving changes in the user's timezone.

APScheduler reads the time through `datetime.now` in two modules; the `clock` fixture replaces
both (and `harvester.scheduler.clock`), and `tick` runs one scheduler wake-up at the fake time,
with the debug executor running jobs inline. Nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler
from digest_support import seed
from typer.testing import CliRunner

from harvester import jobs, scheduler
from harvester.cli import app as cli
from harvester.config import EmailSettings, load_config
from harvester.context import Context
from harvester.digest import outbox
from harvester.sandbox.smtp import SmtpSink
from harvester.store import job_runs

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    state = Clock(berlin(2026, 11, 16, 8, 0))

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return state.now.astimezone(tz) if tz else state.now.replace(tzinfo=None)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", FakeDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", FakeDatetime)
    monkeypatch.setattr(scheduler, "clock", lambda: state.now)
    return state


class ManualScheduler(BaseScheduler):  # type: ignore[misc]
    """Wakes up only when the test calls `tick`."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass


def tick(service: ManualScheduler) -> None:
    service._process_jobs()


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    """The job store lives in the project's database: SQLite, and PostgreSQL in CI."""
    path = tmp_path / "brag.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        '[user]\ntimezone = "Europe/Berlin"\n'
        '[email]\nto = "me@acme.com"\nfrom = "brag@acme.com"\n'
        f'[schedule]\nexports_dir = "{tmp_path / "exports"}"\n'
    )
    return path


@pytest.fixture
def app(config_path: Path) -> Context:
    return Context.open(load_config(config_path))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> list[tuple[str, str, datetime]]:
    """Every job run as (job, period, local time it ran); the real actions need live sources."""
    seen: list[tuple[str, str, datetime]] = []

    def fake(job: str) -> jobs.Action:
        def action(context: Context, period: str) -> jobs.Outcome:
            seen.append((job, period, clock.now.astimezone(BERLIN)))
            return jobs.Outcome("ok")

        return action

    monkeypatch.setattr(jobs, "ACTIONS", {name: fake(name) for name in jobs.ACTIONS})
    return seen


def start(app: Context) -> ManualScheduler:
    service = scheduler.configure(ManualScheduler(), app, executor=DebugExecutor())
    service.start(paused=True)
    scheduler.sync_jobs(service, app)
    service.resume()
    assert isinstance(service, ManualScheduler)
    return service


def run_until(service: ManualScheduler, clock: Clock, end: datetime, step: timedelta = timedelta(hours=1)) -> None:
    while clock.now < end.astimezone(UTC):
        clock.set(min(clock.now + step, end))
        tick(service)


@pytest.fixture
def service(app: Context, clock: Clock, calls: list[tuple[str, str, datetime]]) -> Iterator[ManualScheduler]:
    running = start(app)
    yield running
    if running.running:
        running.shutdown()


def test_jobs_are_coalesced_single_instance_with_grace(service: ManualScheduler) -> None:
    stored = {job.name: job for job in service.get_jobs()}
    assert set(stored) == {"harvest", "digest", "quarterly"}
    assert all(job.coalesce and job.max_instances == 1 for job in stored.values())
    assert stored["harvest"].misfire_grace_time is None
    assert stored["digest"].misfire_grace_time == 3 * 24 * 3600
    assert stored["harvest"].next_run_time == berlin(2026, 11, 16, 18, 0)
    assert stored["digest"].next_run_time == berlin(2026, 11, 20, 16, 0)


def test_simulated_week_with_a_sleep_gap_and_a_restart(
    app: Context, clock: Clock, calls: list[tuple[str, str, datetime]], service: ManualScheduler
) -> None:
    run_until(service, clock, berlin(2026, 11, 17, 20, 0))
    assert [(job, when.strftime("%a %H:%M")) for job, _, when in calls] == [
        ("harvest", "Mon 18:00"),
        ("harvest", "Tue 18:00"),
    ]

    # the laptop sleeps from Tuesday evening to Friday morning: three harvests missed, one run on waking
    clock.set(berlin(2026, 11, 20, 9, 30))
    tick(service)
    assert [(job, period) for job, period, _ in calls[2:]] == [("harvest", "2026-11-19T17:00Z")]
    assert calls[2][2] == berlin(2026, 11, 20, 9, 30)

    run_until(service, clock, berlin(2026, 11, 20, 17, 0))
    assert [(job, period) for job, period, _ in calls[3:]] == [("digest", "2026-W47")]

    # `brag run` stops before Friday's harvest and starts again on Saturday evening
    service.shutdown()
    clock.set(berlin(2026, 11, 21, 19, 15))
    restarted = start(app)
    tick(restarted)
    assert [(job, period) for job, period, _ in calls[4:]] == [("harvest", "2026-11-21T17:00Z")]
    run_until(restarted, clock, berlin(2026, 11, 22, 12, 0))
    assert len(calls) == 5
    assert restarted.get_job("me:harvest").next_run_time == berlin(2026, 11, 22, 18, 0)
    restarted.shutdown()


def test_restart_in_the_middle_of_the_digest_never_sends_the_week_twice(
    tmp_path: Path, database_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpSink() as sink:
        path = tmp_path / "mail.toml"
        path.write_text(
            f'[database]\nurl = "{database_url}"\n[user]\ntimezone = "Europe/Berlin"\n'
            f'[email]\nto = "me@acme.com"\nfrom = "brag@acme.com"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {sink.port}\nsmtp_security = "none"\n[schedule]\nharvest = "off"\nquarterly = "off"\n'
        )
        app = Context.open(load_config(path))
        seed(app.sessions, app.user_id)
        real_send = outbox.send_raw
        killed: list[str] = []

        def killed_once(raw: bytes, settings: EmailSettings, **options: Any) -> None:
            if not killed:
                killed.append("mid-send")
                raise KeyboardInterrupt  # the process is killed after claiming the digest, before DATA
            real_send(raw, settings, **options)

        monkeypatch.setattr(outbox, "send_raw", killed_once)
        clock.set(berlin(2026, 11, 20, 15, 0))
        service = start(app)
        # APScheduler's run_job catches BaseException and logs it; the job run stays `running`
        run_until(service, clock, berlin(2026, 11, 20, 16, 30))
        assert killed == ["mid-send"] and sink.received == []
        with app.sessions() as session:
            assert [(r.job, r.period) for r in job_runs.unfinished(session, app.user_id)] == [("digest", "2026-W47")]
        service.shutdown()

        # a `brag run` started while the killed one's lease still runs leaves the run alone...
        with app.sessions() as session:
            lease_end = job_runs.latest(session, app.user_id)["digest"].lease_expires_at
        assert lease_end is not None and lease_end < clock.now
        early = jobs.recover(app, lease_end - timedelta(seconds=1))
        assert early[0].startswith("digest for 2026-W47: running in another process")
        # ...and the first one after it lapsed finishes it, once; the schedule never repeats it
        assert jobs.recover(app, clock.now) == ["digest for 2026-W47: the 2026-W47 digest is sent"]
        restarted = start(app)
        run_until(restarted, clock, berlin(2026, 11, 20, 23, 0))
        assert scheduler.run_scheduled(app, "digest", clock.now) == "digest for 2026-W47: already done"
        (mail,) = sink.received
        assert mail.message()["Subject"] == "Your wins for 2026-W47: 3 to review"
        with app.sessions() as session:
            assert job_runs.latest(session, app.user_id)["digest"].attempts == 2
        restarted.shutdown()


@pytest.mark.parametrize(
    ("first_day", "before", "after"),
    [
        (berlin(2026, 10, 23, 12, 0), 16, 17),  # summer time ends on Sunday 25 October 2026
        (berlin(2026, 3, 27, 12, 0), 17, 16),  # summer time starts on Sunday 29 March 2026
    ],
)
def test_harvest_fires_once_a_day_at_local_18_across_daylight_saving(
    app: Context,
    clock: Clock,
    calls: list[tuple[str, str, datetime]],
    first_day: datetime,
    before: int,
    after: int,
) -> None:
    clock.set(first_day)
    service = start(app)
    run_until(service, clock, first_day + timedelta(days=4), step=timedelta(minutes=30))
    harvests = [(period, when) for job, period, when in calls if job == "harvest"]
    assert [when.strftime("%d %H:%M") for _, when in harvests] == [
        (first_day + timedelta(days=n)).strftime("%d 18:00") for n in range(4)
    ]
    utc_hours = [int(period[11:13]) for period, _ in harvests]
    assert utc_hours == [before, before, after, after]
    service.shutdown()


def test_fire_times_keep_local_time_through_daylight_saving() -> None:
    trigger = scheduler.trigger_for("0 18 * * *", BERLIN)
    times = scheduler.fire_times(trigger, berlin(2026, 10, 20, 0, 0), 14)
    assert {t.astimezone(BERLIN).hour for t in times} == {18}
    assert len({t.astimezone(BERLIN).date() for t in times}) == 14
    # a time the spring change skips (02:30 on 29 March) runs once, not never
    night = scheduler.fire_times(scheduler.trigger_for("30 2 * * *", BERLIN), berlin(2026, 3, 28, 12, 0), 2)
    assert [t.astimezone(BERLIN).day for t in night] == [29, 30]


def test_due_time_is_the_latest_firing() -> None:
    trigger = scheduler.trigger_for("0 16 * * fri", BERLIN)
    assert scheduler.due_time(trigger, berlin(2026, 11, 24, 9, 0)) == berlin(2026, 11, 20, 16, 0)
    assert scheduler.due_time(trigger, berlin(2026, 11, 20, 16, 0)) == berlin(2026, 11, 20, 16, 0)


def test_quarterly_acts_only_in_the_last_week_of_a_quarter() -> None:
    assert jobs.period_for("quarterly", berlin(2026, 12, 18, 9, 0), BERLIN) is None
    assert jobs.period_for("quarterly", berlin(2026, 12, 25, 9, 0), BERLIN) == "2026Q4"
    assert jobs.period_for("quarterly", berlin(2027, 3, 26, 9, 0), BERLIN) == "2027Q1"
    assert jobs.period_for("digest", berlin(2026, 11, 20, 16, 0), BERLIN) == "2026-W47"


def test_quarterly_writes_the_summary_once(app: Context, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setattr(jobs, "_mail_summary", lambda *args: None)
    first = scheduler.run_scheduled(app, "quarterly", berlin(2026, 12, 25, 9, 0))
    assert first == "quarterly for 2026Q4: 2026Q4 summary: 0 entries"
    folder = app.config.settings.schedule.resolved_exports_dir()
    assert (folder / "2026Q4-summary.md").read_text().startswith("# Summary of 2026Q4")
    assert scheduler.run_scheduled(app, "quarterly", berlin(2026, 12, 25, 10, 0)).endswith("already done")
    assert scheduler.run_scheduled(app, "quarterly", berlin(2026, 12, 11, 9, 0)).startswith("quarterly: nothing")


def test_jobs_turned_off_or_without_email_are_not_scheduled(tmp_path: Path) -> None:
    path = tmp_path / "brag.toml"
    path.write_text('[schedule]\nharvest = "off"\n')
    specs, disabled = scheduler.job_specs(load_config(path).settings)
    assert [s.name for s in specs] == ["quarterly"]
    assert disabled == {"harvest": '[schedule] harvest = "off"', "digest": "no [email] section"}


def test_schedule_and_health_commands(config_path: Path, tmp_path: Path, clock: Clock) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["--config", str(config_path), "schedule"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "Mon 2026-11-16 18:00" in shown.output and "Fri 2026-11-20 16:00" in shown.output
    assert "Fri 2026-12-25 09:00" in shown.output  # the quarterly job's first firing that acts
    assert runner.invoke(cli, ["--config", str(config_path), "health"]).exit_code == 0
    broken = tmp_path / "broken.toml"
    broken.write_text('[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n')
    sick = runner.invoke(cli, ["--config", str(broken), "health"])
    assert sick.exit_code == 1 and "unhealthy" in sick.output
