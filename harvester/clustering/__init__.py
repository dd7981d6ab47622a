"""Grouping a week of activities into candidate accomplishments: a pure library.

`cluster_week` is the entry point; `load_pipeline` gives the spaCy pipeline it uses. Names load
on first use (PEP 562), so reading `SECTIONS` does not import spaCy.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harvester.clustering.cluster import GROUPING_THRESHOLD, candidate_id, cluster_week
    from harvester.clustering.features import ActivityFeatures, extract_features
    from harvester.clustering.metrics import find_metrics
    from harvester.clustering.model import (
        LOCKED_STATES,
        SECTIONS,
        Candidate,
        CandidateState,
        Constraints,
        ExistingCandidate,
        Metric,
        Section,
    )
    from harvester.clustering.nlp import DEFAULT_MODEL, is_trained, load_pipeline
    from harvester.clustering.references import Link, explicit_links
    from harvester.clustering.sections import suggest_section

_MODULE_OF = {
    "GROUPING_THRESHOLD": "harvester.clustering.cluster",
    "candidate_id": "harvester.clustering.cluster",
    "cluster_week": "harvester.clustering.cluster",
    "ActivityFeatures": "harvester.clustering.features",
    "extract_features": "harvester.clustering.features",
    "find_metrics": "harvester.clustering.metrics",
    "LOCKED_STATES": "harvester.clustering.model",
    "SECTIONS": "harvester.clustering.model",
    "Candidate": "harvester.clustering.model",
    "CandidateState": "harvester.clustering.model",
    "Constraints": "harvester.clustering.model",
    "ExistingCandidate": "harvester.clustering.model",
    "Metric": "harvester.clustering.model",
    "Section": "harvester.clustering.model",
    "DEFAULT_MODEL": "harvester.clustering.nlp",
    "is_trained": "harvester.clustering.nlp",
    "load_pipeline": "harvester.clustering.nlp",
    "Link": "harvester.clustering.references",
    "explicit_links": "harvester.clustering.references",
    "suggest_section": "harvester.clustering.sections",
}

__all__ = [
    "DEFAULT_MODEL",
    "GROUPING_THRESHOLD",
    "LOCKED_STATES",
    "SECTIONS",
    "ActivityFeatures",
    "Candidate",
    "CandidateState",
    "Constraints",
    "ExistingCandidate",
    "Link",
    "Metric",
    "Section",
    "candidate_id",
    "cluster_week",
    "explicit_links",
    "extract_features",
    "find_metrics",
    "is_trained",
    "load_pipeline",
    "suggest_section",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_MODULE_OF[name]), name)
