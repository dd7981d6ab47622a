from __future__ import annotations

import logging

import pytest
from conftest import MONDAY
from spacy.language import Language

from harvester.clustering import extract_features, is_trained, load_pipeline
from harvester.clustering import nlp as nlp_module
from harvester.records import Activity


def test_missing_model_falls_back_to_blank_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the warning is once per process; start from a process that has not warned yet, uncached
    monkeypatch.setattr(nlp_module, "_warned_blank", False)
    uncached = load_pipeline.__wrapped__
    with caplog.at_level(logging.WARNING, logger="harvester.clustering"):
        first = uncached("no_such_model_xyz")
        uncached("no_such_model_abc")
    assert not is_trained(first)
    warnings = [r.getMessage() for r in caplog.records if r.name == "harvester.clustering"]
    assert len(warnings) == 1 and "no_such_model_xyz" in warnings[0]
    assert first("retries")[0].lemma_ == "retry"


def test_none_forces_the_blank_pipeline(blank_nlp: Language) -> None:
    assert not is_trained(blank_nlp) and "lemmatizer" in blank_nlp.pipe_names


def test_trained_pipeline_loads_through_the_alias(trained_nlp: Language) -> None:
    assert is_trained(trained_nlp)
    assert "parser" not in trained_nlp.pipe_names


def test_trained_pipeline_gives_part_of_speech_lemmas_of_titles(trained_nlp: Language, blank_nlp: Language) -> None:
    [act] = _titles("Fixes the building of indexes")
    [trained] = extract_features(trained_nlp, [act])
    [blank] = extract_features(blank_nlp, [act])
    # the tagger reads "building" as a noun here; the lookup table only knows the verb
    assert trained.terms == ("fix", "building", "index")
    assert blank.terms == ("fix", "build", "index")


def _titles(*titles: str) -> list[Activity]:
    return [Activity(id=str(n), source="git", kind="commit", title=t, occurred_at=MONDAY) for n, t in enumerate(titles)]
