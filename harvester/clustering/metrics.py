"""Finding figures in activity text: percentages, latencies and durations, multipliers, money,
and before→after pairs, with spaCy token patterns so both pipelines find the same spans."""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from harvester.clustering.model import Metric, MetricKind

_NUM = r"\d[\d,]*(?:\.\d+)?"
# sub-second units read as latency; the rest as durations unless a latency word is near
_LATENCY_UNITS = {"ns": "ns", "µs": "µs", "us": "µs", "ms": "ms", "msec": "ms", "millisecond": "ms"}
_DURATION_UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip
_TIME_UNITS = {**_LATENCY_UNITS, "milliseconds": "ms", **_DURATION_UNITS}
_LATENCY_WORDS = {"latency", "p50", "p90", "p95", "p99", "p999", "ttfb", "response"}
_COMPARATIVES = [
    "faster", "slower", "more", "less", "fewer", "smaller", "larger", "bigger", "cheaper",
    "higher", "lower", "better", "speedup", "improvement", "reduction",
]  # fmt: skip
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
_CURRENCY_WORDS = {"usd": "USD", "dollars": "USD", "eur": "EUR", "euros": "EUR", "gbp": "GBP"}
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
# words that name what a figure measures, kept in the span of a change ("p99 latency from ...")
_METRIC_NOUNS = _LATENCY_WORDS | {
    "time", "cost", "costs", "size", "memory", "throughput", "duration", "runtime", "errors",
    "error", "rate", "build", "ci", "spend", "bill", "usage", "cpu", "load",
}  # fmt: skip
_ARROWS = {"to", "→", "->", "=>", "⇒"}

# every pattern below has a digit next to a unit, sign, scale or arrow, or a currency sign or "x"
# before one; text without such a place is not tokenized for the matcher at all
_UNIT_WORDS = sorted({*_TIME_UNITS, *_CURRENCY_WORDS, *_SCALES, "percent", "pct", "times", "x"}, key=len, reverse=True)
_MAYBE_FIGURE = re.compile(
    rf"\d\s*(?:[%×→]|->|=>|(?:{'|'.join(re.escape(u) for u in _UNIT_WORDS)})(?![a-z]))|[$€£]\s*\d|\bx\d",
    re.IGNORECASE,
)
_UNIT_RE = "|".join(sorted((re.escape(u) for u in _TIME_UNITS), key=len, reverse=True))
_GLUED_TIME = re.compile(rf"^({_NUM})({_UNIT_RE})$", re.IGNORECASE)
_GLUED_CHANGE = re.compile(rf"^({_NUM})([a-zµ%]*)(?:→|->|=>)({_NUM})([a-zµ%]*)$", re.IGNORECASE)
_NUMBER = re.compile(rf"({_NUM})(?:(bn|[kmb])(?![a-z]))?", re.IGNORECASE)


@functools.cache
def _matcher(vocab: Vocab) -> Matcher:
    num = {"LIKE_NUM": True}
    scaled = {"TEXT": {"REGEX": rf"^{_NUM}[kKmMbB]?$"}}
    matcher = Matcher(vocab)
    matcher.add(
        "percent",
        [
            [num, {"TEXT": "%"}],
            [num, {"LOWER": {"IN": ["percent", "pct"]}}],
            [{"TEXT": {"REGEX": rf"^{_NUM}%$"}}],
        ],
    )
    matcher.add(
        "time",
        [
            [num, {"LOWER": {"IN": sorted(_TIME_UNITS)}}],
            [{"LOWER": {"REGEX": _GLUED_TIME.pattern}}],
        ],
    )
    matcher.add(
        "multiplier",
        [
            [{"LOWER": {"REGEX": r"^\d+(?:\.\d+)?[x×]$"}}],
            [{"LOWER": {"REGEX": r"^x\d+(?:\.\d+)?$"}}],
            # "3 times" alone is a count ("retried 3 times"); it is a multiplier before a comparative
            [num, {"LOWER": {"IN": ["times", "x", "×"]}}, {"LOWER": {"IN": _COMPARATIVES}}],
        ],
    )
    period = {"LOWER": {"IN": ["month", "mo", "year", "yr", "week", "day", "quarter"]}}
    symbol = {"TEXT": {"IN": sorted(_CURRENCY_SYMBOLS)}}
    scale = {"LOWER": {"IN": sorted(_SCALES)}}
    money: list[list[dict[str, Any]]] = [
        [symbol, scaled],
        [symbol, scaled, scale],
        [scaled, {"LOWER": {"IN": sorted(_CURRENCY_WORDS)}}],
    ]
    per: list[list[dict[str, Any]]] = [[{"TEXT": "/"}, period], [{"LOWER": {"IN": ["per", "a"]}}, period]]
    matcher.add("money", money + [amount + rate for amount in money[:2] for rate in per])
    matcher.add("change", [[{"TEXT": {"REGEX": _GLUED_CHANGE.pattern}}]])
    return matcher


def may_have_metrics(text: str) -> bool:
    """False when `find_metrics` cannot find anything in `text`: a cheap test before tokenizing."""
    return _MAYBE_FIGURE.search(text) is not None


def find_metrics(doc: Doc, activity_id: str, title_length: int, base: int = 0) -> list[Metric]:
    """Figures in `doc`, whose text starts at offset `base` of "title\\nbody".

    `title_length` lets each metric say whether it came from the title or the body.
    """
    spans = filter_spans([Span(doc, start, end, label=match_id) for match_id, start, end in _matcher(doc.vocab)(doc)])
    metrics: list[Metric] = []
    i = 0
    while i < len(spans):
        span = spans[i]
        quantity = _quantity(span)
        if quantity is None:
            i += 1
            continue
        kind, unit, value, before = quantity
        start, end = span.start, span.end
        following = spans[i + 1] if i + 1 < len(spans) else None
        after_end, after = _after(doc, span, following, kind, unit)
        if after is not None or before is not None:
            if after is not None:
                before, value, end = value, after, after_end
                if following is not None and following.end == after_end:
                    i += 1
            start = _context_start(doc, start)
        if kind == "time" and any(t.lower_ in _LATENCY_WORDS for t in doc[max(0, start - 3) : end]):
            unit_kind: MetricKind = "latency"
        elif kind == "time":
            unit_kind = "latency" if unit in _LATENCY_UNITS.values() else "duration"
        else:
            unit_kind = kind  # type: ignore[assignment]
        metrics.append(_metric(doc[start:end], unit_kind, unit, value, before, activity_id, title_length, base))
        i += 1
    return metrics


def _quantity(span: Span) -> tuple[str, str, float | None, float | None] | None:
    """(kind, unit, value, before) of one matched span; `before` only for glued changes."""
    kind = span.label_
    text = span.text
    if kind == "change":
        glued = _GLUED_CHANGE.match(text)
        if glued is None:
            return None
        unit = (glued.group(4) or glued.group(2)).lower()
        if unit == "%":
            kind = "percent"
        elif unit in _TIME_UNITS:
            kind, unit = "time", _TIME_UNITS[unit]
        elif unit in ("x", "×"):
            kind, unit = "multiplier", "x"
        else:
            return None
        return kind, unit, _number(glued.group(3)), _number(glued.group(1))
    if kind == "percent":
        return kind, "%", _number(text), None
    if kind == "multiplier":
        return kind, "x", _number(text), None
    if kind == "time":
        glued = _GLUED_TIME.match(span[0].text)
        unit_word = glued.group(2) if glued and len(span) == 1 else span[-1].lower_
        return kind, _TIME_UNITS.get(unit_word.lower(), unit_word.lower()), _number(text), None
    currency = next((_CURRENCY_SYMBOLS[t.text] for t in span if t.text in _CURRENCY_SYMBOLS), None)
    currency = currency or next((_CURRENCY_WORDS[t.lower_] for t in span if t.lower_ in _CURRENCY_WORDS), "")
    return "money", currency, _number(text), None


def _after(doc: Doc, span: Span, following: Span | None, kind: str, unit: str) -> tuple[int, float | None]:
    """The end and value of the "to 120 ms" part of a change starting at `span`, if there is one."""
    arrow_end = span.end
    while arrow_end < len(doc) and arrow_end - span.end < 2 and doc[arrow_end].text in {"-", "=", ">"}:
        arrow_end += 1
    joined = doc[span.end : arrow_end].text.replace(" ", "")
    if joined in _ARROWS:
        pass
    elif arrow_end < len(doc) and doc[arrow_end].lower_ in _ARROWS:
        arrow_end += 1
    else:
        return span.end, None
    if following is not None and following.start == arrow_end:
        quantity = _quantity(following)
        if quantity is not None and quantity[0] == kind:
            return following.end, quantity[2]
    # a bare number after the arrow takes the unit of the first figure ("from 5 minutes to 2")
    if arrow_end < len(doc) and doc[arrow_end].like_num and (following is None or following.start > arrow_end):
        return arrow_end + 1, _number(doc[arrow_end].text)
    return span.end, None


def _context_start(doc: Doc, start: int) -> int:
    if start > 0 and doc[start - 1].lower_ == "from":
        start -= 1
    for _ in range(2):
        previous = doc[start - 1] if start > 0 else None
        if previous is None or previous.is_stop or previous.is_punct:
            break
        if not (
            any(c.isdigit() for c in previous.text)
            or previous.lower_ in _METRIC_NOUNS
            or previous.pos_ in ("NOUN", "PROPN")
        ):
            break
        start -= 1
    return start


def _number(text: str) -> float | None:
    found = _NUMBER.search(text)
    if found is None:
        return None
    value = float(found.group(1).replace(",", ""))
    scale = (found.group(2) or "").lower()
    words = text.lower().split()
    scale = scale or next((w for w in words[1:] if w in _SCALES), "")
    return value * _SCALES.get(scale, 1.0)


def _metric(
    span: Span,
    kind: MetricKind,
    unit: str,
    value: float | None,
    before: float | None,
    activity_id: str,
    title_length: int,
    base: int,
) -> Metric:
    start, end = base + span.start_char, base + span.end_char
    field: Literal["title", "body"] = "title" if start < title_length else "body"
    if field == "body":
        start, end = start - title_length - 1, end - title_length - 1
    return Metric(
        kind=kind,
        text=span.text,
        activity_id=activity_id,
        field=field,
        start=start,
        end=end,
        unit=unit,
        value=value,
        before=before,
        after=value if before is not None else None,
    )
