"""Explicit links between activities: ticket keys, PR and issue references, shared epics.

These are near-certain, so they are applied before any similarity is computed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harvester.records import Activity

Relation = Literal["own", "mention", "epic", "parent"]

# jira keys: an upper-case project key, a dash, a number ("PAY-12", "OAK-154"); not part of a
# longer word, a version ("PAY-1.2") or a range ("PAY-1-3"). The one definition: drafting strips
# these from titles and the term step leaves them out, as they are links, not words
TICKET_KEY_PATTERN = r"(?<![A-Za-z0-9_-])[A-Z][A-Z0-9]{1,9}-[1-9]\d{0,6}(?![A-Za-z0-9_]|-\d|\.\d)"
TICKET_KEY = re.compile(TICKET_KEY_PATTERN)
# key-shaped words that are standards and encodings, not tickets
_NOT_PROJECTS = frozenset(
    {"UTF", "ISO", "SHA", "CVE", "RFC", "HTTP", "TLS", "SSL", "MD", "AES", "RSA", "GPT", "COVID",
     "IPV", "UTC", "GMT", "PEP", "JSR", "WCAG", "ES", "EC", "CP", "ASCII", "UCS", "HS", "RS", "PS"}
)  # fmt: skip
_GITHUB_URL = re.compile(r"https?://[^/\s]+/([\w.-]+/[\w.-]+)/(?:pull|pulls|issues|merge_requests)/(\d+)")
_QUALIFIED_NUMBER = re.compile(r"(?<![\w/])([\w.-]+/[\w.-]+)#(\d+)\b")
_BARE_NUMBER = re.compile(r"(?:^|(?<=[\s(\[]))#(\d+)\b")
_BRANCH_KEYS = ("head_ref", "branch")
_OWN_KEY_FIELDS = ("key", "issue_key", "ticket")


@dataclass(frozen=True, slots=True)
class Link:
    """Activities `a` and `b` (indexes into the batch) share a reference; `reason` says which."""

    a: int
    b: int
    reason: str


def references(activity: Activity) -> dict[str, Relation]:
    """Every ticket, PR or issue an activity is or mentions, as "ticket:KEY" / "gh:owner/repo#N"."""
    refs: dict[str, Relation] = {}

    def add(ref: str, relation: Relation) -> None:
        # being the thing outranks a mention of it, and an epic or parent outranks a mention
        if ref not in refs or refs[ref] == "mention":
            refs[ref] = relation

    own_text = " ".join([activity.url, *(str(activity.extra.get(f, "")) for f in _OWN_KEY_FIELDS)])
    if activity.kind == "ticket":
        own_text += " " + activity.id
        for key in _ticket_keys(own_text):
            add(f"ticket:{key}", "own")
    for repo, number in _GITHUB_URL.findall(activity.url):
        add(f"gh:{repo.lower()}#{number}", "own")
    # a commit titled with its ticket's key names its own work there; other keys in its body are
    # work it touches on ("also fixes the flaky test of OAK-12"), not the same piece of work
    titled = activity.kind != "ticket" and bool(_ticket_keys(activity.title))
    body = "" if titled else activity.body
    mention_text = "\n".join([activity.title, body, *(str(activity.extra.get(f, "")) for f in _BRANCH_KEYS)])
    if activity.kind != "ticket":
        mention_text += "\n" + activity.url
    for key in _ticket_keys(mention_text):
        add(f"ticket:{key}", "mention")
    for relation in ("epic", "parent"):
        value = activity.extra.get(relation)
        if value:
            keys = _ticket_keys(str(value))
            for key in keys or [str(value)]:
                add(f"ticket:{key}", relation)
    text = activity.title + "\n" + activity.body
    for repo, number in _GITHUB_URL.findall(text):
        add(f"gh:{repo.lower()}#{number}", "mention")
    for repo, number in _QUALIFIED_NUMBER.findall(text):
        add(f"gh:{repo.lower()}#{number}", "mention")
    if activity.repo:
        for number in _BARE_NUMBER.findall(text):
            add(f"gh:{activity.repo.lower()}#{number}", "mention")
    return refs


def explicit_links(activities: Sequence[Activity], refs: Sequence[dict[str, Relation]] | None = None) -> list[Link]:
    """Links between activities that share a reference, each holder tied to the first one.

    `refs` are the activities' `references`, when the caller has them already.
    """
    if refs is None:
        refs = [references(a) for a in activities]
    holders: dict[str, list[tuple[int, Relation]]] = defaultdict(list)
    for index, found in enumerate(refs):
        for ref, relation in found.items():
            holders[ref].append((index, relation))
    links: list[Link] = []
    for ref, held in holders.items():
        if len(held) < 2:
            continue
        relations = {relation for _, relation in held}
        reason = _reason(ref, relations)
        first = held[0][0]
        links.extend(Link(first, other, reason) for other, _ in held[1:])
    return links


def _ticket_keys(text: str) -> list[str]:
    return [key for key in TICKET_KEY.findall(text) if key.split("-", 1)[0] not in _NOT_PROJECTS]


def _reason(ref: str, relations: set[Relation]) -> str:
    label = ref.split(":", 1)[1]
    if ref.startswith("gh:"):
        return f"references {label}"
    for relation in ("epic", "parent"):
        if relation in relations:
            return f"same {relation} {label}"
    return f"same ticket {label}"
