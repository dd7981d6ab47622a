"""Projects: the Jira epic (or parent) a candidate's work belongs to, named by its summary.

Pure, over the activities of candidates. The Jira connector records a ticket's epic as
`extra["epic"]`/`extra["epic_summary"]` (Cloud's `parent` when it is an epic, Server/DC's Epic Link)
and any other parent as `extra["parent"]`/`extra["parent_summary"]`. PRs and meetings joined to a
ticket share its candidate, so the ticket's epic is the whole candidate's project.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from harvester.display import one_line
from harvester.records import Activity

K = TypeVar("K", bound=Hashable)

# relations in order of preference: an epic names a body of work, a parent (a story above a
# sub-task) only when no epic is known
_RELATIONS = ("epic", "parent")


@dataclass(frozen=True, order=True)
class Project:
    """An epic or parent, by its Jira key; `name` is its summary, or the key when none is known."""

    key: str
    name: str


def project_heading(name: str, count: int) -> str:
    """The line every document puts above a project's entries: "Payments reliability: 4 entries"."""
    return f"{name}: {count} {'entry' if count == 1 else 'entries'}"


def _link(activity: Activity) -> tuple[int, str, str] | None:
    """(preference, key, summary) of the epic or parent `activity` belongs to, if it names one."""
    extra = activity.extra or {}
    if activity.kind == "ticket" and str(extra.get("issue_type") or "").lower() == "epic" and extra.get("key"):
        # the epic itself, closed by the user, is its own project (its parent would be an initiative)
        return 0, one_line(str(extra["key"])), one_line(activity.title)
    for rank, relation in enumerate(_RELATIONS):
        key = one_line(str(extra.get(relation) or ""))
        if key:
            return rank, key, one_line(str(extra.get(f"{relation}_summary") or ""))
    return None


def project_names(activities: Iterable[Activity]) -> dict[str, str]:
    """Each epic or parent key's name: the summary its newest mention carries, else the key.

    Taken over all the activities given (every week loaded), so candidates of the same epic in
    different weeks carry the same name even if the epic was renamed, or a harvest missed its summary.
    """
    newest: dict[str, tuple[Activity, str]] = {}
    for activity in activities:
        link = _link(activity)
        if link is None:
            continue
        _, key, summary = link
        seen = newest.get(key)
        if summary and (seen is None or not seen[1] or activity.occurred_at >= seen[0].occurred_at):
            newest[key] = (activity, summary)
        elif seen is None:
            newest[key] = (activity, "")
    return {key: summary or key for key, (_, summary) in newest.items()}


def project_of(activities: Iterable[Activity], names: Mapping[str, str] | None = None) -> Project | None:
    """The project of a candidate made of `activities`: the epic most of its items belong to.

    An epic outranks a mere parent; among equals the key sorting first wins, so the answer does not
    depend on the order the items were stored in.
    """
    items = list(activities)
    votes: Counter[tuple[int, str]] = Counter()
    for activity in items:
        if (link := _link(activity)) is not None:
            votes[link[:2]] += 1
    if not votes:
        return None
    _, key = min(votes, key=lambda vote: (vote[0], -votes[vote], vote[1]))
    known = names if names is not None else project_names(items)
    return Project(key, known.get(key) or key)


def projects_of(groups: Mapping[K, Sequence[Activity]]) -> dict[K, Project | None]:
    """The project of each candidate in `groups` (candidate → its activities), named consistently."""
    names = project_names(a for activities in groups.values() for a in activities)
    return {candidate: project_of(activities, names) for candidate, activities in groups.items()}


__all__ = ["Project", "project_heading", "project_names", "project_of", "projects_of"]
