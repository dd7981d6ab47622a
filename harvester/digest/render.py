"""The digest as HTML (a fluid single column, inline styles) and as plain text, from Jinja2 templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from harvester.digest.model import Digest
from harvester.display import one_line

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"

# the column never grows wider than this; Outlook on Windows (Word) ignores max-width, so the
# template also wraps the column in a fixed-width table only it reads (<!--[if mso]>)
MAX_WIDTH = 600
# written into style="" attributes: Gmail strips <style> blocks in several clients and Outlook
# ignores most CSS; only properties both render are used (no flex, no margin on tables). The one
# <style> block (DARK_MODE) only recolours; the layout never depends on it.
FONT = "font-family:Arial,Helvetica,sans-serif"
# word-break:break-word lets a long unbroken title or URL wrap instead of widening the column
# (WebKit and Blink; it also lowers the table's minimum width); overflow-wrap is the standard name
WRAP = "word-break:break-word;overflow-wrap:anywhere"
STYLES: dict[str, str] = {
    "body": f"margin:0;padding:0;width:100%;background-color:#f3f4f6;{FONT};color:#111827;"
    "-webkit-text-size-adjust:100%;-ms-text-size-adjust:100%",
    "outer": "background-color:#f3f4f6;width:100%",
    "outer_cell": "padding:16px 8px",
    "container": f"width:100%;max-width:{MAX_WIDTH}px;background-color:#ffffff;border:1px solid #e5e7eb",
    "container_cell": f"padding:8px 16px 16px 16px;{WRAP}",
    "header": "padding:16px 0 8px 0",
    "h1": f"margin:0 0 4px 0;{FONT};font-size:22px;line-height:28px;color:#111827",
    "h2": f"margin:0;{FONT};font-size:16px;line-height:22px;color:#374151",
    "greeting": f"margin:12px 0 0 0;{FONT};font-size:15px;line-height:22px;color:#111827",
    "intro": f"margin:4px 0 0 0;{FONT};font-size:15px;line-height:22px;color:#374151",
    "section": "padding:24px 0 8px 0",
    "item": "padding:16px 0;border-top:1px solid #e5e7eb",
    "line": "padding:12px 0;border-top:1px solid #e5e7eb",
    "age": f"margin:0 0 6px 0;{FONT};font-size:13px;line-height:18px;color:#b45309",
    "title": f"margin:0 0 6px 0;{FONT};font-size:18px;line-height:24px;color:#111827;{WRAP}",
    "summary": f"margin:0 0 8px 0;{FONT};font-size:15px;line-height:22px;color:#374151",
    "meta": f"margin:0 0 8px 0;{FONT};font-size:13px;line-height:18px;color:#6b7280",
    "metrics": f"margin:0 0 8px 0;{FONT};font-size:14px;line-height:20px;color:#065f46",
    "reasons": f"margin:0 0 8px 0;{FONT};font-size:13px;line-height:18px;color:#374151",
    "evidence": f"margin:0 0 8px 0;{FONT};font-size:14px;line-height:20px;color:#111827",
    "why": f"margin:0 0 8px 0;{FONT};font-size:13px;line-height:18px;color:#6b7280",
    "prompt": f"margin:12px 0 4px 0;padding:10px 12px;background-color:#fffbeb;{FONT};font-size:14px;"
    "line-height:20px;color:#92400e;border-left:4px solid #f59e0b",
    "reconnect": f"margin:12px 0 4px 0;padding:10px 12px;background-color:#fef2f2;{FONT};font-size:14px;"
    "line-height:20px;color:#991b1b;border-left:4px solid #dc2626",
    "buttons": "padding:4px 0 0 0",
    # a border, not padding, makes the button's size: Outlook on Windows renders borders on a link
    # but not padding; 13 + 20 + 13 = 46 px tall, above the 44 px touch target (Apple HIG, WCAG 2.5.5)
    "button": f"display:inline-block;{FONT};font-size:14px;line-height:20px;font-weight:bold;color:#ffffff;"
    "text-decoration:none;text-align:center;border-radius:6px;border-style:solid;border-width:13px 12px;"
    "margin:0 8px 8px 0;mso-line-height-rule:exactly",
    "link": "color:#1d4ed8;text-decoration:underline",
    "muted": f"margin:0;{FONT};font-size:13px;line-height:18px;color:#6b7280",
    "footer": "padding:16px 0 0 0;border-top:1px solid #e5e7eb",
}
COLORS: dict[str, str] = {"approve": "#15803d", "reject": "#b91c1c", "review": "#1d4ed8"}
# a progressive enhancement for clients that honour prefers-color-scheme (Apple Mail, iOS Mail,
# Outlook for Mac); Gmail and Outlook.com recolour on their own and read the inline colours,
# which are chosen to survive that (white text only on saturated buttons, no images)
DARK_MODE = """\
:root { color-scheme: light dark; supported-color-schemes: light dark; }
@media (prefers-color-scheme: dark) {
  .bh-page { background-color: #111827 !important; }
  .bh-sheet { background-color: #1f2937 !important; border-color: #374151 !important; }
  .bh-sheet td, .bh-sheet p, .bh-sheet h1, .bh-sheet h2 { color: #f3f4f6 !important; border-color: #374151 !important; }
  .bh-sheet .bh-muted, .bh-sheet .bh-muted p { color: #9ca3af !important; }
  .bh-sheet .bh-accent { color: #fbbf24 !important; }
  .bh-sheet .bh-metrics { color: #6ee7b7 !important; }
  .bh-sheet .bh-prompt { background-color: #422006 !important; color: #fde68a !important; }
  .bh-sheet .bh-reconnect { background-color: #450a0a !important; color: #fecaca !important; }
  .bh-sheet p.bh-prompt { border-color: #f59e0b !important; }
  .bh-sheet a { color: #93c5fd !important; }
  .bh-sheet a.bh-button { color: #ffffff !important; }
}"""

# a [user] name that reads like a login ("me", "dkim", "dana.k", "dana_k2") is not put in a greeting
_LOGIN_LIKE = re.compile(r"[a-z0-9._+@-]*")


@dataclass(frozen=True)
class Addressee:
    """Who the email is for, as the greeting and footer name them."""

    name: str = ""
    address: str = ""

    @property
    def greeting(self) -> str:
        return f"Hi {self.name}," if self.name else "Hi,"

    @property
    def sent_to(self) -> str:
        """'Dana Kim <dana@acme.com>', 'dana@acme.com', 'Dana Kim' or 'you'."""
        if self.name and self.address:
            return f"{self.name} <{self.address}>"
        return self.name or self.address or "you"


def addressee(user_name: str, recipient: str | None = None) -> Addressee:
    """The person's name from `[email] to`'s display name, else `[user] name` unless it reads like a login."""
    display, address = parseaddr(recipient or "")
    for name in (one_line(display), one_line(user_name)):
        if name and not _LOGIN_LIKE.fullmatch(name) and "@" not in name:
            return Addressee(name, one_line(address))
    return Addressee("", one_line(address))


@cache
def _environment(html: bool) -> Environment:
    # every harvested string is untrusted: HTML is always escaped; text needs no escaping but is
    # flattened to single lines by the builder so a title cannot fake a line of the email
    return Environment(
        loader=PackageLoader("harvester", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(digest: Digest, recipient: str | None = None) -> str:
    """The HTML part; `recipient` is `[email] to` ("Dana Kim <dana@acme.com>"), named in the greeting and footer."""
    template = _environment(True).get_template(HTML_TEMPLATE)
    return template.render(
        digest=digest,
        s=STYLES,
        colors=COLORS,
        dark_mode=DARK_MODE,
        max_width=MAX_WIDTH,
        to=addressee(digest.user, recipient),
    )


def render_text(digest: Digest, recipient: str | None = None) -> str:
    """The plain-text part, in the HTML part's order, readable on its own."""
    template = _environment(False).get_template(TEXT_TEMPLATE)
    return template.render(digest=digest, to=addressee(digest.user, recipient))
