"""Clustering one window (a user's ISO week) of activities into candidate accomplishments."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence

from spacy.language import Language

from harvester import people
from harvester.clustering.chores import is_chores, mostly_chores
from harvester.clustering.drafting import draft_summary, draft_title, draft_why
from harvester.clustering.features import ActivityFeatures, extract_features
from harvester.clustering.fragments import merge_fragments
from harvester.clustering.grouping import ConstrainedUnionFind, agglomerate, kept_apart
from harvester.clustering.meetings import classify
from harvester.clustering.model import Candidate, Constraints, ExistingCandidate, Metric
from harvester.clustering.nlp import load_pipeline
from harvester.clustering.references import Relation, explicit_links, references
from harvester.clustering.sections import suggest_section
from harvester.clustering.similarity import pair_probabilities, pair_signals, shared_terms, term_matrix
from harvester.records import Activity

# average same-work probability two groups need to be merged: below one half because average
# linkage dilutes a group's pairwise probabilities. Alone, the pair model scored F1 0.801 at 0.2
# and 0.786 at 0.25 on the dev set, but below 0.25 a small week joins an unrelated commit to a pair
# by directory and timing alone (tests/clustering/test_similarity.py). With the fragment step
# after it (fragments.py), 0.3 leaves purer groups for that step to join: F1 0.806 against 0.809
# at 0.25, and the fits moved from pdfbox to jackrabbit-oak 0.862 against 0.848
GROUPING_THRESHOLD = 0.3
# a meeting has only its title to go on, and the similarity model was fitted without meetings:
# a lone meeting joins the work that uses most of its words, if it uses at least this share of them
EVENT_MIN_SHARED = 0.5
# people of a meeting (besides the user) who must also have taken part in the work it joins
EVENT_MIN_PEOPLE = 2
# words that say what kind of meeting it is, not what it is about
_MEETING_WORDS = frozenset(
    {"design", "review", "meeting", "sync", "discussion", "planning", "kickoff", "call", "standup",
     "retro", "retrospective", "demo", "session", "chat", "weekly", "daily", "catch", "prep"}
)  # fmt: skip
_NO_CONSTRAINTS = Constraints()
# above this many items a window is scored over blocked pairs (harvester/clustering/sparse.py):
# the n×n matrices cost 0.7 GB at 2,000 items and 3 GB at 5,000; below it the dense path is
# as fast and scores every pair
SPARSE_ABOVE = 300


def cluster_week(
    activities: Sequence[Activity],
    nlp: Language | None = None,
    *,
    existing: Sequence[ExistingCandidate] = (),
    constraints: Constraints = _NO_CONSTRAINTS,
    features: Sequence[ActivityFeatures] | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[Candidate]:
    """Group one window's activities into candidates, every activity in exactly one.

    Locked `existing` candidates (approved, rejected, edited) keep all their items; a new item
    joins one only through an explicit link (same ticket, PR reference) or a must-link, never by
    similarity. Pending candidates are recomputed, and keep their id when their membership comes
    out the same. Must-link and cannot-link pairs are always respected (a must-link that would
    break a cannot-link, or move an item out of a locked candidate, is dropped). Ids of locked
    candidates' items missing from `activities` stay on them; pending candidates forget them.
    `features` may be passed when they were computed for many windows at once. `weights` are the
    user's learned similarity coefficients (`learning.UserModel.weights`), declared when None.
    """
    activities, features = _unique(activities, features)
    if features is None:
        features = extract_features(nlp if nlp is not None else load_pipeline(), activities)
    index = {a.id: i for i, a in enumerate(activities)}
    locked = [c for c in existing if c.locked]
    frozen = [-1] * len(activities)
    for number, candidate in enumerate(locked):
        for activity_id in candidate.activity_ids:
            if activity_id in index and frozen[index[activity_id]] < 0:
                frozen[index[activity_id]] = number
    cannot = [
        (index[a], index[b])
        for a, b in constraints.cannot_link
        if a in index and b in index and not (frozen[index[a]] >= 0 and frozen[index[a]] == frozen[index[b]])
    ]
    links = ConstrainedUnionFind(len(activities), cannot, frozen)
    for number in range(len(locked)):
        members = [i for i, f in enumerate(frozen) if f == number]
        for other in members[1:]:
            links.union(members[0], other)
    reasons: list[tuple[int, int, str]] = []
    for a, b in constraints.must_link:
        if a in index and b in index and links.union(index[a], index[b]):
            reasons.append((index[a], index[b], "merged by you"))
    refs = [references(a) for a in activities]
    for link in explicit_links(activities, refs):
        if links.union(link.a, link.b):
            reasons.append((link.a, link.b, link.reason))
    linked = links.groups()
    # a 1:1 or a recurring stand-up is never about one piece of work: similarity leaves it alone
    fixed = [
        any(frozen[i] >= 0 for i in group)
        or (len(group) == 1 and activities[group[0]].kind == "event" and not _may_be_about_work(activities[group[0]]))
        for group in linked
    ]
    if len(features) > SPARSE_ABOVE:
        # scipy loads only for a window this large
        from harvester.clustering.sparse import sparse_groups

        groups = sparse_groups(features, refs, linked, GROUPING_THRESHOLD, fixed=fixed, cannot=cannot, weights=weights)
    else:
        terms = term_matrix(features)
        probability = pair_probabilities(features, pair_signals(features, terms), weights)
        groups = agglomerate(
            probability,
            linked,
            GROUPING_THRESHOLD,
            fixed=fixed,
            cannot_link=cannot + _kept_apart(refs, linked, features),
        )
        # a fixed group took no members, so it is still one of the groups
        fixed_starts = {linked[g][0] for g, is_fixed in enumerate(fixed) if is_fixed}
        groups = merge_fragments(
            probability,
            groups,
            features,
            fixed=[bool(fixed_starts.intersection(group)) for group in groups],
            apart=functools.partial(kept_apart, refs, groups, features, cannot),
            terms=terms,
        )
    fixed_items = {i for i, f in enumerate(frozen) if f >= 0}
    groups, joined_by_people = _attach_events(groups, features, fixed_items=fixed_items, cannot=cannot)
    reasons += joined_by_people
    people_joined = {event for event, _, _ in joined_by_people}
    # one review is rarely a brag on its own, and review bodies ("looks good, one note") say
    # nothing about which reviews belong together: the week's reviews become one group
    groups = _gather(
        groups, lambda g: all(activities[i].kind == "review" for i in g), fixed_items=fixed_items, cannot=cannot
    )
    # an item that names a ticket is that ticket's work, whatever its words
    keyed = {i for i, found in enumerate(refs) if any(ref.startswith("ticket:") for ref in found)}
    groups = _gather(
        groups, lambda g: mostly_chores([activities[i] for i in g]), fixed_items=fixed_items | keyed, cannot=cannot
    )
    groups = _gather_meetings(groups, activities, fixed_items=fixed_items, cannot=cannot)
    linked_group = {i: g for g, group in enumerate(linked) for i in group}
    candidates = []
    for members in groups:
        member_set = set(members)
        holder = next((frozen[i] for i in members if frozen[i] >= 0), -1)
        candidates.append(
            _candidate(
                [features[i] for i in members],
                sorted({r.split(":", 1)[1] for i in members for r in refs[i] if r.startswith("ticket:")}),
                [r for a, b, r in reasons if a in member_set and b in member_set],
                # a meeting joined by its people is not "similar": its reason says why
                similar=len({linked_group[i] for i in members if i not in people_joined}) > 1,
                locked=locked[holder] if holder >= 0 else None,
                pending=existing,
                refs=[refs[i] for i in members],
            )
        )
    present = {frozen[i] for i in range(len(activities))}
    for number, candidate in enumerate(locked):
        if number not in present:
            # none of its items is in this batch: return it as it was, so nothing is lost
            candidates.append(
                Candidate(
                    id=candidate.id,
                    title="",
                    summary="",
                    activity_ids=candidate.activity_ids,
                    metrics=(),
                    section="Projects",
                    why="kept as you left it",
                    state=candidate.state,
                )
            )
    return candidates


def _attach_events(
    groups: list[list[int]],
    features: Sequence[ActivityFeatures],
    *,
    fixed_items: set[int],
    cannot: Sequence[tuple[int, int]],
) -> tuple[list[list[int]], list[tuple[int, int, str]]]:
    """Move each meeting left on its own into the group of work its title talks about most, else
    into the work its people took part in (`_work_of_its_people`). Returns the groups, and for
    each meeting joined by its people (meeting, an item of that work, why)."""
    result = [list(g) for g in groups]
    by_people: list[tuple[int, int, str]] = []
    for group in groups:
        event = group[0]
        if len(group) != 1 or features[event].activity.kind != "event" or event in fixed_items:
            continue
        if not _may_be_about_work(features[event].activity):
            continue
        candidates = [
            number
            for number, other in enumerate(result)
            if event not in other
            and not any(i in fixed_items for i in other)
            and not all(features[i].activity.kind == "event" for i in other)
            and not any((event, i) in cannot or (i, event) in cannot for i in other)
        ]
        best = _work_its_title_names(event, features, result, candidates)
        if best < 0:
            best, partner, why = _work_of_its_people(event, features, result, candidates)
            if best >= 0:
                by_people.append((event, partner, why))
        if best >= 0:
            result[best].append(event)
            result = [g for g in result if g != [event]]
    return sorted((sorted(g) for g in result), key=lambda g: g[0]), by_people


def _work_its_title_names(
    event: int, features: Sequence[ActivityFeatures], groups: list[list[int]], candidates: Sequence[int]
) -> int:
    """The group (of `candidates`) whose words cover most of the meeting title's, at least half; -1 for none."""
    words = set(features[event].terms) - _MEETING_WORDS
    if not words:
        return -1
    best, best_score = -1, EVENT_MIN_SHARED
    for number in candidates:
        vocabulary = {t for i in groups[number] for t in features[i].terms + features[i].path_terms}
        score = len(words & vocabulary) / len(words)
        if score >= best_score:
            best, best_score = number, score
    return best


def _work_of_its_people(
    event: int, features: Sequence[ActivityFeatures], groups: list[list[int]], candidates: Sequence[int]
) -> tuple[int, int, str]:
    """The group whose tickets at least `EVENT_MIN_PEOPLE` of the meeting's other people, and at
    least half of them, took part in, when no other group has as many; (-1, -1, "") for none.

    Someone who commented on a ticket, reported it or moved it along, and then met the user about
    it that week: the meeting is evidence of that work even when its title names none of it
    ("Staging hand-over" and OPS-45 "Rotate CI runner credentials"). Half of the room keeps
    an all-hands with two of the ticket's people in it out.
    """
    attendees = people.entries(features[event].activity.extra)
    if len(attendees) < EVENT_MIN_PEOPLE:
        return -1, -1, ""
    counts = []
    for number in candidates:
        work = [i for i in groups[number] if features[i].activity.kind != "event"]
        shared = people.shared_people(attendees, (e for i in work for e in people.entries(features[i].activity.extra)))
        counts.append((shared, number, work))
    counts.sort(key=lambda c: -c[0])
    if not counts or counts[0][0] < max(EVENT_MIN_PEOPLE, len(attendees) / 2):
        return -1, -1, ""
    if len(counts) > 1 and counts[1][0] == counts[0][0]:
        return -1, -1, ""
    shared, number, work = counts[0]
    partner = max(work, key=lambda i: people.shared_people(attendees, people.entries(features[i].activity.extra)))
    named = str(features[partner].activity.extra.get("key") or "") or "this work"
    return number, partner, f"{shared} of the meeting's people also worked on {named}"


# meetings that are never about one piece of work, whatever words their titles share with it
_NOT_ABOUT_WORK = frozenset({"one_on_one", "private", "focus", "solo"})


def _may_be_about_work(event: Activity) -> bool:
    """Whether a meeting's title may say which work it is about: a 1:1, a private event or a block
    in the user's own calendar never does, nor does a recurring ritual ("Payments stand-up" is
    not about the payments ticket of the week); a one-off sync ("CI migration sync") does."""
    meeting = classify(event)
    return meeting.kind not in _NOT_ABOUT_WORK and not (meeting.kind == "ritual" and event.extra.get("recurring"))


def _gather(
    groups: list[list[int]],
    belongs: Callable[[list[int]], bool],
    *,
    fixed_items: set[int],
    cannot: Sequence[tuple[int, int]],
) -> list[list[int]]:
    """Put the groups that `belongs` to one roll-up (the week's reviews, its chores) into one group.
    A group with a `fixed_items` member, or one cannot-linked to what is gathered, stays as it is."""
    result: list[list[int]] = []
    gathered: list[int] = []
    blocked = {pair for a, b in cannot for pair in ((a, b), (b, a))}
    for group in groups:
        free = not fixed_items or not any(i in fixed_items for i in group)
        apart = bool(blocked) and any((i, j) in blocked for i in group for j in gathered)
        if free and not apart and belongs(group):
            gathered.extend(group)
        else:
            result.append(group)
    if gathered:
        result.append(sorted(gathered))
    return sorted(result, key=lambda g: g[0])


def _gather_meetings(
    groups: list[list[int]],
    activities: Sequence[Activity],
    *,
    fixed_items: set[int],
    cannot: Sequence[tuple[int, int]],
) -> list[list[int]]:
    """Put the week's stand-alone meetings worth naming (design reviews led, interviews, incident
    bridges, talks) into one roll-up group, and leave every other stand-alone meeting on its own:
    a 1:1 or a stand-up is no accomplishment, and two of them are not one either."""
    result: list[list[int]] = []
    named: list[int] = []
    blocked = {pair for a, b in cannot for pair in ((a, b), (b, a))}
    for group in groups:
        if not all(activities[i].kind == "event" for i in group) or any(i in fixed_items for i in group):
            result.append(group)
            continue
        for i in group:
            if classify(activities[i]).named and not any((i, j) in blocked for j in named):
                named.append(i)
            else:
                result.append([i])
    if named:
        result.append(sorted(named))
    return sorted(result, key=lambda g: g[0])


def _kept_apart(
    refs: Sequence[dict[str, Relation]], groups: list[list[int]], features: Sequence[ActivityFeatures]
) -> list[tuple[int, int]]:
    """One item from each pair of groups that similarity must not join, in one pass over the pairs.

    Groups tied to different tickets: work someone filed under two keys is two pieces of work,
    however alike the words (dev set: F1 0.92 -> 0.98 with keys). A ticket in the batch is a ticket
    even when its key is unknown, so two groups that each hold a different ticket stay apart too (a
    story and its epic are joined by their explicit link).

    Groups that would be joined by timing alone: one of them has no files to compare and they share
    no word. A ticket and an unrelated review of the same day are two things, however close in time
    (the demo grouped OPS-45 with a review "because: similar files and timing" with no file).
    """
    activities = [f.activity for f in features]
    tickets = [
        {ref for i in group for ref in refs[i] if ref.startswith("ticket:")}
        | {"item:" + activities[i].id for i in group if activities[i].kind == "ticket"}
        for group in groups
    ]
    # reviews of different PRs are gathered after grouping; by similarity a review only joins work
    only_reviews = [all(activities[i].kind == "review" for i in group) for group in groups]
    terms = [{t for i in group for t in features[i].terms} for group in groups]
    fileless = [not any(features[i].files for i in group) for group in groups]
    return [
        (groups[a][0], groups[b][0])
        for a in range(len(groups))
        for b in range(a + 1, len(groups))
        if (tickets[a] and tickets[b] and not tickets[a] & tickets[b])
        or (only_reviews[a] and only_reviews[b])
        or ((fileless[a] or fileless[b]) and not terms[a] & terms[b])
    ]


def candidate_id(activity_ids: Sequence[str]) -> str:
    """Deterministic id of a new candidate: the same members always give the same id."""
    digest = hashlib.sha1("\n".join(sorted(activity_ids)).encode()).hexdigest()
    return "c-" + digest[:12]


def _candidate(
    members: Sequence[ActivityFeatures],
    ticket_keys: Sequence[str],
    link_reasons: Sequence[str],
    *,
    similar: bool,
    locked: ExistingCandidate | None,
    pending: Sequence[ExistingCandidate],
    refs: Sequence[dict[str, Relation]],
) -> Candidate:
    activities = [f.activity for f in members]
    ids = tuple(a.id for a in activities)
    if locked is not None:
        absent = tuple(i for i in locked.activity_ids if i not in set(ids))
        ids, identity, state = ids + absent, locked.id, locked.state
    else:
        same = next((c for c in pending if not c.locked and set(c.activity_ids) == set(ids)), None)
        identity, state = (same.id if same else candidate_id(ids)), "pending"
    # a ticket and its PR often state the same figure; the candidate lists it once
    seen: set[tuple[str, str]] = set()
    metrics: list[Metric] = []
    for feature in members:
        for metric in feature.metrics:
            key = (metric.kind, " ".join(metric.text.lower().split()))
            if key not in seen:
                seen.add(key)
                metrics.append(metric)
    return Candidate(
        id=identity,
        title=draft_title(activities, ticket_keys, refs),
        summary=draft_summary(activities),
        activity_ids=ids,
        metrics=tuple(metrics),
        section=suggest_section(activities),
        why=draft_why(
            link_reasons, shared_terms(members), similar, len(ids), [a.kind for a in activities], is_chores(activities)
        ),
        state=state,
    )


def _unique(
    activities: Sequence[Activity], features: Sequence[ActivityFeatures] | None
) -> tuple[list[Activity], list[ActivityFeatures] | None]:
    """Drop repeated ids (a record harvested twice), keeping the first."""
    seen: set[str] = set()
    keep = []
    for i, activity in enumerate(activities):
        if activity.id not in seen:
            seen.add(activity.id)
            keep.append(i)
    if len(keep) == len(activities):
        return list(activities), list(features) if features is not None else None
    return [activities[i] for i in keep], [features[i] for i in keep] if features is not None else None
