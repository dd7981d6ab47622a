"""The fragment step: groups of one piece of work that average linkage left apart come together,
and what must stay apart still does."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering import Candidate, cluster_week, extract_features, fragments
from harvester.clustering.features import ActivityFeatures
from harvester.clustering.grouping import Apart, kept_apart
from harvester.clustering.references import references
from harvester.records import Activity

FORM = "pdfbox/src/main/java/org/apache/pdfbox/pdmodel/interactive/form"


def form_week() -> list[Activity]:
    """A week of one big ticket: two runs of commits on the form field classes, days apart and
    worded differently, the ticket resolved at the end of the week, and one unrelated build fix."""
    early = ["Support the Opt entry of AcroForm choice fields", "Return the export value of a choice field",
             "Test the Opt entry of choice fields", "Sort the options of an AcroForm choice field",
             "Display values for choice field options", "Choice field option javadoc",
             "AcroForm choice field: combo box edit flag", "Choice field top index"]  # fmt: skip
    late = ["Move AcroForm default value handling to the field superclass", "Handle the edit flag of text fields",
            "Use native java types for field values", "Javadoc for AcroForm field value handling",
            "Text field value defaults", "Field flags cleanup", "AcroForm text field max length",
            "Rich text value of text fields"]  # fmt: skip
    items = [
        act(f"e{n}", "commit", title, hours=2 + 2 * n, paths=(f"{FORM}/PDChoice.java", f"{FORM}/PDField.java"))
        for n, title in enumerate(early)
    ]
    items += [
        act(f"l{n}", "commit", title, hours=120 + n, paths=(f"{FORM}/PDField.java", f"{FORM}/PDTextField.java"))
        for n, title in enumerate(late)
    ]
    items.append(
        act("t1", "ticket", "Align AcroForm fields with the specification", hours=140, labels=("Improvement",))
    )
    items.append(act("b1", "commit", "Pin the surefire plugin version", hours=60, paths=("pom.xml",)))
    return items


def groups_of(candidates: list[Candidate]) -> set[frozenset[str]]:
    return {frozenset(c.activity_ids) for c in candidates}


def test_the_runs_of_one_big_ticket_come_together(blank_nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    window = form_week()
    joined = groups_of(cluster_week(window, blank_nlp))
    monkeypatch.setattr(fragments, "BIAS", -np.inf)
    apart = groups_of(cluster_week(window, blank_nlp))
    early = frozenset(a.id for a in window if a.id.startswith("e"))
    late = frozenset(a.id for a in window if a.id.startswith("l"))
    # the pair model alone leaves the two runs apart; the fragment step puts them together
    assert {early, late} <= apart
    assert early | late in joined
    assert frozenset({"b1"}) in joined


def state_of(
    nlp: Language, window: list[Activity], groups: list[list[int]], cannot: list[tuple[int, int]] | None = None
) -> tuple[list[ActivityFeatures], Callable[[], Apart]]:
    features = extract_features(nlp, window)
    refs = [references(a) for a in window]
    facts = kept_apart(refs, groups, features, cannot or [])
    return features, lambda: facts


def test_what_must_stay_apart_stays_apart_however_probable(blank_nlp: Language) -> None:
    window = [
        act("a", "commit", "Add the ledger writer", hours=0, paths=("ledger/writer.py",)),
        act("b", "commit", "Ledger writer tests", hours=1, paths=("ledger/writer.py",)),
        act("t1", "ticket", "Ledger writer", hours=5),
        act("t2", "ticket", "Ledger writer retries", hours=6),
        act("c", "commit", "Retry the ledger writer", hours=2, paths=("ledger/writer.py",)),
    ]
    groups = [[0, 1], [2], [3], [4]]
    # every pair said to be certainly one piece of work
    probability = np.full((5, 5), 0.99)
    features, apart = state_of(blank_nlp, window, groups, cannot=[(0, 4)])
    merged = fragments.merge_fragments(probability, groups, features, fixed=[False] * 4, apart=apart)
    by_item = {i: n for n, group in enumerate(merged) for i in group}
    # two ticket records are two pieces of work, and the user's cannot-link holds
    assert by_item[2] != by_item[3]
    assert by_item[0] != by_item[4]
    features, apart = state_of(blank_nlp, window, groups)
    merged = fragments.merge_fragments(probability, groups, features, fixed=[True, False, False, False], apart=apart)
    # a fixed group takes no one
    assert [0, 1] in merged


def test_a_window_without_tickets_is_left_as_the_pair_model_grouped_it(blank_nlp: Language) -> None:
    window = [a for a in form_week() if a.kind != "ticket"]
    groups = [[i] for i in range(len(window))]
    features, apart = state_of(blank_nlp, window, groups)
    probability = np.full((len(window), len(window)), 0.99)
    assert fragments.merge_fragments(probability, groups, features, fixed=[False] * len(groups), apart=apart) == groups
