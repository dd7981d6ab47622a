"""Each member's digest at their own day and hour, in their own time zone (team mode's hourly tick)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from harvester.store.engine import open_store
from harvester.store.models import JobRun, User
from harvester.team.schedule import MemberSchedule, digests_due, member_cron, member_schedules

BERLIN = ZoneInfo("Europe/Berlin")
SERVICE_CRON = "0 16 * * fri"
GRACE = timedelta(days=3)


def test_a_members_day_and_hour_replace_the_services_in_the_cron() -> None:
    assert member_cron(SERVICE_CRON, None, None) == SERVICE_CRON
    assert member_cron(SERVICE_CRON, 0, 9) == "0 9 * * mon"
    assert member_cron(SERVICE_CRON, None, 7) == "0 7 * * fri"
    assert member_cron("30 17 * * 5", 6, None) == "30 17 * * sun"


def test_digests_are_due_at_each_members_own_time_for_their_own_week(tmp_path: Path) -> None:
    sessions = open_store(f"sqlite:///{tmp_path / 'brag.db'}")
    with sessions.begin() as session:
        people = [
            User(name="berlin-default", timezone="Europe/Berlin"),
            User(name="tokyo-monday-9", timezone="Asia/Tokyo", digest_weekday=0, digest_hour=9),
            User(name="no-zone-thursday", timezone=None, digest_weekday=3),
        ]
        session.add_all(people)
        session.flush()
        ids = [person.id for person in people]
        schedules = member_schedules(session, ids)
    assert schedules[1] == MemberSchedule(ids[1], "Asia/Tokyo", 0, 9)

    def due(when: datetime) -> dict[str, list[int]]:
        with sessions() as session:
            return dict(digests_due(session, schedules, SERVICE_CRON, BERLIN, when, GRACE))

    # Friday 4 December 2026, 16:30 in Berlin: the default member's digest for W49, and the
    # Thursday-16:00 member's (in the service's zone, theirs unset) from the day before
    assert due(datetime(2026, 12, 4, 16, 30, tzinfo=BERLIN)) == {"2026-W49": [ids[0], ids[2]]}
    # Monday 7 December, 9:10 in Tokyo is Sunday 6 December in Berlin: the Tokyo member's Monday
    # digest is for Tokyo's week 50; Friday's is still within the three days' grace, Thursday's not
    tokyo_monday = datetime(2026, 12, 7, 9, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert due(tokyo_monday) == {"2026-W49": [ids[0]], "2026-W50": [ids[1]]}
    # an hour earlier the Tokyo member's digest is not due yet (the last Monday 9:00 is a week old)
    assert due(tokyo_monday - timedelta(hours=1)) == {"2026-W49": [ids[0]]}
    # a digest done for its week is not queued again
    with sessions.begin() as session:
        session.add(
            JobRun(user_id=ids[0], job="digest", period="2026-W49", status=JobRun.DONE, started_at=datetime.now(UTC))
        )
    assert due(tokyo_monday) == {"2026-W50": [ids[1]]}
    # past the grace period nothing of W49 is due any more
    assert due(datetime(2026, 12, 8, 12, 0, tzinfo=BERLIN)) == {"2026-W50": [ids[1]]}
