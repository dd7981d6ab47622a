"""Drafting a candidate's title, one-line summary and the reason for its grouping."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from harvester.records import Activity

_NOUNS = {
    "pull_request": ("PR", "PRs"),
    "commit": ("commit", "commits"),
    "review": ("review", "reviews"),
    "ticket": ("ticket", "tickets"),
    "event": ("meeting", "meetings"),
}
_KIND_ORDER = ("pull_request", "commit", "review", "ticket", "event")
# which member's title names the work best: a ticket summary is written for people,
# a commit title for the log
_TITLE_PREFERENCE = {"ticket": 0, "pull_request": 1, "event": 3, "review": 4, "commit": 2}
_LEADING_NOISE = re.compile(r"^\s*(?:(?:\[[^\]]*\]|[A-Z][A-Z0-9]{1,9}-\d+:?|#\d+:?|[a-z]+(?:\([^)]*\))?!?:)\s*)+")
_TRAILING_NOISE = re.compile(r"\s*(?:\((?:wip|#\d+)\)|\.)\s*$", re.IGNORECASE)
# imperative commit verbs and their past tense, so a title reads as something done
_PAST = {
    "add": "Added", "fix": "Fixed", "remove": "Removed", "refactor": "Refactored", "implement": "Implemented",
    "improve": "Improved", "update": "Updated", "move": "Moved", "rename": "Renamed", "support": "Supported",
    "use": "Used", "make": "Made", "enable": "Enabled", "disable": "Disabled", "build": "Built",
    "write": "Wrote", "run": "Ran", "create": "Created", "migrate": "Migrated", "replace": "Replaced",
    "introduce": "Introduced", "simplify": "Simplified", "optimize": "Optimized", "reduce": "Reduced",
    "speed": "Sped", "merge": "Merged", "upgrade": "Upgraded", "bump": "Bumped", "document": "Documented",
    "integrate": "Integrated", "extract": "Extracted", "avoid": "Avoided", "allow": "Allowed",
    "handle": "Handled", "clean": "Cleaned", "drop": "Dropped", "deprecate": "Deprecated",
    "ship": "Shipped", "design": "Designed", "review": "Reviewed", "prevent": "Prevented",
}  # fmt: skip


def draft_title(activities: Sequence[Activity], ticket_keys: Sequence[str] = ()) -> str:
    """A brag-doc bullet: what was done, on what ("Added retries to payment webhooks (PAY-12)")."""
    # among equally preferred kinds, the title most members share names the work
    votes = Counter(_clean(a.title).lower() for a in activities)
    best = min(activities, key=lambda a: (_TITLE_PREFERENCE.get(a.kind, 5), -votes[_clean(a.title).lower()]))
    text = _clean(best.title) or best.title.strip() or "Untitled work"
    kinds = {a.kind for a in activities}
    if kinds == {"review"}:
        count = len(activities)
        return f"Reviewed {count} PRs: {text}" if count > 1 else f"Reviewed {text}"
    if kinds != {"event"}:
        text = _past_tense(text)
    keys = list(ticket_keys)
    if keys and not any(k in text for k in keys):
        text += f" ({', '.join(keys[:2])})"
    return text


def draft_summary(activities: Sequence[Activity]) -> str:
    """Counts and sources: "3 PRs in octo/api, 1 ticket, 1 meeting"."""
    parts = []
    for kind in _KIND_ORDER:
        members = [a for a in activities if a.kind == kind]
        if not members:
            continue
        singular, plural = _NOUNS[kind]
        part = f"{len(members)} {singular if len(members) == 1 else plural}"
        repos = sorted({a.repo for a in members if a.repo})
        if kind != "ticket" and len(repos) == 1:
            part += f" in {repos[0]}"
        elif kind != "ticket" and len(repos) > 1:
            part += f" across {len(repos)} repos"
        parts.append(part)
    return ", ".join(parts)


def draft_why(link_reasons: Sequence[str], terms: Sequence[str], similar: bool, size: int) -> str:
    """Why these items are together ("same ticket PAY-12; shared terms: webhook, retry")."""
    if size == 1:
        return "nothing else this week looked related"
    parts = list(dict.fromkeys(link_reasons))[:3]
    if similar and terms:
        parts.append("shared terms: " + ", ".join(terms))
    elif similar:
        parts.append("similar files and timing")
    return "; ".join(parts) if parts else "grouped by you"


def _clean(title: str) -> str:
    text = _TRAILING_NOISE.sub("", _LEADING_NOISE.sub("", title.strip()))
    text = text.splitlines()[0].strip() if text else ""
    return text[:1].upper() + text[1:] if text else ""


def _past_tense(text: str) -> str:
    first, _, rest = text.partition(" ")
    past = _PAST.get(first.lower())
    if past is None:
        return text
    return f"{past} {rest}".strip()
