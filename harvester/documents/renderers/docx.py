"""An export document as a Word file: real headings and lists, evidence as numbered references."""

from __future__ import annotations

import io
from typing import cast

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph

from harvester.display import one_line, safe_url
from harvester.documents.export import ExportDocument, Footnote, Item

_LINK_BLUE = RGBColor(0x09, 0x69, 0xDA)
_MUTED = RGBColor(0x57, 0x60, 0x6A)


def plain(text: str) -> str:
    """Harvested text as one line that Word can store; python-docx escapes the XML markup itself.

    XML 1.0 forbids control characters and lxml refuses them; `one_line` drops them (and bidi controls).
    """
    return one_line(text)


class _Hyperlinks:
    """The part's external hyperlink relationships by URL, each added once.

    python-docx's `Part.relate_to` scans every relationship of the part to find a match and then
    again for the next free rId (`Relationships._next_rId`), so thousands of links cost quadratic
    time (measured: 37 CPU-s for 2,000 entries, benchmarks/export_scale.py); a dict keeps each lookup constant.
    """

    def __init__(self, part: Part) -> None:
        self._rels = part.rels
        self._ids: dict[str, str] = {
            rel.target_ref: rid
            for rid, rel in self._rels.items()
            if rel.is_external and rel.reltype == RELATIONSHIP_TYPE.HYPERLINK
        }
        self._next = len(self._rels) + 1

    def rid(self, url: str) -> str:
        if url not in self._ids:
            while f"rId{self._next}" in self._rels:
                self._next += 1
            rid = f"rId{self._next}"
            self._rels.add_relationship(RELATIONSHIP_TYPE.HYPERLINK, url, rid, is_external=True)
            self._ids[url] = rid
        return self._ids[url]


def _hyperlink(paragraph: Paragraph, links: _Hyperlinks, url: str, text: str) -> None:
    # python-docx has no hyperlink API: the external relationship and a w:hyperlink run by hand
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), links.rid(url))
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), str(_LINK_BLUE))
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    properties.extend([color, underline])
    run.append(properties)
    body = OxmlElement("w:t")
    body.text = text
    body.set(qn("xml:space"), "preserve")
    run.append(body)
    link.append(run)
    paragraph._p.append(link)


def _references(paragraph: Paragraph, notes: tuple[Footnote, ...]) -> None:
    for note in notes:
        run = paragraph.add_run(f"[{note.number}]")
        run.font.superscript = True


class _Paragraphs:
    """Body paragraphs appended in constant time, in a style whose id is looked up once per document.

    python-docx's `add_paragraph` finds the body's closing `w:sectPr` by scanning every child
    (quadratic over thousands of paragraphs), and `style=NAME` scans every style of the document
    on each call (`Styles.default`, measured: 2.5 ms a paragraph), so paragraphs go in just before
    that `w:sectPr`, found once, and carry the style id in `w:pPr/w:pStyle` directly.
    """

    def __init__(self, word: DocxDocument) -> None:
        self._word = word
        self._end = word.element.body.get_or_add_sectPr()
        self._ids: dict[str, str] = {}

    def add(self, style: str | None = None, text: str = "") -> Paragraph:
        element = OxmlElement("w:p")
        self._end.addprevious(element)
        paragraph = Paragraph(cast(CT_P, element), self._word)
        if style is not None:
            if style not in self._ids:
                self._ids[style] = self._word.styles[style].style_id
            paragraph._p.style = self._ids[style]
        if text:
            paragraph.add_run(text)
        return paragraph


def _item(paragraphs: _Paragraphs, item: Item) -> None:
    bullet = paragraphs.add("List Bullet")
    bullet.add_run(plain(item.title)).bold = True
    bullet.add_run(f" ({item.day.isoformat()})")
    _references(bullet, item.footnotes)
    impact = paragraphs.add("List Bullet 2")
    if item.impact:
        impact.add_run(plain(item.impact))
    else:
        impact.add_run("No impact written yet.").italic = True
    for metric in item.metrics:
        measured = paragraphs.add("List Bullet 2")
        measured.add_run("Measured: ").italic = True
        measured.add_run(plain(metric))


def render_docx(document: ExportDocument) -> bytes:
    word = Document()
    # python-docx's template says "python-docx" as the author; the document is the user's
    word.core_properties.title = plain(document.title)
    word.core_properties.author = plain(document.author)
    word.core_properties.last_modified_by = plain(document.author)
    word.core_properties.subject = plain(document.period.dates)
    word.styles["Normal"].font.size = Pt(11)
    word.add_heading(plain(document.title), level=0)
    period = word.add_paragraph(plain(document.period.dates))
    period.runs[0].font.color.rgb = _MUTED

    overview = document.overview
    word.add_heading("Overview", level=1)
    total = word.add_paragraph(style="List Bullet")
    total.add_run(str(overview.total)).bold = True
    total.add_run(" entry" if overview.total == 1 else " entries")
    if overview.by_project:
        counts = ", ".join(f"{name} {n}" for name, n in overview.by_project)
        word.add_paragraph(plain(f"By project: {counts}"), style="List Bullet")
    if overview.by_section:
        counts = ", ".join(f"{name} {n}" for name, n in overview.by_section)
        word.add_paragraph(plain(f"By section: {counts}"), style="List Bullet")
    if overview.by_source:
        counts = ", ".join(f"{name} {n}" for name, n in overview.by_source)
        word.add_paragraph(plain(f"Evidence by source: {counts}"), style="List Bullet")
    if overview.themes:
        word.add_paragraph(plain(f"Top themes: {', '.join(overview.themes)}"), style="List Bullet")
    if overview.missing_impact_note:
        warning = word.add_paragraph(style="List Bullet").add_run(overview.missing_impact_note)
        warning.bold = True
        warning.font.highlight_color = WD_COLOR_INDEX.YELLOW
    if document.empty:
        word.add_paragraph("No approved entries in this period.")

    headed = [(part.heading, part.items) for part in document.projects]
    headed += [(part.name, part.items) for part in document.sections]
    paragraphs = _Paragraphs(word)
    for heading, items in headed:
        word.add_heading(plain(heading), level=1)
        for item in items:
            _item(paragraphs, item)

    if document.footnotes:
        word.add_heading("Evidence", level=1)
        links = _Hyperlinks(word.part)
        for note in document.footnotes:
            # the number is written out, not list numbering, so it always matches the superscripts
            line = paragraphs.add()
            line.paragraph_format.left_indent = Pt(18)
            line.paragraph_format.first_line_indent = Pt(-18)
            line.add_run(f"[{note.number}]\t")
            evidence = note.evidence
            line.add_run(plain(f"{evidence.kind}: {evidence.title} ({evidence.day.isoformat()}) {evidence.gone_label}"))
            if url := safe_url(evidence.url):
                line.add_run(" ")
                _hyperlink(line, links, url, url)

    out = io.BytesIO()
    word.save(out)
    return out.getvalue()
