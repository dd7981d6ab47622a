"""The digest as HTML (inline styles, table layout) and as plain text, from Jinja2 templates."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from harvester.digest.model import Digest

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"

# written into style="" attributes: Gmail strips <style> blocks in several clients and Outlook
# ignores most CSS; only properties both render are used (no flex, no margin on tables)
FONT = "font-family:Arial,Helvetica,sans-serif"
STYLES: dict[str, str] = {
    "body": f"margin:0;padding:0;background-color:#f3f4f6;{FONT};color:#111827",
    "outer": "background-color:#f3f4f6;width:100%",
    "outer_cell": "padding:24px 12px",
    "container": "width:600px;max-width:600px;background-color:#ffffff;border:1px solid #e5e7eb",
    "header": "padding:24px 24px 8px 24px",
    "h1": f"margin:0 0 4px 0;{FONT};font-size:22px;line-height:28px;color:#111827",
    "h2": f"margin:0;{FONT};font-size:16px;line-height:22px;color:#374151",
    "intro": f"margin:12px 0 0 0;{FONT};font-size:14px;line-height:20px;color:#374151",
    "section": "padding:16px 24px 0 24px",
    "card_gap": "padding:12px 24px",
    "card": "border:1px solid #e5e7eb;background-color:#ffffff",
    "card_body": "padding:16px",
    "age": f"margin:0 0 6px 0;{FONT};font-size:12px;color:#b45309",
    "title": f"margin:0 0 6px 0;{FONT};font-size:17px;line-height:23px;color:#111827",
    "summary": f"margin:0 0 8px 0;{FONT};font-size:14px;line-height:20px;color:#374151",
    "meta": f"margin:0 0 8px 0;{FONT};font-size:12px;color:#6b7280",
    "metrics": f"margin:0 0 8px 0;{FONT};font-size:13px;color:#065f46",
    "reasons": f"margin:0 0 8px 0;{FONT};font-size:12px;line-height:18px;color:#374151",
    "evidence": "border-top:1px solid #f3f4f6;margin:0 0 8px 0",
    "evidence_kind": f"padding:6px 8px 6px 0;{FONT};font-size:12px;color:#6b7280;vertical-align:top;width:90px",
    "evidence_item": f"padding:6px 0;{FONT};font-size:13px;line-height:18px;color:#111827;vertical-align:top",
    "why": f"margin:8px 0;{FONT};font-size:12px;line-height:18px;color:#6b7280",
    "prompt": f"margin:8px 0 12px 0;padding:8px;background-color:#fffbeb;{FONT};font-size:13px;color:#92400e",
    "button_cell": "padding:8px 14px",
    "button_link": f"{FONT};font-size:14px;font-weight:bold;color:#ffffff;text-decoration:none;display:inline-block",
    "link": "color:#1d4ed8;text-decoration:underline",
    "muted": f"margin:0;{FONT};font-size:12px;line-height:18px;color:#6b7280",
    "footer": "padding:16px 24px 24px 24px;border-top:1px solid #e5e7eb",
}
COLORS: dict[str, str] = {"approve": "#15803d", "reject": "#b91c1c", "review": "#1d4ed8"}


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


def render_html(digest: Digest) -> str:
    template = _environment(True).get_template(HTML_TEMPLATE)
    return template.render(digest=digest, s=STYLES, colors=COLORS)


def render_text(digest: Digest) -> str:
    return _environment(False).get_template(TEXT_TEMPLATE).render(digest=digest)
