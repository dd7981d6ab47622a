"""An export document as one standalone HTML page; the PDF is printed from the same page."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from harvester.documents.export import ExportDocument

# autoescape everywhere: every title, impact and link text in the document is harvested, untrusted text
_environment = Environment(
    loader=PackageLoader("harvester", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(document: ExportDocument) -> str:
    return _environment.get_template("export.html.j2").render(doc=document)
