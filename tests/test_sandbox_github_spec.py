"""The sandbox GitHub answers in the shapes of GitHub's published OpenAPI description."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox

openapi_core = pytest.importorskip("openapi_core")
from openapi_core.testing import MockRequest, MockResponse  # noqa: E402

SPEC = Path(__file__).resolve().parents[2] / "shared" / "specs" / "github-rest.openapi.json.gz"


@pytest.fixture(scope="module")
def github_spec() -> Any:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not beside the repository")
    spec = json.loads(gzip.decompress(SPEC.read_bytes()))
    # validate only the operations the sandbox serves; the whole 13 MB description is slow to resolve
    keep = {"/user", "/search/issues"}
    spec["paths"] = {path: item for path, item in spec["paths"].items() if path in keep}
    spec["components"] = reachable_components(spec)
    return openapi_core.OpenAPI.from_dict(spec)


def reachable_components(spec: dict[str, Any]) -> dict[str, Any]:
    """Only the components the kept paths refer to, directly or through each other."""
    components: dict[str, Any] = spec["components"]
    kept: dict[str, dict[str, Any]] = {}
    pending = [spec["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                _, _, kind, name = ref.split("/", 3)
                if name not in kept.setdefault(kind, {}):
                    kept[kind][name] = components[kind][name]
                    pending.append(components[kind][name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return kept


def check(spec: Any, server: GitHubSandbox, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    answer = requests.get(
        server.base_url + path, params=params, headers={"Authorization": f"token {DEFAULT_TOKEN}"}, timeout=5
    )
    assert answer.status_code == 200
    request = MockRequest("https://api.github.com", "get", path, args=params or {})
    response = MockResponse(answer.content, status_code=200, content_type="application/json")
    spec.validate_response(request, response)
    data: dict[str, Any] = answer.json()
    return data


def test_user_matches_spec(github_spec: Any, github: GitHubSandbox) -> None:
    assert check(github_spec, github, "/user")["login"] == "dana-dev"


def test_search_issues_matches_spec(github_spec: Any, github: GitHubSandbox) -> None:
    data = check(
        github_spec,
        github,
        "/search/issues",
        {"q": "is:pr is:merged author:dana-dev", "per_page": "5", "sort": "created", "order": "asc"},
    )
    assert data["total_count"] == 9 and len(data["items"]) == 5
    assert all(item["pull_request"]["merged_at"] for item in data["items"])


def test_search_page_beyond_1000_is_refused(github: GitHubSandbox) -> None:
    answer = requests.get(
        github.base_url + "/search/issues",
        params={"q": "is:pr", "per_page": "100", "page": "11"},
        headers={"Authorization": f"token {DEFAULT_TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 422
    assert "first 1000 search results" in answer.json()["message"]
