"""A sandbox GitHub: `GET /user`, `GET /search/issues` and the GraphQL reviews query, in GitHub's shapes.

Search follows the documented behaviour the connector depends on: at most 100 items per page,
at most 1,000 results per query (a later page answers 422), `Link` headers with `q` and
`per_page` carried along, inclusive `merged:A..B` ranges, and rate-limit headers.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from harvester.sandbox.oauth import AuthorizationServer
from harvester.sandbox.scenario import PullRequest, Review, Scenario
from harvester.sandbox.server import Request, Response, SandboxServer

SEARCH_CAP = 1000
MAX_PER_PAGE = 100
DEFAULT_TOKEN = "sandbox-token"


class GitHubSandbox(SandboxServer):
    def __init__(self, scenario: Scenario, *, tokens: Iterable[str] = (DEFAULT_TOKEN,), port: int = 0) -> None:
        super().__init__(port=port)
        self.scenario = scenario
        self.tokens = set(tokens)
        self.search_limit = 30
        self.incomplete_searches = 0
        self._search_used = 0
        self.route("GET", r"/user", self._user)
        self.route("GET", r"/search/issues", self._search)
        self.route("POST", r"/graphql", self._graphql)
        # the web flow of an OAuth App or a GitHub App's user-to-server token (team mode): on
        # github.com it is served by github.com, not api.github.com; here both share one server
        self.oauth = AuthorizationServer(
            "GitHub",
            {},
            accept=self.tokens.add,
            forget=self.tokens.discard,
            token_prefix="ghu_sandbox",
            answer="form_unless_json_accepted",
            response_type_required=False,
            # a GitHub App's user tokens expire after 8 hours and come with a refresh token
            expires_in=28800,
        )
        self.route("GET", r"/login/oauth/authorize", lambda request, _m: self.oauth.authorize_page(request))
        self.route("POST", r"/login/oauth/authorize", lambda request, _m: self.oauth.authorize_decision(request))
        self.route("POST", r"/login/oauth/access_token", lambda request, _m: self.oauth.token(request))

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/login/oauth/"):
            return super().dispatch(request)
        auth = request.header("authorization") or ""
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if token not in self.tokens:
            return Response(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
            )
        response = super().dispatch(request)
        is_search = request.path.startswith("/search")
        if is_search:
            self._search_used += 1
        response.headers.setdefault("X-RateLimit-Limit", str(self.search_limit if is_search else 5000))
        response.headers.setdefault(
            "X-RateLimit-Remaining", str(max(0, self.search_limit - self._search_used) if is_search else 4999)
        )
        response.headers.setdefault("X-RateLimit-Reset", str(int(datetime.now(UTC).timestamp()) + 60))
        response.headers.setdefault("X-RateLimit-Resource", "search" if is_search else "core")
        response.headers.setdefault("X-GitHub-Api-Version-Selected", "2022-11-28")
        return response

    def _user(self, request: Request, _match: re.Match[str]) -> Response:
        return Response(200, self.user_json(self.scenario.login, private=True))

    def user_json(self, login: str, *, private: bool = False) -> dict[str, Any]:
        api = self.base_url
        user_id = 500_000 + sum(map(ord, login))
        data: dict[str, Any] = {
            "login": login,
            "id": user_id,
            "node_id": _node_id("U", user_id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": f"{api}/users/{login}",
            "html_url": f"https://github.com/{login}",
            "followers_url": f"{api}/users/{login}/followers",
            "following_url": f"{api}/users/{login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{login}/subscriptions",
            "organizations_url": f"{api}/users/{login}/orgs",
            "repos_url": f"{api}/users/{login}/repos",
            "events_url": f"{api}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{login}/received_events",
            "type": "User",
            "site_admin": False,
        }
        if private:
            data.update(
                {
                    "user_view_type": "private",
                    "name": self.scenario.name,
                    "company": "Acme",
                    "blog": "",
                    "location": None,
                    "email": self.scenario.email,
                    "hireable": None,
                    "bio": None,
                    "twitter_username": None,
                    # in GitHub's answer to /user (recorded by PyGithub, 2025)
                    "notification_email": self.scenario.email,
                    "public_repos": 3,
                    "public_gists": 0,
                    "followers": 12,
                    "following": 4,
                    "created_at": "2019-03-01T10:00:00Z",
                    "updated_at": "2026-10-01T10:00:00Z",
                    "private_gists": 0,
                    "total_private_repos": 3,
                    "owned_private_repos": 0,
                    "disk_usage": 1024,
                    "collaborators": 0,
                    "two_factor_authentication": True,
                }
            )
        return data

    def _search(self, request: Request, _match: re.Match[str]) -> Response:
        query = request.param("q") or ""
        try:
            per_page = min(int(request.param("per_page") or 30), MAX_PER_PAGE)
            page = int(request.param("page") or 1)
        except ValueError:
            return Response(422, {"message": "Validation Failed"})
        try:
            matches = [pr for pr in self.scenario.pull_requests if _matches(pr, query, self.scenario)]
        except ValueError as exc:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"message": str(exc), "resource": "Search", "field": "q", "code": "invalid"}],
                    "documentation_url": "https://docs.github.com/v3/search/",
                    "status": "422",
                },
            )
        sort = request.param("sort")
        reverse = request.param("order", "desc") == "desc"
        if sort in ("created", "updated"):
            matches.sort(key=lambda pr: (getattr(pr, f"{sort}_at"), pr.repo, pr.number), reverse=reverse)
        else:
            matches.sort(key=lambda pr: (pr.repo, pr.number))
        if (page - 1) * per_page >= SEARCH_CAP:
            return Response(
                422,
                {
                    "message": "Only the first 1000 search results are available",
                    "documentation_url": "https://docs.github.com/v3/search/",
                    "status": "422",
                },
            )
        reachable = matches[:SEARCH_CAP]
        items = reachable[(page - 1) * per_page : page * per_page]
        body = {
            "total_count": len(matches),
            "incomplete_results": self._take_incomplete(),
            "search_type": "lexical",
            "items": [self.search_item(pr) for pr in items],
        }
        headers = {}
        last_page = max(1, math.ceil(len(reachable) / per_page))
        links = []
        base = f"{self.base_url}/search/issues?"
        params = {k: v[0] for k, v in request.query.items() if k != "page"}
        params["per_page"] = str(per_page)
        if page < last_page:
            links.append(f'<{base}{urlencode({**params, "page": page + 1})}>; rel="next"')
            links.append(f'<{base}{urlencode({**params, "page": last_page})}>; rel="last"')
        if page > 1:
            links.append(f'<{base}{urlencode({**params, "page": 1})}>; rel="first"')
            links.append(f'<{base}{urlencode({**params, "page": page - 1})}>; rel="prev"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response(200, body, headers)

    def _take_incomplete(self) -> bool:
        """GitHub flags a search that timed out on its side; tests set `incomplete_searches` to see it."""
        if self.incomplete_searches > 0:
            self.incomplete_searches -= 1
            return True
        return False

    def search_item(self, pr: PullRequest) -> dict[str, Any]:
        api = self.base_url
        repo_api = f"{api}/repos/{pr.repo}"
        issue_url = f"{repo_api}/issues/{pr.number}"
        html = f"https://github.com/{pr.repo}/pull/{pr.number}"
        closed = pr.merged_at
        return {
            "url": issue_url,
            "repository_url": repo_api,
            "labels_url": f"{issue_url}/labels{{/name}}",
            "comments_url": f"{issue_url}/comments",
            "events_url": f"{issue_url}/events",
            "html_url": html,
            "id": pr.id,
            "node_id": _node_id("PR_", pr.id),
            "number": pr.number,
            "title": pr.title,
            "user": self.user_json(pr.author),
            "labels": [
                {
                    "id": 9000 + sum(map(ord, name)),
                    "node_id": _node_id("LA_", sum(map(ord, name))),
                    "url": f"{repo_api}/labels/{name}",
                    "name": name,
                    "color": "ededed",
                    "default": name in ("bug", "enhancement", "documentation"),
                    "description": None,
                }
                for name in pr.labels
            ],
            "state": "closed" if closed else "open",
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": pr.comments,
            "created_at": _iso(pr.created_at),
            "updated_at": _iso(pr.updated_at),
            "closed_at": _iso(closed) if closed else None,
            "author_association": "MEMBER",
            "active_lock_reason": None,
            "draft": False,
            "pull_request": {
                "url": f"{repo_api}/pulls/{pr.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": _iso(pr.merged_at) if pr.merged_at else None,
            },
            "body": pr.body,
            "reactions": {
                "url": f"{issue_url}/reactions",
                "total_count": 0,
                "+1": 0,
                "-1": 0,
                "laugh": 0,
                "hooray": 0,
                "confused": 0,
                "heart": 0,
                "rocket": 0,
                "eyes": 0,
            },
            "timeline_url": f"{issue_url}/timeline",
            "performed_via_github_app": None,
            "state_reason": "completed" if closed else None,
            "score": 1.0,
        }

    def _graphql(self, request: Request, _match: re.Match[str]) -> Response:
        payload = request.json() or {}
        query = str(payload.get("query", ""))
        variables = payload.get("variables") or {}
        if "pullRequestReviewContributions" not in query:
            return Response(200, {"errors": [{"message": "the sandbox answers only the reviews query"}]})
        login = variables.get("login")
        if login != self.scenario.login:
            return Response(
                200,
                {
                    "data": {"user": None},
                    "errors": [
                        {
                            "type": "NOT_FOUND",
                            "path": ["user"],
                            "locations": [_location(query, "user(")],
                            "message": f"Could not resolve to a User with the login of '{login}'.",
                        }
                    ],
                },
            )
        start = _parse(variables["from"])
        end = _parse(variables["to"])
        first = min(int(variables.get("first") or 100), 100)
        offset = int(base64.b64decode(variables["after"]).decode().split(":")[1]) if variables.get("after") else 0
        reviews = sorted(
            (r for r in self.scenario.reviews if r.reviewer == login and start <= r.submitted_at <= end),
            key=lambda r: r.submitted_at,
        )
        page = reviews[offset : offset + first]
        end_cursor = base64.b64encode(f"cursor:{offset + len(page)}".encode()).decode() if page else None
        prs = {(pr.repo, pr.number): pr for pr in self.scenario.pull_requests}
        nodes = [self._review_node(review, prs[(review.repo, review.number)]) for review in page]
        collection = {
            "pullRequestReviewContributions": {
                "totalCount": len(reviews),
                "pageInfo": {"hasNextPage": offset + len(page) < len(reviews), "endCursor": end_cursor},
                "nodes": nodes,
            }
        }
        return Response(200, {"data": {"user": {"contributionsCollection": collection}}})

    @staticmethod
    def _review_node(review: Review, pr: PullRequest) -> dict[str, Any]:
        html = f"https://github.com/{pr.repo}/pull/{pr.number}"
        return {
            "occurredAt": _iso(review.submitted_at),
            "pullRequestReview": {
                "databaseId": review.id,
                "state": review.state,
                "body": review.body,
                "url": f"{html}#pullrequestreview-{review.id}",
                "submittedAt": _iso(review.submitted_at),
                "comments": {"totalCount": 2},
            },
            "pullRequest": {
                "number": pr.number,
                "title": pr.title,
                "url": html,
                "author": {"login": pr.author},
                "repository": {"nameWithOwner": pr.repo},
                "labels": {"nodes": [{"name": name} for name in pr.labels]},
            },
        }


_QUALIFIER = re.compile(r"(-?)(\w[\w-]*):(\S+)")


def _matches(pr: PullRequest, query: str, scenario: Scenario) -> bool:
    """Evaluate the subset of GitHub's search syntax the connector uses; unknown qualifiers are errors."""
    for negate, name, value in _QUALIFIER.findall(query):
        if name == "is":
            if value == "pr":
                result = True
            elif value == "merged":
                result = pr.merged_at is not None
            elif value in ("closed", "open"):
                result = (pr.merged_at is not None) == (value == "closed")
            else:
                raise ValueError(f"unsupported is:{value}")
        elif name == "author":
            result = pr.author == value
        elif name == "merged":
            result = pr.merged_at is not None and _in_range(pr.merged_at, value)
        elif name in ("created", "updated"):
            result = _in_range(getattr(pr, f"{name}_at"), value)
        elif name == "reviewed-by":
            result = any(r.repo == pr.repo and r.number == pr.number and r.reviewer == value for r in scenario.reviews)
        elif name == "repo":
            result = pr.repo == value
        else:
            raise ValueError(f"unsupported qualifier {name}:")
        if result == bool(negate):
            return False
    return True


def _in_range(moment: datetime, expression: str) -> bool:
    if ".." in expression:
        low, high = expression.split("..", 1)
        return (low == "*" or moment >= _parse(low)) and (high == "*" or moment <= _parse(high, end=True))
    for op in (">=", "<=", ">", "<"):
        if expression.startswith(op):
            bound = _parse(expression[len(op) :], end=op in ("<=", ">"))
            return {">=": moment >= bound, "<=": moment <= bound, ">": moment > bound, "<": moment < bound}[op]
    return _parse(expression) <= moment <= _parse(expression, end=True)


def _parse(text: str, *, end: bool = False) -> datetime:
    """GitHub accepts dates and ISO datetimes; a bare date as an upper bound means its whole day."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day.replace(hour=23, minute=59, second=59) if end else day
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid date {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _location(query: str, text: str) -> dict[str, int]:
    """Where `text` starts in `query`, 1-based, as GraphQL error `locations` give it."""
    index = max(query.find(text), 0)
    return {"line": query.count("\n", 0, index) + 1, "column": index - query.rfind("\n", 0, index)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(prefix: str, number: int) -> str:
    return prefix + base64.b64encode(f"{prefix}{number}".encode()).decode().rstrip("=")
