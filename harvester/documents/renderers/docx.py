"""An export document as a Word file: real headings and lists, evidence as numbered references."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
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


def _hyperlink(paragraph: Paragraph, url: str, text: str) -> None:
    # python-docx has no hyperlink API: add the external relationship and a w:hyperlink run by hand
    relationship = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relationship)
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


def _item(word: DocxDocument, item: Item) -> None:
    bullet = word.add_paragraph(style="List Bullet")
    bullet.add_run(plain(item.title)).bold = True
    bullet.add_run(f" ({item.day.isoformat()})")
    _references(bullet, item.footnotes)
    impact = word.add_paragraph(style="List Bullet 2")
    if item.impact:
        impact.add_run(plain(item.impact))
    else:
        impact.add_run("No impact written yet.").italic = True
    if item.metrics:
        word.add_paragraph(plain("Numbers: " + "; ".join(item.metrics)), style="List Bullet 2")


def render_docx(document: ExportDocument) -> bytes:
    word = Document()
    word.core_properties.title = plain(document.title)
    word.styles["Normal"].font.size = Pt(11)
    word.add_heading(plain(document.title), level=0)
    period = word.add_paragraph(plain(document.period.label))
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
    for heading, items in headed:
        word.add_heading(plain(heading), level=1)
        for item in items:
            _item(word, item)

    if document.footnotes:
        word.add_heading("Evidence", level=1)
        for note in document.footnotes:
            # the number is written out, not list numbering, so it always matches the superscripts
            line = word.add_paragraph()
            line.paragraph_format.left_indent = Pt(18)
            line.paragraph_format.first_line_indent = Pt(-18)
            line.add_run(f"[{note.number}]\t")
            evidence = note.evidence
            line.add_run(plain(f"{evidence.kind}: {evidence.title} ({evidence.day.isoformat()}) {evidence.gone_label}"))
            if url := safe_url(evidence.url):
                line.add_run(" ")
                _hyperlink(line, url, url)

    out = io.BytesIO()
    word.save(out)
    return out.getvalue()
