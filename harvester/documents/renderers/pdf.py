"""An export document as PDF, printed by WeasyPrint from the HTML rendering (the `pdf` extra)."""

from __future__ import annotations

from harvester.documents.export import ExportDocument
from harvester.documents.renderers import RendererUnavailable
from harvester.documents.renderers.html import render_html

INSTALL_HINT = "install the pdf extra: pip install 'brag-harvester[pdf]'"


def render_pdf(document: ExportDocument) -> bytes:
    try:
        from weasyprint import HTML
    except ImportError as exc:
        raise RendererUnavailable(f"PDF export needs WeasyPrint ({exc}); {INSTALL_HINT}") from None
    except OSError as exc:
        # WeasyPrint loads Pango with ctypes at import time; a missing system library surfaces as OSError
        raise RendererUnavailable(
            f"WeasyPrint cannot load its system libraries ({exc}); install Pango, "
            "e.g. apt-get install libpango-1.0-0 libpangoft2-1.0-0, or use --format html"
        ) from None
    pdf: bytes = HTML(string=render_html(document)).write_pdf()
    return pdf
