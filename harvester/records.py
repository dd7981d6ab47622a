"""The activity record: one harvested item, and its public JSON interchange format.

`brag activities --format jsonl` writes one record per line and `brag cluster` reads the
same shape, so the field names and their meaning here are a public interface.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args

Kind = Literal["pull_request", "review", "ticket", "event", "commit"]
KINDS: frozenset[str] = frozenset(get_args(Kind))


class RecordError(ValueError):
    """An activity record that does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Activity:
    """One piece of harvested work, identified by `id` (unique per user across sources)."""

    id: str
    source: str
    kind: Kind
    title: str
    occurred_at: datetime
    body: str = ""
    url: str = ""
    repo: str = ""
    paths: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    author: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the title and URL of the work this item is about when that is another item (a review's pull
    # request); the connector fills them, so clustering never parses a source's own wording
    subject_title: str = ""
    subject_url: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RecordError(f"kind must be one of {sorted(KINDS)}, not {self.kind!r}")
        if self.occurred_at.tzinfo is None:
            raise RecordError(f"occurred_at of {self.id} has no UTC offset")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "occurred_at": self.occurred_at.isoformat(),
            "repo": self.repo,
            "paths": list(self.paths),
            "labels": list(self.labels),
            "author": self.author,
            "extra": dict(self.extra),
            # added after the first release: older records, without them, read as ""
            "subject_title": self.subject_title,
            "subject_url": self.subject_url,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Activity:
        """Parse one record; missing optional fields take their defaults, unknown ones are kept out."""
        if not isinstance(data, Mapping):
            raise RecordError("an activity record must be a JSON object")
        for required in ("id", "kind", "occurred_at"):
            if not data.get(required):
                raise RecordError(f"missing required field {required!r}")
        try:
            occurred_at = datetime.fromisoformat(str(data["occurred_at"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise RecordError(f"occurred_at is not an ISO 8601 datetime: {data['occurred_at']!r}") from exc
        extra = data.get("extra") or {}
        if not isinstance(extra, Mapping):
            raise RecordError("extra must be an object")
        return cls(
            id=str(data["id"]),
            source=str(data.get("source") or str(data["id"]).split(":", 1)[0]),
            kind=data["kind"],
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            url=str(data.get("url") or ""),
            occurred_at=occurred_at,
            repo=str(data.get("repo") or ""),
            paths=tuple(str(p) for p in data.get("paths") or ()),
            labels=tuple(str(label) for label in data.get("labels") or ()),
            author=str(data.get("author") or ""),
            extra=dict(extra),
            subject_title=str(data.get("subject_title") or ""),
            subject_url=str(data.get("subject_url") or ""),
        )

    def to_jsonl(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=False)


# the most of each field brag keeps from a harvested record; a source can send anything (a
# 1,000,155-character PR title was seen), and spaCy refuses texts over 1,000,000 characters (E088)
MAX_TITLE = 1_000
MAX_BODY = 20_000
MAX_URL = 8_192
MAX_REPO = 300
MAX_AUTHOR = 200
MAX_PATHS = 1_000
MAX_PATH = 1_000
MAX_LABELS = 100
MAX_LABEL = 200
MAX_EXTRA_STRING = 2_000
MAX_EXTRA_ITEMS = 1_000
# lone surrogates come from JSON escapes like "\\ud800" and cannot be encoded as UTF-8
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str, limit: int | None = None) -> str:
    """`text` without what no database stores (NUL, lone surrogates), shortened to `limit` characters."""
    cleaned = _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)
    if limit is not None and len(cleaned) > limit:
        return cleaned[: limit - 1] + "\u2026"
    return cleaned


def _storable_value(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value, MAX_EXTRA_STRING)
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_EXTRA_ITEMS]
        return {storable_text(str(key), MAX_LABEL): _storable_value(item) for key, item in items}
    if isinstance(value, list | tuple):
        return [_storable_value(item) for item in value[:MAX_EXTRA_ITEMS]]
    return value


def bounded(activity: Activity) -> Activity:
    """The record as brag stores it: every field cleaned and within the limits above.

    Applied once, where the sync runner receives records from a connector, so every later step
    (store, clustering, digest, exports) can rely on it.
    """
    return replace(
        activity,
        id=storable_text(activity.id),
        title=storable_text(activity.title, MAX_TITLE),
        body=storable_text(activity.body, MAX_BODY),
        url=storable_text(activity.url, MAX_URL),
        repo=storable_text(activity.repo, MAX_REPO),
        paths=tuple(storable_text(path, MAX_PATH) for path in activity.paths[:MAX_PATHS]),
        labels=tuple(storable_text(label, MAX_LABEL) for label in activity.labels[:MAX_LABELS]),
        author=storable_text(activity.author, MAX_AUTHOR),
        extra=_storable_value(activity.extra),
        subject_title=storable_text(activity.subject_title, MAX_TITLE),
        subject_url=storable_text(activity.subject_url, MAX_URL),
    )


__all__ = ["KINDS", "Activity", "Kind", "RecordError", "bounded", "storable_text"]
