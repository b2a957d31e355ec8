"""PDF charts on paper (diagrams/pages.py): A4 or A3 landscape pages, one scaled page or
tiles, a header and the legend on every page, Chinese kept.  Real graphviz, real PDFs read
back with poppler's pdfinfo, pdftotext, pdffonts and pdftoppm, and with pypdf.

The rule under test: one page when the chart's 9 pt names print at 6 pt or more scaled to
fit; else tiles, as many as the chart needs at 6 pt, the chart then enlarged (to 1:1 at
most) to fill them."""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

import diagrams
from diagrams.layout import LABEL_SIZE
from diagrams.pages import MIN_TEXT, OVERLAP, PAPERS, is_chinese, legend_height, plan
from diagrams.styles import state_legend
from engine.core.graph import Graph, Heat, InstanceView, graph_from_xml
from engine.core.translations import Translations
from engine.usecases.service import Service
from salesflow.cli import main
from tests.conftest import LEAD
from tests.diagrams.graphs import READY_VIEW, small_graph
from webui import create_app

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
PIPELINE = PROCESSES / "sales_pipeline.bpmn"
A4, A3 = (842, 595), (1191, 842)


@pytest.fixture(scope="module", autouse=True)
def _poppler() -> None:
    for tool in ("pdfinfo", "pdftotext", "pdffonts", "pdftoppm"):
        assert shutil.which(tool), f"{tool} is missing: install poppler-utils (make test does)"


def pipeline() -> Graph:
    return graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)


def chinese(graph: Graph) -> Graph:
    files = {p.name: p.read_text("utf-8") for p in PROCESSES.iterdir() if p.is_file()}
    return Translations.load(files).texts("zh").graph(graph)


def saved(pdf: bytes, tmp_path: Path, name: str = "chart.pdf") -> Path:
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def info(path: Path) -> tuple[int, list[tuple[int, int]]]:
    """pdfinfo's page count, and each page's size in whole points."""
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(path)], capture_output=True, text=True, check=True
    ).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]
    sizes = [
        (round(float(w)), round(float(h)))
        for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)
    ]
    return pages, sizes


def text_of(path: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def grey(path: Path, page: int, dpi: int = 60) -> tuple[int, int, bytes]:
    """Page `page` as pdftoppm draws it: width, height and one byte per pixel (0 black)."""
    data = subprocess.run(
        ["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), str(path)],
        capture_output=True,
        check=True,
    ).stdout
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert match, data[:20]
    width, height = int(match.group(1)), int(match.group(2))
    return width, height, data[match.end() :]


def inked(image: tuple[int, int, bytes], top: float, bottom: float) -> int:
    """Dark pixels in the band from `top` to `bottom` (fractions of the height from the top)."""
    width, height, pixels = image
    rows = pixels[int(top * height) * width : int(bottom * height) * width]
    return sum(1 for value in rows if value < 128)


# --- the rule ------------------------------------------------------------------------------


def test_a_small_chart_is_one_page_scaled_no_larger_than_life() -> None:
    layout = plan(600, 300, "a4")
    assert (layout.columns, layout.rows, layout.scale) == (1, 1, 1.0)
    big = plan(1500, 700, "a4")  # fits at ~0.53: its names would print at 4.8 pt
    assert big.pages > 1 and big.scale * LABEL_SIZE >= MIN_TEXT
    legible = plan(1100, 500, "a4")  # fits at ~0.72: 6.5 pt
    assert legible.pages == 1 and MIN_TEXT <= legible.scale * LABEL_SIZE < LABEL_SIZE


def test_tiles_cover_the_chart_and_overlap() -> None:
    width, height = 2454.0, 1119.0  # the sales pipeline
    for paper in PAPERS:
        layout = plan(width, height, paper, legend_height=30)
        assert layout.tiled and layout.scale * LABEL_SIZE >= MIN_TEXT and layout.scale <= 1
        # The fewest pages at 6 pt: one fewer column or row would not hold it at that size.
        smallest = MIN_TEXT / LABEL_SIZE
        step_x, step_y = layout.view.width - OVERLAP, layout.view.height - OVERLAP
        assert (layout.columns - 1) * step_x + OVERLAP < smallest * width or layout.columns == 1
        assert (layout.rows - 1) * step_y + OVERLAP < smallest * height or layout.rows == 1
        lefts = [layout.window(c, 0)[0] for c in range(layout.columns)]
        tops = [layout.window(0, r)[1] for r in range(layout.rows)]
        assert lefts[0] <= 0 and lefts[-1] + layout.view.width >= layout.scale * width
        assert tops[0] <= 0 and tops[-1] + layout.view.height >= layout.scale * height
        for a, b in itertools.pairwise(lefts):
            assert a + layout.view.width - b == pytest.approx(OVERLAP)
        for a, b in itertools.pairwise(tops):
            assert a + layout.view.height - b == pytest.approx(OVERLAP)


def test_unknown_paper_is_refused() -> None:
    with pytest.raises(diagrams.DiagramError, match="unknown paper 'letter'"):
        diagrams.render_instance(small_graph(), READY_VIEW, "pdf", paper="letter")


def test_the_reader_language() -> None:
    assert is_chinese("zh") and is_chinese("zh-CN,zh;q=0.9") and is_chinese("zh-Hans")
    assert not is_chinese(None) and not is_chinese("en-GB,zh;q=0.5") and not is_chinese("de")
    assert is_chinese("de,zh-TW;q=0.8")  # the first English or Chinese tag decides


# --- real PDFs -------------------------------------------------------------------------------


def test_a_small_deal_is_one_a4_page_with_header_and_legend(tmp_path: Path) -> None:
    path = saved(diagrams.render_instance(small_graph(), READY_VIEW, "pdf"), tmp_path)
    assert info(path) == (1, [A4])
    text = text_of(path, 1)
    assert "page 1/1" in text and "scale 100 %" in text and "row 1" not in text
    assert "Deal 7 上海星辰" in text  # the header names the deal, the chart too
    for legend in ("Legend", "done (path taken)", "ready: to do now", "not reached"):
        assert legend in text
    assert "hover" not in text  # nothing hovers on paper
    assert "客户" in text and "王芳" in text  # the chart itself, Chinese included
    # The furniture sits on the page: ink in the header band and in the legend band.
    image = grey(path, 1)
    assert inked(image, 0.03, 0.08) > 20 and inked(image, 0.90, 0.97) > 20


def test_the_sales_pipeline_tiles_over_a4_with_the_legend_on_every_page(tmp_path: Path) -> None:
    graph = pipeline()
    states = {"start_lead_received": "completed", "task_prepare_deal": "ready"}
    view = InstanceView("Deal 12 · 上海星辰", "alice", "running", "lead", states=states)
    path = saved(diagrams.render_instance(graph, view, "pdf"), tmp_path)
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    pages, sizes = info(path)
    box = PdfReader(io.BytesIO(diagrams.render(_bare(graph, view), "pdf"))).pages[0].mediabox
    expected = plan(float(box.width), float(box.height), "a4", _legend_height())
    assert expected.tiled and pages == expected.pages == len(reader.pages) == 6
    assert sizes == [A4] * pages
    found = ""
    for n in range(1, pages + 1):
        text = text_of(path, n)
        row, column = divmod(n - 1, expected.columns)
        assert "Deal 12 · 上海星辰 — Sales pipeline" in text
        assert f"page {n}/{pages}" in text
        assert f"row {row + 1}, column {column + 1} (of {expected.rows} x 3)" in text
        assert "Legend" in text and "ready: to do now" in text and "flow taken" in text
        found += text
    names = [n.name for n in graph.nodes if n.kind.endswith("Task") and n.name]
    missing = [name for name in names if not all(w in found for w in name.split())]
    assert not missing  # every task's name is on some page


def _bare(graph: Graph, view: InstanceView) -> str:
    return diagrams.instance_dot(graph, diagrams.layout_for(graph), view, legend_inside=False)


def _legend_height() -> float:
    return legend_height(state_legend(paper=True), "a4")


def test_a3_needs_fewer_pages_than_a4(tmp_path: Path) -> None:
    graph = pipeline()
    a4 = saved(diagrams.render_definition(graph, "pdf"), tmp_path, "a4.pdf")
    a3 = saved(diagrams.render_definition(graph, "pdf", paper="a3"), tmp_path, "a3.pdf")
    (a4_pages, a4_sizes), (a3_pages, a3_sizes) = info(a4), info(a3)
    assert a4_sizes == [A4] * a4_pages and a3_sizes == [A3] * a3_pages
    assert 1 < a3_pages < a4_pages
    assert "Sales pipeline" in text_of(a3, a3_pages) and f"page {a3_pages}/{a3_pages}" in (
        text_of(a3, a3_pages)
    )
    assert "Legend" not in text_of(a3, 1)  # a plain process has no colours to explain


def test_a_chinese_heatmap_keeps_the_cjk_font_and_speaks_chinese(tmp_path: Path) -> None:
    graph = chinese(pipeline())
    heat = Heat(deals=12, here_now={"task_qualify_lead": 3}, median_seconds={})
    pdf = diagrams.render_definition(graph, "pdf", heat=heat, paper="a3", lang="zh-CN,zh;q=0.9")
    path = saved(pdf, tmp_path)
    pages, sizes = info(path)
    assert sizes == [A3] * pages
    found = ""
    for n in range(1, pages + 1):
        text = text_of(path, n)
        assert "销售流程 · 热力图" in text and f"第 {n}/{pages} 页" in text
        assert "当前停留的商机（共 12 个）" in text and "3 个商机" in text  # noqa: RUF001
        assert "Legend" not in text and "page " not in text
        found += text
    assert "线索资格审查" in found  # the chart's own names, translated
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "NotoSansCJK" in line]
    assert cjk and all(" yes " in line for line in cjk)  # embedded


# --- the command line and the API ------------------------------------------------------------


def test_the_cli_takes_paper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pipeline.pdf"
    assert main(["render", str(PIPELINE), "-o", str(out), "--paper", "a3", "--lang", "zh"]) == 0
    pages, sizes = info(out)
    assert pages > 1 and sizes == [A3] * pages and f"第 1/{pages} 页" in text_of(out, 1)
    assert main(["render", str(PIPELINE), "-o", str(tmp_path / "small.pdf")]) == 0
    assert info(tmp_path / "small.pdf")[1][0] == A4  # A4 unless told
    assert main(["render", str(PIPELINE), "-o", str(tmp_path / "p.svg"), "--paper", "a3"]) == 7
    assert "only a PDF has pages" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["render", str(PIPELINE), "-o", str(out), "--paper", "letter"])


def test_the_api_takes_paper(team: Service, db_url: str, tmp_path: Path) -> None:
    team.add_user("dora", ["designer"])
    team.deploy([PROCESSES], actor="dora")
    deal = team.start("sales_pipeline", deal="上海星辰", owner="alice", actor="alice", data=LEAD)
    token = {"Authorization": f"Bearer {team.create_token('alice')['token']}"}
    app = create_app({"TESTING": True, "SALESFLOW_DATABASE_URL": db_url, "SECRET_KEY": "t"})
    try:
        client = app.test_client()
        url = f"/api/v1/deals/{deal['instance_id']}/diagram"
        answer = client.get(f"{url}.pdf?paper=a3", headers={**token, "Accept-Language": "zh"})
        assert answer.status_code == 200 and answer.mimetype == "application/pdf"
        path = saved(answer.data, tmp_path)
        pages, sizes = info(path)
        assert sizes == [A3] * pages and "图例" in text_of(path, 1)
        assert f"第 1/{pages} 页" in text_of(path, 1) and "上海星辰 — 销售流程" in text_of(path, 1)
        plain = client.get(f"{url}.pdf", headers=token)
        assert info(saved(plain.data, tmp_path, "a4.pdf"))[1][0] == A4
        for bad in (f"{url}.svg?paper=a3", f"{url}.pdf?paper=letter"):
            refused = client.get(bad, headers=token)
            assert refused.status_code == 422 and refused.get_json()["field"] == "paper"
        heat = client.get("/api/v1/definitions/sales_pipeline/diagram.pdf?paper=a3&heatmap=1",
                          headers=token)  # fmt: skip
        assert heat.status_code == 200
        assert info(saved(heat.data, tmp_path, "heat.pdf"))[1][0] == A3
    finally:
        app.extensions["salesflow"].db.dispose()
