"""Compare two JSON answers by shape, at the paths a connector actually reads.

`read_paths` runs a connector's own reading code on a payload wrapped so that every key it asks
for is noted, so the paths compared are the connector's, not a hand-kept list. A path is dotted,
with `[]` for "every element of a list": `items[].pull_request.merged_at`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harvester.sandbox.server import Request, Response, SandboxServer

REAL = Path(__file__).parent / "fixtures" / "real"
NULL = "null"


def real_payload(name: str) -> Any:
    """One recorded payload from tests/fixtures/real (see the README there for where each came from)."""
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def json_type(value: Any) -> str:
    """The JSON type of a decoded value (an int and a float are both a number, as in JSON)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


class _WatchedDict(dict[str, Any]):
    """A dict that notes each key read from it, and hands out its values watched too."""

    def __init__(self, data: dict[str, Any], path: str, seen: set[str]) -> None:
        super().__init__(data)
        self._path = path
        self._seen = seen

    def _note(self, key: object) -> str:
        path = _join(self._path, key)
        self._seen.add(path)
        return path

    def __getitem__(self, key: str) -> Any:
        return watch(super().__getitem__(key), self._note(key), self._seen)

    def get(self, key: str, default: Any = None) -> Any:
        path = self._note(key)
        return watch(super().__getitem__(key), path, self._seen) if super().__contains__(key) else default

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def items(self) -> Any:
        return [(key, self[key]) for key in self.keys()]

    def values(self) -> Any:
        return [self[key] for key in self.keys()]


class _WatchedList(list[Any]):
    def __init__(self, data: list[Any], path: str, seen: set[str]) -> None:
        super().__init__(data)
        self._path = f"{path}[]"
        self._seen = seen

    def __iter__(self) -> Iterator[Any]:
        for value in super().__iter__():
            yield watch(value, self._path, self._seen)

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        if isinstance(index, slice):
            return _WatchedList(value, self._path[:-2], self._seen)
        return watch(value, self._path, self._seen)


def watch(value: Any, path: str, seen: set[str]) -> Any:
    if isinstance(value, dict) and not isinstance(value, _WatchedDict):
        return _WatchedDict(value, path, seen)
    if isinstance(value, list) and not isinstance(value, _WatchedList):
        return _WatchedList(value, path, seen)
    return value


def read_paths(reader: Callable[[Any], object], payload: Any, prefix: str = "") -> set[str]:
    """The paths `reader` reads from `payload` (a copy is read; the payload is left as it was)."""
    seen: set[str] = set()
    reader(watch(json.loads(json.dumps(payload)), prefix, seen))
    return seen


def types_at(payload: Any, path: str) -> set[str]:
    """The JSON types found at `path` (over every list element where the path says `[]`); empty if absent."""
    found: set[str] = set()

    def walk(value: Any, parts: list[str]) -> None:
        if not parts:
            found.add(json_type(value))
            return
        head, rest = parts[0], parts[1:]
        key, many = (head[:-2], True) if head.endswith("[]") else (head, False)
        if key:
            if not isinstance(value, dict) or key not in value:
                return
            value = value[key]
        if many:
            for element in value if isinstance(value, list) else ():
                walk(element, rest)
        else:
            walk(value, rest)

    walk(payload, path.split(".") if path else [])
    return found


def all_paths(payload: Any, path: str = "") -> set[str]:
    """Every path in `payload`, for answers no record-building code reads field by field."""
    found = {path} if path else set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            found |= all_paths(value, _join(path, key))
    elif isinstance(payload, list):
        for value in payload:
            found |= all_paths(value, f"{path}[]")
    return found


def record_answers(server: SandboxServer) -> list[tuple[Request, Any]]:
    """From now on, note each request `server` answers with 200 and the JSON it answered."""
    answers: list[tuple[Request, Any]] = []
    dispatch = server.dispatch

    def recording(request: Request) -> Response:
        response = dispatch(request)
        if response.status == 200 and not isinstance(response.body, bytes | str):
            answers.append((request, json.loads(json.dumps(response.body))))
        return response

    server.dispatch = recording
    return answers


def answer_to(answers: list[tuple[Request, Any]], method: str, path_end: str) -> Any:
    """The first recorded answer to a `method` request whose path ends with `path_end`."""
    return next(body for request, body in answers if request.method == method and request.path.endswith(path_end))


def shape_differences(real: Any, served: Any, paths: set[str]) -> list[str]:
    """Where `served` does not answer like `real` at `paths`, one line each; empty when alike.

    A path the real answer leaves out or sends as null says nothing about its type, so it is not
    compared. Otherwise the served answer must have the path, with one of the real types (or null).
    """
    differences = []
    for path in sorted(paths):
        real_types = types_at(real, path) - {NULL}
        if not real_types:
            continue
        served_types = types_at(served, path)
        if not served_types:
            differences.append(f"{path}: missing (real: {', '.join(sorted(real_types))})")
        elif not (served_types - {NULL}) <= real_types:
            differences.append(f"{path}: {', '.join(sorted(served_types))} (real: {', '.join(sorted(real_types))})")
    return differences
