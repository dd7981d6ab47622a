"""A sandbox Jira, Cloud or Server/Data Center, serving the scenario's tickets in Jira's REST shapes.

What it reproduces, because the `jira` client and the connector depend on it:
- `GET /rest/api/{2,3}/serverInfo` with `versionNumbers` and `deploymentType` ("Cloud" or
  "Server": Data Center reports "Server" too); it answers without credentials, as real Jira does;
- `GET …/myself` with the account's `timeZone`, in which JQL date literals are read;
- a non-empty `GET …/field` (the client translates field names through it, and calls it again
  on every search while it is empty), with story points and, on Server, "Epic Link";
- Cloud: `GET /rest/api/{2,3}/search/jql` paged by `nextPageToken` (no `total`, at most 100
  issues a page when fields are asked for), while the old `/search` answers 410 (CHANGE-2046);
- Server/DC: `GET /rest/api/2/search` paged by `startAt`, reporting `startAt`, `maxResults` and
  `total` truthfully (the client's paging stops on them); there is no `/rest/api/3` on Server;
- Cloud authenticates email + API token (Basic), Server/DC a personal access token (Bearer)
  or username + password (Basic);
- JQL: the subset the connector sends, and a little more (AND/OR/NOT, parentheses, `=`, `!=`,
  `<`, `>=`…, `in`, `is EMPTY`, `status CHANGED FROM/TO/BY/DURING/AFTER/BEFORE`, `ORDER BY`),
  with dates read in the account's time zone at minute precision; unknown fields and status
  names are refused with 400 as Jira does, and so is a key no issue has, unless Server's
  `validateQuery=false` asks for no match instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator as operator_module
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from connectors.jira.sandbox_tickets import EPICS, STATUS_CATEGORIES, Comment, Ticket, Transition, scenario_tickets
from harvester.sandbox.oauth import AuthorizationServer
from harvester.sandbox.scenario import Scenario, display_name_of, email_of
from harvester.sandbox.server import Request, Response, SandboxServer

Deployment = Literal["Cloud", "Server"]

DEFAULT_API_TOKEN = "sandbox-api-token"
DEFAULT_PAT = "sandbox-personal-access-token"
DEFAULT_PASSWORD = "correct horse battery staple"
DEFAULT_TIME_ZONE = "Europe/Berlin"
CLOUD_PAGE_CAP = 100
CLOUD_ID_PAGE_CAP = 5000
SERVER_PAGE_CAP = 1000  # jira.search.views.default.max
DEFAULT_PAGE = 50
STORY_POINTS = {"Cloud": ("customfield_10016", "Story point estimate"), "Server": ("customfield_10106", "Story Points")}
EPIC_LINK = ("customfield_10100", "Epic Link")
GONE_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
_CATEGORY = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
_STATUS_IDS = {"To Do": "10000", "In Progress": "3", "In Review": "10002", "Done": "10001", "Closed": "6"}
_PRIORITY_IDS = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
_TYPE_IDS = {"Epic": "10000", "Story": "10001", "Task": "10002", "Bug": "10004", "Sub-task": "10003"}
_PROJECT_NAMES = {"PAY": "Payments", "WEB": "Web App", "OPS": "Operations", "DOC": "Documentation"}


# teammates whose Atlassian profile hides their email address ("Email address: only you and admins")
CLOUD_HIDDEN_EMAILS = frozenset({"alex-backend"})


class JqlError(ValueError):
    """A JQL query Jira would refuse with 400."""


class JiraSandbox(SandboxServer):
    def __init__(
        self,
        scenario: Scenario,
        *,
        deployment: Deployment = "Cloud",
        tickets: Sequence[Ticket] | None = None,
        api_tokens: Iterable[str] = (DEFAULT_API_TOKEN,),
        pats: Iterable[str] = (DEFAULT_PAT,),
        time_zone: str = DEFAULT_TIME_ZONE,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.scenario = scenario
        self.deployment: Deployment = deployment
        self.tickets = list(scenario_tickets(scenario) if tickets is None else tickets)
        self.api_tokens = set(api_tokens)
        self.pats = set(pats)
        self.time_zone = time_zone
        self.server_page_cap = SERVER_PAGE_CAP
        versions = "(?P<v>2|3|latest)"
        self.route("GET", rf"/rest/api/{versions}/serverInfo", self._server_info)
        self.route("GET", rf"/rest/api/{versions}/myself", self._myself)
        self.route("GET", rf"/rest/api/{versions}/field", self._fields)
        self.route("GET", rf"/rest/api/{versions}/search/jql", self._search_jql)
        self.route("GET", rf"/rest/api/{versions}/search", self._search)
        # Jira Cloud's OAuth 2.0 (3LO), team mode: auth.atlassian.com/authorize and /oauth/token,
        # then api.atlassian.com lists the sites the grant reaches and serves each site's REST API
        # under /ex/jira/{cloudid}
        self.cloud_id = "11223344-a1b2-3b33-c444-def123456789"
        self.oauth_tokens: set[str] = set()
        self.oauth = AuthorizationServer(
            "Atlassian",
            {},
            accept=self.oauth_tokens.add,
            forget=self.oauth_tokens.discard,
            token_prefix="atlassian-sandbox-",
            # Atlassian rotates refresh tokens: each refresh answers a new one and retires the old
            rotates_refresh_tokens=True,
        )
        self.route("GET", r"/authorize", lambda request, _m: self.oauth.authorize_page(request))
        self.route("POST", r"/authorize", lambda request, _m: self.oauth.authorize_decision(request))
        self.route("POST", r"/oauth/token", lambda request, _m: self.oauth.token(request))
        self.route("GET", r"/oauth/token/accessible-resources", self._accessible_resources)

    @property
    def cloud(self) -> bool:
        return self.deployment == "Cloud"

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.time_zone)

    def dispatch(self, request: Request) -> Response:
        if request.path in ("/authorize", "/oauth/token"):
            return super().dispatch(request)
        site = re.match(r"/ex/jira/(?P<cloud>[^/]+)(?P<rest>/.*)", request.path)
        if request.path == "/oauth/token/accessible-resources" or site:
            if not self._oauth_bearer(request):
                return Response(401, {"code": 401, "message": "Unauthorized"})
            if site is None:
                return super().dispatch(request)
            if site.group("cloud") != self.cloud_id:
                return Response(404, {"errorMessages": ["Site not found"], "errors": {}})
            return super().dispatch(replace(request, path=site.group("rest")))
        match = re.match(r"/rest/api/(2|3|latest)/", request.path)
        if match and match.group(1) == "3" and not self.cloud:
            return Response(404, _html_404(), {"Content-Type": "text/html;charset=UTF-8"})
        authorization = request.header("authorization")
        if authorization is None and request.path.endswith("/serverInfo"):
            return super().dispatch(request)
        if not self._authenticated(authorization or ""):
            message = (
                "Client must be authenticated to access this resource."
                if self.cloud
                else "You are not authenticated. Authentication required to perform this operation."
            )
            return Response(
                401, {"errorMessages": [message], "errors": {}}, {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
            )
        return super().dispatch(request)

    def _oauth_bearer(self, request: Request) -> bool:
        scheme, _, credential = (request.header("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and credential in self.oauth_tokens

    def _accessible_resources(self, request: Request, _match: re.Match[str]) -> Response:
        scopes = ["read:jira-work", "read:jira-user"]
        return Response(
            200,
            [{"id": self.cloud_id, "url": self.base_url, "name": "acme", "scopes": scopes, "avatarUrl": ""}],
        )

    def _authenticated(self, authorization: str) -> bool:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return not self.cloud and credential in self.pats
        if scheme.lower() != "basic":
            return False
        try:
            user, _, secret = base64.b64decode(credential).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if self.cloud:
            return user == self.scenario.email and secret in self.api_tokens
        return user == self.scenario.login and secret == DEFAULT_PASSWORD

    def _server_info(self, request: Request, match: re.Match[str]) -> Response:
        now = datetime.now(UTC).astimezone(self.zone)
        if self.cloud:
            body: dict[str, Any] = {
                "baseUrl": self.base_url,
                "displayUrl": self.base_url,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100289,
                "buildDate": "2026-11-17T08:49:02.000+0000",
                "serverTime": _stamp(now),
                "scmInfo": "7c0cf0bdbf65a32d5d7bd9b0c0e3b6f0a5f44d3b",
                "serverTitle": "Jira",
                "defaultLocale": {"locale": "en_US"},
                "serverTimeZone": "Etc/UTC",
            }
            # defaultLocale is in real answers but not in the published schema
            body.pop("defaultLocale")
            return Response(200, body)
        return Response(
            200,
            {
                "baseUrl": self.base_url,
                "version": "9.12.15",
                "versionNumbers": [9, 12, 15],
                "deploymentType": "Server",
                "buildNumber": 9120015,
                "buildDate": "2024-10-14T00:00:00.000+0000",
                "databaseBuildNumber": 9120015,
                "serverTime": _stamp(now),
                "scmInfo": "c5a3f9a4d0c8e6b1f2a7d9e0b3c4d5e6f7a8b9c0",
                "serverTitle": "Acme Jira",
            },
        )

    def _myself(self, request: Request, match: re.Match[str]) -> Response:
        user = self.user_json(self.scenario.login, match.group("v"))
        user.update(
            {
                "emailAddress": self.scenario.email,
                "timeZone": self.time_zone,
                "locale": "en_US",
                "groups": {"size": 2, "items": []},
                "applicationRoles": {"size": 1, "items": []},
                "expand": "groups,applicationRoles",
            }
        )
        return Response(200, user)

    def field_list(self) -> list[dict[str, Any]]:
        system = [
            ("summary", "Summary", ["summary"], {"type": "string", "system": "summary"}),
            ("description", "Description", ["description"], {"type": "string", "system": "description"}),
            ("status", "Status", ["status"], {"type": "status", "system": "status"}),
            ("resolution", "Resolution", ["resolution"], {"type": "resolution", "system": "resolution"}),
            (
                "resolutiondate",
                "Resolved",
                ["resolutiondate", "resolved"],
                {"type": "datetime", "system": "resolutiondate"},
            ),
            ("issuetype", "Issue Type", ["issuetype", "type"], {"type": "issuetype", "system": "issuetype"}),
            ("priority", "Priority", ["priority"], {"type": "priority", "system": "priority"}),
            ("project", "Project", ["project"], {"type": "project", "system": "project"}),
            ("labels", "Labels", ["labels"], {"type": "array", "items": "string", "system": "labels"}),
            ("assignee", "Assignee", ["assignee"], {"type": "user", "system": "assignee"}),
            ("reporter", "Reporter", ["reporter"], {"type": "user", "system": "reporter"}),
            ("comment", "Comment", ["comment"], {"type": "comments-page", "system": "comment"}),
            ("created", "Created", ["created", "createdDate"], {"type": "datetime", "system": "created"}),
            ("updated", "Updated", ["updated", "updatedDate"], {"type": "datetime", "system": "updated"}),
            ("parent", "Parent", ["parent"], {"type": "issuelink", "system": "parent"}),
            ("issuekey", "Key", ["id", "issue", "issuekey", "key"], None),
        ]
        if self.cloud:
            system.append(
                (
                    "statuscategorychangedate",
                    "Status Category Changed",
                    ["statusCategoryChangedDate"],
                    {"type": "datetime", "system": "statuscategorychangedate"},
                )
            )
        fields = []
        for field_id, name, clauses, schema in system:
            entry: dict[str, Any] = {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": False,
                "orderable": field_id not in ("issuekey", "statuscategorychangedate"),
                "navigable": True,
                "searchable": True,
                "clauseNames": clauses,
            }
            if schema:
                entry["schema"] = schema
            fields.append(entry)
        custom = [(*STORY_POINTS[self.deployment], "com.atlassian.jira.plugin.system.customfieldtypes:float", "number")]
        if not self.cloud:
            custom.append((*EPIC_LINK, "com.pyxis.greenhopper.jira:gh-epic-link", "any"))
        for field_id, name, kind, value_type in custom:
            number = int(field_id.rsplit("_", 1)[1])
            fields.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": name,
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{number}]", name, f"{name}[{'Number' if value_type == 'number' else 'Any'}]"],
                    "schema": {"type": value_type, "custom": kind, "customId": number},
                }
            )
        return fields

    def _fields(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, self.field_list())

    def _search(self, request: Request, match: re.Match[str]) -> Response:
        if self.cloud:
            return Response(410, {"errorMessages": [GONE_MESSAGE], "errors": {}})
        try:
            # validateQuery=false turns errors about values, such as a key no issue has, into no match (documented)
            validate = (request.param("validateQuery") or "true").lower() not in ("false", "none", "warn")
            found = self.evaluate(request.param("jql") or "", validate=validate)
            start = int(request.param("startAt") or 0)
            size = min(int(request.param("maxResults") or DEFAULT_PAGE), self.server_page_cap)
        except JqlError as exc:
            return Response(400, {"errorMessages": [str(exc)], "errors": {}})
        except ValueError:
            return Response(400, {"errorMessages": ["startAt and maxResults must be numbers"], "errors": {}})
        page = found[start : start + size]
        fields = _requested_fields(request, default="*navigable")
        expand = (request.param("expand") or "").split(",")
        return Response(
            200,
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": [self.issue_json(t, fields, match.group("v"), "changelog" in expand) for t in page],
            },
        )

    def _search_jql(self, request: Request, match: re.Match[str]) -> Response:
        if not self.cloud:
            return Response(404, _html_404(), {"Content-Type": "text/html;charset=UTF-8"})
        jql = request.param("jql") or ""
        fields = _requested_fields(request, default="id")
        try:
            found = self.evaluate(jql)
            offset = _read_token(request.param("nextPageToken"), jql)
            cap = CLOUD_ID_PAGE_CAP if fields <= {"id", "key"} else CLOUD_PAGE_CAP
            size = max(1, min(int(request.param("maxResults") or DEFAULT_PAGE), cap))
        except JqlError as exc:
            return Response(400, {"errorMessages": [str(exc)], "errors": {}})
        except ValueError:
            return Response(400, {"errorMessages": ["maxResults must be a number"], "errors": {}})
        page = found[offset : offset + size]
        expand = (request.param("expand") or "").split(",")
        body: dict[str, Any] = {
            "issues": [self.issue_json(t, fields, match.group("v"), "changelog" in expand) for t in page],
            "isLast": offset + size >= len(found),
        }
        if not body["isLast"]:
            body["nextPageToken"] = _make_token(jql, offset + size)
        return Response(200, body)

    def evaluate(self, jql: str, *, validate: bool = True) -> list[Ticket]:
        """The tickets a JQL query selects, in its ORDER BY order (then by key, as Jira breaks ties).

        Validating, a key no ticket has is refused as Jira does (400), which fails the whole search.
        """
        predicate, order = _Parser(jql, self, validate=validate).parse()
        found = [t for t in self.tickets if predicate(t)]
        found.sort(key=lambda t: (t.project, t.number))
        for field, descending in reversed(order):
            present = [t for t in found if _sort_value(t, field) is not None]
            missing = [t for t in found if _sort_value(t, field) is None]
            present.sort(key=lambda t: _sort_value(t, field), reverse=descending)
            found = present + missing
        return found

    @property
    def keys(self) -> set[str]:
        return {ticket.key for ticket in self.tickets}

    def user_id(self, login: str) -> str:
        return "712020:" + hashlib.md5(login.encode()).hexdigest()[:24]

    def user_json(self, login: str, version: str = "2") -> dict[str, Any]:
        api = f"{self.base_url}/rest/api/{version}"
        avatars = {
            size: f"https://avatars.example/{login}?s={size[:2]}" for size in ("48x48", "24x24", "16x16", "32x32")
        }
        name = self.scenario.name if login == self.scenario.login else display_name_of(login)
        if self.cloud:
            account = self.user_id(login)
            user = {
                "self": f"{api}/user?accountId={account}",
                "accountId": account,
                "accountType": "atlassian",
                "avatarUrls": avatars,
                "displayName": name,
                "active": True,
                "timeZone": self.time_zone,
            }
            # Cloud shows an email only where the person's profile lets it (recorded payloads have it)
            if login not in CLOUD_HIDDEN_EMAILS:
                user["emailAddress"] = email_of(login)
            return user
        return {
            "self": f"{api}/user?username={login}",
            "key": f"JIRAUSER{10000 + zlib.crc32(login.encode()) % 9000}",
            "name": login,
            "emailAddress": email_of(login),
            "avatarUrls": avatars,
            "displayName": name,
            "active": True,
            "timeZone": self.time_zone,
        }

    def matches_user(self, ticket_user: str | None, value: str) -> bool:
        return ticket_user is not None and value in (ticket_user, self.user_id(ticket_user))

    def issue_json(self, ticket: Ticket, fields: set[str], version: str, changelog: bool) -> dict[str, Any]:
        api = f"{self.base_url}/rest/api/{version}"
        every = "*all" in fields or "*navigable" in fields
        values = self._field_values(ticket, version)
        chosen = {k: v for k, v in values.items() if (every or k in fields) and f"-{k}" not in fields}
        issue: dict[str, Any] = {
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": str(ticket.id),
            "self": f"{api}/issue/{ticket.id}",
            "key": ticket.key,
        }
        if chosen:
            issue["fields"] = chosen
        if changelog:
            histories = [self._history(ticket, t, index) for index, t in enumerate(ticket.transitions)]
            # enhanced search embeds at most 40 histories (faros-ai/airbyte-connectors#2003), legacy 100
            cap = 40 if self.cloud else 100
            issue["changelog"] = {
                "startAt": 0,
                "maxResults": cap,
                "total": len(histories),
                "histories": histories[-cap:],
            }
        return issue

    def _history(self, ticket: Ticket, transition: Transition, index: int) -> dict[str, Any]:
        return {
            "id": str(ticket.id * 10 + index),
            "author": self.user_json(transition.by),
            "created": _stamp(transition.at.astimezone(self.zone)),
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    **({"fieldId": "status"} if self.cloud else {}),
                    "from": _STATUS_IDS[transition.from_status],
                    "fromString": transition.from_status,
                    "to": _STATUS_IDS[transition.to_status],
                    "toString": transition.to_status,
                }
            ],
        }

    def _field_values(self, ticket: Ticket, version: str) -> dict[str, Any]:
        api = f"{self.base_url}/rest/api/{version}"
        zone = self.zone
        category = ticket.status_category
        category_id, category_name, colour = _CATEGORY[category]
        values: dict[str, Any] = {
            "summary": ticket.summary,
            "description": _adf(ticket.description) if version == "3" else (ticket.description or None),
            "status": {
                "self": f"{api}/status/{_STATUS_IDS[ticket.status]}",
                "description": "",
                "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
                "name": ticket.status,
                "id": _STATUS_IDS[ticket.status],
                "statusCategory": {
                    "self": f"{api}/statuscategory/{category_id}",
                    "id": category_id,
                    "key": category,
                    "colorName": colour,
                    "name": category_name,
                },
            },
            "resolution": (
                {
                    "self": f"{api}/resolution/10000",
                    "id": "10000",
                    "description": "Work has been completed on this issue.",
                    "name": ticket.resolution,
                }
                if ticket.resolution
                else None
            ),
            "resolutiondate": _stamp(ticket.resolved_at.astimezone(zone)) if ticket.resolved_at else None,
            "issuetype": self._issue_type(ticket.issue_type, api),
            "priority": {
                "self": f"{api}/priority/{_PRIORITY_IDS[ticket.priority]}",
                "iconUrl": f"{self.base_url}/images/icons/priorities/{ticket.priority.lower()}.svg",
                "name": ticket.priority,
                "id": _PRIORITY_IDS[ticket.priority],
            },
            "project": {
                "self": f"{api}/project/{ticket.project}",
                "id": str(10000 + zlib.crc32(ticket.project.encode()) % 100),
                "key": ticket.project,
                "name": _PROJECT_NAMES.get(ticket.project, ticket.project),
                "projectTypeKey": "software",
                **({"simplified": False} if self.cloud else {}),
            },
            "labels": list(ticket.labels),
            "assignee": self.user_json(ticket.assignee, version) if ticket.assignee else None,
            "reporter": self.user_json(ticket.reporter, version),
            "created": _stamp(ticket.created_at.astimezone(zone)),
            "updated": _stamp(ticket.updated_at.astimezone(zone)),
            STORY_POINTS[self.deployment][0]: ticket.story_points,
            # a page of comments, as the search embeds them (PageOfComments)
            "comment": {
                "comments": [self._comment(ticket, comment, n, version) for n, comment in enumerate(ticket.comments)],
                "maxResults": len(ticket.comments),
                "total": len(ticket.comments),
                "startAt": 0,
            },
        }
        if self.cloud:
            done_at = ticket.resolved_at or max((t.at for t in ticket.transitions), default=ticket.created_at)
            values["statuscategorychangedate"] = _stamp(done_at.astimezone(zone))
            if ticket.epic:
                values["parent"] = self._parent(ticket.epic, api)
        else:
            values[EPIC_LINK[0]] = ticket.epic
        return values

    def _comment(self, ticket: Ticket, comment: Comment, number: int, version: str) -> dict[str, Any]:
        comment_id = str(10_000 + ticket.id * 100 + number)
        stamp = _stamp(comment.at.astimezone(self.zone))
        data: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/{version}/issue/{ticket.id}/comment/{comment_id}",
            "id": comment_id,
            "author": self.user_json(comment.by, version),
            "body": _adf(comment.body) if version == "3" else comment.body,
            "updateAuthor": self.user_json(comment.by, version),
            "created": stamp,
            "updated": stamp,
        }
        if self.cloud:
            data["jsdPublic"] = True
        return data

    def _parent(self, key: str, api: str) -> dict[str, Any]:
        epic = next((t for t in self.tickets if t.key == key), None)
        summary = epic.summary if epic else EPICS.get(key, key)
        status = epic.status if epic else "In Progress"
        number = epic.id if epic else 10_000
        return {
            "id": str(number),
            "key": key,
            "self": f"{api}/issue/{number}",
            "fields": {
                "summary": summary,
                "status": {"name": status, "id": _STATUS_IDS[status]},
                "priority": {"name": "Medium", "id": "3"},
                "issuetype": self._issue_type("Epic", api),
            },
        }

    def _issue_type(self, name: str, api: str) -> dict[str, Any]:
        type_id = _TYPE_IDS.get(name, "10002")
        data: dict[str, Any] = {
            "self": f"{api}/issuetype/{type_id}",
            "id": type_id,
            "description": f"{name} issue type.",
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/{name.lower()}.svg",
            "name": name,
            "subtask": name == "Sub-task",
        }
        if self.cloud:
            data["hierarchyLevel"] = 1 if name == "Epic" else (-1 if name == "Sub-task" else 0)
        return data


def _requested_fields(request: Request, *, default: str) -> set[str]:
    values = [part.strip() for value in request.query.get("fields", []) for part in value.split(",") if part.strip()]
    return set(values or [default])


def _make_token(jql: str, offset: int) -> str:
    raw = json.dumps({"q": zlib.crc32(jql.encode()), "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str | None, jql: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["q"] != zlib.crc32(jql.encode()):
            raise ValueError
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise JqlError("The provided next page token is invalid or expired.") from None


def _stamp(moment: datetime) -> str:
    """Jira's timestamp format: 2026-11-03T14:05:09.000+0100."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def _adf(text: str) -> dict[str, Any] | None:
    """Plain text as an Atlassian Document Format document, the v3 API's rich-text shape."""
    if not text:
        return None
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in text.split("\n\n") if p]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _html_404() -> bytes:
    return b"<!DOCTYPE html><html><head><title>Oops, you&#39;ve found a dead link.</title></head><body></body></html>"


def _sort_value(ticket: Ticket, field: str) -> Any:
    if field in ("resolved", "resolutiondate"):
        return ticket.resolved_at
    if field in ("updated", "updateddate"):
        return ticket.updated_at
    if field in ("created", "createddate"):
        return ticket.created_at
    if field in ("key", "issuekey", "id"):
        return (ticket.project, ticket.number)
    if field == "priority":
        return list(_PRIORITY_IDS).index(ticket.priority)
    raise JqlError(f"Not able to sort using field '{field}'.")


# the JQL subset: tokens are quoted strings, parentheses, commas, operators and words
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(!=|>=|<=|!~|[=<>~(),])|([^\s"\'(),=<>!~]+))')
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
Predicate = Callable[[Ticket], bool]


@dataclass(frozen=True)
class _ChangeSpec:
    """The predicates of one `status CHANGED` clause; a transition must meet all of them."""

    from_names: frozenset[str] | None = None
    to_names: frozenset[str] | None = None
    by: str | None = None
    low: datetime | None = None
    high: datetime | None = None

    def matches(self, transition: Transition, sandbox: JiraSandbox) -> bool:
        return (
            (self.from_names is None or transition.from_status.lower() in self.from_names)
            and (self.to_names is None or transition.to_status.lower() in self.to_names)
            and (self.by is None or sandbox.matches_user(transition.by, self.by))
            and (self.low is None or transition.at >= self.low)
            and (self.high is None or transition.at <= self.high)
        )


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool = False
    symbol: bool = False

    def word(self, *words: str) -> bool:
        return not self.quoted and not self.symbol and self.text.lower() in words


class _Parser:
    def __init__(self, jql: str, sandbox: JiraSandbox, *, validate: bool = True) -> None:
        self.sandbox = sandbox
        self.validate = validate
        self.tokens = _tokenize(jql)
        self.at = 0

    def parse(self) -> tuple[Predicate, list[tuple[str, bool]]]:
        predicate: Predicate = lambda _t: True  # noqa: E731
        if self._peek() is not None and not self._peek_word("order"):
            predicate = self._or()
        order: list[tuple[str, bool]] = []
        if self._peek_word("order"):
            self.at += 1
            self._expect_word("by")
            while True:
                field = self._next().text.lower()
                descending = False
                if self._peek_word("asc", "desc"):
                    descending = self._next().text.lower() == "desc"
                _sort_value(Ticket("X-1", "", "Task", "Done", None, datetime.now(UTC)), field)
                order.append((field, descending))
                if not self._peek_symbol(","):
                    break
                self.at += 1
        if self._peek() is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{self._peek().text}'.")  # type: ignore[union-attr]
        return predicate, order

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek_word("or"):
            self.at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda t: any(p(t) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._factor()]
        while self._peek_word("and"):
            self.at += 1
            parts.append(self._factor())
        return parts[0] if len(parts) == 1 else lambda t: all(p(t) for p in parts)

    def _factor(self) -> Predicate:
        if self._peek_word("not"):
            self.at += 1
            inner = self._factor()
            return lambda t: not inner(t)
        if self._peek_symbol("("):
            self.at += 1
            inner = self._or()
            self._expect_symbol(")")
            return inner
        return self._clause()

    def _clause(self) -> Predicate:
        field = self._next().text
        getter = self._getter(field)
        if self._peek_word("changed"):
            self.at += 1
            return self._changed(field)
        if self._peek_word("is"):
            self.at += 1
            negate = self._peek_word("not")
            if negate:
                self.at += 1
            self._expect_word("empty", "null")
            return lambda t: (getter(t) in (None, [], "")) != negate
        if self._peek_word("in", "not"):
            negate = self._next().text.lower() == "not"
            if negate:
                self._expect_word("in")
            values = self._list(field)
            return lambda t: _any_equal(getter(t), values, self.sandbox) != negate
        operator = self._next()
        if not operator.symbol or operator.text not in ("=", "!=", "<", "<=", ">", ">="):
            raise JqlError(f"Error in the JQL Query: expecting an operator after '{field}'.")
        value = self._value(field)
        if operator.text in ("=", "!="):
            negate = operator.text == "!="
            return lambda t: _any_equal(getter(t), [value], self.sandbox) != negate
        if not isinstance(value, datetime):
            raise JqlError(f"The operator '{operator.text}' is not supported by the '{field}' field.")
        compare: Callable[[datetime, datetime], bool] = {
            "<": operator_module.lt,
            "<=": operator_module.le,
            ">": operator_module.gt,
            ">=": operator_module.ge,
        }[operator.text]
        return lambda t: (moment := getter(t)) is not None and compare(moment, value)

    def _changed(self, field: str) -> Predicate:
        if field.lower() != "status":
            raise JqlError(f"History searches are not supported for the '{field}' field in the sandbox.")
        spec = _ChangeSpec()
        while self._peek_word("from", "to", "by", "during", "after", "before", "on"):
            word = self._next().text.lower()
            if word in ("from", "to"):
                values = self._list(field) if self._peek_symbol("(") else [self._value(field)]
                names = frozenset(str(v).lower() for v in values)
                spec = replace(spec, from_names=names) if word == "from" else replace(spec, to_names=names)
            elif word == "by":
                spec = replace(spec, by=str(self._value("assignee")))
            elif word == "during":
                self._expect_symbol("(")
                low = self._date()
                self._expect_symbol(",")
                high = self._date()
                self._expect_symbol(")")
                spec = replace(spec, low=low, high=high)
            elif word == "after":
                spec = replace(spec, low=self._date())
            elif word == "before":
                spec = replace(spec, high=self._date())
            else:
                day = self._date()
                spec = replace(spec, low=day, high=day + timedelta(days=1))
        sandbox = self.sandbox
        return lambda t: any(spec.matches(tr, sandbox) for tr in t.transitions)

    def _getter(self, field: str) -> Callable[[Ticket], Any]:
        name = field.lower()
        getters: dict[str, Callable[[Ticket], Any]] = {
            "assignee": lambda t: t.assignee,
            "reporter": lambda t: t.reporter,
            "status": lambda t: t.status,
            "statuscategory": lambda t: t.status_category,
            "resolved": lambda t: t.resolved_at,
            "resolutiondate": lambda t: t.resolved_at,
            "updated": lambda t: t.updated_at,
            "updateddate": lambda t: t.updated_at,
            "created": lambda t: t.created_at,
            "createddate": lambda t: t.created_at,
            "project": lambda t: t.project,
            "issuetype": lambda t: t.issue_type,
            "type": lambda t: t.issue_type,
            "labels": lambda t: list(t.labels),
            "key": lambda t: t.key,
            "issuekey": lambda t: t.key,
            "priority": lambda t: t.priority,
            "resolution": lambda t: t.resolution,
            "parent": lambda t: t.epic,
            "epic link": lambda t: t.epic,
        }
        if name not in getters:
            raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")
        return getters[name]

    def _list(self, field: str) -> list[Any]:
        self._expect_symbol("(")
        values = [self._value(field)]
        while self._peek_symbol(","):
            self.at += 1
            values.append(self._value(field))
        self._expect_symbol(")")
        return values

    def _value(self, field: str) -> Any:
        token = self._next()
        if token.symbol:
            raise JqlError(f"Error in the JQL Query: expecting a value for '{field}'.")
        if token.word("currentuser") and self._peek_symbol("("):
            self.at += 1
            self._expect_symbol(")")
            return self.sandbox.scenario.login
        name = field.lower()
        if name in ("resolved", "resolutiondate", "updated", "updateddate", "created", "createddate"):
            return self._parse_date(token.text)
        if name == "status" and token.text.lower() not in {s.lower() for s in STATUS_CATEGORIES}:
            raise JqlError(f"The value '{token.text}' does not exist for the field 'status'.")
        if name in ("key", "issuekey") and self.validate and token.text.upper() not in self.sandbox.keys:
            raise JqlError(f"An issue with key '{token.text}' does not exist for field 'key'.")
        if name == "statuscategory":
            categories = {"done": "done", "to do": "new", "new": "new", "in progress": "indeterminate"}
            if token.text.lower() not in categories:
                raise JqlError(f"The value '{token.text}' does not exist for the field 'statusCategory'.")
            return categories[token.text.lower()]
        return token.text

    def _date(self) -> datetime:
        return self._parse_date(self._next().text)

    def _parse_date(self, text: str) -> datetime:
        for pattern in _DATE_FORMATS:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=self.sandbox.zone)
            except ValueError:
                continue
        raise JqlError(
            f"Date value '{text}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm'."
        )

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _peek_word(self, *words: str) -> bool:
        token = self._peek()
        return token is not None and token.word(*words)

    def _peek_symbol(self, symbol: str) -> bool:
        token = self._peek()
        return token is not None and token.symbol and token.text == symbol

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.at += 1
        return token

    def _expect_symbol(self, symbol: str) -> None:
        if not self._peek_symbol(symbol):
            raise JqlError(f"Error in the JQL Query: expecting '{symbol}'.")
        self.at += 1

    def _expect_word(self, *words: str) -> None:
        if not self._peek_word(*words):
            raise JqlError(f"Error in the JQL Query: expecting '{words[0].upper()}'.")
        self.at += 1


def _tokenize(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = jql.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: the character '{text[position]}' is a reserved JQL character.")
        double, single, symbol, word = match.groups()
        if double is not None or single is not None:
            tokens.append(_Token((double if double is not None else single).replace('\\"', '"'), quoted=True))
        elif symbol is not None:
            tokens.append(_Token(symbol, symbol=True))
        else:
            tokens.append(_Token(word))
        position = match.end()
    return tokens


def _any_equal(actual: Any, values: list[Any], sandbox: JiraSandbox) -> bool:
    items = actual if isinstance(actual, list) else [actual]
    for item in items:
        for value in values:
            if isinstance(value, datetime) or isinstance(item, datetime):
                if item == value:
                    return True
            elif item is not None and (
                str(item).lower() == str(value).lower() or sandbox.matches_user(item, str(value))
            ):
                return True
    return False
