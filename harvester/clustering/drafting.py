"""Drafting a candidate's title, one-line summary and the reason for its grouping."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence

from lemminflect import getAllLemmas, getInflection

from harvester import display
from harvester.clustering.chores import chores_title, is_chores
from harvester.clustering.meetings import PRIVATE_TITLE, classify, whole_number
from harvester.clustering.references import TICKET_KEY, TICKET_KEY_PATTERN, Relation, references
from harvester.clustering.rollups import meeting_rollup
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
# software verbs the lemminflect dictionary lacks (measured: getAllLemmas("refactor", upos="VERB") is
# empty); its rules inflect them ("refactored", "synced", "deduped")
_JARGON_VERBS = frozenset(
    {"refactor", "sync", "dedupe", "deduplicate", "backfill", "onboard", "rebase", "upsert", "autoscale", "shard",
     "memoize", "containerize", "parallelize", "dockerize", "modularize", "reindex", "unflake", "debounce"}
)  # fmt: skip
# a word that is a noun as well as a verb is the noun before these ("Fix for ...", "Support of ...")
_NOUN_FOLLOWERS = frozenset({"for", "of", "on", "with", "from", "is", "was", "are", "were", "and", "&"})
# heads of the compound nouns engineering titles are made of ("Search results pagination", "Test
# harness for billing", "Cache layer for lookups"): after a word that is a noun as well as a verb,
# one of these makes the pair a noun phrase. Only heads that are rarely a verb's object right after
# such a word are listed ("Update docs", "Fix pipeline" stay verbs)
_COMPOUND_HEADS = frozenset(
    {"results", "tokens", "harness", "layer", "suite", "framework", "engine", "strategy", "balancer", "limiter"}
)
# "Design review: webhook retries": a short noun phrase labels what follows the colon
_LABEL = re.compile(r"^(?:\S+\s+){0,2}\S+:\s")
# keys a title ends with: the one key worth showing is put back once, at the end
_TRAILING_KEYS = re.compile(rf"\s*\((?:{TICKET_KEY_PATTERN}(?:,\s*)?)+\)\s*$")
# what the user did in a meeting of a kind, organised ("led") or not ("joined"): verb, noun, joint
_MEETING_PHRASES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("design_review", "led"): ("Led", "the design review", "of"),
    ("design_review", "joined"): ("Took part in", "the design review", "of"),
    ("postmortem", "led"): ("Ran", "the postmortem", "of"),
    ("postmortem", "joined"): ("Took part in", "the postmortem", "of"),
    ("incident", "led"): ("Ran", "the incident bridge", "for"),
    ("incident", "joined"): ("Joined", "the incident bridge", "for"),
    ("interview", "led"): ("Interviewed", "a candidate", "for"),
    ("interview", "joined"): ("Interviewed", "a candidate", "for"),
    ("talk", "led"): ("Gave", "a talk", "on"),
    ("talk", "joined"): ("Attended", "a talk", "on"),
    ("training", "led"): ("Ran", "a training", "on"),
    ("training", "joined"): ("Attended", "a training", "on"),
}
# the words naming a meeting's kind, taken out to leave its subject
_MEETING_KIND_WORDS = {
    "design_review": re.compile(r"\b(?:design (?:review|doc|discussion)|architecture review|rfc)\b", re.I),
    "postmortem": re.compile(r"\b(?:incident )?(?:post[- ]?mortem|review)\b|\bincident\b", re.I),
    "incident": re.compile(r"\b(?:incident(?: bridge)?|bridge|outage|war ?room|sev ?[0-3])\b", re.I),
    "interview": re.compile(r"\b(?:interview(?:ing)?|phone screen|onsite|debrief)\b", re.I),
    "talk": re.compile(r"\b(?:tech talk|talk|brown ?bag|lunch (?:and|&) learn|presentation|demo day)\b", re.I),
    "training": re.compile(r"\b(?:training|workshop|onboarding session|bootcamp)\b", re.I),
}
_TOPIC_EDGES = re.compile(r"^[\s:;,.|/()–—-]*(?:(?:of|on|for|about|re|with)\b[\s:]*)?|[\s:;,.|/()–—-]+$", re.I)
# "cleanup", "rollout", "setup": a verb and its particle written as one word
_PARTICLES = ("up", "out", "back", "down", "over")
_BUG_LABELS = frozenset({"bug", "defect", "incident", "regression"})


def draft_title(
    activities: Sequence[Activity], ticket_keys: Sequence[str] = (), refs: Sequence[dict[str, Relation]] | None = None
) -> str:
    """A brag-doc bullet: what was done, on what ("Added retries to payment webhooks (PAY-12)").

    `refs` are the activities' `references`, when the caller has them already."""
    cleaned = [_clean(a.title) for a in activities]
    kinds = {a.kind for a in activities}
    if kinds == {"review"}:
        return _reviews_title(activities)
    if is_chores(activities) and not ticket_keys:
        return chores_title(activities)
    best = 0
    if len(activities) > 1:
        # among equally preferred kinds, the title most members share names the work
        votes = Counter(c.lower() for c in cleaned)
        best = min(
            range(len(activities)),
            key=lambda i: (_TITLE_PREFERENCE.get(activities[i].kind, 5), -votes[cleaned[i].lower()], i),
        )
    if kinds == {"event"}:
        return _meeting_title(activities[best]) if len(activities) == 1 else meeting_rollup(activities)
    text = _TRAILING_KEYS.sub("", cleaned[best]) or activities[best].title.strip() or "Untitled work"
    text = _past_tense(text, _fallback_verb(activities))
    key = _main_key(activities, activities[best], ticket_keys, refs)
    if key and key not in TICKET_KEY.findall(text):
        text += f" ({key})"
    return text


def _main_key(
    activities: Sequence[Activity],
    best: Activity,
    ticket_keys: Sequence[str],
    known: Sequence[dict[str, Relation]] | None,
) -> str | None:
    """The work's own ticket: the ticket member's key, else the one key referenced; never an epic or parent."""
    refs = list(known) if known is not None else [references(a) for a in activities]
    broader = {ref for found in refs for ref, relation in found.items() if relation in ("epic", "parent")}
    owned = [
        ref
        for activity, found in sorted(zip(activities, refs, strict=True), key=lambda pair: pair[0] is not best)
        if activity.kind == "ticket"
        for ref, relation in found.items()
        if relation == "own" and ref.startswith("ticket:") and ref not in broader
    ]
    if owned:
        return owned[0].split(":", 1)[1]
    mentioned = {ref for found in refs for ref in found if ref.startswith("ticket:")}
    keys = {ref.split(":", 1)[1] for ref in mentioned - broader} | {
        k for k in ticket_keys if f"ticket:{k}" not in broader
    }
    return next(iter(keys)) if len(keys) == 1 else None


def _fallback_verb(activities: Sequence[Activity]) -> str:
    """The verb put before a title that has none ("Dark mode for the settings page")."""
    for activity in activities:
        labels = {label.lower() for label in activity.labels}
        if str(activity.extra.get("issue_type") or "").lower() == "bug" or labels & _BUG_LABELS:
            return "Fixed"
    return "Shipped"


def _reviews_title(reviews: Sequence[Activity]) -> str:
    """ "Reviewed “Refactor invoice PDF rendering”", or "Reviewed 14 pull requests across 4 repositories:
    “Fix flaky test”, “Add metrics”, “Split the ledger” and 11 more", the most substantial named first."""
    prs: dict[str, tuple[str, str]] = {}
    weight: dict[str, float] = {}
    for review in reviews:
        # the reviewed work's own title and URL (Activity.subject_*); the review's title says "Reviewed"
        title = _clean(review.subject_title or review.title)
        key = review.subject_url or title.lower()
        prs.setdefault(key, (f"“{title}”" if title else "a pull request", review.repo or ""))
        weight[key] = weight.get(key, 0.0) + _review_substance(review)
    if len(prs) == 1:
        return f"Reviewed {next(iter(prs.values()))[0]}"
    # the weight sort is stable: equally substantial reviews keep the order they were given in
    ranked = sorted(prs, key=lambda key: -weight[key])
    names = list(dict.fromkeys(prs[key][0] for key in ranked))
    listed = ", ".join(names[:MAX_NAMED_REVIEWS])
    if len(names) > MAX_NAMED_REVIEWS:
        listed += f" and {len(names) - MAX_NAMED_REVIEWS} more"
    repos = sorted({repo for _, repo in prs.values() if repo})
    where = f" in {repos[0]}" if len(repos) == 1 else f" across {len(repos)} repositories" if repos else ""
    return f"Reviewed {len(prs)} pull requests{where}: {listed}"


def _review_substance(review: Activity) -> float:
    """How much a review asked of the author: changes requested, then its comments, then its words."""
    count = whole_number(review.extra.get("comments"))
    requested = str(review.extra.get("state") or "") == "CHANGES_REQUESTED"
    return 10.0 * requested + count + min(len(review.body.split()), 100) / 100


def _meeting_title(event: Activity) -> str:
    """What the user did in a meeting: "Led the design review of idempotent payouts"."""
    meeting = classify(event)
    title = _clean(event.title)
    if meeting.kind == "private" or not title:
        # a private event is counted, never titled (harvester/clustering/meetings.py)
        return event.title.strip() or PRIVATE_TITLE
    if meeting.kind == "focus":
        # a block in the user's calendar ("Focus time", "Prepare Q4 roadmap notes") is counted, not a win
        return title
    if meeting.kind == "solo":
        # a meeting nobody else attends is the user's own work block: "Worked on ledger lag review"
        return _past_tense(title, "Worked on")
    role = "led" if meeting.organised else "joined"
    phrase = _MEETING_PHRASES.get((meeting.kind, role))
    if phrase is None:
        return f"{'Ran' if meeting.organised else 'Attended'} {_as_object(title)}"
    verb, noun, joint = phrase
    topic = _meeting_topic(title, meeting.kind)
    return f"{verb} {noun} {joint} {topic}" if topic else f"{verb} {noun}"


def _meeting_topic(title: str, kind: str) -> str:
    """The meeting's subject once its kind words are gone ("Design review: webhook retries" -> "webhook retries")."""
    pattern = _MEETING_KIND_WORDS.get(kind)
    topic = pattern.sub(" ", title) if pattern else title
    topic = display.balanced(_TOPIC_EDGES.sub("", " ".join(topic.split())))
    # an interview's subject is a role or a name, which keep their capitals
    return topic if kind == "interview" else _lower_first(topic)


def _as_object(title: str) -> str:
    """A meeting's name after a verb: "the CI migration sync"."""
    return f"the {_lower_first(title)}"


def _lower_first(text: str) -> str:
    """Lower-case a leading common word ("Webhook retries"), never a name or acronym ("CI", "Lucene")."""
    first, _, rest = text.partition(" ")
    word = first.lower()
    if first[:1].isupper() and first[1:].islower() and (_is_dictionary_word(word) or _phrasal_verb(word)):
        return f"{word} {rest}".strip()
    return text


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
    link_reasons: Sequence[str],
    terms: Sequence[str],
    similar: bool,
    size: int,
    kinds: Sequence[str] = (),
    chores: bool = False,
) -> str:
    """Why these items are together ("same ticket PAY-12; shared terms: webhook, retry"); `chores`
    when they are the week's chores, gathered (`chores.is_chores`)."""
    if size == 1:
        return "a review of a teammate's PR" if list(kinds) == ["review"] else "nothing else this week looked related"
    parts = list(dict.fromkeys(link_reasons))[:3]
    if kinds and set(kinds) == {"review"}:
        parts.append("reviews of teammates' PRs this week")
    elif kinds and set(kinds) == {"event"}:
        parts.append("this week's meetings worth naming that joined no work")
    elif chores:
        parts.append("this week's chores, kept together: one is rarely a win on its own")
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


@functools.lru_cache(maxsize=8192)
def _past_tense(text: str, fallback: str = "Shipped") -> str:
    """The title with its first word in the past tense, or `fallback` put before a title led by a noun.

    A bug titled by its symptom ("Search returns 500 for queries with emoji") is quoted after
    "Fixed": its first word is the subject, not a verb to inflect.
    """
    if fallback == "Fixed" and _states_a_symptom(text):
        return f"Fixed “{text}”"
    label = _LABEL.match(text)
    if label and _base_verb_lead(text[label.end() :]):
        # "Lucene index: support reindex" -> "Supported reindex in Lucene index"
        return f"{_past_tense(text[label.end() :].strip())} in {_lower_first(label.group().rstrip(': '))}"
    first, _, rest = text.partition(" ")
    word = first.lower()
    following = rest.partition(" ")[0]
    form = _verb_form(word)
    if form is None and (phrasal := _phrasal_verb(word)) and following.lower() not in _NOUN_FOLLOWERS:
        # "Cleanup unused flags" -> "Cleaned up unused flags"
        return f"{_inflect(phrasal[0])} {phrasal[1]} {rest}".strip()
    if form is None or (form[1] != "VBD" and _reads_as_noun(word, following.lower(), text)):
        if form is not None and _inflect(form[0]) == fallback and following.lower() in ("for", "of"):
            # "Fix for timezone drift" -> "Fixed timezone drift", not "Fixed fix for ..."
            return f"{fallback} {rest.partition(' ')[2]}".strip()
        return f"{'Completed' if label and fallback == 'Shipped' else fallback} {_lower_first(text)}"
    return text if form[1] == "VBD" else f"{_inflect(form[0])} {rest}".strip()


def _states_a_symptom(text: str) -> bool:
    """A sentence whose verb, in the present tense, comes after a subject of one to three words:
    "Checkout fails on Safari 17", "Login button does nothing", "Refund screen shows the wrong currency"."""
    words = [w.strip(",.;:").lower() for w in text.split()[:4]]
    if len(words) < 2 or (_verb_form(words[0]) == (words[0], "VB") and not getAllLemmas(words[0], upos="NOUN")):
        return False
    for position in range(1, len(words)):
        form = _verb_form(words[position])
        if form is not None and form[1] == "VBZ":
            return True
        if words[position] in _NOUN_FOLLOWERS:
            return False
    return False


@functools.lru_cache(maxsize=4096)
def _phrasal_verb(word: str) -> tuple[str, str] | None:
    """A verb and its particle written as one word ("cleanup" -> ("clean", "up")), when the verb is one."""
    for particle in _PARTICLES:
        verb = word.removesuffix(particle)
        if verb != word and _verb_form(verb) == (verb, "VB"):
            return verb, particle
    return None


def _base_verb_lead(text: str) -> bool:
    first, _, rest = text.strip().partition(" ")
    form = _verb_form(first.lower())
    return form is not None and form[1] == "VB" and not _reads_as_noun(first.lower(), rest.split(" ")[0], text)


def _inflect(lemma: str) -> str:
    past = getInflection(lemma, tag="VBD")
    return (past[0] if past else lemma).capitalize()


@functools.lru_cache(maxsize=4096)
def _verb_form(word: str) -> tuple[str, str] | None:
    """(lemma, Penn tag) when `word` is a verb: base "VB", "VBZ", "VBG" or past "VBD" (past participles too)."""
    if word in _JARGON_VERBS:
        return word, "VB"
    for lemma in getAllLemmas(word, upos="VERB").get("VERB", ()):
        if word == lemma:
            return lemma, "VB"
        for tag in ("VBD", "VBN", "VBZ", "VBG"):
            if word in getInflection(lemma, tag=tag):
                return lemma, "VBD" if tag == "VBN" else tag
    return None


def _reads_as_noun(word: str, following: str, text: str) -> bool:
    """A word that is a noun as well as a verb, used as the noun: "Design review: ...", "Fix for ..."."""
    if not getAllLemmas(word, upos="NOUN"):
        return False
    return (
        following in _NOUN_FOLLOWERS or following in _COMPOUND_HEADS or word.endswith(":") or bool(_LABEL.match(text))
    )


@functools.lru_cache(maxsize=4096)
def _is_dictionary_word(word: str) -> bool:
    """A common English word: in lemminflect's lexicon, one of the everyday software nouns it lacks,
    or a hyphenated compound whose last part is one ("per-tenant", "read-only")."""
    if bool(getAllLemmas(word)) or word in _SOFTWARE_NOUNS:
        return True
    head, _, last = word.rpartition("-")
    return bool(head) and bool(last) and _is_dictionary_word(last)


# common nouns of PR and ticket titles that lemminflect's lexicon does not hold ("Shipped Typo
# tolerance" read as a name); a name or product ("Elasticsearch", "Kafka") keeps its capital
_SOFTWARE_NOUNS = frozenset(
    {"typo", "typos", "webhook", "webhooks", "login", "logins", "signup", "checkout", "dropdown", "tooltip",
     "toggle", "autocomplete", "backend", "frontend", "endpoint", "endpoints", "runbook", "dashboard",
     "onboarding", "codebase", "config", "configs", "repo", "repos", "changelog", "healthcheck", "timeout",
     "timeouts", "retry", "retries", "cron", "middleware", "namespace", "sidebar", "navbar", "popup"}
)  # fmt: skip
