"""A chart's one-page PDF (as big as the chart) onto A4 or A3 landscape pages that print.

Graphviz pages only PostScript, which cannot hold the CJK font, so the paging is ours: the
PDF that cairo draws (fonts embedded) becomes one Form XObject (pypdf), drawn on every page
scaled, moved and clipped to that page's part of it.  Each page also gets its furniture: a
header with the deal's or process's name and "page n/N" (with the row and column of a tile
and the print scale), and the chart's legend along the bottom at full size.  The furniture
of all pages is one more DOT drawing (lettering.py's text and rectangles, so it looks like
the charts' own legends), one page-sized cell per page, also drawn as a Form XObject.

The legibility rule: names of elements are 9 pt (layout.LABEL_SIZE).  When the whole chart
fits one page with them printed at MIN_TEXT (6 pt) or more, one page, scaled to fit (never
enlarged).  Otherwise tiles, overlapping by OVERLAP: as many as the chart needs at 6 pt,
then the chart enlarged (to 1:1 at most) until it fills them, so a tiled print is as legible
as that number of pages allows.  The sales pipeline on A4: 3 x 2 tiles at ~78 %.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    TextStringObject,
)

from diagrams import lettering
from diagrams.errors import DiagramError, RenderError
from diagrams.layout import LABEL_SIZE, Box
from diagrams.lettering import Line, Mark, Patch
from diagrams.render import render
from diagrams.styles import FONT, INK, LegendRow
from diagrams.text import lines, number, quote, text_width

__all__ = ["PAPERS", "Plan", "is_chinese", "join", "paginate", "plan"]

PAPERS: dict[str, tuple[float, float]] = {"a4": (842.0, 595.0), "a3": (1191.0, 842.0)}
MIN_TEXT = 6.0  # points: the smallest print of a 9 pt name that still reads
MARGIN = 24.0  # white around everything: printers do not print the outer ~5 mm
HEADER = 18.0  # the band of the name and the page number
GAP = 6.0  # between the header, the chart and the legend
OVERLAP = 24.0  # what two neighbouring tiles both show, to glue or lay them side by side
NAME_SIZE = 11.0
INFO_SIZE = 8.0
ROW = 15.0  # a line of the legend
SWATCH = (22.0, 11.0)
ITEM_GAP = 14.0  # between two entries of the legend on one line
GREY = "#888888"


def is_chinese(lang: str | None) -> bool:
    """Whether `lang` (a language tag or an Accept-Language header) asks for Simplified
    Chinese: its first English or Chinese tag is Chinese (as engine.core.translations reads
    it, which diagrams/ does not import)."""
    for part in (lang or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0].split("_")[0]
        if code in ("zh", "en"):
            return code == "zh"
    return False


@dataclass(frozen=True)
class Plan:
    """Where a chart goes on paper: its scale, the grid of pages, and the page's parts."""

    paper: str
    width: float  # the page, points
    height: float
    scale: float
    columns: int
    rows: int
    view: Box  # the part of each page that shows the chart (y up, from the page's bottom)
    offset: tuple[float, float]  # where the scaled chart starts in the grid of tiles

    @property
    def pages(self) -> int:
        return self.columns * self.rows

    @property
    def tiled(self) -> bool:
        return self.pages > 1

    def window(self, column: int, row: int) -> tuple[float, float]:
        """The top-left corner of what page (column, row) shows, in points of the scaled
        chart from its top-left corner (row 0 is the top)."""
        step_x, step_y = self.view.width - OVERLAP, self.view.height - OVERLAP
        return column * step_x - self.offset[0], row * step_y - self.offset[1]


def _tiles(length: float, room: float) -> int:
    """How many tiles of `room` overlapping by OVERLAP cover `length`."""
    if length <= room:
        return 1
    return math.ceil((length - OVERLAP) / (room - OVERLAP) - 1e-9)


def plan(width: float, height: float, paper: str = "a4", legend_height: float = 0.0) -> Plan:
    """The pages of a chart of `width` x `height` points (the legibility rule: see above)."""
    if paper not in PAPERS:
        raise DiagramError(f"unknown paper {paper!r}: choose {' or '.join(PAPERS)}")
    if width <= 0 or height <= 0:
        raise RenderError("the chart has no size")
    page_w, page_h = PAPERS[paper]
    bottom = MARGIN + (legend_height + GAP if legend_height else 0.0)
    top = page_h - MARGIN - HEADER - GAP
    view = Box(page_w / 2, (bottom + top) / 2, page_w - 2 * MARGIN, top - bottom)
    fit = min(view.width / width, view.height / height, 1.0)
    smallest = MIN_TEXT / LABEL_SIZE
    if fit >= smallest:
        offset = ((view.width - fit * width) / 2, (view.height - fit * height) / 2)
        return Plan(paper, page_w, page_h, fit, 1, 1, view, offset)
    columns = _tiles(smallest * width, view.width)
    rows = _tiles(smallest * height, view.height)
    span_x = columns * (view.width - OVERLAP) + OVERLAP  # what the grid of tiles shows
    span_y = rows * (view.height - OVERLAP) + OVERLAP
    scale = min(1.0, span_x / width, span_y / height)
    # Fewer tiles may do at the larger scale in the other direction: recount them.
    columns, rows = _tiles(scale * width, view.width), _tiles(scale * height, view.height)
    span_x = columns * (view.width - OVERLAP) + OVERLAP
    span_y = rows * (view.height - OVERLAP) + OVERLAP
    offset = ((span_x - scale * width) / 2, (span_y - scale * height) / 2)
    return Plan(paper, page_w, page_h, scale, columns, rows, view, offset)


# --- the furniture: header and legend ---------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    row: LegendRow
    width: float


def _entries(title: str, rows: Sequence[LegendRow]) -> list[_Entry]:
    out = [_Entry(LegendRow(title, size=9.0), text_width(title, 9.0))]
    for row in rows:
        marked = row.swatch is not None or bool(row.sample)
        width = (SWATCH[0] + 4 if marked else 0.0) + text_width(row.text, row.size)
        out.append(_Entry(row, width))
    return out


def _legend_lines(legend: tuple[str, Sequence[LegendRow]], room: float) -> list[list[_Entry]]:
    """The legend's entries in lines across the page: the title first, then each row."""
    out: list[list[_Entry]] = [[]]
    used = 0.0
    for entry in _entries(*legend):
        if out[-1] and used + ITEM_GAP + entry.width > room:
            out.append([])
            used = 0.0
        used += (ITEM_GAP if out[-1] else 0.0) + entry.width
        out[-1].append(entry)
    return out


def legend_height(legend: tuple[str, Sequence[LegendRow]] | None, paper: str = "a4") -> float:
    if legend is None:
        return 0.0
    return ROW * len(_legend_lines(legend, PAPERS[paper][0] - 2 * MARGIN))


def _legend_marks(
    legend: tuple[str, Sequence[LegendRow]], left: float, top: float, room: float
) -> list[Mark]:
    marks: list[Mark] = []
    for index, entries in enumerate(_legend_lines(legend, room)):
        y = top - (index + 0.5) * ROW
        x = left
        for number_in_line, entry in enumerate(entries):
            row = entry.row
            if number_in_line:
                x += ITEM_GAP
            text_x = x
            if row.swatch is not None:
                look = row.swatch
                box = Box(x + SWATCH[0] / 2, y, *SWATCH)
                marks.append(
                    Patch(box, look.fill, look.pen, 1 + round(look.extra_width), look.dash)
                )
                text_x = x + SWATCH[0] + 4
            elif row.sample:
                marks.append(
                    lettering.glyph(row.sample, x + SWATCH[0] / 2, y, 9.0, row.sample_colour)
                )
                text_x = x + SWATCH[0] + 4
            strike = row.swatch is not None and row.swatch.strike
            line = lettering.glyph(row.text, text_x, y, row.size, INK, "legend")
            marks.append(
                Line(line.text, text_x, line.baseline, row.size, INK, "left", "legend", strike)
            )
            x += entry.width
    return marks


def _page_info(plan: Plan, column: int, row: int, zh: bool) -> str:
    n = row * plan.columns + column + 1
    percent = f"{round(plan.scale * 100)} %"
    if zh:
        parts = [f"第 {n}/{plan.pages} 页"]
        if plan.tiled:
            grid = f"（共 {plan.rows} 行 {plan.columns} 列）"  # noqa: RUF001
            parts.append(f"第 {row + 1} 行第 {column + 1} 列{grid}")
        parts.append(f"比例 {percent}")
    else:
        parts = [f"page {n}/{plan.pages}"]
        if plan.tiled:
            parts.append(f"row {row + 1}, column {column + 1} (of {plan.rows} x {plan.columns})")
        parts.append(f"scale {percent}")
    return "  ·  ".join(parts)


def furniture_dot(
    plan: Plan, name: str, legend: tuple[str, Sequence[LegendRow]] | None, zh: bool
) -> str:
    """Every page's header and legend, page (column, row) in the cell (column, row) of a
    grid as big as the pages (row 0 at the top), as DOT for `neato -n2`."""
    w, h = plan.width, plan.height
    total_w, total_h = w * plan.columns, h * plan.rows
    marks: list[Mark] = []
    room = w - 2 * MARGIN
    for row in range(plan.rows):
        for column in range(plan.columns):
            x0, y0 = column * w, (plan.rows - 1 - row) * h  # the page's bottom-left corner
            info = _page_info(plan, column, row, zh)
            info_w = text_width(info, INFO_SIZE)
            base = y0 + h - MARGIN - HEADER / 2
            right = x0 + w - MARGIN
            title = lines(name, room - info_w - 2 * ITEM_GAP, NAME_SIZE, 1)
            if title:
                marks.append(
                    Line(
                        title[0],
                        x0 + MARGIN,
                        base - 0.32 * NAME_SIZE,
                        NAME_SIZE,
                        INK,
                        "left",
                        "title",
                    )
                )
            marks.append(
                Line(info, right, base - 0.32 * INFO_SIZE, INFO_SIZE, INK, "right", "page")
            )
            rule = Box(x0 + w / 2, y0 + h - MARGIN - HEADER, room, 0.8)
            marks.append(Patch(rule, GREY, GREY, 0))
            if legend is not None:
                top = y0 + plan.view.bottom - GAP
                marks += _legend_marks(legend, x0 + MARGIN, top, room)
    viewport = f"{number(total_w)},{number(total_h)},1,{number(total_w / 2)},{number(total_h / 2)}"
    out = [
        'digraph "pages" {',
        f'  graph [outputorder="nodesfirst", pad="0", bgcolor="transparent", '
        f'viewport={quote(viewport)}, notranslate="true"];',
        f'  node [fontname={quote(FONT)}, fontsize={number(LABEL_SIZE)}, fixedsize="shape", '
        'margin="0"];',
    ]
    count = 0
    for mark in marks:
        for body in lettering.bodies(mark):
            count += 1
            out.append(f'  "~{count}" [{body}];')
    out.append("}")
    return "\n".join(out) + "\n"


# --- assembling the pages ---------------------------------------------------------------------


def _one_page(pdf: bytes, what: str) -> PageObject:
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if len(reader.pages) != 1:
            raise RenderError(f"graphviz wrote {len(reader.pages)} pages of {what}, not one")
        return reader.pages[0]
    except PdfReadError as exc:
        raise RenderError(f"graphviz wrote no readable PDF of {what}: {exc}") from exc


def _form(writer: PdfWriter, pdf: bytes, what: str) -> tuple[IndirectObject, tuple[float, ...]]:
    """The one page of `pdf` as a Form XObject in `writer`, and its media box."""
    page = _one_page(pdf, what)
    box = tuple(float(v) for v in page.mediabox)
    contents = page.get_contents()
    form = DecodedStreamObject()
    form.set_data(contents.get_data() if contents is not None else b"")
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject(FloatObject(v) for v in box)
    resources = page.get("/Resources")
    if resources is not None:
        form[NameObject("/Resources")] = resources.get_object().clone(writer)
    group = page.get("/Group")
    if group is not None:
        form[NameObject("/Group")] = group.get_object().clone(writer)
    # pypdf has no public "add this object": _add_object is how its own code does it.
    return writer._add_object(form.flate_encode()), box


def _f(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def paginate(
    chart: bytes,
    name: str,
    *,
    paper: str = "a4",
    legend: tuple[str, Sequence[LegendRow]] | None = None,
    lang: str | None = None,
) -> bytes:
    """`chart` (graphviz's one-page PDF) on `paper` ("a4" or "a3") landscape pages: scaled
    to one page or tiled (see the module's rule), each page with a header naming `name` and
    the page, and `legend` (title, rows) along the bottom; the page texts in `lang`."""
    if paper not in PAPERS:
        raise DiagramError(f"unknown paper {paper!r}: choose {' or '.join(PAPERS)}")
    zh = is_chinese(lang)
    writer = PdfWriter()
    chart_form, box = _form(writer, chart, "the chart")
    chart_w, chart_h = box[2] - box[0], box[3] - box[1]
    layout = plan(chart_w, chart_h, paper, legend_height(legend, paper))
    furniture = render(furniture_dot(layout, name, legend, zh), "pdf")
    furniture_form, _ = _form(writer, furniture, "the page headers")
    s, view = layout.scale, layout.view
    for row in range(layout.rows):
        for column in range(layout.columns):
            left, top = layout.window(column, row)
            # chart point (x, y) -> page: x' = view.left - left + s (x - x0),
            #                              y' = view.top + top - s (y1 - y)
            tx = view.left - left - s * box[0]
            ty = view.top + top - s * box[3]
            fx, fy = -column * layout.width, -(layout.rows - 1 - row) * layout.height
            content = (
                f"q {_f(view.left)} {_f(view.bottom)} {_f(view.width)} {_f(view.height)} re W n "
                f"{_f(s)} 0 0 {_f(s)} {_f(tx)} {_f(ty)} cm /Chart Do Q\n"
                f"q 1 0 0 1 {_f(fx)} {_f(fy)} cm /Furniture Do Q\n"
            )
            page = writer.add_blank_page(layout.width, layout.height)
            stream = DecodedStreamObject()
            stream.set_data(content.encode("ascii"))
            page[NameObject("/Contents")] = writer._add_object(stream)
            page[NameObject("/Resources")] = DictionaryObject(
                {
                    NameObject("/XObject"): DictionaryObject(
                        {
                            NameObject("/Chart"): chart_form,
                            NameObject("/Furniture"): furniture_form,
                        }
                    )
                }
            )
    writer.add_metadata({"/Title": TextStringObject(name), "/Creator": "salesflow"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def join(pdfs: Sequence[bytes], title: str) -> bytes:
    """Several PDFs of `paginate` (one per diagram of a file) as one document, their pages
    in order, titled `title`."""
    writer = PdfWriter()
    for n, pdf in enumerate(pdfs):
        try:
            writer.append(PdfReader(io.BytesIO(pdf)))
        except PdfReadError as exc:
            raise RenderError(f"no readable PDF of diagram {n + 1}: {exc}") from exc
    writer.add_metadata({"/Title": TextStringObject(title), "/Creator": "salesflow"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
