"""Harvested text and links made safe to show: one place, used by every output.

The brag doc and exports (Markdown, HTML, DOCX, PDF), the digest email (text and HTML), the
review page and the terminal all read harvested strings through these functions, so a title
cannot hide or reorder what a reader sees, and a link cannot end the markup it sits in.
Escaping for each format (HTML, Markdown, Rich markup) is still each renderer's job.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# C0/C1 controls except tab and line breaks; the bidi embeddings, overrides, isolates and marks
# that reorder a line as displayed (Trojan Source, CVE-2021-42574); lone surrogates (they cannot be
# encoded as UTF-8) and the two noncharacters XML 1.0 forbids (DOCX refuses them)
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_LINE_BREAK = re.compile("\r\n|[\r\x85\u2028\u2029]")
# what may stay literal in a link target: RFC 3986 reserved and unreserved characters (letters,
# digits and -._~ are always kept by quote) and % for escapes already there; <, >, \, ", `,
# spaces, controls and non-ASCII are percent-encoded, so a Markdown <...> destination or autolink,
# and an HTML attribute, always end where the URL ends
_URL_LITERAL = "!#$%&'()*+,/:;=?@[]"
WEB_SCHEMES = ("http", "https")


def visible(text: str) -> str:
    """`text` without control, bidi-control and unencodable characters; line breaks become \\n."""
    return _INVISIBLE.sub("", _LINE_BREAK.sub("\n", text))


def one_line(text: str) -> str:
    """`text` as one line: `visible`, with every run of whitespace (line breaks too) one space."""
    return " ".join(visible(text).split())


def safe_url(url: str) -> str:
    """`url` percent-encoded if it is an http(s) link with a host; anything else (javascript:, data:) is ''."""
    encoded = quote(url.strip(), safe=_URL_LITERAL)
    try:
        parts = urlsplit(encoded)
    except ValueError:
        return ""
    return encoded if parts.scheme.lower() in WEB_SCHEMES and parts.netloc else ""


def balanced(text: str) -> str:
    """Text cut from a longer title with its brackets closed: "spike (SEV-2" -> "spike (SEV-2)"."""
    missing = text.count("(") - text.count(")")
    return text + ")" * missing if missing > 0 else text
