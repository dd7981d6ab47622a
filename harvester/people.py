"""Who else took part in a record, kept as keys that compare without saying who it was.

A meeting joins the work of the week when the people in it also took part in that work (they
reported, were assigned, changed or commented on the ticket). Records keep metadata only, so a
connector never stores an email address or a name: each person becomes one entry of keys, a
truncated SHA-256 of their email and of their name (a Jira Cloud user often shows no email, a
calendar attendee always does, a name is in both). Two entries are the same person when they
share a key. The keys are pseudonyms, not secrets: someone holding the store and guessing an
address can confirm it, as they could read the meeting titles beside it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# what `Activity.extra` holds the entries under, in calendar events and tickets
PEOPLE = "people"
# 64 bits: no two of an organisation's people share a key by chance
_KEY_HEX = 16
_DOMAIN = b"brag-harvester person\x00"


def person_entry(email: str | None = None, name: str | None = None) -> str:
    """One person as space-separated keys of their email and their name ("" when neither is given)."""
    keys = []
    if email and email.strip():
        keys.append(_key("email", email.strip().casefold()))
    if name and name.strip():
        keys.append(_key("name", " ".join(name.split()).casefold()))
    return " ".join(keys)


def entries(extra: Mapping[str, Any]) -> list[str]:
    """The person entries of a record's `extra` (none when it has no people or an odd value)."""
    found = extra.get(PEOPLE)
    if not isinstance(found, list | tuple):
        return []
    return [entry for entry in found if isinstance(entry, str) and entry]


def shared_people(these: Sequence[str], those: Iterable[str]) -> int:
    """How many people of `these` entries are among `those` entries."""
    known = {key for entry in those for key in entry.split()}
    return sum(1 for entry in these if known.intersection(entry.split()))


def people_of(users: Iterable[object], me: Mapping[str, Any] | None = None) -> list[str]:
    """The distinct person entries of API user objects (Jira's `emailAddress` / `displayName`,
    Google's `email` / `displayName`), leaving out `me` (matched on `account_ids`), Google's own
    attendee entry (`self: true`) and empty ones."""
    mine = account_ids(me) if me else set()
    found: dict[str, None] = {}
    for user in users:
        # a malformed answer's user may be anything: only an object names a person
        if not isinstance(user, Mapping) or not user:
            continue
        if account_ids(user) & mine or user.get("self") is True:
            continue
        email, name = user.get("emailAddress") or user.get("email"), user.get("displayName")
        entry = person_entry(email if isinstance(email, str) else None, name if isinstance(name, str) else None)
        if entry:
            found[entry] = None
    return sorted(found)


def account_ids(user: Mapping[str, Any]) -> set[str]:
    """The ids a Jira user object is known by: Cloud's `accountId`, Server/DC's `name` and `key`."""
    return {str(user[k]) for k in ("accountId", "name", "key") if user.get(k)}


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(_DOMAIN + kind.encode() + b"\x00" + value.encode()).hexdigest()[:_KEY_HEX]


__all__ = ["PEOPLE", "account_ids", "entries", "people_of", "person_entry", "shared_people"]
