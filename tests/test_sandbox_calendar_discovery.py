"""The sandbox Calendar answers in the shapes of the discovery document shipped with google-api-python-client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import googleapiclient
import httplib2
import pytest
from support import NOW

from connectors.google_calendar.sandbox import DEFAULT_ACCESS_TOKEN, GoogleCalendarSandbox
from harvester.sandbox.scenario import Scenario

jsonschema = pytest.importorskip("jsonschema")

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"


def to_json_schema(discovery: dict[str, Any], root: str) -> dict[str, Any]:
    """A JSON Schema for one discovery schema: `$ref` by name becomes `#/definitions/name`.

    Discovery schemas are JSON-Schema-like; the differences that matter here are bare-name
    references, type "any", integer formats (int64 values are strings on the wire) and
    `additionalProperties` being open unless stated. Unknown properties are refused, so a misspelt field fails.
    """

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "$ref":
                    out["$ref"] = f"#/definitions/{value}"
                elif key == "properties":
                    out["properties"] = {name: convert(child) for name, child in value.items()}
                elif key in ("items", "additionalProperties"):
                    out[key] = convert(value)
                elif key == "enum" or (key == "type" and value != "any"):
                    out[key] = value
            if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
                out["additionalProperties"] = False
            if node.get("format") in ("int64", "uint64"):
                out["type"] = "string"
            if node.get("format") == "date-time":
                out["pattern"] = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
            if node.get("format") == "date":
                out["pattern"] = r"^\d{4}-\d\d-\d\d$"
            return out
        return node

    definitions = {name: convert(schema) for name, schema in discovery["schemas"].items()}
    return {"$ref": f"#/definitions/{root}", "definitions": definitions}


@pytest.fixture(scope="module")
def discovery() -> dict[str, Any]:
    return dict(json.loads(DISCOVERY.read_text()))


@pytest.fixture
def sandbox() -> Iterator[GoogleCalendarSandbox]:
    with GoogleCalendarSandbox(Scenario.generate(NOW, weeks=4)) as server:
        yield server


def get(server: GoogleCalendarSandbox, **params: str) -> tuple[int, dict[str, Any]]:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    response, content = httplib2.Http().request(
        f"{server.calendar_url()}calendars/primary/events?{query}",
        headers={"Authorization": f"Bearer {DEFAULT_ACCESS_TOKEN}"},
    )
    return response.status, json.loads(content)


def test_converter_refuses_a_wrong_shape(discovery: dict[str, Any]) -> None:
    schema = to_json_schema(discovery, "Event")
    jsonschema.validate({"id": "x", "start": {"dateTime": "2026-11-02T10:00:00+01:00"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "attendees": [{"self": "yes"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "summmary": "typo"}, schema)


def test_full_listing_matches_the_events_schema(discovery: dict[str, Any], sandbox: GoogleCalendarSandbox) -> None:
    status, body = get(sandbox, singleEvents="true", showDeleted="true", timeMin="2026-10-01T00:00:00Z")
    assert status == 200
    jsonschema.validate(body, to_json_schema(discovery, "Events"))
    kinds = {item["eventType"] for item in body["items"] if item["status"] != "cancelled"}
    assert kinds == {"default", "focusTime", "outOfOffice", "workingLocation"}
    assert any("date" in item["start"] for item in body["items"])
    assert any(item.get("status") == "cancelled" for item in body["items"])
    assert any(item.get("visibility") == "private" for item in body["items"])
    assert any(item.get("recurringEventId") for item in body["items"])
    assert "nextSyncToken" in body and "nextPageToken" not in body


def test_pages_and_incremental_changes_match_the_schema(
    discovery: dict[str, Any], sandbox: GoogleCalendarSandbox
) -> None:
    schema = to_json_schema(discovery, "Events")
    status, first = get(sandbox, singleEvents="true", maxResults="10", timeMin="2026-10-01T00:00:00Z")
    assert status == 200 and len(first["items"]) == 10 and "nextSyncToken" not in first
    jsonschema.validate(first, schema)
    _, last = get(sandbox, singleEvents="true", maxResults="2500", timeMin="2026-10-01T00:00:00Z")
    sandbox.cancel("pay58meeting")
    sandbox.change("ledgerlag", response="declined", end=NOW - timedelta(days=1))
    status, changes = get(sandbox, singleEvents="true", syncToken=last["nextSyncToken"])
    assert status == 200
    jsonschema.validate(changes, schema)
    assert [(item["id"], item["status"]) for item in changes["items"]] == [
        ("pay58meeting", "cancelled"),
        ("ledgerlag", "confirmed"),
    ]


def test_errors_have_googles_shape(discovery: dict[str, Any], sandbox: GoogleCalendarSandbox) -> None:
    sandbox.expire_sync_tokens()
    status, body = get(sandbox, singleEvents="true", syncToken="sync-gone")
    assert status == 410 and body["error"]["errors"][0]["reason"] == "fullSyncRequired"
    status, body = get(sandbox, singleEvents="true", syncToken="x", timeMin="2026-10-01T00:00:00Z")
    assert status == 400 and body["error"]["code"] == 400
