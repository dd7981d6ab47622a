"""A meeting whose title names no work joins the work its people took part in, and says so;
a crowd with two of them in it, a tie, or one person in common does not."""

from __future__ import annotations

from conftest import act
from spacy.language import Language

from harvester.clustering import Candidate, cluster_week
from harvester.people import person_entry
from harvester.records import Activity

SAM = person_entry("sam@acme.example", "Sam Sre")
ALEX = person_entry("alex@acme.example", "Alex Backend")
# Jira Cloud hid Alex's email: the ticket knows Alex by name only
ALEX_BY_NAME = person_entry(None, "Alex Backend")
KIM = person_entry("kim@acme.example", "Kim Data")
LEE = person_entry("lee@acme.example", "Lee Frontend")


def meeting(title: str, who: list[str], hours: float = 30) -> Activity:
    extra = {"attendee_count": len(who) + 1, "organized": False, "recurring": False, "people": who}
    return act("meeting", "event", title, hours=hours, extra=extra)


def week(*extra: Activity) -> list[Activity]:
    return [
        act("ops45", "ticket", "Rotate CI runner credentials", hours=50, url="https://jira/browse/OPS-45",
            extra={"key": "OPS-45", "people": [SAM, ALEX_BY_NAME]}),
        act("pay58", "ticket", "Fix double refund on concurrent requests", hours=70, url="https://jira/browse/PAY-58",
            extra={"key": "PAY-58", "people": [KIM, LEE]}),
        *extra,
    ]  # fmt: skip


def holding(candidates: list[Candidate], activity_id: str) -> Candidate:
    return next(c for c in candidates if activity_id in c.activity_ids)


def test_a_meeting_joins_the_ticket_its_people_worked_on(nlp: Language) -> None:
    candidates = cluster_week(week(meeting("Runner token handover", [SAM, ALEX])), nlp)
    joined = holding(candidates, "meeting")
    assert sorted(joined.activity_ids) == ["meeting", "ops45"]
    assert "2 of the meeting's people also worked on OPS-45" in joined.why
    assert "similar files and timing" not in joined.why


def test_two_of_a_crowd_are_not_the_meeting(blank_nlp: Language) -> None:
    crowd = [SAM, ALEX, KIM, LEE, *(person_entry(f"p{n}@acme.example") for n in range(4))]
    candidates = cluster_week(week(meeting("Quarterly kickoff", crowd)), blank_nlp)
    assert holding(candidates, "meeting").activity_ids == ("meeting",)


def test_a_tie_between_two_tickets_joins_neither(blank_nlp: Language) -> None:
    candidates = cluster_week(week(meeting("Thursday catch-up", [SAM, ALEX, KIM, LEE])), blank_nlp)
    assert holding(candidates, "meeting").activity_ids == ("meeting",)


def test_one_person_in_common_is_not_enough(blank_nlp: Language) -> None:
    candidates = cluster_week(week(meeting("Coffee and roadmap", [SAM, person_entry("x@acme.example")])), blank_nlp)
    assert holding(candidates, "meeting").activity_ids == ("meeting",)


def test_a_title_that_names_the_work_still_wins(blank_nlp: Language) -> None:
    # Kim and Lee worked on PAY-58, but the meeting is about the runner credentials
    candidates = cluster_week(week(meeting("Rotate runner credentials sync", [KIM, LEE])), blank_nlp)
    assert sorted(holding(candidates, "meeting").activity_ids) == ["meeting", "ops45"]
