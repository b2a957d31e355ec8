"""PNG and PDF exports: real files a person can open, Chinese included."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from diagrams import definition_dot, drawn_layout, instance_dot, render, render_instance
from diagrams.render import PNG_DPI, RenderError
from tests.diagrams.graphs import READY_VIEW, small_graph


def test_png_is_a_png_at_150_dpi() -> None:
    graph = small_graph()
    layout = drawn_layout(graph)
    png = render(definition_dot(graph, layout), "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert abs(width - layout.width * PNG_DPI / 72) <= 2  # the canvas in points at 150 dpi
    assert abs(height - layout.height * PNG_DPI / 72) <= 2
    assert width > 1000  # a small process is still big enough to read


def test_pdf_embeds_the_cjk_font_and_keeps_the_text(tmp_path: Path) -> None:
    pdf = render_instance(small_graph(), READY_VIEW, "pdf")
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "deal.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
        cjk = [line for line in fonts.splitlines() if "NotoSansCJK" in line]
        assert cjk and all(" yes " in line for line in cjk)  # embedded
    else:
        assert b"NotoSansCJK" in pdf
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "客户" in text and "王芳" in text and "上海星辰" in text


def test_dot_format_is_the_text_itself() -> None:
    graph = small_graph()
    dot = instance_dot(graph, drawn_layout(graph), READY_VIEW)
    assert render(dot, "dot") == dot.encode("utf-8")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(RenderError, match="unknown format 'gif'"):
        render("digraph {}", "gif")


def test_missing_graphviz_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no neato, no dot
    with pytest.raises(RenderError, match="install graphviz"):
        render("digraph {}", "svg")


def test_broken_dot_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="failed"):
        render("digraph { this is not dot", "svg")
