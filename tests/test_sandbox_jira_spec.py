"""The sandbox Jira Cloud answers in the shapes of Atlassian's published OpenAPI description."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.jira.sandbox import DEFAULT_API_TOKEN, JiraSandbox

openapi_core = pytest.importorskip("openapi_core")
from openapi_core.testing import MockRequest, MockResponse  # noqa: E402
from test_sandbox_github_spec import reachable_components  # noqa: E402

JIRA_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?([+-]\d\d:?\d\d|Z)")
SPEC = Path(__file__).resolve().parents[2] / "shared" / "specs" / "jira-cloud-platform.openapi.json.gz"


@pytest.fixture
def cloud() -> Any:
    from support import NOW

    from harvester.sandbox.scenario import Scenario

    with JiraSandbox(Scenario.generate(NOW, weeks=4), deployment="Cloud") as server:
        yield server


SERVED = ("/rest/api/3/serverInfo", "/rest/api/3/myself", "/rest/api/3/field", "/rest/api/3/search/jql")


@pytest.fixture(scope="module")
def jira_spec() -> Any:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not beside the repository")
    spec = json.loads(gzip.decompress(SPEC.read_bytes()))
    # validate only the operations the sandbox serves, with only their GET methods
    spec["paths"] = {path: {"get": spec["paths"][path]["get"]} for path in SERVED}
    spec["components"] = reachable_components(spec)
    # real Jira writes offsets without a colon (2026-11-03T14:05:09.000+0100), which RFC 3339's
    # date-time refuses: the published schema is stricter than the service, so accept Jira's form
    config = openapi_core.Config(extra_format_validators={"date-time": is_jira_timestamp})
    return openapi_core.OpenAPI.from_dict(spec, config=config)


def is_jira_timestamp(value: Any) -> bool:
    return isinstance(value, str) and JIRA_TIMESTAMP.fullmatch(value) is not None


def check(spec: Any, server: JiraSandbox, path: str, params: dict[str, Any] | None = None) -> Any:
    answer = requests.get(
        server.base_url + path, params=params, auth=(server.scenario.email, DEFAULT_API_TOKEN), timeout=5
    )
    assert answer.status_code == 200, answer.text
    request = MockRequest("https://your-domain.atlassian.net", "get", path, args=params or {})
    response = MockResponse(answer.content, status_code=200, content_type="application/json")
    spec.validate_response(request, response)
    return answer.json()


def test_server_info_matches_spec(jira_spec: Any, cloud: JiraSandbox) -> None:
    info = check(jira_spec, cloud, "/rest/api/3/serverInfo")
    assert info["deploymentType"] == "Cloud" and info["versionNumbers"]


def test_myself_matches_spec(jira_spec: Any, cloud: JiraSandbox) -> None:
    assert check(jira_spec, cloud, "/rest/api/3/myself")["timeZone"] == "Europe/Berlin"


def test_fields_match_spec(jira_spec: Any, cloud: JiraSandbox) -> None:
    fields = check(jira_spec, cloud, "/rest/api/3/field")
    assert any(f["name"] == "Story point estimate" for f in fields)


def test_search_jql_pages_match_spec(jira_spec: Any, cloud: JiraSandbox) -> None:
    params: dict[str, Any] = {
        "jql": "assignee = currentUser() AND statusCategory = Done ORDER BY resolved ASC",
        "maxResults": "4",
        "fields": ["summary", "description", "status", "resolutiondate", "parent", "customfield_10016"],
        "expand": "changelog",
    }
    first = check(jira_spec, cloud, "/rest/api/3/search/jql", params)
    assert len(first["issues"]) == 4 and first["nextPageToken"] and first["isLast"] is False
    assert first["issues"][1]["fields"]["description"]["type"] == "doc"
    second = check(jira_spec, cloud, "/rest/api/3/search/jql", {**params, "nextPageToken": first["nextPageToken"]})
    assert second["isLast"] is True and "nextPageToken" not in second
    keys = [i["key"] for i in first["issues"] + second["issues"]]
    assert len(keys) == len(set(keys)) == 7


def test_search_jql_default_fields_are_ids_only(jira_spec: Any, cloud: JiraSandbox) -> None:
    data = check(jira_spec, cloud, "/rest/api/3/search/jql", {"jql": "project = PAY"})
    assert data["issues"] and all(set(issue) == {"expand", "id", "self", "key"} for issue in data["issues"])


def test_bad_jql_is_a_400_with_error_messages(cloud: JiraSandbox) -> None:
    answer = requests.get(
        cloud.base_url + "/rest/api/3/search/jql",
        params={"jql": "status CHANGED TO (Finished) BY currentUser()"},
        auth=(cloud.scenario.email, DEFAULT_API_TOKEN),
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == ["The value 'Finished' does not exist for the field 'status'."]
