"""Person keys: the same person compares equal across sources, nobody's address or name is kept."""

from __future__ import annotations

from harvester.people import entries, people_of, person_entry, shared_people


def test_the_same_person_matches_by_email_or_by_name() -> None:
    calendar = person_entry("Dana@Acme.example ", "Dana  Kim")
    assert shared_people([calendar], [person_entry("dana@acme.example")]) == 1
    # Jira Cloud hid the email: the name still matches
    assert shared_people([calendar], [person_entry(None, "dana kim")]) == 1
    assert shared_people([calendar], [person_entry("morgan@acme.example", "Morgan Lee")]) == 0


def test_a_key_says_nothing_of_who_it_was() -> None:
    entry = person_entry("dana@acme.example", "Dana Kim")
    assert "dana" not in entry.lower() and "@" not in entry and "kim" not in entry.lower()
    assert person_entry() == "" and person_entry("  ", "") == ""


def test_people_of_leaves_out_the_user_and_repeats() -> None:
    me = {"accountId": "5b10a", "displayName": "Me Myself"}
    reporter = {"accountId": "77", "displayName": "Sam Sre", "self": "https://jira/rest/api/3/user?accountId=77"}
    found = people_of([me, reporter, None, dict(reporter), {"accountId": "5b10a"}], me)
    assert found == [person_entry(None, "Sam Sre")]
    # Google marks the user's own attendee entry with self: true
    attendees = [{"email": "me@acme.example", "self": True}, {"email": "kim@acme.example"}]
    assert people_of(attendees) == [person_entry("kim@acme.example")]


def test_entries_ignore_what_is_not_a_list_of_keys() -> None:
    assert entries({}) == [] and entries({"people": "dana"}) == []
    assert entries({"people": ["ab12 cd34", 3, ""]}) == ["ab12 cd34"]


def test_what_is_not_a_user_object_names_nobody() -> None:
    odd: list = ["sam", 3, {"displayName": 7, "emailAddress": ["x"]}, {"displayName": "Kim Data"}]
    assert people_of(odd) == [person_entry(None, "Kim Data")]
