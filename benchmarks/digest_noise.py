"""How much of the weekly email is noise, and whether real work goes missing, on labelled weeks.

    python benchmarks/digest_noise.py [--weeks benchmarks/data/weeks] [--no-demo] [--max-items 7] [--show]

Every week goes through the product's own path: the records are stored in a temporary SQLite
store, clustered by `Context.finish_clustering` (what every command runs), and each week's email is
built by `load_digest` and rendered by `render_text`, exactly as `brag digest --send` does. The
demo scenario runs as `brag demo` does, against its sandbox servers.

The weeks are `NAME-YYYY-Www.jsonl`, one store per NAME: `rosa-*` (a search engineer, five weeks)
were written and labelled before the digest ever ran on them; `tomas-*` (a mobile engineer, two
weeks) after the fixes they led to, and labelled before running them; `noor-*` (a platform
engineer, one week, with people keys on tickets and meetings, a week's chores and a feature that
uses a chore's word) after the chores step and people joins, labelled before running it.

Each record is labelled (the `label` field of `benchmarks/data/weeks/*.jsonl`; for the demo, from
the scenario: its PRs and tickets are work, meetings about a feature and the incident review the
user ran are accomplishments, the rest of the calendar is noise):

- `work`: a PR, ticket or commit; it must be in a candidate the email lists or counts;
- `review`: a review given; it must be in a listed or counted candidate (the reviews roll-up, or
  the work it is about);
- `rollup-meeting`: a meeting worth naming (interview, incident bridge, postmortem, design review,
  talk, training, a large meeting the user organised, a meeting about a piece of work); it must
  be evidence of a work candidate or be named in the meetings line, not merely counted;
- `noise`: 1:1s, private events, solo blocks, rituals, socials; it must never be listed: shown as
  evidence of a listed candidate, giving it its title, named in the meetings line, or its title
  anywhere in the text. Noise grouped into a listed candidate but not shown is printed apart
  ("grouped"): the email is clean, the grouping is not.

Printed per week: candidates emailed (this week's and earlier weeks'), roll-ups, noise items
emailed, real items missing, and the totals against the issue's targets: noise 0, missing 0,
emailed per week at most max_items + roll-ups.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harvester.clustering.meetings import classify  # noqa: E402
from harvester.config import LoadedConfig, parse_settings  # noqa: E402
from harvester.context import Context  # noqa: E402
from harvester.digest import Digest, render_text  # noqa: E402
from harvester.digest.model import DEFAULT_MAX_ITEMS  # noqa: E402
from harvester.digest.outbox import load_digest  # noqa: E402
from harvester.digest.ranking import meetings_only  # noqa: E402
from harvester.records import Activity  # noqa: E402
from harvester.store import repository  # noqa: E402
from harvester.timeutil import system_timezone  # noqa: E402

WEEKS = Path(__file__).resolve().parent / "data" / "weeks"
LABELS = ("work", "review", "rollup-meeting", "noise")
BASE_URL = "http://127.0.0.1:8765"


@dataclass
class WeekScore:
    name: str
    emailed: int = 0
    earlier: int = 0
    rollups: int = 0
    noise: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    page_only: int = 0
    listed: list[str] = field(default_factory=list)
    meetings: str = ""
    # noise grouped into a listed candidate but not shown in the email (a grouping problem)
    grouped: list[str] = field(default_factory=list)

    def over_budget(self, max_items: int) -> bool:
        return self.emailed + self.earlier > max_items + self.rollups


def load_weeks(folder: Path) -> dict[str, tuple[list[Activity], dict[str, str]]]:
    """Every labelled record of the folder's *.jsonl files, by engineer (`NAME-2026-W40.jsonl`)."""
    people: dict[str, tuple[list[Activity], dict[str, str]]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        person = re.sub(r"-\d{4}-W\d{2}$", "", path.stem)
        activities, labels = people.setdefault(person, ([], {}))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            label = raw.get("label")
            if label not in LABELS:
                raise SystemExit(f"{path}:{number}: label must be one of {LABELS}, not {label!r}")
            activity = Activity.from_json(raw)
            activities.append(activity)
            labels[activity.id] = label
    return people


def open_store(folder: Path, user: str, zone_name: str) -> Context:
    folder.mkdir(parents=True, exist_ok=True)
    settings = parse_settings(
        {"database": {"url": f"sqlite:///{folder / 'brag.db'}"}, "user": {"name": user, "timezone": zone_name}}
    )
    return Context.open(LoadedConfig(settings=settings, path=None))


def labelled_context(folder: Path, person: str, activities: Sequence[Activity]) -> Context:
    """A store holding one engineer's labelled records, clustered as every command clusters them."""
    context = open_store(folder, person, "UTC")
    with context.sessions.begin() as session:
        repository.upsert_activities(session, context.user_id, activities)
    context.finish_clustering()
    return context


def demo_context(folder: Path) -> tuple[Context, dict[str, str]]:
    """`brag demo` into `folder`, and the labels its scenario implies for what was harvested."""
    from harvester.cli.demo_run import run_demo
    from harvester.sandbox.scenario import USER_LOGIN, Scenario

    run_demo(Console(file=io.StringIO()), folder)
    # the demo's store and zone, as its own configuration names them
    context = open_store(folder, "me", getattr(system_timezone(), "key", "UTC"))
    scenario = Scenario.generate()
    # the scenario's meetings about a feature, and the incident review the user ran ("ledgerlag")
    about_work = {event.id for event in scenario.calendar_events if event.ticket} | {"ledgerlag"}
    labels: dict[str, str] = {}
    with context.sessions() as session:
        for activity in repository.list_activities(session, context.user_id):
            if activity.kind == "event":
                label = "rollup-meeting" if activity.extra.get("event_id") in about_work else "noise"
            elif activity.kind == "review":
                label = "review"
            else:
                label = "work" if activity.kind == "ticket" or activity.author == USER_LOGIN else "noise"
            labels[activity.id] = label
    return context, labels


def score_weeks(context: Context, labels: Mapping[str, str], name: str, max_items: int) -> list[WeekScore]:
    scores = []
    with context.sessions() as session:
        rows = repository.candidate_rows(session, context.user_id, states=["pending"])
        weeks = sorted({row.week for row in rows})
        members = repository.candidate_members(session, [row.id for row in rows])
    by_public_id = {row.public_id: members[row.id] for row in rows}
    for week in weeks:
        with context.sessions() as session:
            digest = load_digest(
                session,
                user_id=context.user_id,
                user_name=context.config.settings.user.name,
                week=week,
                base_url=BASE_URL,
                zone=context.zone,
                max_items=max_items,
            )
        this_week = [by_public_id[row.public_id] for row in rows if row.week == week]
        scores.append(score_week(f"{name} {week}", digest, this_week, by_public_id, labels))
    return scores


def score_week(
    name: str,
    digest: Digest,
    candidates: Sequence[Sequence[Activity]],
    by_public_id: Mapping[str, Sequence[Activity]],
    labels: Mapping[str, str],
) -> WeekScore:
    """Score one week's email against the labels of the records behind it."""
    text = render_text(digest)
    listed = [*digest.entries, *digest.earlier]
    score = WeekScore(name, emailed=len(digest.entries), earlier=len(digest.earlier))
    score.listed = [entry.title for entry in listed]
    score.meetings = digest.meetings
    score.rollups = int(bool(digest.meetings)) + sum(
        1 for entry in digest.entries if all(a.kind == "review" for a in by_public_id[entry.public_id])
    )
    noise: dict[str, str] = {}
    for entry in listed:
        shown = {evidence.activity_id for evidence in entry.evidence}
        for activity in by_public_id[entry.public_id]:
            if labels.get(activity.id) != "noise":
                continue
            if activity.id in shown:
                noise.setdefault(activity.id, f"{activity.title!r} shown in {entry.title!r}")
            elif _titled_after(entry.title, activity.title):
                noise.setdefault(activity.id, f"{activity.title!r} titles {entry.title!r}")
            else:
                score.grouped.append(f"{activity.title!r} in {entry.title!r} (not shown)")
    meetings = [a for c in candidates if meetings_only(c) for a in c]
    for activity in meetings:
        # the meetings line names only the named kinds; the routine ones are a count
        if labels.get(activity.id) == "noise" and classify(activity).named:
            noise.setdefault(activity.id, f"{activity.title!r} named in the meetings line")
    # a title the text still holds, once per title: several private events share one
    counted = {a.title for c in by_public_id.values() for a in c if a.id in noise}
    for activity in (a for c in candidates for a in c):
        if labels.get(activity.id) != "noise" or activity.kind != "event" or activity.title in counted:
            continue
        if f" {activity.title}" in text:
            counted.add(activity.title)
            noise.setdefault(activity.id, f"{activity.title!r} in the text")
    score.noise = list(noise.values())
    emailed_ids = {a.id for entry in listed for a in by_public_id[entry.public_id]}
    for candidate in candidates:
        for activity in candidate:
            label = labels.get(activity.id)
            if meetings_only(candidate):
                if label in ("work", "review"):
                    score.missing.append(f"{activity.title!r} ({label}) only in the meetings line")
                elif label == "rollup-meeting" and not classify(activity).named:
                    score.missing.append(f"{activity.title!r} (meeting) only counted as routine")
            elif label in ("work", "review") and activity.id not in emailed_ids:
                score.page_only += 1
    return score


def _titled_after(entry_title: str, noise_title: str) -> bool:
    """Whether a listed title was drafted from a noise item ("Searched team stand-up")."""
    words = [w[:5] for w in re.findall(r"[a-z0-9]+", noise_title.lower()) if len(w) > 2]
    title = entry_title.lower()
    return bool(words) and all(word in title for word in words)


def report(scores: Sequence[WeekScore], max_items: int, show: bool) -> bool:
    for s in scores:
        print(
            f"{s.name}: emailed {s.emailed} + {s.earlier} earlier, roll-ups {s.rollups}, "
            f"noise emailed {len(s.noise)}, real items missing {len(s.missing)}, on the review page only {s.page_only}"
            + ("  OVER max_items + roll-ups" if s.over_budget(max_items) else "")
        )
        for line in s.noise:
            print(f"    noise: {line}")
        for line in s.missing:
            print(f"    missing: {line}")
        for line in s.grouped:
            print(f"    grouped: {line}")
        if show:
            for title in s.listed:
                print(f"    listed: {title}")
            if s.meetings:
                print(f"    meetings: {s.meetings}")
    noise = sum(len(s.noise) for s in scores)
    missing = sum(len(s.missing) for s in scores)
    over = sum(1 for s in scores if s.over_budget(max_items))
    print(
        f"\ntotal over {len(scores)} weeks: emailed {sum(s.emailed + s.earlier for s in scores)}, "
        f"noise emailed {noise} (target 0), real items missing {missing} (target 0), "
        f"weeks over max_items + roll-ups {over} (target 0); "
        f"noise grouped into listed candidates but not shown {sum(len(s.grouped) for s in scores)}"
    )
    return noise == 0 and missing == 0 and over == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=Path, default=WEEKS, help="folder of labelled *.jsonl weeks")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo scenario")
    parser.add_argument("--max-items", type=int, default=DEFAULT_MAX_ITEMS)
    parser.add_argument("--show", action="store_true", help="print the titles each email lists")
    args = parser.parse_args(argv)
    scores: list[WeekScore] = []
    with tempfile.TemporaryDirectory() as tmp:
        for person, (activities, labels) in load_weeks(args.weeks).items():
            context = labelled_context(Path(tmp) / person, person, activities)
            scores += score_weeks(context, labels, person, args.max_items)
        if not args.no_demo:
            demo = Path(tmp) / "demo"
            context, demo_labels = demo_context(demo)
            scores += score_weeks(context, demo_labels, "demo", args.max_items)
    return 0 if report(scores, args.max_items, args.show) else 1


if __name__ == "__main__":
    sys.exit(main())
