"""Per-activity features for grouping: lemmas, identifier parts, file paths, figures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

from harvester.clustering.metrics import find_metrics
from harvester.clustering.model import Metric
from harvester.records import Activity

# pull request descriptions can run to pages; the opening says what the work is, and the tagger
# costs time per token, so only this much of a body goes through the pipeline (figures further
# down are still found, on the tokenizer alone)
BODY_CHARS = 600
# a mass rename touches hundreds of files; its first files say as much as all of them
MAX_PATHS = 60
NLP_BATCH_SIZE = 256

_IDENTIFIER = re.compile(r"[a-z][A-Z]|_|[A-Za-z]\.[A-Za-z]")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_WORD = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"\d")
_TITLE_NOISE = re.compile(r"^\s*(?:\[[^\]]*\]\s*|[a-z]+(?:\([^)]*\))?!?:\s+)", re.IGNORECASE)
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "X", ""})


@dataclass(frozen=True, slots=True)
class ActivityFeatures:
    """What the similarity step compares; `terms` keeps repeats (they are term frequencies)."""

    activity: Activity
    terms: tuple[str, ...]
    path_terms: tuple[str, ...]
    files: frozenset[str]
    dirs: frozenset[str]
    title_key: str
    metrics: tuple[Metric, ...]


def extract_features(nlp: Language, activities: Sequence[Activity]) -> list[ActivityFeatures]:
    """Features of each activity, in order; identical texts go through the pipeline once."""
    texts = [_nlp_text(a) for a in activities]
    unique = list(dict.fromkeys(texts))
    docs = dict(zip(unique, nlp.pipe(unique, batch_size=NLP_BATCH_SIZE), strict=True))
    return [_features(nlp, a, docs[t], t) for a, t in zip(activities, texts, strict=True)]


def identifier_parts(word: str) -> list[str]:
    """Lower-cased parts of a CamelCase, snake_case or dotted identifier, plurals folded."""
    return [_singular(p.lower()) for p in _PARTS.findall(word) if len(p) > 1]


def title_key(title: str) -> str:
    """A title reduced to its words, for spotting the same summary on a ticket and its commits."""
    return " ".join(_WORD.findall(_TITLE_NOISE.sub("", title).lower()))


def _nlp_text(activity: Activity) -> str:
    return activity.title + "\n" + activity.body[:BODY_CHARS]


def _features(nlp: Language, activity: Activity, doc: Doc, text: str) -> ActivityFeatures:
    terms: list[str] = []
    for token in doc:
        if token.is_punct or token.is_space or token.like_num or token.like_url:
            continue
        word = token.text
        if _IDENTIFIER.search(word):
            terms.append(word.lower())
            terms.extend(identifier_parts(word))
        elif token.is_alpha and not token.is_stop and len(word) > 1 and token.pos_ in _CONTENT_POS:
            lemma = token.lemma_.lower()
            # the lookup table misses jargon ("webhooks"); fold the plural the same way as identifiers
            terms.append(_singular(lemma) if lemma == word.lower() else lemma)
    path_terms: list[str] = []
    files: set[str] = set()
    dirs: set[str] = set()
    for raw in activity.paths[:MAX_PATHS]:
        directory, _, name = raw.rpartition("/")
        stem = name.split(".", 1)[0] or name
        files.add(raw)
        dirs.add(directory)
        # a file's name is usually the class or module it holds: the most specific word in a commit
        path_terms.append(stem.lower())
        path_terms.extend(identifier_parts(stem))
    # every figure has a digit; the matcher is the costliest step after the tagger, so skip it
    metrics = find_metrics(doc, activity.id, len(activity.title)) if _DIGIT.search(text) else []
    if len(activity.body) > BODY_CHARS and _DIGIT.search(activity.body, BODY_CHARS):
        rest = activity.body[BODY_CHARS:]
        base = len(activity.title) + 1 + BODY_CHARS
        metrics += find_metrics(nlp.make_doc(rest), activity.id, len(activity.title), base)
    return ActivityFeatures(
        activity=activity,
        terms=tuple(terms),
        path_terms=tuple(path_terms),
        files=frozenset(files),
        dirs=frozenset(dirs),
        title_key=title_key(activity.title),
        metrics=tuple(metrics),
    )


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
