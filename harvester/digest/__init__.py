"""The weekly digest: built from candidates (pure), rendered to HTML and text, queued and mailed."""

from harvester.digest.build import build_digest, one_line, previous_week
from harvester.digest.model import IMPACT_PROMPT, CandidateInput, Digest, DigestEntry, Links
from harvester.digest.render import render_html, render_text
from harvester.display import safe_url
from harvester.documents.evidence import Evidence

__all__ = [
    "IMPACT_PROMPT",
    "CandidateInput",
    "Digest",
    "DigestEntry",
    "Evidence",
    "Links",
    "build_digest",
    "one_line",
    "previous_week",
    "render_html",
    "render_text",
    "safe_url",
]
