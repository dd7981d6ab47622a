"""An export document as PDF, printed by WeasyPrint from the HTML rendering (the `pdf` extra)."""

from __future__ import annotations

import io

from harvester.documents.export import ExportDocument
from harvester.documents.renderers import RendererUnavailable
from harvester.documents.renderers.html import parts_of, print_runs, render_print_html

INSTALL_HINT = "install the pdf extra: pip install 'brag-harvester[pdf]'"
# entries printed at a time: WeasyPrint keeps every laid-out line of a document until it writes
# the file (measured: about 0.2 MB an entry, 1.1 GB for 2,000), so long summaries are printed in
# runs and joined; a run starts on a new page, so runs are long enough for that to be rare
ENTRIES_PER_RUN = 250


def render_pdf(document: ExportDocument) -> bytes:
    try:
        from pypdf import PdfReader, PdfWriter
        from weasyprint import HTML
    except ImportError as exc:
        raise RendererUnavailable(f"PDF export needs WeasyPrint and pypdf ({exc}); {INSTALL_HINT}") from None
    except OSError as exc:
        # WeasyPrint loads Pango with ctypes at import time; a missing system library surfaces as OSError
        raise RendererUnavailable(
            f"WeasyPrint cannot load its system libraries ({exc}); install Pango, "
            "e.g. apt-get install libpango-1.0-0 libpangoft2-1.0-0, or use --format html"
        ) from None
    runs = list(print_runs(parts_of(document), ENTRIES_PER_RUN))
    if len(runs) == 1:
        html = render_print_html(document, runs[0], opening=True, first_page=1, page_total=True)
        single: bytes = HTML(string=html).write_pdf()
        return single
    joined = PdfWriter()
    first_page = 1
    for index, run in enumerate(runs):
        html = render_print_html(document, run, opening=index == 0, first_page=first_page, page_total=False)
        printed = PdfReader(io.BytesIO(HTML(string=html).write_pdf()))
        if index == 0:
            joined.add_metadata(printed.metadata or {})
        joined.append(printed)
        first_page += len(printed.pages)
    out = io.BytesIO()
    joined.write(out)
    return out.getvalue()
