"""The week's chores become one candidate, titled for what was cleaned up; real work, a ticket's
own commits and the user's cannot-links stay as they were."""

from __future__ import annotations

import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering import Candidate, Constraints, cluster_week
from harvester.clustering.chores import chore_topic, chores_title
from harvester.records import Activity

PDMODEL = "pdfbox/src/main/java/org/apache/pdfbox/pdmodel"


def chores_week() -> list[Activity]:
    """A Saturday of clean-up commits that share no word and no file, and a feature on Monday."""
    chores = [
        ("fix source code formatting", "SuperimposePage.java"),
        ("remove unused import", "TestTextToPdf.java"),
        ("fix modifier order", "ValidateXImage.java"),
        ("fix javadoc of getCOSObject", "COSStream.java"),
        ("avoid Sonar warning", "CertInformationCollector.java"),
        ("update maven-bundle-plugin to 5.1.9", "pom.xml"),
    ]
    week = [
        act(f"chore{n}", "commit", title, hours=120 + 0.4 * n, paths=(f"{PDMODEL}/{n}/{path}",))
        for n, (title, path) in enumerate(chores)
    ]
    week += [
        act("feat0", "commit", "Support multiple paragraphs in multiline text fields", hours=2,
            paths=(f"{PDMODEL}/interactive/form/AppearanceGeneratorHelper.java",)),
        act("feat1", "commit", "Correct autosize for multiline text fields", hours=5,
            paths=(f"{PDMODEL}/interactive/form/AppearanceGeneratorHelper.java",)),
    ]  # fmt: skip
    return week


def holding(candidates: list[Candidate], activity_id: str) -> Candidate:
    return next(c for c in candidates if activity_id in c.activity_ids)


def test_a_weeks_chores_are_one_candidate_titled_for_what_was_cleaned_up(nlp: Language) -> None:
    candidates = cluster_week(chores_week(), nlp)
    chores = holding(candidates, "chore0")
    assert sorted(chores.activity_ids) == [f"chore{n}" for n in range(6)]
    assert chores.title.startswith("Cleaned up the code in 6 commits: ")
    assert "formatting" in chores.title
    assert "chores" in chores.why
    feature = holding(candidates, "feat0")
    assert sorted(feature.activity_ids) == ["feat0", "feat1"]
    assert not feature.title.startswith("Cleaned up")


def test_a_chore_that_names_its_ticket_stays_with_the_ticket(blank_nlp: Language) -> None:
    week = chores_week()
    week[1] = act("chore1", "commit", "PDFBOX-4071: remove unused import", hours=120.4,
                  paths=(f"{PDMODEL}/1/TestTextToPdf.java",))  # fmt: skip
    week.append(act("ticket", "ticket", "Code improvements", hours=130, url="https://jira/browse/PDFBOX-4071",
                    extra={"key": "PDFBOX-4071"}))  # fmt: skip
    candidates = cluster_week(week, blank_nlp)
    assert "chore1" in holding(candidates, "ticket").activity_ids
    assert "chore1" not in holding(candidates, "chore0").activity_ids


def test_a_cannot_link_between_two_chores_holds(blank_nlp: Language) -> None:
    apart = Constraints(cannot_link=(("chore0", "chore3"),))
    candidates = cluster_week(chores_week(), blank_nlp, constraints=apart)
    assert holding(candidates, "chore0") is not holding(candidates, "chore3")
    assert all(sum(i in c.activity_ids for i in ("chore0", "chore3")) < 2 for c in candidates)


def test_a_chore_among_real_work_stays_with_the_work(blank_nlp: Language) -> None:
    week = [
        act("a", "commit", "Retry failed webhook deliveries with backoff", hours=1, paths=("pay/webhooks.py",)),
        act("b", "commit", "Retry webhook deliveries on 503", hours=2, paths=("pay/webhooks.py",)),
        act("c", "commit", "fix formatting", hours=3, paths=("pay/webhooks.py",)),
        act("d", "commit", "fix javadoc typo", hours=50, paths=("docs/api.py",)),
        act("e", "commit", "remove unused import", hours=51, paths=("cli/main.py",)),
    ]
    candidates = cluster_week(week, blank_nlp, constraints=Constraints(must_link=(("a", "b"), ("a", "c"))))
    work = holding(candidates, "a")
    assert sorted(work.activity_ids) == ["a", "b", "c"]
    assert not work.title.startswith("Cleaned up")
    assert sorted(holding(candidates, "d").activity_ids) == ["d", "e"]


@pytest.mark.parametrize(
    ("title", "topic"),
    [
        ("remove unused imports; add override", "unused imports"),
        ("fix checkstyle issues", "formatting"),
        ("Bump lodash from 4.17.20 to 4.17.21", "dependency updates"),
        ("set current version of owasp plugin", "dependency updates"),
        ("use try-with-resources", "warnings"),
        # real work that happens to use a chore's word
        ("Support for XML imports (work in progress)", None),
        ("update test exclusions", None),
        ("Refactor the payment retry loop", None),
        ("Deprecate confusing Text Matrix APIs", None),
        ("Format refund amounts with the order's currency", None),
        ("Simplify the checkout flow", None),
        ("Avoid double refunds on concurrent requests", None),
        ("Clean up expired sessions nightly", None),
        ("Support AWS Lambda deploys", None),
        ("Update the current user's avatar", None),
        ("Show warnings when a payout fails", None),
    ],
)
def test_what_counts_as_a_chore(title: str, topic: str | None) -> None:
    assert chore_topic(act("x", "commit", title)) == topic


def test_chores_are_never_tickets_reviews_or_meetings() -> None:
    for kind in ("ticket", "review", "event"):
        assert chore_topic(act("x", kind, "fix formatting")) is None


def test_only_dependency_updates_read_as_such() -> None:
    bumps = [act(f"p{n}", "pull_request", f"Bump library{n} from 1.0 to 1.{n}") for n in range(1, 3)]
    assert chores_title(bumps) == "Updated dependencies in 2 pull requests"
