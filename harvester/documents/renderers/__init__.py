"""Renderers of an export document: Markdown (the default), HTML, PDF (from the HTML) and DOCX.

Every renderer takes the same `ExportDocument` and treats all harvested text as untrusted: it is
escaped for Markdown and HTML and written as plain text runs in DOCX.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from harvester.errors import BragError

if TYPE_CHECKING:
    from harvester.documents.export import ExportDocument


class RendererUnavailable(BragError):
    """The format needs an optional extra (or a system library) that is not installed."""


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    pdf = "pdf"
    docx = "docx"


def render(document: ExportDocument, format: ExportFormat) -> bytes:
    """The document as the bytes of a file in `format`; PDF and DOCX import their libraries lazily."""
    if format is ExportFormat.md:
        from harvester.documents.renderers.markdown import render_markdown

        return render_markdown(document).encode("utf-8")
    if format is ExportFormat.html:
        from harvester.documents.renderers.html import render_html

        return render_html(document).encode("utf-8")
    if format is ExportFormat.pdf:
        from harvester.documents.renderers.pdf import render_pdf

        return render_pdf(document)
    try:
        from harvester.documents.renderers.docx import render_docx
    except ImportError as exc:
        raise RendererUnavailable(
            f"DOCX export needs python-docx ({exc}); install the docx extra: pip install 'brag-harvester[docx]'"
        ) from None
    return render_docx(document)


__all__ = ["ExportFormat", "RendererUnavailable", "render"]
