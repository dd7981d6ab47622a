"""One definition of a ticket key: what links items is what drafting strips and what the term step skips."""

from __future__ import annotations

import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering.drafting import draft_title
from harvester.clustering.features import extract_features
from harvester.clustering.references import references


@pytest.mark.parametrize(
    ("title", "is_key"),
    [
        ("PAY-12: Retry webhook deliveries", True),
        ("OAK-154 Retry webhook deliveries", True),
        # a version and a range are not tickets, so they are neither links nor noise
        ("PAY-1.2 Retry webhook deliveries", False),
        ("PAY-1-3 Retry webhook deliveries", False),
        ("PAY-01 Retry webhook deliveries", False),
    ],
)
def test_a_ticket_key_is_a_link_never_a_word(title: str, is_key: bool, blank_nlp: Language) -> None:
    activity = act("a", "pull_request", title)
    assert any(ref.startswith("ticket:PAY-") or ref.startswith("ticket:OAK-") for ref in references(activity)) is is_key
    # a key is stripped so the verb leads; a version or range stays part of the words
    assert draft_title([activity]).startswith("Retried webhook deliveries") is is_key
    (features,) = extract_features(blank_nlp, [activity])
    assert ({"pay", "oak"} & set(features.terms) != set()) is not is_key
