from __future__ import annotations

import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering import find_metrics, suggest_section


def figures(nlp: Language, text: str) -> list[tuple[str, str, float | None, float | None]]:
    return [(m.kind, m.text, m.before, m.after) for m in find_metrics(nlp(text), "a", len(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cut retries by 45%", [("percent", "45%", None, None)]),
        ("Cold start now takes 2 hours", [("duration", "2 hours", None, None)]),
        ("Builds are 3x faster", [("multiplier", "3x", None, None)]),
        ("Saves $12k/month on compute", [("money", "$12k/month", None, None)]),
        ("Reduced p99 from 300 ms to 120 ms", [("latency", "p99 from 300 ms to 120 ms", 300.0, 120.0)]),
        ("Retried 3 times", []),
    ],
)
def test_metric_patterns(nlp: Language, text: str, expected: list[tuple[str, str, float | None, float | None]]) -> None:
    assert figures(nlp, text) == expected


def test_metric_says_where_it_came_from(blank_nlp: Language) -> None:
    body = "We cut latency from 300ms to 120ms"
    [metric] = find_metrics(blank_nlp("Speed up\n" + body), "gh:1", len("Speed up"))
    assert (metric.activity_id, metric.field) == ("gh:1", "body")
    assert body[metric.start : metric.end] == metric.text == "latency from 300ms to 120ms"
    assert (metric.unit, metric.before, metric.after) == ("ms", 300.0, 120.0)


def test_sections() -> None:
    assert suggest_section([act("r", "review", "Review: add retries")]) == "Collaboration & mentorship"
    assert suggest_section([act("e", "event", "1:1 with Sam")]) == "Collaboration & mentorship"
    assert suggest_section([act("e", "event", "Interview: backend engineer")]) == "Collaboration & mentorship"
    assert (
        suggest_section([act("p", "pull_request", "Design doc for retries", paths=("docs/retries.md",))])
        == "Design & documentation"
    )
    assert suggest_section([act("e", "event", "Kubernetes training workshop")]) == "Learning"
    assert suggest_section([act("e", "event", "Hiring committee")]) == "Company building"
    assert suggest_section([act("e", "event", "Volunteer day at the food bank")]) == "Outside of work"
    work = [act("p", "pull_request", "Add retries", paths=("api/retry.py",)), act("e", "event", "Design review")]
    assert suggest_section(work) == "Projects"
