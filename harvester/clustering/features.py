"""Per-activity features for grouping: lemmas, identifier parts, file paths, figures.

Term extraction is per word and cached per word, so a chunk of windows costs a regular
expression and dictionary look-ups per activity. The trained pipeline tags titles only: a title
says what the work is in a few words, where a part-of-speech lemma matters ("Fixes" the verb,
"fixes" the noun); body words take the lookup lemma on both pipelines.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Token

from harvester.clustering.metrics import find_metrics, may_have_metrics
from harvester.clustering.model import Metric
from harvester.clustering.nlp import is_trained, lemma_lookup, tag_attributes
from harvester.clustering.references import TICKET_KEY_PATTERN
from harvester.records import Activity

# pull request descriptions can run to pages; the opening says what the work is, so only this
# much of a body gives terms (figures are looked for in all of it)
BODY_CHARS = 600
# a title longer than this is a pasted message; its start names the work, and the tagger costs
# time per token
TITLE_CHARS = 200
# a mass rename touches hundreds of files; its first files say as much as all of them
MAX_PATHS = 60
# titles tagged at once. Measured on 2,917 distinct titles of a 5,000-item window: 1,000 took
# 1.28 CPU-s and 215 MB above the loaded pipeline at its peak (the tok2vec arrays of a whole
# batch), 256 took 0.96 s and 57 MB, 128 0.97 s and 31 MB, 64 1.03 s and 17 MB; same tags
NLP_BATCH_SIZE = 128
# the components that tag; the attribute ruler's tag map and the rule lemmatizer are applied
# per distinct (word, tag) below instead (run on every token they took 1.3 s of 3.6 s on the
# dev titles)
TAGGING_COMPONENTS = ("tok2vec", "tagger")

_IDENTIFIER = re.compile(r"[a-z][A-Z]|_|[A-Za-z]\.[A-Za-z]")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_WORD = re.compile(r"[a-z0-9]+")
# words as the term step sees them: letters, digits and underscores, joined by inner dots and
# apostrophes so dotted identifiers ("org.apache.Foo") and contractions stay whole
_TOKEN = re.compile(r"\w+(?:[.'’]\w+)*")
# links and ticket keys are explicit links, handled before similarity; as words they would only
# repeat the project key ("PAY") in every item
_NOT_WORDS = re.compile(rf"(?i:https?://|www\.)\S+|{TICKET_KEY_PATTERN}")
_TITLE_NOISE = re.compile(r"^\s*(?:\[[^\]]*\]\s*|[a-z]+(?:\([^)]*\))?!?:\s+)", re.IGNORECASE)
_TRAILING_NOTE = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*$")
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "X", ""})


@dataclass(frozen=True, slots=True)
class ActivityFeatures:
    """What the similarity step compares; `terms` keeps repeats (they are term frequencies)."""

    activity: Activity
    terms: tuple[str, ...]
    path_terms: tuple[str, ...]
    files: frozenset[str]
    dirs: frozenset[str]
    title_words: tuple[str, ...]
    metrics: tuple[Metric, ...]


def extract_features(nlp: Language, activities: Sequence[Activity]) -> list[ActivityFeatures]:
    """Features of each activity, in order; identical titles are tagged once."""
    analyzer = _analyzer(nlp)
    titles = [_topic(a) for a in activities]
    title_terms = analyzer.title_terms(titles)
    return [_features(analyzer, a, title_terms[t]) for a, t in zip(activities, titles, strict=True)]


@functools.cache
def identifier_parts(word: str) -> tuple[str, ...]:
    """Lower-cased parts of a CamelCase, snake_case or dotted identifier, plurals folded."""
    return tuple(_singular(p.lower()) for p in _PARTS.findall(word) if len(p) > 1)


def title_key(title: str) -> str:
    """A title reduced to its words, for spotting the same summary on a ticket and its commits."""
    return " ".join(_WORD.findall(_TITLE_NOISE.sub("", title).lower()))


@functools.lru_cache(maxsize=8192)
def title_words(title: str) -> tuple[str, ...]:
    """The words of a title without its prefix and up to two trailing notes: "Access Control
    Management (more tests)" and "Access Control Management" give the same words."""
    return tuple(title_key(_TRAILING_NOTE.sub("", _TRAILING_NOTE.sub("", title))).split())


class _Analyzer:
    """Terms of words for one pipeline, with the caches that make repeated words free."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.stop_words = frozenset(nlp.Defaults.stop_words)
        self.lookup = lemma_lookup(nlp)
        self.trained = is_trained(nlp)
        self.tags = tag_attributes(nlp) if self.trained else {}
        self._words: dict[str, tuple[str, ...]] = {}
        self._tagged: dict[tuple[str, str], tuple[str, ...]] = {}

    def text_terms(self, text: str) -> list[str]:
        """Terms of untagged text: identifiers whole and in parts, lookup lemmas of other words."""
        terms: list[str] = []
        words = self._words
        for word in _TOKEN.findall(_NOT_WORDS.sub(" ", text)):
            found = words.get(word)
            if found is None:
                found = words[word] = self._word_terms(word, self._lookup_lemma(word))
            terms.extend(found)
        return terms

    def title_terms(self, titles: Iterable[str]) -> dict[str, list[str]]:
        """Terms of each distinct title; on the trained pipeline from its tags and rule lemmas."""
        unique = list(dict.fromkeys(titles))
        if not self.trained:
            return {t: self.text_terms(t) for t in unique}
        texts = [_NOT_WORDS.sub(" ", t[:TITLE_CHARS]) for t in unique]
        disabled = [name for name in self.nlp.pipe_names if name not in TAGGING_COMPONENTS]
        # disabled for this call only: the shared pipeline is not changed under other callers
        docs = self.nlp.pipe(texts, batch_size=NLP_BATCH_SIZE, disable=disabled)
        return {title: self._doc_terms(doc) for title, doc in zip(unique, docs, strict=True)}

    def _doc_terms(self, doc: Doc) -> list[str]:
        terms: list[str] = []
        tagged = self._tagged
        for token in doc:
            key = (token.text, token.tag_)
            found = tagged.get(key)
            if found is None:
                found = tagged[key] = self._tagged_terms(token)
            terms.extend(found)
        return terms

    def _tagged_terms(self, token: Token) -> tuple[str, ...]:
        word = token.text
        if not _TOKEN.fullmatch(word):
            return ()
        pos, morph = self.tags.get(token.tag_, ("", ""))
        if pos not in _CONTENT_POS and not _IDENTIFIER.search(word):
            return ()
        lemma = word
        if pos:
            token.pos_ = pos
            if morph:
                token.set_morph(morph)  # type: ignore[attr-defined]
            lemma = self.nlp.get_pipe("lemmatizer").rule_lemmatize(token)[0]  # type: ignore[attr-defined]
        return self._word_terms(word, lemma)

    def _lookup_lemma(self, word: str) -> str:
        # the table is keyed by the word as written; a capital at the start of a title is not part
        # of the word, so the lower-case form is tried next ("Fixes" -> "fix")
        return self.lookup.get(word) or self.lookup.get(word.lower()) or word

    def _word_terms(self, word: str, lemma: str) -> tuple[str, ...]:
        if _IDENTIFIER.search(word):
            return (word.lower(), *identifier_parts(word))
        lower = word.lower()
        if not word.isalpha() or len(word) < 2 or lower in self.stop_words:
            return ()
        lemma = lemma.lower()
        # the tables miss jargon ("webhooks"); fold the plural the same way as identifiers
        return (_singular(lemma) if lemma == lower else lemma,)


@functools.cache
def _analyzer(nlp: Language) -> _Analyzer:
    return _Analyzer(nlp)


@functools.cache
def _path_features(path: str) -> tuple[str, tuple[str, ...]]:
    """A path's directory and its file-name terms: a file's name is usually the class or module
    it holds, the most specific word a commit has."""
    directory, _, name = path.rpartition("/")
    stem = name.split(".", 1)[0] or name
    return directory, (stem.lower(), *identifier_parts(stem))


def _topic(activity: Activity) -> str:
    """The title that says what the work is about: the subject's (a review's PR) when it has one."""
    return activity.subject_title or activity.title


def _features(analyzer: _Analyzer, activity: Activity, title_terms: list[str]) -> ActivityFeatures:
    # a review's body is a verdict ("looks good, one note"), not a topic: its title names the PR
    body = "" if activity.kind == "review" else activity.body[:BODY_CHARS]
    terms = title_terms + analyzer.text_terms(body)
    path_terms: list[str] = []
    dirs: set[str] = set()
    paths = activity.paths[:MAX_PATHS]
    for raw in paths:
        directory, words = _path_features(raw)
        dirs.add(directory)
        path_terms.extend(words)
    metrics: list[Metric] = []
    if may_have_metrics(activity.title) or may_have_metrics(activity.body):
        text = activity.title + "\n" + activity.body
        metrics = find_metrics(analyzer.nlp.make_doc(text), activity.id, len(activity.title))
    return ActivityFeatures(
        activity=activity,
        terms=tuple(terms),
        path_terms=tuple(path_terms),
        files=frozenset(paths),
        dirs=frozenset(dirs),
        title_words=title_words(_topic(activity)),
        metrics=tuple(metrics),
    )


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
