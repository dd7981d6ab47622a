"""Whether drafted titles read as brag-doc bullets, on a hand-labelled set.

    python benchmarks/title_quality.py [--data benchmarks/data/titles.jsonl] [--show]

Each line of the set is one candidate's members (the demo scenario's groups and realistic titles
of our own) and a hand label, `noun_lead`: the title that names the work starts with a noun, not
a verb ("Dark mode for the settings page", "Design review: webhook retries"). Printed: the share of
titles that start with a past-tense verb, keys that leak (an epic's or parent's key, more than one
key) and nouns wrongly inflected ("Designed review"); the target is 100% / 0 / 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lemminflect import getAllLemmas, getAllLemmasOOV, getInflection

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harvester.clustering.drafting import draft_title  # noqa: E402
from harvester.clustering.references import TICKET_KEY  # noqa: E402
from harvester.records import Activity  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "titles.jsonl"
MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)
SOURCES = {"ticket": "jira", "event": "google_calendar", "commit": "git"}
# a candidate's title may open with a private event's fixed name, which is counted, never titled
UNTITLED = ("Private event",)


@dataclass(frozen=True)
class Case:
    name: str
    activities: list[Activity]
    noun_lead: bool


def load(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text().splitlines()):
        if line.strip():
            raw = json.loads(line)
            members = [_activity(f"{number}-{i}", fields) for i, fields in enumerate(raw["activities"])]
            cases.append(Case(raw["name"], members, bool(raw["noun_lead"])))
    return cases


def _activity(activity_id: str, fields: dict[str, Any]) -> Activity:
    kind = fields["kind"]
    return Activity(
        id=activity_id,
        source=SOURCES.get(kind, "github"),
        kind=kind,
        title=fields["title"],
        occurred_at=MONDAY + timedelta(hours=len(activity_id)),
        url=fields.get("url", ""),
        labels=tuple(fields.get("labels", ())),
        extra=fields.get("extra", {}),
        subject_title=fields.get("subject_title", ""),
        subject_url=fields.get("subject_url", ""),
    )


def ticket_keys(activities: list[Activity]) -> list[str]:
    """Every key the members name or belong to, as clustering hands them to `draft_title`."""
    keys = {key for a in activities for key in TICKET_KEY.findall(" ".join([a.title, a.url]))}
    keys |= {str(a.extra[f]) for a in activities for f in ("key", "epic", "parent") if a.extra.get(f)}
    return sorted(keys)


def starts_with_past_tense(title: str) -> bool:
    word = title.split(" ", 1)[0].lower()
    # the dictionary's lemmas, else its rules for words it lacks ("refactored", "deduped")
    lemmas = getAllLemmas(word, upos="VERB").get("VERB") or getAllLemmasOOV(word, upos="VERB").get("VERB", ())
    return any(word in getInflection(lemma, tag="VBD") for lemma in lemmas)


def wrongly_inflected(case: Case, title: str) -> bool:
    """A noun-led title whose noun came out as a verb: "Designed review: ...", "Darked mode ..."."""
    if not case.noun_lead:
        return False
    drafted, _, rest = title.partition(" ")
    for activity in case.activities:
        first, _, own_rest = TICKET_KEY.sub("", activity.title).strip(" :").partition(" ")
        # the noun put in the past where it stood; a sentence built around it ("Led the design review
        # of ...") is not an inflection
        if drafted.lower() in getInflection(first.lower(), tag="VBD") and rest.startswith(own_rest.split(" ")[0]):
            return True
    return False


def leaked_keys(case: Case, title: str) -> list[str]:
    """Keys a title must not show: an epic's or parent's, and any after the first."""
    broader = {str(a.extra[f]) for a in case.activities for f in ("epic", "parent") if a.extra.get(f)}
    keys = TICKET_KEY.findall(title)
    return [k for k in keys if k in broader] + keys[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show", action="store_true", help="print every drafted title")
    args = parser.parse_args(argv)
    cases = load(args.data)
    past = leaks = inflected = 0
    titled = 0
    for case in cases:
        title = draft_title(case.activities, ticket_keys(case.activities))
        problems = []
        if title not in UNTITLED:
            titled += 1
            if starts_with_past_tense(title):
                past += 1
            else:
                problems.append("no past-tense verb first")
        if leaked := leaked_keys(case, title):
            leaks += len(leaked)
            problems.append(f"leaked {', '.join(leaked)}")
        if wrongly_inflected(case, title):
            inflected += 1
            problems.append("noun inflected")
        if args.show or problems:
            print(f"{'  ' if not problems else '! '}{title}" + (f"   [{'; '.join(problems)}]" if problems else ""))
    print(f"titles: {len(cases)} ({sum(c.noun_lead for c in cases)} led by a noun)")
    print(f"start with a past-tense verb: {past}/{titled} ({past / max(titled, 1):.0%})")
    print(f"keys that leak (epic or parent keys, keys after the first): {leaks}")
    print(f"nouns wrongly inflected: {inflected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
