"""The week's chores, kept together: formatting, unused imports, javadoc, warnings, version bumps.

One chore is rarely a win, and a week's chores are rarely told apart by their words: "fix source
code formatting", "remove unused import" and "fix modifier order" share nothing the pair model
can use, yet they are one clean-up (on the dev set such umbrella work is the largest share of
same-work pairs missed). After grouping, `cluster_week` puts the groups that hold no ticket and
are mostly chores into one group, titled for what was cleaned up ("Cleaned up the code in 12
commits: formatting, unused imports and docs"). Measured on the stripped dev set
(benchmarks/cluster_quality.py): F1 0.806 -> 0.821; apache/pdfbox, whose clean-ups share
umbrella tickets, 0.669 -> 0.708; jackrabbit-oak, whose mostly don't, 0.915 -> 0.914. An item
that names a ticket, a candidate the user edited and a cannot-link still hold. Pure: no spaCy.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence

from harvester.records import Activity

# maintenance words of commit and pull request titles, each with what it cleans up. Each names
# the code as its object, so product work that shares a word stays work: "Format refund amounts",
# "Simplify the checkout flow", "Avoid double refunds", "Clean up expired sessions", "Support AWS
# Lambda", "Update the current user's avatar". Refactors and deprecations are left out: they are
# designed changes, often a ticket's own work.
_TOPICS: tuple[tuple[str, str], ...] = (
    (
        r"reformat\w*|(fix(ed|es|ing)?|code|source( code)?|apply|applied|run) (the )?format\w*"
        r"|format\w* (of )?(the )?(code|sources?|files?)|formatting (fix\w*|issues?|changes?)"
        r"|(clean(ed)? ?up|fix\w*|improv\w*)\b.*\bformatting"
        r"|whitespaces?|trailing spaces?|indent\w*|checkstyle|code style|modifier order|bracket position"
        r"|spotless|prettier|gofmt|rustfmt",
        "formatting",
    ),
    (
        r"(unused|unnecessary|redundant|wildcard|organi[sz]e[sd]?|remove[sd]?|optimi[sz]e[sd]?) imports?",
        "unused imports",
    ),
    (r"javadocs?|typos?|commented[- ]out|commented code|spelling", "docs"),
    (
        r"(fix\w*|avoid\w*|suppress\w*|silenc\w*|remov\w*|resolv\w*|address\w*|disabl\w*)\b.*\bwarnings?"
        r"|(compiler|javac|build|deprecation|lint|static analysis) warnings?|warnings? fix\w*"
        r"|sonar\w*|findbugs|spotbugs|lint(er|ing)?|raw ?types?|unchecked casts?|serial ?version ?uid"
        r"|try[- ]with(-resources)?|@override|override annotations?"
        r"|(use|using|convert\w*|replace\w*)\b.*\b(lambdas?|diamond( operator)?|foreach|for-each|method references?)",
        "warnings",
    ),
    (
        r"unused|unnecessary|redundant|unneeded|not needed|dead code|no longer (used|needed)"
        r"|(code|source) clean ?up|clean ?up (the )?code|^clean ?up$|simplify code|code simplification"
        r"|avoid (a |an )?(potential |possible )?(npe|null ?pointer\w*|overridable|inefficient|unnecessary)"
        r"|make \S+ final|(fields?|variables?|parameters?) final",
        "dead code",
    ),
    # "update" alone is any change ("update test exclusions"): a version bump names what it bumps to
    (
        r"bump(ed|s)?|dependenc(y|ies)"
        r"|(update[sd]?|upgrade[sd]?) (\S+ )?(to )?(v?\d+\.\d+[\w.-]*|the latest|latest|snapshot)"
        r"|(update[sd]?|upgrade[sd]?|set) (to |the )?(current|latest|new) versions?|\S+ plugin versions?"
        r"|versions? of \S+ plugin",
        "dependency updates",
    ),
)
_PATTERNS = tuple((re.compile(rf"\b({words})\b", re.I), topic) for words, topic in _TOPICS)
_CHORE_KINDS = frozenset({"commit", "pull_request"})
# a group counts as chores when at least this share of its items are ("remove unused import"
# with "fix javadoc of the new method" is still a clean-up)
CHORE_SHARE = 0.75
_KIND_NOUNS = {"commit": ("commit", "commits"), "pull_request": ("pull request", "pull requests")}


def chore_topic(activity: Activity) -> str | None:
    """What this commit or pull request cleans up ("formatting"), or None when it is no chore."""
    if activity.kind not in _CHORE_KINDS:
        return None
    return _title_topic(activity.title)


# a group's items are asked again when it is titled and when its why is drafted
@functools.lru_cache(maxsize=8192)
def _title_topic(title: str) -> str | None:
    return next((topic for pattern, topic in _PATTERNS if pattern.search(title)), None)


def mostly_chores(activities: Sequence[Activity]) -> bool:
    """Whether these are commits or pull requests, at least `CHORE_SHARE` of them chores: a
    group of no ticket's work that `cluster_week` gathers with the week's other chores."""
    # asked of every group of every week: one plain loop
    chores = 0
    for activity in activities:
        if activity.kind not in _CHORE_KINDS:
            return False
        if _title_topic(activity.title) is not None:
            chores += 1
    return bool(activities) and chores >= CHORE_SHARE * len(activities)


def is_chores(activities: Sequence[Activity]) -> bool:
    """Whether these are the week's chores, gathered: several of them, mostly chores."""
    return len(activities) >= 2 and mostly_chores(activities)


def chores_title(activities: Sequence[Activity]) -> str:
    """ "Cleaned up the code in 12 commits: formatting, unused imports and warnings";
    "Updated dependencies in 3 pull requests" when that is all they did."""
    topics = Counter(topic for a in activities if (topic := chore_topic(a)) is not None)
    named = [topic for topic, _ in topics.most_common(3)]
    kinds = {a.kind for a in activities}
    one, several = _KIND_NOUNS[kinds.pop()] if len(kinds) == 1 else ("change", "changes")
    counted = f"{len(activities)} {one if len(activities) == 1 else several}"
    if named == ["dependency updates"]:
        return f"Updated dependencies in {counted}"
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"Cleaned up the code in {counted}: {listed}"


__all__ = ["CHORE_SHARE", "chore_topic", "chores_title", "is_chores", "mostly_chores"]
