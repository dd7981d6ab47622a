"""Drafting a candidate's title, one-line summary and the reason for its grouping."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence

from harvester.clustering.references import TICKET_KEY_PATTERN
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
# a bullet names this many reviewed PRs, then counts the rest
MAX_NAMED_REVIEWS = 3
_LEADING_NOISE = re.compile(rf"^\s*(?:(?:\[[^\]]*\]|{TICKET_KEY_PATTERN}:?|#\d+:?|[a-z]+(?:\([^)]*\))?!?:)\s*)+")
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
    "retry": "Retried", "rotate": "Rotated", "cache": "Cached", "batch": "Batched", "cut": "Cut",
    "tune": "Tuned", "harden": "Hardened", "expose": "Exposed", "restore": "Restored", "revert": "Reverted",
    "validate": "Validated", "configure": "Configured", "convert": "Converted", "split": "Split",
    "track": "Tracked", "log": "Logged", "publish": "Published", "release": "Released", "deploy": "Deployed",
    "test": "Tested", "investigate": "Investigated", "automate": "Automated", "consolidate": "Consolidated",
    "limit": "Limited", "paginate": "Paginated", "backfill": "Backfilled", "persist": "Persisted",
    "encrypt": "Encrypted", "sanitize": "Sanitized", "parse": "Parsed", "rewrite": "Rewrote",
    "rework": "Reworked", "change": "Changed", "set": "Set", "pin": "Pinned", "delete": "Deleted",
    "expand": "Expanded", "extend": "Extended", "scale": "Scaled", "generate": "Generated",
    "send": "Sent", "show": "Showed", "hide": "Hid", "render": "Rendered", "load": "Loaded",
    "fetch": "Fetched", "sync": "Synced", "export": "Exported", "import": "Imported",
    "translate": "Translated", "ensure": "Ensured", "prepare": "Prepared", "resolve": "Resolved",
    "correct": "Corrected", "increase": "Increased", "decrease": "Decreased", "lower": "Lowered",
    "raise": "Raised", "monitor": "Monitored", "measure": "Measured", "profile": "Profiled",
    "cleanup": "Cleaned up", "tidy": "Tidied", "polish": "Polished", "address": "Addressed",
    "apply": "Applied", "catch": "Caught", "wire": "Wired", "guard": "Guarded", "deduplicate": "Deduplicated",
}  # fmt: skip


def draft_title(activities: Sequence[Activity], ticket_keys: Sequence[str] = ()) -> str:
    """A brag-doc bullet: what was done, on what ("Added retries to payment webhooks (PAY-12)")."""
    cleaned = [_clean(a.title) for a in activities]
    kinds = {a.kind for a in activities}
    if kinds == {"review"}:
        return _reviews_title(activities)
    best = 0
    if len(activities) > 1:
        # among equally preferred kinds, the title most members share names the work
        votes = Counter(c.lower() for c in cleaned)
        best = min(
            range(len(activities)),
            key=lambda i: (_TITLE_PREFERENCE.get(activities[i].kind, 5), -votes[cleaned[i].lower()], i),
        )
    text = cleaned[best] or activities[best].title.strip() or "Untitled work"
    if kinds != {"event"}:
        text = _past_tense(text)
    keys = list(ticket_keys)
    if keys and not any(k in text for k in keys):
        text += f" ({', '.join(keys[:2])})"
    return text


def _reviews_title(reviews: Sequence[Activity]) -> str:
    """ "Reviewed Refactor invoice PDF rendering", or "Reviewed 2 PRs: Fix flaky test, Add metrics"."""
    prs: dict[str, str] = {}
    for review in reviews:
        # the reviewed work's own title and URL (Activity.subject_*); the review's title says "Reviewed"
        title = _clean(review.subject_title or review.title) or "a pull request"
        prs.setdefault(review.subject_url or title.lower(), title)
    names = list(dict.fromkeys(prs.values()))
    if len(prs) == 1:
        return f"Reviewed {names[0]}"
    listed = ", ".join(names[:MAX_NAMED_REVIEWS])
    if len(names) > MAX_NAMED_REVIEWS:
        listed += f" and {len(names) - MAX_NAMED_REVIEWS} more"
    return f"Reviewed {len(prs)} PRs: {listed}"


def draft_summary(activities: Sequence[Activity]) -> str:
    """Counts and sources: "3 PRs in octo/api, 1 ticket, 1 meeting"."""
    by_kind: dict[str, list[Activity]] = {}
    for activity in activities:
        by_kind.setdefault(activity.kind, []).append(activity)
    parts = []
    for kind in _KIND_ORDER:
        members = by_kind.get(kind)
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


def draft_why(
    link_reasons: Sequence[str], terms: Sequence[str], similar: bool, size: int, kinds: Sequence[str] = ()
) -> str:
    """Why these items are together ("same ticket PAY-12; shared terms: webhook, retry")."""
    if size == 1:
        return "a review of a teammate's PR" if list(kinds) == ["review"] else "nothing else this week looked related"
    parts = list(dict.fromkeys(link_reasons))[:3]
    if kinds and set(kinds) == {"review"}:
        parts.append("reviews of teammates' PRs this week")
    elif similar and terms:
        parts.append("shared terms: " + ", ".join(terms))
    elif similar:
        parts.append("similar files and timing")
    return "; ".join(parts) if parts else "grouped by you"


@functools.lru_cache(maxsize=8192)
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
