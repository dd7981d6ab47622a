"""An export document as one standalone HTML page; the PDF is printed from the same template."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from harvester.documents.export import ExportDocument, Item

# autoescape everywhere: every title, impact and link text in the document is harvested, untrusted text
_environment = Environment(
    loader=PackageLoader("harvester", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Part:
    """A heading and the entries under it: a project, a section, or the rest of one (`continued`)."""

    heading: str
    kind: str
    items: tuple[Item, ...]
    continued: bool = False


def parts_of(document: ExportDocument) -> list[Part]:
    """Each project, then each section, in reading order."""
    parts = [Part(part.heading, "section project", part.items) for part in document.projects]
    return parts + [Part(part.name, "section", part.items) for part in document.sections]


def render_html(document: ExportDocument) -> str:
    return _environment.get_template("export.html.j2").render(
        doc=document, parts=parts_of(document), opening=True, printed=False, first_page=1, page_total=True
    )


def print_runs(parts: list[Part], limit: int) -> Iterator[list[Part]]:
    """`parts` cut into runs of at most `limit` entries, in order; always at least one run.

    A part that does not fit starts the next run when the current one is at least half full (so it
    opens on a fresh page), else it is split and its rest is marked `continued`.
    """
    run: list[Part] = []
    size = 0
    for part in parts:
        if size >= max(limit // 2, 1) and size + len(part.items) > limit:
            yield run
            run, size = [], 0
        items, continued = part.items, part.continued
        while size + len(items) > limit:
            room = limit - size
            run.append(Part(part.heading, part.kind, items[:room], continued))
            yield run
            run, size = [], 0
            items, continued = items[room:], True
        run.append(Part(part.heading, part.kind, items, continued))
        size += len(items)
    yield run


def render_print_html(
    document: ExportDocument, run: list[Part], *, opening: bool, first_page: int, page_total: bool
) -> str:
    """One run of the document as HTML to print: each entry lists its own evidence, no endnotes.

    `opening` adds the title and the overview; pages are numbered from `first_page`, with
    " / total" only when `page_total` (the run is the whole document).
    """
    return _environment.get_template("export.html.j2").render(
        doc=document, parts=run, opening=opening, printed=True, first_page=first_page, page_total=page_total
    )
