"""Grouping a week of activities into candidate accomplishments: a pure library.

`cluster_week` is the entry point; `load_pipeline` gives the spaCy pipeline it uses.
"""

from harvester.clustering.cluster import GROUPING_THRESHOLD, candidate_id, cluster_week
from harvester.clustering.features import ActivityFeatures, extract_features
from harvester.clustering.links import Link, explicit_links
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
from harvester.clustering.sections import suggest_section

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
